//! The rule boundaries of DESIGN §2 through real events on SQLite and PostgreSQL: each case
//! is a contact whose events are dated relative to one moment D (the last instant of
//! 2025-06-30), classified as of D by replaying what is stored.

mod common;

use clientele_core::contact::ContactInput;
use clientele_core::time::{DAY, Micros, format_instant, parse_instant};
use clientele_engine::ladder::{classify_all, current_rules};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn as_of() -> Micros {
    parse_instant("2025-07-01T00:00:00Z").unwrap() - 1
}

/// The start of the day `days` before D's day.
fn day(days: i64) -> String {
    format_instant(parse_instant("2025-06-30T00:00:00Z").unwrap() - days * DAY)
}

fn nps(id: &str, who: &str, score: i64, days: i64) -> Value {
    json!({"id": id, "kind": "survey.answered", "occurred_at": day(days), "contact": {"external_id": who},
           "data": {"survey": "nps", "score": score}})
}

fn referral(id: &str, who: &str, referee: &str, days: i64) -> Value {
    json!({"id": id, "kind": "referral.converted", "occurred_at": day(days), "contact": {"external_id": who},
           "data": {"referee": {"external_id": referee}}})
}

fn orders(who: &str, days: &[i64]) -> Vec<Value> {
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            paid(
                &format!("{who}-{i}"),
                who,
                &format!("{who}-o{i}"),
                1000,
                &day(*d),
            )
        })
        .collect()
}

async fn every_rule_boundary(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let mut events: Vec<Value> = Vec::new();
    events.extend(orders("one", &[10]));
    events.extend(orders("two", &[20, 10]));
    events.extend(orders("four-179", &[179, 120, 60, 10]));
    events.extend(orders("four-180", &[180, 120, 60, 10]));
    // Three orders in the window as of D (364 days ago is inside), two when the oldest is
    // 365 days old.
    events.extend(orders("window-in", &[400, 364, 100, 10]));
    events.extend(orders("window-out", &[400, 365, 100, 10]));
    events.extend(orders("nps-8", &[20, 10]));
    events.push(nps("n8", "nps-8", 8, 5));
    events.extend(orders("nps-9", &[20, 10]));
    events.push(nps("n9", "nps-9", 9, 5));
    events.extend(orders("ref-1", &[20, 10]));
    events.push(referral("r1", "ref-1", "friend-1", 5));
    events.extend(orders("ref-5", &[20]));
    for k in 0..5 {
        events.push(referral(
            &format!("r5-{k}"),
            "ref-5",
            &format!("friend-5-{k}"),
            5,
        ));
    }
    events.extend(orders("refunded", &[20, 10]));
    events.push(refund("rf", "refunded", "refunded-o1", None, &day(5)));
    events.extend(orders("cancelled", &[20, 10]));
    events.push(cancel("cc", "cancelled", "cancelled-o1", &day(5)));
    events.extend(orders("partial", &[20, 10]));
    events.push(refund("rp", "partial", "partial-o1", Some(400), &day(5)));
    events.push(paid("z1", "zero", "zero-o1", 0, &day(20)));
    events.push(paid("z2", "zero", "zero-o2", 0, &day(10)));
    for (i, who) in ["mai", "tuan"].iter().enumerate() {
        let mut e = paid(
            &format!("acct-{i}"),
            who,
            &format!("acct-o{i}"),
            5000,
            &day(10 + i as i64),
        );
        e["data"]["account"] = json!({"external_id": "acme"});
        events.push(e);
    }
    events.extend(orders("flags", &[10]));
    ingest_ok(s, &ws, &events).await;
    for (who, field) in [("flags", "contract_active")] {
        let id = by_external_id(s, &ws, who).await;
        let input = ContactInput::from_json(&json!({ field: true })).unwrap();
        clientele_engine::contacts::update(s, &ws, id, input)
            .await
            .unwrap();
    }
    let (_, rules) = current_rules(s, ws.id).await.unwrap();
    let all = classify_all(s, ws.id, &rules, as_of()).await.unwrap();
    let rung = |who: &str| {
        all.iter()
            .find(|c| c.external_id.as_deref() == Some(who))
            .unwrap_or_else(|| panic!("{who} is classified"))
            .rung
            .name()
    };
    for (who, want) in [
        ("one", "shopper"),
        ("two", "customer"),
        ("four-179", "customer"),
        ("four-180", "client"),
        ("window-in", "client"),
        // Its oldest window order left on D itself: the rules fail, the grace runs.
        ("window-out", "client"),
        ("nps-8", "customer"),
        ("nps-9", "advocate"),
        ("ref-1", "advocate"),
        ("ref-5", "raving_fan"),
        ("friend-1", "suspect"),
        ("zero", "customer"),
        ("partial", "customer"),
        ("acme", "customer"),
        ("mai", "shopper"),
        ("flags", "client"),
    ] {
        assert_eq!(rung(who), want, "{who}");
    }
    // Un-paid orders: the rules say shopper now; the demotion waits out its grace period.
    for who in ["refunded", "cancelled", "window-out"] {
        assert_ne!(rung(who), "shopper", "{who}: inside the grace period");
        let later = classify_all(s, ws.id, &rules, as_of() + 30 * DAY)
            .await
            .unwrap();
        let c = later
            .iter()
            .find(|c| c.external_id.as_deref() == Some(who))
            .unwrap();
        let after = if who == "window-out" {
            "customer"
        } else {
            "shopper"
        };
        assert_eq!(c.rung.name(), after, "{who}: after the grace period");
    }
}

both_backends!(every_rule_boundary);
