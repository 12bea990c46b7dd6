//! Contact lifecycle, search and merge, on SQLite and PostgreSQL.

mod common;

use clientele_core::ContactId;
use clientele_core::contact::{ConsentInput, ContactInput};
use clientele_engine::contacts::{self, ContactError};
use clientele_store::{ContactQuery, TimelinePage};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::json;

fn input(v: serde_json::Value) -> ContactInput {
    ContactInput::from_json(&v).expect("valid input")
}

async fn identifiers_are_unique_per_workspace(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    contacts::create(
        s,
        &ws,
        input(json!({"external_id": "42", "email": "lan@example.vn", "phone": "0912345678"})),
    )
    .await
    .unwrap();
    let err = contacts::create(s, &ws, input(json!({"email": "LAN@example.vn"})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContactError::Taken { field: "email", .. }),
        "{err:?}"
    );
    let err = contacts::create(s, &ws, input(json!({"phone": "+84 912 345 678"})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContactError::Taken { field: "phone", .. }),
        "{err:?}"
    );
    let other = db.workspace("other").await;
    contacts::create(s, &other, input(json!({"email": "lan@example.vn"})))
        .await
        .expect("another workspace may reuse it");
}

async fn a_patch_changes_fields_and_identities(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let id = contacts::create(
        s,
        &ws,
        input(json!({"email": "old@example.com", "name": "Lan", "tags": ["vip"]})),
    )
    .await
    .unwrap();
    contacts::update(
        s,
        &ws,
        id,
        input(json!({"email": "new@example.com", "name": null, "time_zone": "Asia/Ho_Chi_Minh"})),
    )
    .await
    .unwrap();
    let c = s.contact(ws.id, id).await.unwrap().unwrap();
    assert_eq!(
        (
            c.email.as_deref(),
            c.name.as_deref(),
            c.time_zone.as_deref()
        ),
        (Some("new@example.com"), None, Some("Asia/Ho_Chi_Minh"))
    );
    assert_eq!(c.tags, vec!["vip"]);
    // The old address is free again, the new one is taken.
    contacts::create(s, &ws, input(json!({"email": "old@example.com"})))
        .await
        .expect("old address released");
    assert!(matches!(
        contacts::create(s, &ws, input(json!({"email": "new@example.com"}))).await,
        Err(ContactError::Taken { .. })
    ));
}

