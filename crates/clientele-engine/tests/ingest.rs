//! Ingest, idempotency, projections and tenant isolation, on SQLite and PostgreSQL.

mod common;

use clientele_core::time::parse_instant;
use clientele_engine::ItemStatus::{Conflict, Created, Duplicate, Error};
use clientele_testkit::{TestDb, both_backends};
use common::*;

async fn the_same_event_twice_is_stored_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let e = paid("e1", "00001", "o1", 1177, "1997-01-01T00:00:00Z");
    assert_eq!(
        statuses(&ingest_ok(db.store.as_ref(), &ws, std::slice::from_ref(&e)).await),
        vec![Created]
    );
    assert_eq!(
        statuses(&ingest_ok(db.store.as_ref(), &ws, &[e]).await),
        vec![Duplicate]
    );
    assert_eq!(db.store.event_count(ws.id).await.unwrap(), 1);
    let c = by_external_id(db.store.as_ref(), &ws, "00001").await;
    let (m, _) = db.store.metrics(ws.id, c).await.unwrap();
    assert_eq!((m.paid_orders, m.revenue), (1, 1177));
}

async fn the_same_id_with_another_body_is_a_conflict(db: TestDb) {
    let ws = db.workspace("shop").await;
    ingest_ok(
        db.store.as_ref(),
        &ws,
        &[paid("e1", "1", "o1", 100, "2026-01-01T00:00:00Z")],
    )
    .await;
    let r = ingest_ok(
        db.store.as_ref(),
        &ws,
        &[paid("e1", "1", "o1", 999, "2026-01-01T00:00:00Z")],
    )
    .await;
    assert_eq!(statuses(&r), vec![Conflict]);
    assert_eq!(r[0].error.as_ref().unwrap().field, "id");
    let c = by_external_id(db.store.as_ref(), &ws, "1").await;
    assert_eq!(db.store.metrics(ws.id, c).await.unwrap().0.revenue, 100);
}

async fn repeats_inside_one_batch_are_recognised(db: TestDb) {
    let ws = db.workspace("shop").await;
    let a = paid("e1", "1", "o1", 100, "2026-01-01T00:00:00Z");
    let b = paid("e1", "1", "o1", 200, "2026-01-01T00:00:00Z");
    let r = ingest_ok(db.store.as_ref(), &ws, &[a.clone(), a, b]).await;
    assert_eq!(statuses(&r), vec![Created, Duplicate, Conflict]);
    assert_eq!(db.store.event_count(ws.id).await.unwrap(), 1);
}

async fn a_bad_event_does_not_stop_the_good_ones(db: TestDb) {
    let ws = db.workspace("shop").await;
    let mut bad = paid("e2", "1", "o2", 100, "2026-01-01T00:00:00Z");
    bad["data"]["currency"] = "EUR".into();
    let unknown = serde_json::json!({"id": "e3", "kind": "interaction", "occurred_at": "2026-01-01T00:00:00Z",
                                     "contact": {"id": 999999}, "data": {"type": "call"}});
    let r = ingest_ok(
        db.store.as_ref(),
        &ws,
        &[
            paid("e1", "1", "o1", 100, "2026-01-01T00:00:00Z"),
            bad,
            unknown,
        ],
    )
    .await;
    assert_eq!(statuses(&r), vec![Created, Error, Error]);
    assert_eq!(r[1].error.as_ref().unwrap().field, "data.currency");
    assert_eq!(r[2].error.as_ref().unwrap().field, "contact.id");
    assert_eq!(db.store.event_count(ws.id).await.unwrap(), 1);
}

async fn refunds_and_cancellations_update_the_metrics(db: TestDb) {
    let ws = db.workspace("shop").await;
    let events = [
        paid("p1", "c", "o1", 1000, "2026-01-01T00:00:00Z"),
        paid("p2", "c", "o2", 500, "2026-02-01T00:00:00Z"),
        paid("p3", "c", "o3", 0, "2026-03-01T00:00:00Z"),
        refund("r1", "c", "o1", Some(300), "2026-01-05T00:00:00Z"),
    ];
    ingest_ok(db.store.as_ref(), &ws, &events).await;
    let c = by_external_id(db.store.as_ref(), &ws, "c").await;
    let (m, times) = db.store.metrics(ws.id, c).await.unwrap();
    assert_eq!(
        (m.paid_orders, m.revenue),
        (3, 1200),
        "a partial refund keeps the order, a zero-value order counts"
    );
    assert_eq!(times.len(), 3);
    ingest_ok(
        db.store.as_ref(),
        &ws,
        &[
            cancel("x2", "c", "o2", "2026-02-02T00:00:00Z"),
            refund("r3", "c", "o1", None, "2026-03-05T00:00:00Z"),
        ],
    )
    .await;
    let (m, _) = db.store.metrics(ws.id, c).await.unwrap();
    assert_eq!(
        (m.paid_orders, m.revenue),
        (1, 0),
        "cancelled and fully refunded orders stop counting"
    );
    assert_eq!(
        m.first_order_at,
        Some(parse_instant("2026-03-01T00:00:00Z").unwrap())
    );
}

