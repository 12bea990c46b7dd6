//! The ladder in the product, on SQLite and PostgreSQL: events move contacts in the same
//! transaction, companies climb with their accounts' orders, flags place contacts, the
//! scheduler moves contacts when time alone changes them, and rule sets are versioned.

mod common;

use clientele_core::contact::ContactInput;
use clientele_core::time::{DAY, Micros, format_instant};
use clientele_engine::ladder::{apply_rules, run_due, what_if};
use clientele_ladder::RuleSet;
use clientele_store::{LadderRow, Store, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::json;

fn ago(now: Micros, days: i64) -> String {
    format_instant(now - days * DAY)
}

async fn row(s: &dyn Store, ws: &Workspace, external_id: &str) -> LadderRow {
    let id = by_external_id(s, ws, external_id).await;
    s.ladder_row(ws.id, id).await.unwrap().expect("classified")
}

async fn events_move_a_contact_up_the_ladder_in_the_same_transaction(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 1000, &ago(now, 200))]).await;
    assert_eq!(row(s, &ws, "lan").await.rung, "shopper");
    ingest_ok(s, &ws, &[paid("p2", "lan", "o2", 1000, &ago(now, 150))]).await;
    assert_eq!(row(s, &ws, "lan").await.rung, "customer");
    let nps = json!({"id": "n1", "kind": "survey.answered", "occurred_at": ago(now, 100),
                     "contact": {"external_id": "lan"}, "data": {"survey": "nps", "score": 9}});
    ingest_ok(s, &ws, &[nps]).await;
    let r = row(s, &ws, "lan").await;
    assert_eq!(
        (r.rung.as_str(), r.status.as_str(), r.rule_version),
        ("advocate", "at_risk", 1)
    );
    let id = by_external_id(s, &ws, "lan").await;
    let history = s.ladder_history(ws.id, id).await.unwrap();
    let rungs: Vec<(&str, &str, &str)> = history
        .iter()
        .filter(|c| c.kind == "rung")
        .map(|c| (c.from.as_str(), c.to.as_str(), c.reason.as_str()))
        .collect();
    assert_eq!(
        rungs,
        vec![
            ("suspect", "shopper", "promoted"),
            ("shopper", "customer", "promoted"),
            ("customer", "advocate", "promoted")
        ]
    );
    // Each change keeps the metrics that decided it. The first order was evaluated at its
    // own time; the later ones arrived after the contact's last evaluation (backdated), so
    // they take effect when they arrive.
    let promotions: Vec<_> = history.iter().filter(|c| c.kind == "rung").collect();
    assert_eq!(promotions[0].at, now - 200 * DAY);
    assert!(promotions[1].at >= now);
    let second: serde_json::Value = serde_json::from_str(&promotions[1].metrics).unwrap();
    assert_eq!(second["paid_orders"], 2);
}

async fn refunds_and_the_grace_period(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "an", "o1", 1000, &ago(now, 20)),
            paid("p2", "an", "o2", 1000, &ago(now, 10)),
            refund("r1", "an", "o2", Some(400), &ago(now, 5)),
        ],
    )
    .await;
    let r = row(s, &ws, "an").await;
    assert_eq!(
        (r.rung.as_str(), r.failing_since),
        ("customer", None),
        "a partial refund keeps the order"
    );
    let refunded_at = now_micros();
    ingest_ok(
        s,
        &ws,
        &[refund("r2", "an", "o2", None, &format_instant(refunded_at))],
    )
    .await;
    let r = row(s, &ws, "an").await;
    assert_eq!(
        r.rung, "customer",
        "the demotion waits out the grace period"
    );
    let since = r.failing_since.expect("grace running");
    assert_eq!(r.due_at, Some(since + 30 * DAY));
    assert_eq!(
        run_due(s, ws.id, since + 30 * DAY - 1, 100).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(run_due(s, ws.id, since + 30 * DAY, 100).await.unwrap(), 1);
    let r = row(s, &ws, "an").await;
    assert_eq!((r.rung.as_str(), r.failing_since), ("shopper", None));
    let id = by_external_id(s, &ws, "an").await;
    let last = s
        .ladder_history(ws.id, id)
        .await
        .unwrap()
        .into_iter()
        .rfind(|c| c.kind == "rung")
        .unwrap();
    assert_eq!(
        (last.reason.as_str(), last.at),
        ("demoted_after_grace", since + 30 * DAY)
    );
}

