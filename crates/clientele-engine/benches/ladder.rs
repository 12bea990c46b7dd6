//! What the scheduler pays per due contact: reclassifying contacts inside a write
//! transaction (read their events, replay, write positions and history) on SQLite, over the
//! 2 357 customers of the CDNOW sample. The transaction is rolled back after each run.

use clientele_engine::import::{Format, import};
use clientele_engine::ladder::reclassify;
use clientele_store::now_micros;
use clientele_testkit::TestDb;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SAMPLE: &[u8] = include_bytes!("../../../data/cdnow/CDNOW_sample.txt");

fn scheduler(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, ws, ids) = rt.block_on(async {
        let db = TestDb::sqlite().await;
        let ws = db.workspace("demo").await;
        import(db.store.as_ref(), &ws, SAMPLE, Format::Cdnow, &|_, _| {})
            .await
            .unwrap();
        let mut tx = db.store.begin_write(ws.id).await.unwrap();
        let ids = tx
            .contact_ids_after(clientele_core::ContactId(0), 1_000_000)
            .await
            .unwrap();
        drop(tx);
        (db, ws, ids)
    });
    let mut g = c.benchmark_group("ladder_scheduler");
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.sample_size(10);
    g.bench_function("reclassify_cdnow_sample", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = db.store.begin_write(ws.id).await.unwrap();
                // A year on: every contact has something due (lapse at least).
                reclassify(&mut *tx, &ids, now_micros() + 365 * 86_400_000_000)
                    .await
                    .unwrap()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, scheduler);
criterion_main!(benches);
