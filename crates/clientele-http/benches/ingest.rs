//! Durable ingest through the batch API: a real server on loopback, batches of 10 000
//! `order.paid` events POSTed by a real HTTP client, each batch committed (SQLite WAL with
//! synchronous=FULL; PostgreSQL with fsync on) before it is acknowledged.
//!
//! PostgreSQL is measured when `CLIENTELE_BENCH_POSTGRES_URL` names a database to use
//! (`scripts/bench` starts a throwaway server and sets it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clientele_store::{NewWorkspace, Store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const BATCH: u64 = 10_000;

fn batch(n: u64) -> String {
    let events: Vec<Value> = (0..BATCH)
        .map(|i| {
            let id = format!("b{n}-{i}");
            json!({"id": id, "kind": "order.paid", "occurred_at": "2026-01-01T10:00:00Z",
                   "contact": {"external_id": format!("c{}", (n * BATCH + i) % 50_000)},
                   "data": {"order_id": id, "total": 1999, "currency": "USD",
                            "lines": [{"sku": "sku-1", "name": "Coffee beans", "quantity": 1, "unit_price": 1999}]}})
        })
        .collect();
    json!({"events": events}).to_string()
}

async fn server(store: Arc<dyn Store>) -> (String, String) {
    let ws = store
        .create_workspace(&NewWorkspace {
            name: "bench".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
            phone_region: "US".into(),
        })
        .await
        .unwrap();
    let token = "bench-token".to_owned();
    store
        .create_token(ws.id, &clientele_http::auth::token_hash(&token), "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(clientele_http::serve(
        listener,
        store,
        std::future::pending(),
    ));
    (base, token)
}

fn bench_backend(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<dyn Store>,
) {
    let (base, token) = rt.block_on(server(store));
    let client = reqwest::Client::new();
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("ingest_api");
    group
        .throughput(Throughput::Elements(BATCH))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let bodies: Vec<String> = (0..iters)
                .map(|_| batch(counter.fetch_add(1, Ordering::Relaxed)))
                .collect();
            async move {
                let start = Instant::now();
                for body in bodies {
                    let r = client
                        .post(format!("{base}/api/v1/events"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                }
                start.elapsed()
            }
        })
    });
    group.finish();
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let sqlite: Arc<dyn Store> = Arc::new(
        rt.block_on(clientele_store_sqlite::SqliteStore::connect(&url))
            .unwrap(),
    );
    rt.block_on(sqlite.migrate()).unwrap();
    bench_backend(c, &rt, "sqlite", sqlite);
    match std::env::var("CLIENTELE_BENCH_POSTGRES_URL") {
        Ok(url) => {
            let pg: Arc<dyn Store> = Arc::new(
                rt.block_on(clientele_store_postgres::PgStore::connect(&url))
                    .unwrap(),
            );
            rt.block_on(pg.migrate()).unwrap();
            bench_backend(c, &rt, "postgres", pg);
        }
        Err(_) => eprintln!(
            "CLIENTELE_BENCH_POSTGRES_URL is not set: PostgreSQL not measured (scripts/bench sets it)"
        ),
    }
}

criterion_group!(benches, ingest);
criterion_main!(benches);
