//! Coupons and referrals over HTTP, on SQLite and PostgreSQL: issue, validate and use a
//! coupon through an order event; a referral code and link, sign-up with the code,
//! conversion on the first paid order, refusals as 409 problems, figures per referrer, and
//! the public page a link opens.

mod common;

use clientele_core::time::{DAY, format_instant};
use clientele_store::now_micros;
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn paid(id: &str, ext: &str, order: &str, total: i64, coupon: Option<&str>) -> Value {
    let at = format_instant(now_micros() - DAY);
    let mut data = json!({"order_id": order, "total": total, "currency": "USD"});
    if let Some(c) = coupon {
        data["coupon"] = json!(c);
    }
    json!({"id": id, "kind": "order.paid", "occurred_at": at, "contact": {"external_id": ext},
           "data": data})
}

async fn send(app: &App, events: &[Value]) {
    let (s, r) = app.post("/api/v1/events", &json!({"events": events})).await;
    assert_eq!(s, 200, "{r}");
    for item in r["results"].as_array().unwrap() {
        assert_ne!(item["status"], "error", "{item}");
    }
}

async fn coupons_are_issued_validated_and_used_once(db: TestDb) {
    let app = spawn(db).await;
    let (s, issued) = app
        .post(
            "/api/v1/coupons",
            &json!({"kind": "percent", "value": 10, "min_order": 5_000, "count": 3}),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let codes: Vec<&str> = issued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3);
    for c in &codes {
        assert_eq!(c.len(), 19, "four groups of four: {c}");
    }
    assert_eq!(issued["items"][0]["max_uses"], 1, "single use unless asked");
    let code = codes[0];

    let check = |total: i64| json!({"code": code.to_lowercase(), "order_total": total});
    let (s, v) = app.post("/api/v1/coupons/validate", &check(20_000)).await;
    assert_eq!(
        (s, &v["valid"], &v["discount"]),
        (200, &json!(true), &json!(2_000)),
        "{v}"
    );
    let (_, v) = app.post("/api/v1/coupons/validate", &check(100)).await;
    assert_eq!(
        (&v["valid"], &v["reason"]),
        (&json!(false), &json!("below-minimum"))
    );

    let order = paid("e1", "lan", "o1", 18_000, Some(code));
    send(&app, std::slice::from_ref(&order)).await;
    send(&app, &[order]).await;
    let (s, c) = app.get(&format!("/api/v1/coupons/{code}")).await;
    assert_eq!((s, &c["uses"]), (200, &json!(1)), "{c}");
    assert_eq!(c["uses_by_order"][0]["status"], "applied");
    let (_, v) = app.post("/api/v1/coupons/validate", &check(20_000)).await;
    assert_eq!(v["reason"], "used-up");

    // Bad input names its field.
    let (s, p) = app
        .post("/api/v1/coupons", &json!({"kind": "percent", "value": 150}))
        .await;
    assert_eq!((s, &p["field"]), (422, &json!("value")), "{p}");
    let (s, p) = app
        .post(
            "/api/v1/events",
            &json!({"events": [paid("e2", "lan", "o2", 1, Some(""))]}),
        )
        .await;
    assert_eq!(s, 422, "a batch of one invalid event");
    assert_eq!(p["results"][0]["error"]["field"], "data.coupon", "{p}");
    let (s, _) = app.get("/api/v1/coupons/not-a-code").await;
    assert_eq!(s, 404);
}

async fn referrals_run_from_code_to_conversion(db: TestDb) {
    let app = spawn(db).await;
    send(&app, &[paid("e0", "lan", "o0", 1_000, None)]).await;
    let (_, page) = app.get("/api/v1/contacts?external_id=lan").await;
    let lan = page["items"][0]["id"].as_i64().unwrap();
    let (s, r) = app.get(&format!("/api/v1/contacts/{lan}/referral")).await;
    assert_eq!((s, &r["code"]), (200, &Value::Null), "{r}");
    let path = format!("/api/v1/contacts/{lan}/referral");
    let (s, issued) = app.post(&path, &json!({})).await;
    assert_eq!(s, 201, "{issued}");
    let (s, again) = app.post(&path, &json!({})).await;
    assert_eq!((s, &again["code"]), (200, &issued["code"]));
    let code = issued["code"].as_str().unwrap();
    let link = issued["link"].as_str().unwrap();
    assert_eq!(link, format!("{}/r/{code}", app.base));

    // The link opens a page showing the code, without a token.
    let page = app.client.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(code));

    // Sign-up with the code, then the first paid order.
    let (s, binh) = app
        .post(
            "/api/v1/contacts",
            &json!({"external_id": "binh", "email": "binh@example.vn", "referral_code": code}),
        )
        .await;
    assert_eq!(s, 201, "{binh}");
    assert_eq!(binh["referral"]["status"], "pending");
    assert_eq!(binh["referral"]["referrer_id"], lan);
    send(&app, &[paid("e1", "binh", "ob1", 30_000, None)]).await;
    let (_, r) = app.get(&format!("/api/v1/contacts/{lan}/referral")).await;
    assert_eq!(
        (&r["invited"], &r["converted"], &r["revenue"]),
        (&json!(1), &json!(1), &json!(30_000)),
        "{r}"
    );
    let (_, l) = app.get(&format!("/api/v1/contacts/{lan}/loyalty")).await;
    assert_eq!(l["balance"], 10 + 200, "{l}");
    let (_, stats) = app.get("/api/v1/referrals/stats").await;
    assert_eq!(stats["items"][0]["referrer_id"], lan, "{stats}");

    // A self-referral through a Gmail alias still creates the contact, but says no.
    let (s, self_ref) = app
        .post(
            "/api/v1/referrals",
            &json!({"code": code, "referee_id": lan}),
        )
        .await;
    assert_eq!(s, 409, "{self_ref}");
    assert!(
        self_ref["type"]
            .as_str()
            .unwrap()
            .ends_with("self-referral")
    );
    let (s, p) = app
        .post(
            "/api/v1/contacts",
            &json!({"external_id": "x", "referral_code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}),
        )
        .await;
    assert_eq!((s, &p["field"]), (422, &json!("referral_code")), "{p}");
    let (_, none) = app.get("/api/v1/contacts?external_id=x").await;
    assert_eq!(none["items"], json!([]), "an unknown code creates nothing");
}

both_backends!(
    coupons_are_issued_validated_and_used_once,
    referrals_run_from_code_to_conversion,
);
