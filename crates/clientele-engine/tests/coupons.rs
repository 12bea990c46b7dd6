//! Coupons in the product, on SQLite and PostgreSQL: an order event that names a code uses
//! it once however often it is retried, a cancelled order hands it back, limits (uses,
//! owner, minimum, expiry) refuse with their reason, and a reward can hand one out.

mod common;

use clientele_core::ContactId;
use clientele_core::time::{DAY, Micros, format_instant};
use clientele_engine::loyalty::coupons::{CouponSpec, issue, validate};
use clientele_engine::loyalty::{add_reward, adjust, redeem};
use clientele_loyalty::coupon::{Discount, display_code};
use clientele_store::{CouponRow, RewardRow, Store, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn at(now: Micros, days: i64) -> String {
    format_instant(now + days * DAY)
}

fn paid_with(id: &str, who: &str, order: &str, total: i64, when: &str, code: &str) -> Value {
    let mut e = paid(id, who, order, total, when);
    e["data"]["coupon"] = json!(code);
    e
}

fn placed_with(id: &str, who: &str, order: &str, total: i64, when: &str, code: &str) -> Value {
    let mut e = paid_with(id, who, order, total, when, code);
    e["kind"] = json!("order.placed");
    e
}

fn spec(discount: Discount, max_uses: Option<i64>) -> CouponSpec {
    CouponSpec {
        discount,
        min_order: 0,
        max_uses,
        contact_id: None,
        expires_at: None,
    }
}

async fn one(s: &dyn Store, ws: &Workspace, spec: &CouponSpec) -> CouponRow {
    issue(s, ws.id, spec, 1, "test", now_micros())
        .await
        .unwrap()
        .remove(0)
}

/// `(uses, [(order, status)])` as stored.
async fn uses(s: &dyn Store, ws: &Workspace, code: &str) -> (i64, Vec<(String, String)>) {
    let c = clientele_store::CouponReader::coupon(s, ws.id, code)
        .await
        .unwrap()
        .unwrap();
    let mut by_order: Vec<(String, String)> = s
        .coupon_uses(ws.id, code)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.order_id, u.status))
        .collect();
    by_order.sort();
    (c.uses, by_order)
}

async fn an_order_uses_a_coupon_once_however_often_its_events_come(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let c = one(s, &ws, &spec(Discount::Percent(10), Some(1))).await;
    assert_eq!(c.code.len(), 16);
    let typed = display_code(&c.code).to_lowercase();
    let v = validate(s, ws.id, &typed, None, 20_000, now).await.unwrap();
    assert_eq!((v.valid, v.discount), (true, 2_000));

    // Placed, paid, and the paid event retried: one use.
    ingest_ok(
        s,
        &ws,
        &[placed_with("e1", "lan", "o1", 18_000, &at(now, -2), &typed)],
    )
    .await;
    ingest_ok(
        s,
        &ws,
        &[paid_with("e2", "lan", "o1", 18_000, &at(now, -1), &typed)],
    )
    .await;
    ingest_ok(
        s,
        &ws,
        &[paid_with("e2", "lan", "o1", 18_000, &at(now, -1), &typed)],
    )
    .await;
    assert_eq!(
        uses(s, &ws, &c.code).await,
        (1, vec![("o1".into(), "applied".into())])
    );
    // A second order with the single-use code is refused, and says so.
    ingest_ok(
        s,
        &ws,
        &[paid_with("e3", "binh", "o2", 9_000, &at(now, 0), &c.code)],
    )
    .await;
    assert_eq!(
        uses(s, &ws, &c.code).await,
        (
            1,
            vec![
                ("o1".into(), "applied".into()),
                ("o2".into(), "refused".into())
            ]
        )
    );
    let v = validate(s, ws.id, &c.code, None, 20_000, now)
        .await
        .unwrap();
    assert_eq!((v.valid, v.reason), (false, Some("used-up")));
}

async fn a_cancelled_order_hands_its_coupon_back(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let c = one(s, &ws, &spec(Discount::Fixed(5_000), Some(1))).await;
    ingest_ok(
        s,
        &ws,
        &[paid_with("e1", "lan", "o1", 30_000, &at(now, -3), &c.code)],
    )
    .await;
    assert_eq!(uses(s, &ws, &c.code).await.0, 1);
    ingest_ok(s, &ws, &[cancel("x1", "lan", "o1", &at(now, -2))]).await;
    ingest_ok(s, &ws, &[cancel("x1", "lan", "o1", &at(now, -2))]).await;
    assert_eq!(
        uses(s, &ws, &c.code).await,
        (0, vec![("o1".into(), "restored".into())]),
        "restored once, however often the cancellation comes"
    );
    // Handed back, it serves the next order.
    ingest_ok(
        s,
        &ws,
        &[paid_with("e2", "lan", "o2", 30_000, &at(now, -1), &c.code)],
    )
    .await;
    assert_eq!(uses(s, &ws, &c.code).await.0, 1);
}

