//! Event builders shared by the engine's test files.
#![allow(dead_code, reason = "each test file uses a different subset")]

use clientele_core::ContactId;
use clientele_engine::{ItemResult, ItemStatus};
use clientele_store::{ContactQuery, Store, Workspace};
use serde_json::{Value, json};

pub fn paid(id: &str, external_id: &str, order: &str, total: i64, at: &str) -> Value {
    json!({"id": id, "kind": "order.paid", "occurred_at": at, "contact": {"external_id": external_id},
           "data": {"order_id": order, "total": total, "currency": "USD",
                    "lines": [{"sku": "cd", "name": "CD", "quantity": 1, "unit_price": total}]}})
}

pub fn refund(id: &str, external_id: &str, order: &str, amount: Option<i64>, at: &str) -> Value {
    let data = match amount {
        Some(a) => json!({"order_id": order, "amount": a, "currency": "USD"}),
        None => json!({"order_id": order}),
    };
    json!({"id": id, "kind": "order.refunded", "occurred_at": at, "contact": {"external_id": external_id}, "data": data})
}

pub fn cancel(id: &str, external_id: &str, order: &str, at: &str) -> Value {
    json!({"id": id, "kind": "order.cancelled", "occurred_at": at, "contact": {"external_id": external_id}, "data": {"order_id": order}})
}

pub fn interaction(id: &str, email: &str, kind: &str, at: &str) -> Value {
    json!({"id": id, "kind": "interaction", "occurred_at": at, "contact": {"email": email}, "data": {"type": kind}})
}

pub fn statuses(results: &[ItemResult]) -> Vec<ItemStatus> {
    results.iter().map(|r| r.status).collect()
}

pub async fn ingest_ok(store: &dyn Store, ws: &Workspace, events: &[Value]) -> Vec<ItemResult> {
    clientele_engine::ingest(store, ws, events)
        .await
        .expect("ingest")
}

pub async fn by_external_id(store: &dyn Store, ws: &Workspace, external_id: &str) -> ContactId {
    let q = ContactQuery {
        external_id: Some(external_id.into()),
        limit: 10,
        ..Default::default()
    };
    let found = store.search_contacts(ws.id, &q).await.expect("search");
    assert_eq!(
        found.len(),
        1,
        "exactly one contact with external id {external_id}"
    );
    found[0].id
}

/// Today's (or tomorrow's) noon UTC, after now: automation tests run steps at an explicit
/// instant, so quiet hours never depend on when the suite runs.
pub fn noon() -> clientele_core::time::Micros {
    use clientele_core::time::DAY;
    let now = clientele_store::now_micros();
    let noon = now - now.rem_euclid(DAY) + DAY / 2;
    if noon >= now { noon } else { noon + DAY }
}
