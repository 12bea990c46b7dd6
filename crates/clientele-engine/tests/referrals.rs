//! The referral programme in the product, on SQLite and PostgreSQL: a referee's first paid
//! order inside the window rewards both sides once and records `referral.converted` for
//! the referrer; self-referrals, loops, existing customers and second attributions are
//! refused; a refund inside the window takes the rewards back; 100 concurrent sign-ups
//! with one code reward each referee exactly once.

mod common;

use std::sync::Arc;

use clientele_core::ContactId;
use clientele_core::contact::ContactInput;
use clientele_core::time::{DAY, Micros, format_instant};
use clientele_engine::contacts::ContactError;
use clientele_engine::loyalty::referrals::{Refusal, attribute, code_of, sign_up};
use clientele_engine::loyalty::{LoyaltyError, set_rules};
use clientele_loyalty::EarnRules;
use clientele_store::{Store, TimelinePage, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn at(now: Micros, days: i64) -> String {
    format_instant(now + days * DAY)
}

fn input(doc: Value) -> ContactInput {
    ContactInput::from_json(&doc).expect("valid contact")
}

/// Points of `id` whose reference is a referral, and the balance.
async fn referral_points(s: &dyn Store, ws: &Workspace, id: ContactId) -> (Vec<i64>, i64) {
    let entries = s.loyalty_entries(ws.id, id, None, 10_000).await.unwrap();
    let balance = s
        .loyalty_account(ws.id, id)
        .await
        .unwrap()
        .map_or(0, |a| a.balance);
    let sum: i64 = entries.iter().map(|e| e.points).sum();
    let debt = s
        .loyalty_account(ws.id, id)
        .await
        .unwrap()
        .map_or(0, |a| a.debt);
    assert_eq!(sum, balance - debt, "entries sum to balance minus debt");
    let mut points: Vec<i64> = entries
        .iter()
        .filter(|e| e.ref_kind == "referral")
        .map(|e| e.points)
        .collect();
    points.reverse();
    (points, balance)
}

async fn converted_events(s: &dyn Store, ws: &Workspace, id: ContactId) -> Vec<Value> {
    let page = TimelinePage {
        before_seq: None,
        limit: 1000,
    };
    s.timeline(ws.id, id, &page)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "referral.converted")
        .map(|e| e.data)
        .collect()
}

/// A referrer who bought once (10 points) and has a code.
async fn referrer(s: &dyn Store, ws: &Workspace, now: Micros) -> (ContactId, String) {
    ingest_ok(s, ws, &[paid("p0", "lan", "o0", 1_000, &at(now, -30))]).await;
    let lan = by_external_id(s, ws, "lan").await;
    let (code, new) = code_of(s, ws.id, lan, now).await.unwrap();
    assert!(new);
    assert_eq!(
        code_of(s, ws.id, lan, now).await.unwrap(),
        (code.clone(), false)
    );
    (lan, code)
}

async fn a_first_paid_order_rewards_both_sides_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let (lan, code) = referrer(s, &ws, now).await;
    let (binh, outcome) = sign_up(
        s,
        &ws,
        input(json!({"external_id": "binh", "email": "binh@example.vn"})),
        &code.to_lowercase(),
        now,
    )
    .await
    .unwrap();
    let pending = outcome.expect("attributed");
    assert_eq!(
        (pending.referrer_id, pending.status.as_str()),
        (lan, "pending")
    );
    assert_eq!(
        pending.window_until,
        now + 60 * DAY,
        "the default window is 60 days"
    );

    let first = paid("b1", "binh", "ob1", 20_000, &at(now, 1));
    ingest_ok(s, &ws, std::slice::from_ref(&first)).await;
    ingest_ok(s, &ws, &[first]).await;
    ingest_ok(s, &ws, &[paid("b2", "binh", "ob2", 5_000, &at(now, 2))]).await;
    assert_eq!(referral_points(s, &ws, lan).await, (vec![200], 210));
    assert_eq!(
        referral_points(s, &ws, binh).await,
        (vec![100], 100 + 200 + 50),
        "the referee's bonus once, besides what the orders earn"
    );
    let events = converted_events(s, &ws, lan).await;
    assert_eq!(events, [json!({"referee": {"id": binh.0}})]);
    let r = s.referral_of(ws.id, binh).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.order_id.as_deref()),
        ("converted", Some("ob1"))
    );
    let stats = s.referral_stats(ws.id, Some(lan), 10).await.unwrap();
    assert_eq!(
        (
            stats[0].invited,
            stats[0].converted,
            stats[0].revoked,
            stats[0].revenue
        ),
        (1, 1, 0, 25_000),
        "revenue from the referee's orders"
    );
}

