//! The loyalty ledger in the product, on SQLite and PostgreSQL: paid orders earn, refunds
//! and cancellations take back their share (into a debt when already spent), redemptions
//! are atomic and idempotent under concurrency, rewards are never oversold, lots expire at
//! their instant through the scheduler, and the entries always sum to balance minus debt.

mod common;

use std::sync::Arc;

use clientele_core::ContactId;
use clientele_core::time::{DAY, Micros, format_instant};
use clientele_engine::loyalty::{LoyaltyError, add_reward, adjust, expire_due, redeem, set_rules};
use clientele_loyalty::EarnRules;
use clientele_store::{RewardRow, Store, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::json;

fn ago(now: Micros, days: i64) -> String {
    format_instant(now - days * DAY)
}

/// Balance and debt, after checking that the entries sum to balance minus debt.
async fn books(s: &dyn Store, ws: &Workspace, id: ContactId) -> (i64, i64) {
    let a = s
        .loyalty_account(ws.id, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("contact {id:?} has no loyalty account"));
    let entries = s.loyalty_entries(ws.id, id, None, 100_000).await.unwrap();
    let sum: i64 = entries.iter().map(|e| e.points).sum();
    assert_eq!(
        sum,
        a.balance - a.debt,
        "entries sum to balance minus debt: {entries:?}"
    );
    (a.balance, a.debt)
}

async fn paid_orders_earn_one_point_per_whole_unit(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 4999, &ago(now, 10))]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    assert_eq!(books(s, &ws, lan).await, (49, 0));
    // A repeated event earns nothing again; a second order earns its own.
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 4999, &ago(now, 10))]).await;
    ingest_ok(s, &ws, &[paid("p2", "lan", "o2", 1050, &ago(now, 5))]).await;
    assert_eq!(books(s, &ws, lan).await, (59, 0));
    let entries = s.loyalty_entries(ws.id, lan, None, 10).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.kind.as_str(), e.points, e.ref_id.as_str()))
            .collect::<Vec<_>>(),
        [("earn", 10, "o2"), ("earn", 49, "o1")],
        "newest first, each naming its order"
    );
}

async fn refunds_and_cancellations_take_back_their_share(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "lan", "o1", 10_000, &ago(now, 10)),
            paid("p2", "lan", "o2", 5_000, &ago(now, 9)),
        ],
    )
    .await;
    let lan = by_external_id(s, &ws, "lan").await;
    assert_eq!(books(s, &ws, lan).await, (150, 0));
    // A partial refund of a quarter takes back 25 of o1's 100 points, once.
    ingest_ok(
        s,
        &ws,
        &[refund("r1", "lan", "o1", Some(2_500), &ago(now, 8))],
    )
    .await;
    assert_eq!(books(s, &ws, lan).await, (125, 0));
    ingest_ok(
        s,
        &ws,
        &[refund("r1", "lan", "o1", Some(2_500), &ago(now, 8))],
    )
    .await;
    assert_eq!(
        books(s, &ws, lan).await,
        (125, 0),
        "a repeated refund takes nothing more"
    );
    // Cancelling o2 takes back all 50.
    ingest_ok(s, &ws, &[cancel("c2", "lan", "o2", &ago(now, 7))]).await;
    assert_eq!(books(s, &ws, lan).await, (75, 0));
}

async fn reversing_spent_points_records_a_debt_that_earnings_repay(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 10_000, &ago(now, 10))]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    let r = redeem(s, ws.id, lan, 80, "spend-80", None, now)
        .await
        .unwrap();
    assert_eq!(r.balance, 20);
    // The full refund wants 100 back: 20 are there, 80 were spent.
    ingest_ok(s, &ws, &[refund("r1", "lan", "o1", None, &ago(now, 1))]).await;
    assert_eq!(books(s, &ws, lan).await, (0, 80));
    // The next 50 points repay the debt; 70 later leave 40.
    ingest_ok(s, &ws, &[paid("p2", "lan", "o2", 5_000, &ago(now, 0))]).await;
    assert_eq!(books(s, &ws, lan).await, (0, 30));
    ingest_ok(s, &ws, &[paid("p3", "lan", "o3", 7_000, &ago(now, 0))]).await;
    assert_eq!(books(s, &ws, lan).await, (40, 0));
}

