//! Crash safety: SIGKILL the server while a client streams batches; after a restart every
//! acknowledged event is there exactly once, retries of unacknowledged batches add no
//! duplicates, and SQLite's integrity check passes.

use std::process::Stdio;

use clientele_testkit::{Backend, TestDb, both_backends};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BATCH: usize = 500;

/// Start `clientele serve` on a free port; returns the child and its base URL, read from the
/// line the server prints once it is listening.
async fn start(url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CLIENTELE_DATABASE_URL", url)
        .env("CLIENTELE_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .next_line()
        .await
        .unwrap()
        .expect("the server prints its address");
    let base = line
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

fn batch(n: usize) -> Value {
    let events: Vec<Value> = (0..BATCH)
        .map(|i| {
            let id = format!("b{n}-{i}");
            json!({"id": id, "kind": "order.paid", "occurred_at": "2026-01-01T00:00:00Z",
                   "contact": {"external_id": format!("c{}", i % 50)},
                   "data": {"order_id": id, "total": 100, "currency": "USD"}})
        })
        .collect();
    json!({"events": events})
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: &Value,
) -> Result<Vec<String>, reqwest::Error> {
    let r = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .error_for_status()?;
    let v: Value = r.json().await?;
    Ok(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap().to_owned())
        .collect())
}

async fn acknowledged_events_survive_sigkill_exactly_once(db: TestDb) {
    let ws = db.workspace("shop").await;
    let token = "crash-test-token";
    db.store
        .create_token(ws.id, &clientele_http::auth::token_hash(token), "test")
        .await
        .unwrap();
    let (mut server, base) = start(&db.url).await;

    // Stream batches from a task; kill the server once five are acknowledged, while the
    // client keeps sending.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let client = reqwest::Client::new();
    let streamer = {
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let mut unacked = Vec::new();
            for n in 0..1000 {
                match send(&client, &base, token, &batch(n)).await {
                    Ok(statuses) => {
                        assert!(statuses.iter().all(|s| s == "created"));
                        let _ = acked_tx.send(n);
                    }
                    Err(_) => {
                        unacked.push(n);
                        break;
                    }
                }
            }
            unacked
        })
    };
    let mut acked = Vec::new();
    while let Some(n) = acked_rx.recv().await {
        acked.push(n);
        if acked.len() == 5 {
            server.start_kill().expect("SIGKILL");
            break;
        }
    }
    server.wait().await.unwrap();
    let unacked = streamer.await.unwrap();
    while let Ok(n) = acked_rx.try_recv() {
        acked.push(n);
    }
    assert!(!unacked.is_empty(), "the kill interrupted the stream");

    let (mut server, base) = start(&db.url).await;
    // Retry what was not acknowledged; resend one acknowledged batch too.
    for n in unacked.iter().chain([&acked[0]]) {
        let statuses = send(&client, &base, token, &batch(*n)).await.unwrap();
        assert!(
            statuses.iter().all(|s| s == "created" || s == "duplicate"),
            "{statuses:?}"
        );
        if *n == acked[0] {
            assert!(statuses.iter().all(|s| s == "duplicate"));
        }
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    let expected = (acked.len() + unacked.len()) * BATCH;
    assert_eq!(
        db.store.event_count(ws.id).await.unwrap(),
        expected as i64,
        "every event exactly once"
    );
    let c = db
        .store
        .search_contacts(
            ws.id,
            &clientele_store::ContactQuery {
                external_id: Some("c0".into()),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (m, _) = db.store.metrics(ws.id, c[0].id).await.unwrap();
    assert_eq!(
        m.paid_orders as usize,
        expected / 50,
        "projections agree with the log"
    );
    if db.backend == Backend::Sqlite {
        assert_eq!(db.store.integrity_check().await.unwrap(), "ok");
    }
}

both_backends!(acknowledged_events_survive_sigkill_exactly_once);