async fn self_referrals_loops_and_existing_customers_are_refused(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let lan = clientele_engine::contacts::create(
        s,
        &ws,
        input(json!({"email": "Lan.Nguyen@gmail.com", "phone": "+84901234567"})),
    )
    .await
    .unwrap();
    let (code, _) = code_of(s, ws.id, lan, now).await.unwrap();
    let refused = |doc: Value| {
        let code = code.clone();
        let ws = ws.clone();
        async move {
            sign_up(s, &ws, input(doc), &code, now)
                .await
                .unwrap()
                .1
                .expect_err("refused")
        }
    };
    // The same mailbox behind a `+` alias and dots, on googlemail.
    assert_eq!(
        refused(json!({"email": "lannguyen+deal@googlemail.com"})).await,
        Refusal::SelfReferral("the same mailbox")
    );
    // The same phone is the same contact already: the sign-up itself is refused.
    let same_phone = sign_up(
        s,
        &ws,
        input(json!({"email": "other@example.vn", "phone": "+84 90 123 4567"})),
        &code,
        now,
    )
    .await;
    assert!(
        matches!(same_phone, Err(ContactError::Taken { field: "phone", .. })),
        "{same_phone:?}"
    );
    let own = attribute(s, ws.id, lan, &code, now).await;
    assert!(matches!(
        own,
        Err(LoyaltyError::Referral(Refusal::SelfReferral(_)))
    ));

    // lan refers binh; binh's code cannot then bring lan in.
    let (binh, ok) = sign_up(
        s,
        &ws,
        input(json!({"email": "binh@example.vn"})),
        &code,
        now,
    )
    .await
    .unwrap();
    ok.unwrap();
    let (binh_code, _) = code_of(s, ws.id, binh, now).await.unwrap();
    let looped = attribute(s, ws.id, lan, &binh_code, now).await;
    assert!(
        matches!(looped, Err(LoyaltyError::Referral(Refusal::Loop))),
        "{looped:?}"
    );
    // Nor can binh be referred twice.
    let twice = attribute(s, ws.id, binh, &code, now).await;
    assert!(matches!(
        twice,
        Err(LoyaltyError::Referral(Refusal::AlreadyReferred))
    ));
    // Someone who has already paid is a customer, not a referral.
    ingest_ok(s, &ws, &[paid("c1", "chi", "oc1", 1_000, &at(now, -5))]).await;
    let chi = by_external_id(s, &ws, "chi").await;
    let existing = attribute(s, ws.id, chi, &code, now).await;
    assert!(matches!(
        existing,
        Err(LoyaltyError::Referral(Refusal::ExistingCustomer))
    ));
    let unknown = attribute(s, ws.id, chi, "AAAA-BBBB-CCCC-DDDD", now).await;
    assert!(
        matches!(unknown, Err(LoyaltyError::Invalid(_))),
        "{unknown:?}"
    );
    let stats = s.referral_stats(ws.id, Some(lan), 10).await.unwrap();
    assert_eq!(stats[0].invited, 1, "only binh was attributed");
}