async fn redeeming_is_idempotent_and_refuses_what_the_balance_lacks(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 10_000, &ago(now, 10))]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    let first = redeem(s, ws.id, lan, 30, "k1", None, now).await.unwrap();
    let again = redeem(s, ws.id, lan, 30, "k1", None, now).await.unwrap();
    assert_eq!(
        (again.id, again.balance, again.replayed),
        (first.id, 70, true)
    );
    assert_eq!(books(s, &ws, lan).await, (70, 0), "spent once");
    assert!(matches!(
        redeem(s, ws.id, lan, 40, "k1", None, now).await,
        Err(LoyaltyError::KeyReused)
    ));
    match redeem(s, ws.id, lan, 71, "k2", None, now).await {
        Err(LoyaltyError::Insufficient(e)) => assert_eq!((e.wanted, e.balance), (71, 70)),
        other => panic!("expected insufficient points, got {other:?}"),
    }
    assert_eq!(
        books(s, &ws, lan).await,
        (70, 0),
        "a refused spend changes nothing"
    );
    assert!(matches!(
        redeem(s, ws.id, ContactId(999_999), 1, "k3", None, now).await,
        Err(LoyaltyError::NotFound)
    ));
}

/// 64 concurrent redemptions of 10 points against a balance of 100: exactly 10 succeed.
async fn concurrent_redemptions_spend_the_balance_exactly_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let now = now_micros();
    ingest_ok(
        db.store.as_ref(),
        &ws,
        &[paid("p1", "lan", "o1", 10_000, &ago(now, 10))],
    )
    .await;
    let lan = by_external_id(db.store.as_ref(), &ws, "lan").await;
    let store: Arc<dyn Store> = db.store.clone();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                redeem(store.as_ref(), ws.id, lan, 10, &format!("k{i}"), None, now).await
            })
        })
        .collect();
    let (mut ok, mut short) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LoyaltyError::Insufficient(_)) => short += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, short), (10, 54));
    assert_eq!(books(db.store.as_ref(), &ws, lan).await, (0, 0));
}

/// 64 concurrent redemptions of a reward with 7 in stock, by a contact who could pay for
/// 10: exactly 7 succeed and the stock ends at zero.
async fn concurrent_redemptions_never_oversell_a_reward(db: TestDb) {
    let ws = db.workspace("shop").await;
    let now = now_micros();
    ingest_ok(
        db.store.as_ref(),
        &ws,
        &[paid("p1", "lan", "o1", 10_000, &ago(now, 10))],
    )
    .await;
    let lan = by_external_id(db.store.as_ref(), &ws, "lan").await;
    let reward = add_reward(
        db.store.as_ref(),
        ws.id,
        &RewardRow {
            id: 0,
            name: "Tote bag".into(),
            cost_points: 10,
            stock: Some(7),
            valid_from: None,
            valid_until: None,
            rung_required: None,
            active: true,
            coupon: None,
        },
    )
    .await
    .unwrap();
    let store: Arc<dyn Store> = db.store.clone();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                redeem(
                    store.as_ref(),
                    ws.id,
                    lan,
                    10,
                    &format!("r{i}"),
                    Some(reward.id),
                    now,
                )
                .await
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LoyaltyError::OutOfStock) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, refused), (7, 57));
    assert_eq!(books(db.store.as_ref(), &ws, lan).await, (30, 0));
    let left = db.store.rewards(ws.id).await.unwrap();
    assert_eq!(left[0].stock, Some(0));
}

async fn lots_expire_at_their_instant_through_the_scheduler(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    // Earned 400 days ago: expired 35 days ago already, taken on arrival.
    ingest_ok(s, &ws, &[paid("p0", "old", "o0", 1_000, &ago(now, 400))]).await;
    let old = by_external_id(s, &ws, "old").await;
    assert_eq!(books(s, &ws, old).await, (0, 0));
    let kinds: Vec<String> = s
        .loyalty_entries(ws.id, old, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["expire", "earn"]);

    // Earned 300 days ago (the 12 months end about 65 days from now), and 10 days ago.
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "lan", "o1", 3_000, &ago(now, 300)),
            paid("p2", "lan", "o2", 2_000, &ago(now, 10)),
        ],
    )
    .await;
    let lan = by_external_id(s, &ws, "lan").await;
    // Spending takes the oldest lot first: 20 of its 30.
    redeem(s, ws.id, lan, 20, "k", None, now).await.unwrap();
    let account = s.loyalty_account(ws.id, lan).await.unwrap().unwrap();
    let first_expiry = account.next_expiry.expect("a lot is open");
    assert!(first_expiry > now + 60 * DAY && first_expiry < now + 70 * DAY);
    assert_eq!(
        expire_due(s, ws.id, first_expiry - 1).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(books(s, &ws, lan).await, (30, 0));
    assert_eq!(
        expire_due(s, ws.id, first_expiry).await.unwrap(),
        1,
        "at its instant"
    );
    assert_eq!(
        books(s, &ws, lan).await,
        (20, 0),
        "the 10 left of the oldest lot expired"
    );
    let e = &s.loyalty_entries(ws.id, lan, None, 1).await.unwrap()[0];
    assert_eq!(
        (e.kind.as_str(), e.points, e.at),
        ("expire", -10, first_expiry)
    );
    assert_eq!(
        expire_due(s, ws.id, first_expiry).await.unwrap(),
        0,
        "nothing twice"
    );
}

