//! The ladder over HTTP, on SQLite and PostgreSQL.

mod common;

use clientele_core::time::{DAY, format_instant};
use clientele_ladder::RuleSet;
use clientele_store::now_micros;
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn paid(id: &str, ext: &str, order: &str, at: &str) -> Value {
    json!({"id": id, "kind": "order.paid", "occurred_at": at, "contact": {"external_id": ext},
           "data": {"order_id": order, "total": 2500, "currency": "USD"}})
}

async fn a_contacts_ladder_explains_itself_now_and_as_of_the_past(db: TestDb) {
    let app = spawn(db).await;
    let now = now_micros();
    let first = now - 100 * DAY;
    let (s, _) = app
        .post(
            "/api/v1/events",
            &json!({"events": [paid("e1", "lan", "o1", &format_instant(first))]}),
        )
        .await;
    assert_eq!(s, 200);
    let between = now_micros();
    app.post(
        "/api/v1/events",
        &json!({"events": [paid("e2", "lan", "o2", &format_instant(now - 50 * DAY))]}),
    )
    .await;
    let (_, page) = app.get("/api/v1/contacts?external_id=lan").await;
    let id = page["items"][0]["id"].as_i64().unwrap();

    let (s, l) = app.get(&format!("/api/v1/contacts/{id}/ladder")).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        (
            l["rung"].as_str(),
            l["status"].as_str(),
            l["rule_version"].as_i64()
        ),
        (Some("customer"), Some("active"), Some(1))
    );
    assert_eq!(l["explanation"]["rung"], "customer");
    assert_eq!(l["explanation"]["next"]["rung"], "client", "{l}");
    let rungs: Vec<&str> = l["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "rung")
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(rungs, vec!["shopper", "customer"]);
    assert!(
        l["next_review_at"].is_string(),
        "a paying contact is due for the at-risk check"
    );

    let at = |t: i64| format_instant(t).replace('+', "%2B");
    let (_, l) = app
        .get(&format!(
            "/api/v1/contacts/{id}/ladder?as_of={}",
            at(between - 1)
        ))
        .await;
    assert_eq!(l["rung"], "shopper", "before the second order arrived");
    let (_, l) = app
        .get(&format!(
            "/api/v1/contacts/{id}/ladder?as_of={}",
            at(first - 1)
        ))
        .await;
    assert_eq!(
        (l["rung"].as_str(), l["history"].as_array().map(Vec::len)),
        (Some("suspect"), Some(0))
    );

    let (s, e) = app
        .get(&format!("/api/v1/contacts/{id}/ladder?as_of=yesterday"))
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("as_of")));
    assert_eq!(app.get("/api/v1/contacts/999999/ladder").await.0, 404);
    app.stop().await;
}

async fn rule_sets_are_checked_tried_and_applied(db: TestDb) {
    let app = spawn(db).await;
    let now = now_micros();
    app.post(
        "/api/v1/events",
        &json!({"events": [
            paid("e1", "a", "o1", &format_instant(now - 30 * DAY)),
            paid("e2", "a", "o2", &format_instant(now - 20 * DAY)),
        ]}),
    )
    .await;
    let (s, r) = app.get("/api/v1/ladder/rules").await;
    assert_eq!((s, r["version"].as_i64()), (200, Some(1)));
    assert_eq!(r["rules"]["rungs"][0]["rung"], "raving_fan");

    let mut doc = RuleSet::default_rules().to_json();
    doc["rungs"][3]["when"] = json!({"metric": "orders_total", "op": ">=", "value": 3});
    let (s, e) = app.post("/api/v1/ladder/what-if", &doc).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (422, Some("rungs[3].when.metric")),
        "{e}"
    );
    let (s, _) = app.post("/api/v1/ladder/rules", &doc).await;
    assert_eq!(s, 422);

    doc["rungs"][3]["when"] = json!({"metric": "paid_orders", "op": ">=", "value": 3});
    doc["rungs"][4]["when"] = json!({"metric": "paid_orders", "op": ">=", "value": 1});
    let (s, w) = app.post("/api/v1/ladder/what-if", &doc).await;
    assert_eq!(
        (s, w["moved"].as_i64(), w["contacts"].as_i64()),
        (200, Some(1), Some(1)),
        "{w}"
    );
    assert_eq!(
        app.get("/api/v1/ladder/rules").await.1["version"],
        1,
        "what-if changes nothing"
    );

    let (s, applied) = app.post("/api/v1/ladder/rules", &doc).await;
    assert_eq!(
        (s, applied["version"].as_i64(), applied["contacts"].as_i64()),
        (200, Some(2), Some(1)),
        "{applied}"
    );
    assert_eq!(app.get("/api/v1/ladder/rules").await.1["version"], 2);
    app.stop().await;
}

async fn rfm_quintiles_rank_the_paying_contacts(db: TestDb) {
    let app = spawn(db).await;
    let now = now_micros();
    // Contact k (1..=5) has k orders, the last k days ago... so the most frequent is also
    // the least recent.
    let mut events = Vec::new();
    for k in 1..=5i64 {
        for o in 0..k {
            events.push(paid(
                &format!("e{k}-{o}"),
                &format!("c{k}"),
                &format!("o{k}-{o}"),
                &format_instant(now - (k + o) * DAY),
            ));
        }
    }
    app.post("/api/v1/events", &json!({ "events": events }))
        .await;
    app.post("/api/v1/contacts", &json!({"external_id": "lead"}))
        .await;
    let (s, r) = app.get("/api/v1/ladder/rfm").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["contacts"], 5, "only paying contacts are scored");
    assert_eq!(r["distribution"]["frequency"], json!([1, 1, 1, 1, 1]));
    let (_, page) = app.get("/api/v1/contacts?external_id=c5").await;
    let c5 = page["items"][0]["id"].as_i64().unwrap();
    let (s, one) = app
        .get(&format!("/api/v1/ladder/rfm?contact_id={c5}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (one["f"].as_i64(), one["m"].as_i64(), one["r"].as_i64()),
        (Some(5), Some(5), Some(1)),
        "{one}"
    );
    let (_, page) = app.get("/api/v1/contacts?external_id=lead").await;
    let lead = page["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/ladder/rfm?contact_id={lead}"))
            .await
            .0,
        404
    );
    app.stop().await;
}

both_backends!(
    rfm_quintiles_rank_the_paying_contacts,
    a_contacts_ladder_explains_itself_now_and_as_of_the_past,
    rule_sets_are_checked_tried_and_applied,
);
