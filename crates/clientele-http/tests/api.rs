//! The HTTP API end to end, on SQLite and PostgreSQL.

mod common;

use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

fn paid(id: &str, ext: &str, order: &str, total: Value) -> Value {
    json!({"id": id, "kind": "order.paid", "occurred_at": "2026-01-01T10:00:00+07:00", "contact": {"external_id": ext},
           "data": {"order_id": order, "total": total, "currency": "USD", "lines": [{"sku": "a", "name": "A", "quantity": 1, "unit_price": 100}]}})
}

async fn contacts_crud_and_search(db: TestDb) {
    let app = spawn(db).await;
    let (s, c) = app.post("/api/v1/contacts", &json!({"external_id": "007", "email": "Lan@Example.vn", "phone": "0912345678", "name": "Lan", "time_zone": "Asia/Ho_Chi_Minh", "tags": ["vip"]})).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        (c["email"].as_str(), c["phone"].as_str()),
        (Some("lan@example.vn"), Some("+84912345678"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/contacts/{id}")).await.1["name"],
        "Lan"
    );
    for q in [
        "external_id=007",
        "email=LAN@example.vn",
        "phone=%2B84912345678",
        "q=lan",
        "tag=vip",
    ] {
        let (s, page) = app.get(&format!("/api/v1/contacts?{q}")).await;
        assert_eq!((s, page["items"][0]["id"].as_i64()), (200, Some(id)), "{q}");
    }
    let (s, p) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/contacts/{id}"),
            &json!({"name": "Lan Nguyễn"}),
        )
        .await;
    assert_eq!((s, p["name"].as_str()), (200, Some("Lan Nguyễn")));
    let (s, e) = app
        .post("/api/v1/contacts", &json!({"email": "lan@example.vn"}))
        .await;
    assert_eq!((s, e["field"].as_str()), (409, Some("email")));
    let (s, consents) = app
        .post(
            &format!("/api/v1/contacts/{id}/consents"),
            &json!({"channel": "email", "granted": true, "source": "signup form"}),
        )
        .await;
    assert_eq!((s, consents[0]["granted"].as_bool()), (201, Some(true)));
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/contacts/{id}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(&format!("/api/v1/contacts/{id}")).await.0, 404);
    app.stop().await;
}

