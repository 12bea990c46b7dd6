//! The loyalty ledger's costs, side by side in one run, on SQLite and (when
//! `CLIENTELE_TEST_POSTGRES_URL` names a server) PostgreSQL:
//! - ingest of a batch of 1 000 `order.paid` events with the programme on against off
//!   (criterion, one side after the other; and paired, batches alternating, medians);
//! - earn (a positive adjustment) and redeem operations, one client at a time;
//! - redemptions from 16 concurrent clients (one iteration = 16 redemptions).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clientele_core::ContactId;
use clientele_engine::loyalty::{adjust, redeem, set_rules};
use clientele_loyalty::EarnRules;
use clientele_store::{Store, Workspace, now_micros};
use clientele_testkit::{Backend, TestDb};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const BATCH: usize = 1000;

fn batch(n: u64) -> Vec<serde_json::Value> {
    orders(n, BATCH, 20_000)
}

/// Batch `n` of `size` paid orders, from customers cycling through `customers` of them.
fn orders(n: u64, size: usize, customers: usize) -> Vec<serde_json::Value> {
    (0..size)
        .map(|i| {
            json!({"id": format!("b{n}-{i}"), "kind": "order.paid", "occurred_at": "2026-11-01T10:00:00Z",
                   "contact": {"external_id": format!("c{}", (n as usize * size + i) % customers)},
                   "data": {"order_id": format!("b{n}-{i}"), "total": 4999, "currency": "USD"}})
        })
        .collect()
}

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if std::env::var("CLIENTELE_TEST_POSTGRES_URL").is_ok() {
        b.push(Backend::Postgres);
    }
    b
}

async fn workspace(db: &TestDb, name: &str, enabled: bool) -> Workspace {
    let ws = db.workspace(name).await;
    let rules = EarnRules {
        enabled,
        ..EarnRules::default()
    };
    set_rules(db.store.as_ref(), ws.id, &rules, now_micros())
        .await
        .unwrap();
    ws
}

/// The programme on and off, each in a database of its own: in a shared SQLite file the WAL
/// checkpoint, which copies both sides' pages, falls on whichever commit crosses its
/// threshold, mostly the side writing more.
async fn sides(backend: Backend) -> [(TestDb, Workspace); 2] {
    let on = TestDb::new(backend).await;
    let off = TestDb::new(backend).await;
    let on_ws = workspace(&on, "on", true).await;
    let off_ws = workspace(&off, "off", false).await;
    [(on, on_ws), (off, off_ws)]
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("loyalty_ingest");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    for backend in backends() {
        let sides = rt.block_on(sides(backend));
        let seq = AtomicU64::new(0);
        for ((db, ws), label) in sides.iter().zip(["loyalty_on", "loyalty_off"]) {
            g.bench_function(BenchmarkId::new(label, format!("{backend:?}")), |b| {
                b.iter(|| {
                    let events = batch(seq.fetch_add(1, Ordering::Relaxed));
                    rt.block_on(clientele_engine::ingest(db.store.as_ref(), ws, &events))
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

fn operations(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("loyalty_ops");
    g.sample_size(20);
    for backend in backends() {
        let (db, ws, contact) = rt.block_on(async {
            let db = TestDb::new(backend).await;
            let ws = workspace(&db, "ops", true).await;
            clientele_engine::ingest(db.store.as_ref(), &ws, &batch(0))
                .await
                .unwrap();
            let mut tx = db.store.begin_write(ws.id).await.unwrap();
            let first = tx.contact_ids_after(ContactId(0), 1).await.unwrap()[0];
            drop(tx);
            // Enough points for every redemption the benchmark makes.
            adjust(
                db.store.as_ref(),
                &ws,
                first,
                100_000_000,
                "bench",
                "bench",
                now_micros(),
            )
            .await
            .unwrap();
            (db, ws, first)
        });
        let store: Arc<dyn Store> = db.store.clone();
        let seq = Arc::new(AtomicU64::new(0));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("earn", format!("{backend:?}")), |b| {
            b.iter(|| {
                rt.block_on(adjust(
                    store.as_ref(),
                    &ws,
                    contact,
                    10,
                    "bench",
                    "bench",
                    now_micros(),
                ))
                .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("redeem", format!("{backend:?}")), |b| {
            b.iter(|| {
                let key = format!("k{}", seq.fetch_add(1, Ordering::Relaxed));
                rt.block_on(redeem(
                    store.as_ref(),
                    ws.id,
                    contact,
                    1,
                    &key,
                    None,
                    now_micros(),
                ))
                .unwrap()
            })
        });
        g.throughput(Throughput::Elements(16));
        g.bench_function(
            BenchmarkId::new("redeem_16_clients", format!("{backend:?}")),
            |b| {
                b.iter(|| {
                    rt.block_on(async {
                        let tasks: Vec<_> = (0..16)
                            .map(|_| {
                                let (store, seq) = (store.clone(), seq.clone());
                                let key = format!("k{}", seq.fetch_add(1, Ordering::Relaxed));
                                let ws = ws.id;
                                tokio::spawn(async move {
                                    redeem(store.as_ref(), ws, contact, 1, &key, None, now_micros())
                                        .await
                                })
                            })
                            .collect();
                        for t in tasks {
                            t.await.unwrap().unwrap();
                        }
                    })
                })
            },
        );
        drop(db);
    }
    g.finish();
}

/// The same comparison as `ingest`, paired: batches for the two workspaces alternate (the
/// first of each pair swapping every round), so drift in the machine or the database (a
/// checkpoint, a growing table) falls on both sides alike; prints the medians and their
/// ratio. Criterion's own figures above measure one side after the other. Bulk batches of
/// 1 000 (an import, a busy shop's queue) and single orders (one call per order paid).
fn ingest_paired(_c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for backend in backends() {
        for (rounds, size, customers) in [(40, BATCH, 20_000), (400, 1, 200)] {
            let (on_ms, off_ms) = rt.block_on(paired(backend, rounds, size, customers));
            println!(
                "loyalty_ingest_paired/{backend:?}: median {on_ms:.2} ms with loyalty, {off_ms:.2} ms without ({:+.0} %), {rounds} pairs of {size} order.paid",
                (on_ms / off_ms - 1.0) * 100.0
            );
        }
    }
}

/// Medians of ingesting `rounds` batches of `size` orders with loyalty on and off, after as
/// many warm-up rounds again as an eighth of them (caches, first contacts).
async fn paired(backend: Backend, rounds: u64, size: usize, customers: usize) -> (f64, f64) {
    let sides = sides(backend).await;
    let warm = rounds / 8;
    let mut times = [Vec::new(), Vec::new()];
    for n in 0..rounds + warm {
        let pair = if n % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in pair {
            let (db, ws) = &sides[side];
            let events = orders(n, size, customers);
            let start = std::time::Instant::now();
            clientele_engine::ingest(db.store.as_ref(), ws, &events)
                .await
                .unwrap();
            if n >= warm {
                times[side].push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [mut on, mut off] = times;
    (median(&mut on), median(&mut off))
}

criterion_group!(benches, ingest, ingest_paired, operations);
criterion_main!(benches);