async fn limits_refuse_with_their_reason(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p0", "lan", "o0", 1_000, &at(now, -30))]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    let mine = one(
        s,
        &ws,
        &CouponSpec {
            contact_id: Some(lan),
            min_order: 10_000,
            expires_at: Some(now + DAY),
            ..spec(Discount::Percent(20), None)
        },
    )
    .await;
    let check = |who: Option<ContactId>, total: i64, when: Micros| {
        let code = mine.code.clone();
        async move {
            validate(s, ws.id, &code, who, total, when)
                .await
                .unwrap()
                .reason
        }
    };
    assert_eq!(check(Some(lan), 10_000, now).await, None);
    assert_eq!(
        check(Some(ContactId(lan.0 + 1)), 10_000, now).await,
        Some("not-yours")
    );
    assert_eq!(check(Some(lan), 9_999, now).await, Some("below-minimum"));
    assert_eq!(
        check(Some(lan), 10_000, now + 2 * DAY).await,
        Some("expired")
    );
    assert_eq!(
        validate(s, ws.id, "AAAA-BBBB-CCCC-DDDD", None, 1, now)
            .await
            .unwrap()
            .reason,
        Some("unknown")
    );
    assert!(
        validate(s, ws.id, "nope", None, 1, now).await.is_err(),
        "not a code at all"
    );

    // The same limits hold when orders name the code: only lan's big order before expiry.
    ingest_ok(
        s,
        &ws,
        &[
            paid_with("e1", "binh", "o1", 50_000, &at(now, 0), &mine.code),
            paid_with("e2", "lan", "o2", 5_000, &at(now, 0), &mine.code),
            paid_with("e3", "lan", "o3", 50_000, &at(now, 2), &mine.code),
            paid_with("e4", "lan", "o4", 50_000, &at(now, 0), &mine.code),
        ],
    )
    .await;
    let (count, by_order) = uses(s, &ws, &mine.code).await;
    assert_eq!(count, 1);
    let statuses: Vec<&str> = by_order.iter().map(|(_, st)| st.as_str()).collect();
    assert_eq!(statuses, ["refused", "refused", "refused", "applied"]);
    let reasons: Vec<Option<String>> = s
        .coupon_uses(ws.id, &mine.code)
        .await
        .unwrap()
        .into_iter()
        .map(|u| {
            u.reason
                .map(|r| r.split(' ').next().unwrap_or_default().to_owned())
        })
        .collect();
    for expected in ["not-yours", "below-minimum", "expired"] {
        assert!(
            reasons.contains(&Some(expected.to_owned())),
            "{expected} in {reasons:?}"
        );
    }
}

async fn a_multi_use_coupon_counts_each_order_up_to_its_limit(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let c = one(s, &ws, &spec(Discount::Percent(5), Some(3))).await;
    let batch: Vec<Value> = (0..5)
        .map(|i| {
            paid_with(
                &format!("e{i}"),
                &format!("c{i}"),
                &format!("o{i}"),
                1_000,
                &at(now, 0),
                &c.code,
            )
        })
        .collect();
    ingest_ok(s, &ws, &batch).await;
    ingest_ok(s, &ws, &batch).await;
    let (count, by_order) = uses(s, &ws, &c.code).await;
    assert_eq!(count, 3);
    assert_eq!(by_order.iter().filter(|(_, st)| st == "applied").count(), 3);
    assert_eq!(by_order.len(), 5, "every order's attempt is on record");
}

async fn a_reward_hands_out_a_coupon_with_the_points_spent(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    ingest_ok(s, &ws, &[paid("p0", "lan", "o0", 1_000, &at(now, -1))]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    adjust(s, &ws, lan, 500, "welcome", "test", now)
        .await
        .unwrap();
    let reward = add_reward(
        s,
        ws.id,
        &RewardRow {
            id: 0,
            name: "10% off".into(),
            cost_points: 300,
            stock: None,
            valid_from: None,
            valid_until: None,
            rung_required: None,
            active: true,
            coupon: Some(json!({"kind": "percent", "value": 10, "valid_days": 30}).to_string()),
        },
    )
    .await
    .unwrap();
    let r = redeem(s, ws.id, lan, 300, "k1", Some(reward.id), now)
        .await
        .unwrap();
    let code = r.coupon.clone().expect("a coupon is handed out");
    assert_eq!(r.balance, 210);
    let again = redeem(s, ws.id, lan, 300, "k1", Some(reward.id), now)
        .await
        .unwrap();
    assert_eq!(
        again.coupon.as_deref(),
        Some(code.as_str()),
        "a replay answers the same code"
    );
    let held = s.coupons_of(ws.id, lan).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].code.as_str(),
            held[0].max_uses,
            held[0].contact_id,
            held[0].source.as_str()
        ),
        (code.as_str(), Some(1), Some(lan), "reward")
    );
    assert_eq!(held[0].expires_at, Some(now + 30 * DAY));
}

both_backends!(
    an_order_uses_a_coupon_once_however_often_its_events_come,
    a_cancelled_order_hands_its_coupon_back,
    limits_refuse_with_their_reason,
    a_multi_use_coupon_counts_each_order_up_to_its_limit,
    a_reward_hands_out_a_coupon_with_the_points_spent,
);