async fn a_refund_inside_the_window_takes_both_rewards_back(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let rules = EarnRules::from_json(&json!({"referrals": {
        "referee": {"coupon": {"kind": "percent", "value": 15}}
    }}))
    .unwrap();
    set_rules(s, ws.id, &rules, now).await.unwrap();
    let (lan, code) = referrer(s, &ws, now).await;
    let (binh, _) = sign_up(s, &ws, input(json!({"external_id": "binh"})), &code, now)
        .await
        .unwrap();
    ingest_ok(s, &ws, &[paid("b1", "binh", "ob1", 20_000, &at(now, 1))]).await;
    let coupons = s.coupons_of(ws.id, binh).await.unwrap();
    assert_eq!(coupons.len(), 1, "the referee's reward is a coupon");
    assert!(coupons[0].active);
    assert_eq!(referral_points(s, &ws, lan).await, (vec![200], 210));

    ingest_ok(
        s,
        &ws,
        &[refund("r1", "binh", "ob1", Some(5_000), &at(now, 3))],
    )
    .await;
    ingest_ok(
        s,
        &ws,
        &[refund("r1", "binh", "ob1", Some(5_000), &at(now, 3))],
    )
    .await;
    assert_eq!(referral_points(s, &ws, lan).await, (vec![200, -200], 10));
    assert!(
        !s.coupons_of(ws.id, binh).await.unwrap()[0].active,
        "coupon withdrawn"
    );
    let r = s.referral_of(ws.id, binh).await.unwrap().unwrap();
    assert_eq!(r.status, "revoked");
    let stats = s.referral_stats(ws.id, Some(lan), 10).await.unwrap();
    assert_eq!((stats[0].converted, stats[0].revoked), (0, 1));
}

async fn a_first_order_after_the_window_rewards_nobody(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let now = now_micros();
    let rules = EarnRules::from_json(&json!({"referrals": {"window_days": 7}})).unwrap();
    set_rules(s, ws.id, &rules, now).await.unwrap();
    let (lan, code) = referrer(s, &ws, now).await;
    let (binh, _) = sign_up(s, &ws, input(json!({"external_id": "binh"})), &code, now)
        .await
        .unwrap();
    ingest_ok(s, &ws, &[paid("b1", "binh", "ob1", 20_000, &at(now, 8))]).await;
    ingest_ok(s, &ws, &[paid("b2", "binh", "ob2", 20_000, &at(now, 9))]).await;
    assert_eq!(referral_points(s, &ws, lan).await, (vec![], 10));
    assert_eq!(referral_points(s, &ws, binh).await.0, Vec::<i64>::new());
    let r = s.referral_of(ws.id, binh).await.unwrap().unwrap();
    assert_eq!(r.status, "expired");
    assert!(converted_events(s, &ws, lan).await.is_empty());
}

async fn concurrent_sign_ups_with_one_code_reward_each_referee_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let now = now_micros();
    let (lan, code) = referrer(db.store.as_ref(), &ws, now).await;
    let store: Arc<dyn Store> = db.store.clone();
    let sign_ups: Vec<_> = (0..100)
        .map(|i| {
            let (store, ws, code) = (store.clone(), ws.clone(), code.clone());
            tokio::spawn(async move {
                let doc = json!({"external_id": format!("friend{i}")});
                let (_, outcome) = sign_up(store.as_ref(), &ws, input(doc), &code, now)
                    .await
                    .unwrap();
                outcome.expect("attributed")
            })
        })
        .collect();
    for t in sign_ups {
        t.await.unwrap();
    }
    // Each friend pays, every event sent twice, all at once.
    let orders: Vec<_> = (0..200)
        .map(|n| {
            let (store, ws) = (store.clone(), ws.clone());
            let i = n % 100;
            tokio::spawn(async move {
                let e = paid(
                    &format!("f{i}"),
                    &format!("friend{i}"),
                    &format!("of{i}"),
                    1_000,
                    &at(now, 1),
                );
                ingest_ok(store.as_ref(), &ws, &[e]).await;
            })
        })
        .collect();
    for t in orders {
        t.await.unwrap();
    }
    let s = store.as_ref();
    for i in 0..100 {
        let friend = by_external_id(s, &ws, &format!("friend{i}")).await;
        assert_eq!(referral_points(s, &ws, friend).await, (vec![100], 110));
    }
    let (points, balance) = referral_points(s, &ws, lan).await;
    assert_eq!((points.len(), balance), (100, 10 + 100 * 200));
    assert_eq!(converted_events(s, &ws, lan).await.len(), 100);
    let stats = s.referral_stats(ws.id, Some(lan), 10).await.unwrap();
    assert_eq!((stats[0].invited, stats[0].converted), (100, 100));
}

both_backends!(
    a_first_paid_order_rewards_both_sides_once,
    self_referrals_loops_and_existing_customers_are_refused,
    a_refund_inside_the_window_takes_both_rewards_back,
    a_first_order_after_the_window_rewards_nobody,
    concurrent_sign_ups_with_one_code_reward_each_referee_once,
);