async fn events_timeline_and_metrics(db: TestDb) {
    let app = spawn(db).await;
    let batch = json!({"events": [paid("e1", "c1", "o1", json!(2500)), paid("e2", "c1", "o2", json!(1500)),
        {"id": "e3", "kind": "interaction", "occurred_at": "2026-01-02T00:00:00Z", "contact": {"external_id": "c1"}, "data": {"type": "email_click"}}]});
    let (s, r) = app.post("/api/v1/events", &batch).await;
    assert_eq!(s, 200);
    let st: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(st, vec!["created", "created", "created"]);
    let (_, again) = app.post("/api/v1/events", &batch).await;
    assert!(
        again["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "duplicate")
    );
    let (_, page) = app.get("/api/v1/contacts?external_id=c1").await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let (s, m) = app
        .get(&format!(
            "/api/v1/contacts/{id}/metrics?as_of=2026-06-01T00:00:00Z"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            m["paid_orders"].as_i64(),
            m["revenue"].as_i64(),
            m["orders_365d"].as_i64()
        ),
        (Some(2), Some(4000), Some(2))
    );
    assert_eq!(m["first_order_at"], "2026-01-01T03:00:00Z");
    assert_eq!(m["avg_order_value"], 2000);
    let (_, t) = app
        .get(&format!("/api/v1/contacts/{id}/timeline?limit=2"))
        .await;
    assert_eq!(t["items"].as_array().unwrap().len(), 2);
    assert_eq!(t["items"][0]["id"], "e3", "newest first");
    let (_, t2) = app
        .get(&format!(
            "/api/v1/contacts/{id}/timeline?limit=2&cursor={}",
            t["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(t2["items"][0]["id"], "e1");
    // The same id with another body, alone: 409.
    let (s, r) = app
        .post(
            "/api/v1/events",
            &json!({"events": [paid("e1", "c1", "o1", json!(9999))]}),
        )
        .await;
    assert_eq!(
        (s, r["results"][0]["status"].as_str()),
        (409, Some("conflict"))
    );
    app.stop().await;
}

async fn merge_over_http(db: TestDb) {
    let app = spawn(db).await;
    app.post(
        "/api/v1/events",
        &json!({"events": [paid("e1", "a", "o1", json!(100)), paid("e2", "b", "o2", json!(200))]}),
    )
    .await;
    let a = app.get("/api/v1/contacts?external_id=a").await.1["items"][0]["id"]
        .as_i64()
        .unwrap();
    let b = app.get("/api/v1/contacts?external_id=b").await.1["items"][0]["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/contacts/{a}/merge"),
            &json!({"duplicate_id": b}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.get(&format!("/api/v1/contacts/{a}/metrics")).await.1["revenue"],
        300
    );
    assert_eq!(app.get(&format!("/api/v1/contacts/{b}")).await.0, 404);
    let (s, e) = app
        .post(
            &format!("/api/v1/contacts/{a}/merge"),
            &json!({"duplicate_id": "b"}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("duplicate_id")));
    app.stop().await;
}

async fn another_workspace_gets_404(db: TestDb) {
    let app = spawn(db).await;
    let (_, c) = app
        .post("/api/v1/contacts", &json!({"name": "Secret"}))
        .await;
    let id = c["id"].as_i64().unwrap();
    let other = app.db.workspace("other").await;
    let token = token_for(&app.db, &other).await;
    for path in ["", "/metrics", "/timeline", "/consents"] {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/contacts/{id}{path}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/contacts/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url("/api/v1/contacts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read(r).await.1["items"].as_array().unwrap().len(), 0);
    app.stop().await;
}

async fn every_route_needs_a_token(db: TestDb) {
    let app = spawn(db).await;
    for (method, path) in [
        ("GET", "/api/v1/contacts"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/contacts/1/metrics"),
    ] {
        let r = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

async fn bad_input_is_named(db: TestDb) {
    let app = spawn(db).await;
    let one = |e: Value| json!({"events": [e]});
    let cases: Vec<(Value, &str)> = vec![
        (one(paid("x1", "c", "o", json!("12"))), "data.total"),
        (one(paid("x2", "c", "o", json!(-5))), "data.total"),
        (one(paid("x3", "c", "o", json!(1e30))), "data.total"),
        (
            one(
                json!({"id": "x4", "kind": "order.shipped", "occurred_at": "2026-01-01T00:00:00Z", "contact": {"external_id": "c"}}),
            ),
            "kind",
        ),
        (
            one({
                let mut e = paid("x5", "c", "o", json!(1));
                e["data"]["currency"] = json!("XXY");
                e
            }),
            "data.currency",
        ),
        (
            one({
                let mut e = paid("x6", "c", "o", json!(1));
                e["contact"] = json!({"id": 987654});
                e
            }),
            "contact.id",
        ),
        (
            one({
                let mut e = paid("x7", "c", "o", json!(1));
                e["occurred_at"] = json!("2026-02-30T00:00:00Z");
                e
            }),
            "occurred_at",
        ),
        (
            one({
                let mut e = paid("x8", "c", "o", json!(1));
                e["contact"] = json!({"email": "not-an-email"});
                e
            }),
            "contact.email",
        ),
    ];
    for (body, field) in cases {
        let (s, r) = app.post("/api/v1/events", &body).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(r["results"][0]["error"]["field"], field, "{r}");
    }
    let (s, r) = app.post("/api/v1/events", &json!({"events": "nope"})).await;
    assert_eq!((s, r["field"].as_str()), (422, Some("events")));
    let too_many: Vec<Value> = (0..10_001).map(|i| json!({"id": i.to_string()})).collect();
    let (s, r) = app
        .post("/api/v1/events", &json!({"events": too_many}))
        .await;
    assert_eq!((s, r["field"].as_str()), (422, Some("events")));
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"events\": [")
        .send()
        .await
        .unwrap();
    let (s, p) = read(r).await;
    assert_eq!(s, 400);
    assert!(p["detail"].as_str().unwrap().contains("line 1"), "{p}");
    let huge = format!(
        "{{\"events\": [], \"pad\": \"{}\"}}",
        "x".repeat(11 * 1024 * 1024)
    );
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        // The server answers 413 without reading the body and closes the connection: kept in
        // the pool, it raced the next request (an intermittent IncompleteMessage).
        .header("connection", "close")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(read(r).await.0, 413);
    let (s, r) = app.post("/api/v1/contacts", &json!({"phone": "12"})).await;
    assert_eq!((s, r["field"].as_str()), (422, Some("phone")));
    let (s, r) = app.post("/api/v1/contacts", &json!({"name": 5})).await;
    assert_eq!((s, r["field"].as_str()), (422, Some("name")));
    let (s, r) = app.get("/api/v1/contacts?limit=0").await;
    assert_eq!((s, r["field"].as_str()), (422, Some("limit")));
    assert_eq!(app.get("/api/v1/contacts/abc").await.0, 404);
    // Nothing above was stored.
    assert_eq!(app.db.store.event_count(app.ws.id).await.unwrap(), 0);
    app.stop().await;
}

both_backends!(
    contacts_crud_and_search,
    events_timeline_and_metrics,
    merge_over_http,
    another_workspace_gets_404,
    every_route_needs_a_token,
    bad_input_is_named,
);

#[test]
fn the_openapi_document_matches_its_snapshot() {
    insta::assert_json_snapshot!(clientele_http::openapi_document());
}