async fn search_filters_and_pages(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    for i in 0..7 {
        let tags = if i % 2 == 0 {
            json!(["vip"])
        } else {
            json!([])
        };
        contacts::create(s, &ws, input(json!({"external_id": format!("x{i}"), "name": format!("Nguyễn Văn {i}"), "tags": tags}))).await.unwrap();
    }
    let q = |tag: Option<&str>, text: Option<&str>, after: Option<ContactId>| ContactQuery {
        tag: tag.map(Into::into),
        text: text.map(Into::into),
        after,
        limit: 3,
        ..Default::default()
    };
    let vip = s
        .search_contacts(
            ws.id,
            &ContactQuery {
                limit: 50,
                ..q(Some("vip"), None, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(vip.len(), 4);
    let page1 = s
        .search_contacts(ws.id, &q(None, Some("văn"), None))
        .await
        .unwrap();
    let page2 = s
        .search_contacts(ws.id, &q(None, Some("văn"), Some(page1[2].id)))
        .await
        .unwrap();
    let page3 = s
        .search_contacts(ws.id, &q(None, Some("văn"), Some(page2[2].id)))
        .await
        .unwrap();
    assert_eq!((page1.len(), page2.len(), page3.len()), (3, 3, 1));
    assert!(page1[2].id < page2[0].id);
    let none = s
        .search_contacts(ws.id, &q(None, Some("100%"), None))
        .await
        .unwrap();
    assert!(none.is_empty(), "LIKE wildcards in the query are literal");
}

async fn merging_folds_every_event_into_the_survivor(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    ingest_ok(
        s,
        &ws,
        &[
            paid("p1", "a", "o1", 1000, "2026-01-01T00:00:00Z"),
            paid("p2", "b", "o2", 500, "2026-02-01T00:00:00Z"),
            interaction("i1", "b@example.com", "call", "2026-02-02T00:00:00Z"),
        ],
    )
    .await;
    let a = by_external_id(s, &ws, "a").await;
    let b = by_external_id(s, &ws, "b").await;
    let b_mail = s
        .search_contacts(
            ws.id,
            &ContactQuery {
                email: Some("b@example.com".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap()[0]
        .id;
    contacts::add_consent(
        s,
        &ws,
        b,
        &ConsentInput {
            channel: clientele_core::contact::Channel::Email,
            granted: true,
            source: "form".into(),
        },
    )
    .await
    .unwrap();
    contacts::merge(s, &ws, a, b).await.unwrap();
    contacts::merge(s, &ws, a, b_mail).await.unwrap();
    let (m, _) = s.metrics(ws.id, a).await.unwrap();
    assert_eq!((m.paid_orders, m.revenue, m.interactions), (2, 1500, 1));
    assert!(
        s.contact(ws.id, b).await.unwrap().is_none(),
        "the duplicate is gone"
    );
    let page = TimelinePage {
        before_seq: None,
        limit: 10,
    };
    assert_eq!(s.timeline(ws.id, a, &page).await.unwrap().len(), 3);
    assert_eq!(s.consents(ws.id, a).await.unwrap().len(), 1);
    // The duplicate's identifiers and id keep resolving, to the survivor.
    ingest_ok(s, &ws, &[paid("p3", "b", "o3", 10, "2026-03-01T00:00:00Z")]).await;
    let by_id = json!({"id": "p4", "kind": "order.paid", "occurred_at": "2026-03-02T00:00:00Z", "contact": {"id": b.0},
                       "data": {"order_id": "o4", "total": 20, "currency": "USD"}});
    ingest_ok(s, &ws, &[by_id]).await;
    assert_eq!(s.metrics(ws.id, a).await.unwrap().0.revenue, 1530);
    assert!(matches!(
        contacts::merge(s, &ws, a, a).await,
        Err(ContactError::Invalid(_))
    ));
}

async fn deleting_erases_personal_data_but_keeps_the_log(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    ingest_ok(
        s,
        &ws,
        &[paid("p1", "a", "o1", 1000, "2026-01-01T00:00:00Z")],
    )
    .await;
    let a = by_external_id(s, &ws, "a").await;
    contacts::delete(s, &ws, a).await.unwrap();
    assert!(s.contact(ws.id, a).await.unwrap().is_none());
    assert_eq!(s.event_count(ws.id).await.unwrap(), 1);
    assert!(matches!(
        contacts::delete(s, &ws, a).await,
        Err(ContactError::NotFound)
    ));
}

async fn companies_have_people(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let acme = contacts::create(s, &ws, input(json!({"kind": "company", "name": "Acme"})))
        .await
        .unwrap();
    let lan = contacts::create(s, &ws, input(json!({"name": "Lan"})))
        .await
        .unwrap();
    contacts::add_member(s, &ws, acme, lan, Some("buyer"))
        .await
        .unwrap();
    let members = s.members(ws.id, acme).await.unwrap();
    assert_eq!(
        (members[0].person_id, members[0].role.as_deref()),
        (lan, Some("buyer"))
    );
    assert!(
        matches!(
            contacts::add_member(s, &ws, lan, acme, None).await,
            Err(ContactError::Invalid(_))
        ),
        "a person has no members"
    );
}

both_backends!(
    identifiers_are_unique_per_workspace,
    a_patch_changes_fields_and_identities,
    search_filters_and_pages,
    merging_folds_every_event_into_the_survivor,
    deleting_erases_personal_data_but_keeps_the_log,
    companies_have_people,
);
