//! Rebuild and import, on SQLite and PostgreSQL; migration parity.

mod common;

use clientele_engine::import::{Format, import};
use clientele_engine::rebuild::rebuild;
use clientele_testkit::{TestDb, both_backends};
use common::*;

const SAMPLE: &[u8] = include_bytes!("../../../data/cdnow/CDNOW_sample.txt");

async fn rebuild_reproduces_the_projections_byte_for_byte(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let report = import(s, &ws, SAMPLE, Format::Cdnow, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((report.imported, report.rejects.len()), (6919, 0));
    ingest_ok(
        s,
        &ws,
        &[
            refund("r1", "00004", "cdnow:1", Some(500), "1997-02-01T00:00:00Z"),
            cancel("c1", "00004", "cdnow:2", "1997-02-01T00:00:00Z"),
            interaction("i1", "x@example.com", "reply", "1997-03-01T00:00:00Z"),
        ],
    )
    .await;
    let a = by_external_id(s, &ws, "00004").await;
    let b = by_external_id(s, &ws, "00018").await;
    clientele_engine::contacts::merge(s, &ws, a, b)
        .await
        .unwrap();
    let live = s.projection_dump(ws.id).await.unwrap();
    assert!(
        live.lines().count() > 9000,
        "orders and metrics are projected"
    );
    let replayed = rebuild(s, ws.id).await.unwrap();
    assert_eq!(replayed, 6922);
    assert_eq!(s.projection_dump(ws.id).await.unwrap(), live);
}

async fn rebuild_restores_lost_ladder_positions(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    import(s, &ws, SAMPLE, Format::Cdnow, &|_, _| {})
        .await
        .unwrap();
    let ids = ["00004", "00050", "00113"];
    let mut before = Vec::new();
    for id in ids {
        let c = by_external_id(s, &ws, id).await;
        before.push(
            s.ladder_row(ws.id, c)
                .await
                .unwrap()
                .map(|r| (r.rung, r.status)),
        );
    }
    assert!(before.iter().all(Option::is_some), "import placed everyone");
    // A database from before the ladder (or a damaged one) has no positions.
    db.execute("DELETE FROM contact_ladder").await;
    let c = by_external_id(s, &ws, ids[0]).await;
    assert!(s.ladder_row(ws.id, c).await.unwrap().is_none());
    rebuild(s, ws.id).await.unwrap();
    let mut after = Vec::new();
    for id in ids {
        let c = by_external_id(s, &ws, id).await;
        after.push(
            s.ladder_row(ws.id, c)
                .await
                .unwrap()
                .map(|r| (r.rung, r.status)),
        );
    }
    assert_eq!(after, before);
}

async fn importing_the_same_file_twice_changes_nothing(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    import(s, &ws, SAMPLE, Format::Cdnow, &|_, _| {})
        .await
        .unwrap();
    let before = s.projection_dump(ws.id).await.unwrap();
    let again = import(s, &ws, SAMPLE, Format::Cdnow, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((again.imported, again.duplicates), (0, 6919));
    assert_eq!(s.projection_dump(ws.id).await.unwrap(), before);
    let c = by_external_id(s, &ws, "00004").await;
    let (m, _) = s.metrics(ws.id, c).await.unwrap();
    // Customer 4 of the sample: four purchase lines, 29.33 + 29.73 + 14.96 + 26.48.
    assert_eq!((m.paid_orders, m.revenue), (4, 10050));
}

async fn bad_cdnow_lines_are_rejected_and_the_rest_land(db: TestDb) {
    let ws = db.workspace("shop").await;
    let file = b"customer_id date cds dollars\n00001 19970101 1 11.77\n00002 19970230 1 5.00\n00003 19970105 x 5.00\n00004 19970105 1 \xff5.00\n00005 19970105 1 -0.50\n00006 19970106 1 3.00 extra extra\n00007 19970107 2 0.00\n";
    let r = import(db.store.as_ref(), &ws, file, Format::Cdnow, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(r.imported, 2);
    let lines: Vec<(u64, &str)> = r
        .rejects
        .iter()
        .map(|x| (x.line, x.column.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, "date"),
            (4, "number_of_cds"),
            (5, "line"),
            (6, "data.total"),
            (7, "line")
        ]
    );
    assert!(r.rejects[0].reason.contains("does not exist"));
    assert!(r.rejects[2].reason.contains("UTF-8"));
}

async fn shopify_exports_become_order_events(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let csv = "Name,Email,Financial Status,Paid at,Created at,Currency,Total,Lineitem name,Lineitem quantity,Lineitem price,Refunded Amount,Cancelled at
#1001,lan@example.vn,paid,2024-03-05 14:22:10 +0700,2024-03-05 14:20:00 +0700,USD,30.00,Mug,2,10.00,,
#1001,,,,,,,Tea,1,10.00,,
#1002,lan@example.vn,partially_refunded,2024-04-01 09:00:00 +0700,2024-04-01 08:59:00 +0700,USD,20.00,Tea,2,10.00,5.00,
#1003,binh@example.vn,refunded,2024-04-02 09:00:00 +0700,2024-04-02 08:59:00 +0700,USD,15.00,Tea,1,15.00,15.00,
#1004,binh@example.vn,voided,,2024-04-03 08:59:00 +0700,USD,15.00,Tea,1,15.00,,2024-04-03 10:00:00 +0700
#1005,,paid,2024-04-04 09:00:00 +0700,2024-04-04 08:59:00 +0700,USD,15.00,Tea,1,15.00,,
#1006,an@example.vn,paid,2024-04-05 09:00:00 +0700,2024-04-31 08:59:00 +0700,USD,15.00,Tea,1,15.00,,
";
    let r = import(s, &ws, csv.as_bytes(), Format::Shopify, &|_, _| {})
        .await
        .unwrap();
    let rejects: Vec<(u64, &str)> = r
        .rejects
        .iter()
        .map(|x| (x.line, x.column.as_str()))
        .collect();
    assert_eq!(rejects, vec![(7, "Email"), (8, "Created at")]);
    assert_eq!(
        r.imported, 10,
        "placed+paid ×3, refunded ×2, placed+cancelled"
    );
    let again = import(s, &ws, csv.as_bytes(), Format::Shopify, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((again.imported, again.duplicates), (0, 10));
    let q = clientele_store::ContactQuery {
        email: Some("lan@example.vn".into()),
        limit: 5,
        ..Default::default()
    };
    let lan = s.search_contacts(ws.id, &q).await.unwrap()[0].id;
    let (m, _) = s.metrics(ws.id, lan).await.unwrap();
    assert_eq!((m.paid_orders, m.revenue), (2, 4500));
    let q = clientele_store::ContactQuery {
        email: Some("binh@example.vn".into()),
        limit: 5,
        ..Default::default()
    };
    let binh = s.search_contacts(ws.id, &q).await.unwrap()[0].id;
    assert_eq!(
        s.metrics(ws.id, binh).await.unwrap().0.paid_orders,
        0,
        "refunded in full and voided orders do not count"
    );
}

async fn an_import_in_another_currency_is_rejected_line_by_line(db: TestDb) {
    let ws = db.workspace_with("shop", "VND", "Asia/Ho_Chi_Minh").await;
    let r = import(
        db.store.as_ref(),
        &ws,
        b"00001 19970101 1 11.77\n",
        Format::Cdnow,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(r.imported, 0);
    assert_eq!(
        (r.rejects[0].line, r.rejects[0].column.as_str()),
        (1, "data.currency")
    );
}

both_backends!(
    rebuild_reproduces_the_projections_byte_for_byte,
    rebuild_restores_lost_ladder_positions,
    importing_the_same_file_twice_changes_nothing,
    bad_cdnow_lines_are_rejected_and_the_rest_land,
    shopify_exports_become_order_events,
    an_import_in_another_currency_is_rejected_line_by_line,
);

#[tokio::test]
async fn both_back_ends_ship_the_same_migration_versions() {
    let sqlite = TestDb::sqlite().await;
    let pg = TestDb::postgres().await;
    let (a, b) = (
        sqlite.store.migration_versions(),
        pg.store.migration_versions(),
    );
    assert!(!a.is_empty());
    assert_eq!(
        a, b,
        "SQLite and PostgreSQL migrations must keep the same version numbers"
    );
}
