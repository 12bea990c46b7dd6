//! Automated e-mail against a real SMTP server in the process, on SQLite and (when
//! `CLIENTELE_TEST_POSTGRES_URL` names a server) PostgreSQL, consent and frequency-cap
//! checks on:
//! - latency from an `order.paid` event being accepted to the shopper playbook's e-mail
//!   being handed to the SMTP server, with the runner idle between events (p50, p99);
//! - sends per second when many e-mail steps are due at once;
//! - what the triggers add to ingest: batches of 1 000 fresh `order.paid` events with the
//!   shipped playbooks against a workspace whose rule set is empty.
//!
//! A measurement program rather than a criterion bench: what matters is the distribution
//! of one-off latencies. Run with `cargo bench -p clientele-engine --bench automation`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_core::contact::{ConsentInput, ContactInput};
use clientele_core::time::{SECOND, format_instant};
use clientele_engine::automation::{
    AgentMailer, Committed, Mailer, SmtpMailer, StepRef, current_rules, run_agent, run_due,
    run_forever, set_rules,
};
use clientele_engine::contacts;
use clientele_store::{OutboxRow, Store, Workspace, now_micros};
use clientele_testkit::smtp::SmtpSink;
use clientele_testkit::{Backend, TestDb};
use serde_json::json;

const LATENCY_EVENTS: usize = 200;
const BURST: usize = 1000;

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if std::env::var("CLIENTELE_TEST_POSTGRES_URL").is_ok() {
        b.push(Backend::Postgres);
    }
    b
}

/// A workspace without quiet hours (the bench runs at any hour) and a cap no contact
/// reaches, so both checks run and neither holds a message back.
async fn workspace(db: &TestDb) -> Workspace {
    let ws = db.workspace("shop").await;
    let (_, mut set) = current_rules(db.store.as_ref(), ws.id, now_micros())
        .await
        .unwrap();
    set.limits.quiet_hours = None;
    set.limits.cap = Some((1000, 7));
    set_rules(db.store.as_ref(), ws.id, &set, now_micros())
        .await
        .unwrap();
    ws
}

async fn consenting(s: &dyn Store, ws: &Workspace, ext: &str) {
    let input = ContactInput::from_json(&json!({
        "external_id": ext, "email": format!("{ext}@example.vn"), "name": ext
    }))
    .unwrap();
    let id = contacts::create(s, ws, input).await.unwrap();
    let c: ConsentInput =
        serde_json::from_value(json!({"channel": "email", "granted": true, "source": "bench"}))
            .unwrap();
    contacts::add_consent(s, ws, id, &c).await.unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn latency(db: &TestDb) -> (Duration, Duration) {
    let ws = workspace(db).await;
    let sink = SmtpSink::start();
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap());
    let runner = tokio::spawn(run_forever(db.store.clone(), mailer, Default::default()));
    let s = db.store.as_ref();
    let mut took = Vec::with_capacity(LATENCY_EVENTS);
    for i in 0..LATENCY_EVENTS {
        let ext = format!("l{i}");
        consenting(s, &ws, &ext).await;
        let at = format_instant(now_micros() - SECOND);
        let event = json!({"id": format!("e{i}"), "kind": "order.paid", "occurred_at": at,
            "contact": {"external_id": ext},
            "data": {"order_id": format!("o{i}"), "total": 100_000, "currency": "USD"}});
        let started = Instant::now();
        clientele_engine::ingest(s, &ws, &[event]).await.unwrap();
        let got = sink.wait_for(i + 1, Duration::from_secs(30)).await;
        assert_eq!(got.len(), i + 1, "every event's message arrives");
        took.push(started.elapsed());
    }
    runner.abort();
    took.sort();
    (percentile(&took, 0.5), percentile(&took, 0.99))
}

/// `BURST` e-mail steps due at once (the customer invitation, for contacts of their own),
/// drained by the runner: messages per second.
/// How the runner reaches the SMTP server.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// Its own connections, in the process.
    Direct,
    /// Through the delivery agent's protocol (as `serve` does; here over in-memory pipes,
    /// so the figure leaves out only the pipe's system calls).
    Agent,
}

fn mailer(sink: &SmtpSink, path: Path) -> Arc<dyn Mailer> {
    let smtp = Arc::new(SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap());
    match path {
        Path::Direct => smtp,
        Path::Agent => {
            let (to_agent, agent_reads) = tokio::io::duplex(1 << 20);
            let (agent_writes, from_agent) = tokio::io::duplex(1 << 20);
            let never: Committed =
                Arc::new(|steps: Vec<StepRef>| Box::pin(async move { vec![false; steps.len()] }));
            tokio::spawn(run_agent(
                smtp,
                never,
                tokio::io::BufReader::new(agent_reads),
                agent_writes,
            ));
            Arc::new(AgentMailer::over(to_agent, from_agent))
        }
    }
}