async fn the_scheduler_moves_contacts_when_time_alone_changes_them(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let last_order = now - 10 * DAY;
    ingest_ok(
        s,
        &ws,
        &[paid("p1", "binh", "o1", 1000, &format_instant(last_order))],
    )
    .await;
    let r = row(s, &ws, "binh").await;
    assert_eq!(
        (r.status.as_str(), r.due_at),
        ("active", Some(last_order + 90 * DAY + 1))
    );
    // Only due contacts are looked at.
    assert_eq!(
        run_due(s, ws.id, last_order + 90 * DAY, 100).await.unwrap(),
        0
    );
    assert_eq!(
        run_due(s, ws.id, last_order + 200 * DAY, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(row(s, &ws, "binh").await.status, "at_risk");
    run_due(s, ws.id, last_order + 400 * DAY, 100)
        .await
        .unwrap();
    assert_eq!(row(s, &ws, "binh").await.status, "lapsed");
    let id = by_external_id(s, &ws, "binh").await;
    let statuses: Vec<(String, Micros)> = s
        .ladder_history(ws.id, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "status")
        .map(|c| (c.to, c.at))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("at_risk".to_owned(), last_order + 90 * DAY + 1),
            ("lapsed".to_owned(), last_order + 365 * DAY)
        ],
        "each change at its exact instant"
    );
}

async fn a_company_climbs_with_the_orders_on_its_account(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let on_account = |id: &str, who: &str, order: &str, days: i64| {
        let mut e = paid(id, who, order, 5000, &ago(now, days));
        e["data"]["account"] = json!({"external_id": "acme"});
        e
    };
    ingest_ok(
        s,
        &ws,
        &[
            on_account("a1", "mai", "o1", 30),
            on_account("a2", "tuan", "o2", 20),
        ],
    )
    .await;
    assert_eq!(
        row(s, &ws, "acme").await.rung,
        "customer",
        "two orders on its account"
    );
    assert_eq!(row(s, &ws, "mai").await.rung, "shopper");
}

async fn flags_place_contacts_and_rule_sets_are_versioned(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "c1", "o1", 1000, &ago(now, 30)),
            paid("p2", "c1", "o2", 1000, &ago(now, 20)),
            paid("p3", "c2", "o3", 1000, &ago(now, 30)),
        ],
    )
    .await;
    let c2 = by_external_id(s, &ws, "c2").await;
    let input = ContactInput::from_json(&json!({"ambassador": true})).unwrap();
    clientele_engine::contacts::update(s, &ws, c2, input)
        .await
        .unwrap();
    assert_eq!(row(s, &ws, "c2").await.rung, "raving_fan");

    // A candidate that wants three orders of a customer would move c1 down; nothing changes.
    let mut doc = RuleSet::default_rules().to_json();
    doc["rungs"][3]["when"] = json!({"metric": "paid_orders", "op": ">=", "value": 3});
    doc["rungs"][4]["when"] = json!({"metric": "paid_orders", "op": ">=", "value": 1});
    let candidate = RuleSet::from_json(&doc).unwrap();
    let report = what_if(s, ws.id, &candidate, now_micros()).await.unwrap();
    assert_eq!(report["moved"], 1, "{report}");
    let move_ = report["moves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["from"] != m["to"])
        .unwrap();
    assert_eq!(
        (
            move_["from"].as_str(),
            move_["to"].as_str(),
            move_["revenue"].as_i64()
        ),
        (Some("customer"), Some("shopper"), Some(2000))
    );
    assert_eq!(row(s, &ws, "c1").await.rule_version, 1);

    let (version, contacts, _) = apply_rules(s, ws.id, &candidate, now_micros())
        .await
        .unwrap();
    assert_eq!((version, contacts), (2, 2));
    let r = row(s, &ws, "c1").await;
    assert_eq!(r.rule_version, 2);
    assert!(
        r.failing_since.is_some(),
        "the demotion under version 2 waits out its grace"
    );
}

async fn a_merge_reclassifies_the_survivor(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "x1", "o1", 1000, &ago(now, 20)),
            paid("p2", "x2", "o2", 1000, &ago(now, 10)),
        ],
    )
    .await;
    assert_eq!(row(s, &ws, "x1").await.rung, "shopper");
    let (a, b) = (
        by_external_id(s, &ws, "x1").await,
        by_external_id(s, &ws, "x2").await,
    );
    clientele_engine::contacts::merge(s, &ws, a, b)
        .await
        .unwrap();
    assert_eq!(
        row(s, &ws, "x1").await.rung,
        "customer",
        "two orders once merged"
    );
}

both_backends!(
    a_merge_reclassifies_the_survivor,
    events_move_a_contact_up_the_ladder_in_the_same_transaction,
    refunds_and_the_grace_period,
    the_scheduler_moves_contacts_when_time_alone_changes_them,
    a_company_climbs_with_the_orders_on_its_account,
    flags_place_contacts_and_rule_sets_are_versioned,
);
