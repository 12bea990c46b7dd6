//! The loyalty program over HTTP, on SQLite and PostgreSQL: the interface contract of the
//! balance, the ledger, redemptions (201, 409 insufficient-points, replay by key), earn
//! rules and the rewards catalogue.

mod common;

use clientele_core::time::{DAY, format_instant};
use clientele_store::now_micros;
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn paid(id: &str, ext: &str, order: &str, total: i64) -> Value {
    let at = format_instant(now_micros() - DAY);
    json!({"id": id, "kind": "order.paid", "occurred_at": at, "contact": {"external_id": ext},
           "data": {"order_id": order, "total": total, "currency": "USD"}})
}

async fn contact(app: &App, ext: &str) -> i64 {
    let (_, page) = app
        .get(&format!("/api/v1/contacts?external_id={ext}"))
        .await;
    page["items"][0]["id"].as_i64().expect("contact exists")
}

async fn entries_sum(app: &App, id: i64) -> i64 {
    let (s, page) = app
        .get(&format!("/api/v1/contacts/{id}/loyalty/entries"))
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum()
}

async fn balance_ledger_and_redemptions_follow_the_contract(db: TestDb) {
    let app = spawn(db).await;
    let (s, _) = app
        .post(
            "/api/v1/events",
            &json!({"events": [paid("e1", "lan", "o1", 12_345)]}),
        )
        .await;
    assert_eq!(s, 200);
    let id = contact(&app, "lan").await;
    let (s, l) = app.get(&format!("/api/v1/contacts/{id}/loyalty")).await;
    assert_eq!(
        (s, &l["balance"], &l["debt"]),
        (200, &json!(123), &json!(0)),
        "{l}"
    );
    assert!(l["next_expiry"].is_string());
    assert_eq!(entries_sum(&app, id).await, 123);

    let path = format!("/api/v1/contacts/{id}/loyalty/redemptions");
    let (s, r) = app
        .post(&path, &json!({"points": 100, "idempotency_key": "k1"}))
        .await;
    assert_eq!((s, &r["balance"]), (201, &json!(23)), "{r}");
    let (s, again) = app
        .post(&path, &json!({"points": 100, "idempotency_key": "k1"}))
        .await;
    assert_eq!(
        (s, &again["id"], &again["balance"]),
        (201, &r["id"], &json!(23)),
        "replayed"
    );
    let (s, p) = app
        .post(&path, &json!({"points": 24, "idempotency_key": "k2"}))
        .await;
    assert_eq!(s, 409, "{p}");
    assert!(
        p["type"].as_str().unwrap().ends_with("insufficient-points"),
        "{p}"
    );
    let (s, p) = app
        .post(&path, &json!({"points": 0, "idempotency_key": "k3"}))
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("points")), "{p}");
    let (s, p) = app.post(&path, &json!({"points": 1})).await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = app
        .post(&path, &json!({"points": "1", "idempotency_key": "k4"}))
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("points")), "{p}");
    let (s, _) = app
        .post(
            "/api/v1/contacts/999999/loyalty/redemptions",
            &json!({"points": 1, "idempotency_key": "k5"}),
        )
        .await;
    assert_eq!(s, 404);

    let (s, a) = app
        .post(
            &format!("/api/v1/contacts/{id}/loyalty/adjustments"),
            &json!({"points": 7, "reason": "sorry for the delay"}),
        )
        .await;
    assert_eq!((s, &a["balance"]), (200, &json!(30)), "{a}");
    let (_, l) = app.get(&format!("/api/v1/contacts/{id}/loyalty")).await;
    assert_eq!(
        entries_sum(&app, id).await,
        l["balance"].as_i64().unwrap() - l["debt"].as_i64().unwrap()
    );
    let (_, page) = app
        .get(&format!("/api/v1/contacts/{id}/loyalty/entries?limit=2"))
        .await;
    let kinds: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["adjust", "redeem"]);
    let cursor = page["next_cursor"].as_str().expect("more pages");
    let (_, rest) = app
        .get(&format!(
            "/api/v1/contacts/{id}/loyalty/entries?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"][0]["kind"], "earn");
    app.stop().await;
}