async fn interactions_create_contacts_and_record_engagement(db: TestDb) {
    let ws = db.workspace("shop").await;
    let r = ingest_ok(
        db.store.as_ref(),
        &ws,
        &[
            interaction("i1", "Lan@Example.VN", "page_view", "2026-01-01T00:00:00Z"),
            interaction(
                "i2",
                "lan@example.vn",
                "demo_request",
                "2026-01-03T00:00:00Z",
            ),
        ],
    )
    .await;
    assert_eq!(statuses(&r), vec![Created, Created]);
    let q = clientele_store::ContactQuery {
        email: Some("lan@example.vn".into()),
        limit: 10,
        ..Default::default()
    };
    let found = db.store.search_contacts(ws.id, &q).await.unwrap();
    assert_eq!(found.len(), 1, "both spellings resolve to one contact");
    let (m, _) = db.store.metrics(ws.id, found[0].id).await.unwrap();
    assert_eq!(m.interactions, 2);
    assert_eq!(
        m.last_engaged_at,
        Some(parse_instant("2026-01-03T00:00:00Z").unwrap())
    );
}

async fn workspaces_never_see_each_other(db: TestDb) {
    let a = db.workspace("a").await;
    let b = db.workspace("b").await;
    ingest_ok(
        db.store.as_ref(),
        &a,
        &[paid("e1", "1", "o1", 100, "2026-01-01T00:00:00Z")],
    )
    .await;
    // The same event id and order id in another workspace is a different event.
    let r = ingest_ok(
        db.store.as_ref(),
        &b,
        &[paid("e1", "1", "o1", 700, "2026-01-01T00:00:00Z")],
    )
    .await;
    assert_eq!(statuses(&r), vec![Created]);
    let ca = by_external_id(db.store.as_ref(), &a, "1").await;
    let cb = by_external_id(db.store.as_ref(), &b, "1").await;
    assert_ne!(ca, cb);
    assert!(
        db.store.contact(b.id, ca).await.unwrap().is_none(),
        "a's contact is invisible from b"
    );
    assert_eq!(db.store.metrics(a.id, ca).await.unwrap().0.revenue, 100);
    assert_eq!(db.store.metrics(b.id, cb).await.unwrap().0.revenue, 700);
    // Referring to a's contact by id from b is an unknown contact.
    let by_id = serde_json::json!({"id": "x", "kind": "interaction", "occurred_at": "2026-01-01T00:00:00Z",
                                   "contact": {"id": ca.0}, "data": {"type": "call"}});
    assert_eq!(
        statuses(&ingest_ok(db.store.as_ref(), &b, &[by_id]).await),
        vec![Error]
    );
}

async fn gifts_and_accounts_resolve_their_own_contacts(db: TestDb) {
    let ws = db.workspace("shop").await;
    let mut e = paid("g1", "buyer", "o1", 5000, "2026-01-01T00:00:00Z");
    e["data"]["recipient"] = serde_json::json!({"email": "friend@example.com"});
    e["data"]["account"] = serde_json::json!({"external_id": "acme"});
    assert_eq!(
        statuses(&ingest_ok(db.store.as_ref(), &ws, &[e]).await),
        vec![Created]
    );
    let buyer = by_external_id(db.store.as_ref(), &ws, "buyer").await;
    let acme = by_external_id(db.store.as_ref(), &ws, "acme").await;
    let acme_contact = db.store.contact(ws.id, acme).await.unwrap().unwrap();
    assert_eq!(
        acme_contact.kind,
        clientele_core::contact::ContactKind::Company
    );
    assert_eq!(
        db.store.metrics(ws.id, buyer).await.unwrap().0.revenue,
        5000,
        "the buyer is the customer"
    );
    let page = clientele_store::TimelinePage {
        before_seq: None,
        limit: 10,
    };
    assert_eq!(
        db.store.timeline(ws.id, acme, &page).await.unwrap().len(),
        1,
        "the account sees the order"
    );
}

async fn concurrent_batches_with_the_same_ids_store_each_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let batch: Vec<_> = (0..200)
        .map(|i| {
            paid(
                &format!("e{i}"),
                &format!("c{}", i % 20),
                &format!("o{i}"),
                100,
                "2026-01-01T00:00:00Z",
            )
        })
        .collect();
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (store, ws, batch) = (db.store.clone(), ws.clone(), batch.clone());
        handles.push(tokio::spawn(async move {
            clientele_engine::ingest(store.as_ref(), &ws, &batch)
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    for h in handles {
        created += h
            .await
            .unwrap()
            .iter()
            .filter(|r| r.status == Created)
            .count();
    }
    assert_eq!(created, 200);
    assert_eq!(db.store.event_count(ws.id).await.unwrap(), 200);
    let c = by_external_id(db.store.as_ref(), &ws, "c0").await;
    assert_eq!(db.store.metrics(ws.id, c).await.unwrap().0.paid_orders, 10);
}

both_backends!(
    the_same_event_twice_is_stored_once,
    the_same_id_with_another_body_is_a_conflict,
    repeats_inside_one_batch_are_recognised,
    a_bad_event_does_not_stop_the_good_ones,
    refunds_and_cancellations_update_the_metrics,
    interactions_create_contacts_and_record_engagement,
    workspaces_never_see_each_other,
    gifts_and_accounts_resolve_their_own_contacts,
    concurrent_batches_with_the_same_ids_store_each_once,
);