async fn throughput(db: &TestDb, path: Path) -> f64 {
    let ws = workspace(db).await;
    let sink = SmtpSink::start();
    let mailer = mailer(&sink, path);
    let s = db.store.as_ref();
    let (version, _) = current_rules(s, ws.id, now_micros()).await.unwrap();
    let mut steps = Vec::with_capacity(BURST);
    let now = now_micros();
    for i in 0..BURST {
        let ext = format!("t{i}");
        consenting(s, &ws, &ext).await;
        let id = s
            .search_contacts(
                ws.id,
                &clientele_store::ContactQuery {
                    external_id: Some(ext),
                    limit: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap()[0]
            .id;
        let occurrence = format!("bench@{i}");
        steps.push(OutboxRow {
            id: 0,
            key: clientele_engine::automation::step_key(
                "customer_loyalty_invitation",
                version,
                id.0,
                &occurrence,
                0,
            ),
            contact_id: id,
            rule: "customer_loyalty_invitation".into(),
            rule_version: version,
            step: 0,
            occurrence,
            context: "{}".into(),
            due_at: now,
            status: "pending".into(),
            attempts: 0,
            last_error: None,
            created_at: now,
            finished_at: None,
        });
    }
    let mut tx = s.begin_write(ws.id).await.unwrap();
    tx.enqueue(&steps).await.unwrap();
    tx.commit().await.unwrap();
    let started = Instant::now();
    let mut sent = 0;
    while sent < BURST {
        sent += run_due(s, mailer.as_ref(), now_micros(), 100)
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(
        sink.wait_for(BURST, Duration::from_secs(60)).await.len(),
        BURST
    );
    BURST as f64 / elapsed.as_secs_f64()
}

/// Median times to ingest a batch of 1 000 fresh `order.paid` events, with the shipped
/// playbooks and with an empty rule set, batches interleaved: contacts rotate over 5 000, so
/// the first ten batches move every contact onto a rung (shopper, then customer: with the
/// playbooks, 1 000 runs start per batch) and the next twenty move no one (the triggers
/// look and start nothing).
async fn ingest_cost(db: &TestDb) -> [(Duration, Duration); 2] {
    const SIZE: usize = 1000;
    let s = db.store.as_ref();
    let care = db.workspace("care").await;
    let bare = db.workspace("bare").await;
    let empty = clientele_automation::RuleSet::from_json(&json!({})).unwrap();
    set_rules(s, bare.id, &empty, now_micros()).await.unwrap();
    let at = format_instant(now_micros() - 60 * SECOND);
    let batch = |n: usize| -> Vec<serde_json::Value> {
        (0..SIZE)
            .map(|i| {
                json!({"id": format!("b{n}-{i}"), "kind": "order.paid", "occurred_at": at,
                       "contact": {"external_id": format!("c{}", (n * SIZE + i) % 5000)},
                       "data": {"order_id": format!("b{n}-{i}"), "total": 4999, "currency": "USD"}})
            })
            .collect()
    };
    let mut times = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for n in 0..30 {
        let phase = usize::from(n >= 10);
        for (k, ws) in [&care, &bare].into_iter().enumerate() {
            let events = batch(n);
            let start = Instant::now();
            clientele_engine::ingest(s, ws, &events).await.unwrap();
            times[phase][k].push(start.elapsed());
        }
    }
    times.map(|[mut with, mut without]| {
        with.sort();
        without.sort();
        (percentile(&with, 0.5), percentile(&without, 0.5))
    })
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run this too: only
    // measure when asked to.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for backend in backends() {
        let (p50, p99) = rt.block_on(async { latency(&TestDb::new(backend).await).await });
        let direct =
            rt.block_on(async { throughput(&TestDb::new(backend).await, Path::Direct).await });
        let agent =
            rt.block_on(async { throughput(&TestDb::new(backend).await, Path::Agent).await });
        let [moving, still] = rt.block_on(async { ingest_cost(&TestDb::new(backend).await).await });
        for ((with, without), what) in [
            (moving, "every contact moves a rung"),
            (still, "no one moves"),
        ] {
            println!(
                "automation/{backend:?}: ingest of 1 000 fresh order.paid ({what}), median {:.1} ms with the playbooks, {:.1} ms with no rules ({:+.0} %)",
                with.as_secs_f64() * 1000.0,
                without.as_secs_f64() * 1000.0,
                (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0,
            );
        }
        println!(
            "automation/{backend:?}: event→SMTP latency p50 {:.1} ms, p99 {:.1} ms ({LATENCY_EVENTS} events, runner idle between); {direct:.0} e-mails/s direct, {agent:.0} e-mails/s through the agent's protocol ({BURST} due at once)",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
        );
    }
}