async fn earn_rules_apply_from_their_version_on(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p1", "lan", "o1", 1_000, &ago(now, 30))]).await;
    let rules = EarnRules::from_json(&json!({
        "points_per_unit": 2,
        "bonuses": {"second_order_within_30_days": 50, "survey_answered": 5, "review_written": 7},
        "caps": {"per_order": 1000}
    }))
    .unwrap();
    assert_eq!(set_rules(s, ws.id, &rules, now).await.unwrap(), 2);
    let lan = by_external_id(s, &ws, "lan").await;
    assert_eq!(
        books(s, &ws, lan).await,
        (10, 0),
        "earned points do not change"
    );
    // Second order 25 days after the first: 2 × 10 + 50.
    ingest_ok(s, &ws, &[paid("p2", "lan", "o2", 1_000, &ago(now, 5))]).await;
    assert_eq!(books(s, &ws, lan).await, (80, 0));
    let nps = json!({"id": "n1", "kind": "survey.answered", "occurred_at": ago(now, 1),
                     "contact": {"external_id": "lan"}, "data": {"survey": "nps", "score": 9}});
    ingest_ok(s, &ws, &[nps]).await;
    assert_eq!(books(s, &ws, lan).await, (85, 0));
    let adjusted = adjust(s, &ws, lan, -85, "goodwill reversal", "admin", now)
        .await
        .unwrap();
    assert_eq!((adjusted.balance, adjusted.debt), (0, 0));
    assert!(matches!(
        adjust(s, &ws, lan, -1, "too much", "admin", now).await,
        Err(LoyaltyError::Insufficient(_))
    ));
    assert_eq!(books(s, &ws, lan).await, (0, 0));
}

async fn the_day_cap_limits_what_one_day_earns(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let rules = EarnRules::from_json(&json!({"caps": {"per_day": 15}})).unwrap();
    set_rules(s, ws.id, &rules, now).await.unwrap();
    let day = now - 3 * DAY;
    let at = |h: i64| format_instant(day - day.rem_euclid(DAY) + h * 3_600_000_000);
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "lan", "o1", 1_000, &at(9)),
            paid("p2", "lan", "o2", 1_000, &at(10)),
        ],
    )
    .await;
    let lan = by_external_id(s, &ws, "lan").await;
    assert_eq!(
        books(s, &ws, lan).await,
        (15, 0),
        "10, then 5 under the cap"
    );
    ingest_ok(s, &ws, &[paid("p3", "lan", "o3", 1_000, &at(11))]).await;
    assert_eq!(
        books(s, &ws, lan).await,
        (15, 0),
        "a later batch the same day earns nothing"
    );
    ingest_ok(s, &ws, &[paid("p4", "lan", "o4", 1_000, &at(25))]).await;
    assert_eq!(
        books(s, &ws, lan).await,
        (25, 0),
        "the next day earns again"
    );
}

both_backends!(
    the_day_cap_limits_what_one_day_earns,
    paid_orders_earn_one_point_per_whole_unit,
    refunds_and_cancellations_take_back_their_share,
    reversing_spent_points_records_a_debt_that_earnings_repay,
    redeeming_is_idempotent_and_refuses_what_the_balance_lacks,
    concurrent_redemptions_spend_the_balance_exactly_once,
    concurrent_redemptions_never_oversell_a_reward,
    lots_expire_at_their_instant_through_the_scheduler,
    earn_rules_apply_from_their_version_on,
);