async fn earn_rules_and_rewards_are_managed_through_the_api(db: TestDb) {
    let app = spawn(db).await;
    let (s, r) = app.get("/api/v1/loyalty/rules").await;
    assert_eq!(
        (s, &r["version"], &r["rules"]["points_per_unit"]),
        (200, &json!(1), &json!(1.0)),
        "{r}"
    );
    let (s, e) = app
        .post("/api/v1/loyalty/rules", &json!({"multipliers": {"vip": 2}}))
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (422, Some("multipliers.vip")),
        "{e}"
    );
    let (s, r) = app
        .post(
            "/api/v1/loyalty/rules",
            &json!({"points_per_unit": 2, "bonuses": {"first_order": 10}}),
        )
        .await;
    assert_eq!((s, &r["version"]), (200, &json!(2)), "{r}");
    app.post(
        "/api/v1/events",
        &json!({"events": [paid("e1", "lan", "o1", 1_000)]}),
    )
    .await;
    let id = contact(&app, "lan").await;
    let (_, l) = app.get(&format!("/api/v1/contacts/{id}/loyalty")).await;
    assert_eq!(l["balance"], 30, "2 × 10 + a first-order bonus of 10");

    let (s, e) = app
        .post(
            "/api/v1/loyalty/rewards",
            &json!({"name": "Mug", "cost_points": 0}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("cost_points")), "{e}");
    let (s, mug) = app
        .post(
            "/api/v1/loyalty/rewards",
            &json!({"name": "Mug", "cost_points": 25, "stock": 1}),
        )
        .await;
    assert_eq!(s, 201, "{mug}");
    let path = format!("/api/v1/contacts/{id}/loyalty/redemptions");
    let body = |key: &str| json!({"points": 25, "idempotency_key": key, "reward_id": mug["id"]});
    let (s, r) = app.post(&path, &body("m1")).await;
    assert_eq!((s, &r["balance"]), (201, &json!(5)), "{r}");
    app.post(
        &format!("/api/v1/contacts/{id}/loyalty/adjustments"),
        &json!({"points": 50, "reason": "test"}),
    )
    .await;
    let (s, p) = app.post(&path, &body("m2")).await;
    assert_eq!(s, 409, "{p}");
    assert!(p["type"].as_str().unwrap().ends_with("out-of-stock"), "{p}");
    let (_, list) = app.get("/api/v1/loyalty/rewards").await;
    assert_eq!(list["items"][0]["stock"], 0);

    // A shopper cannot take a reward kept for clients; unknown rungs are refused.
    let (s, e) = app
        .post(
            "/api/v1/loyalty/rewards",
            &json!({"name": "Lounge", "cost_points": 5, "rung_required": "vip"}),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (422, Some("rung_required")),
        "{e}"
    );
    let (_, lounge) = app
        .post(
            "/api/v1/loyalty/rewards",
            &json!({"name": "Lounge", "cost_points": 5, "rung_required": "client"}),
        )
        .await;
    let (s, p) = app
        .post(
            &path,
            &json!({"points": 5, "idempotency_key": "l1", "reward_id": lounge["id"]}),
        )
        .await;
    assert_eq!(s, 409, "{p}");
    assert!(
        p["type"].as_str().unwrap().ends_with("reward-unavailable"),
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("client"), "{p}");
    let (s, p) = app
        .post(
            &path,
            &json!({"points": 4, "idempotency_key": "l2", "reward_id": lounge["id"]}),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (422, Some("points")),
        "the price is the reward's: {p}"
    );
    app.stop().await;
}

both_backends!(
    balance_ledger_and_redemptions_follow_the_contract,
    earn_rules_and_rewards_are_managed_through_the_api,
);
