//! Webhook steps against a real HTTP receiver in the test process (axum on 127.0.0.1), on
//! SQLite and PostgreSQL: signed over time and body, the step's key as idempotency key,
//! retried after a failure, and refused for an inner address unless allowed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use clientele_automation::RuleSet;
use clientele_core::time::{Micros, SECOND, format_instant};
use clientele_engine::automation::{NoSmtp, Settings, run_due_with, set_rules, webhook};
use clientele_store::{Store, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<AtomicUsize>,
}

impl Receiver {
    /// Listen on a free port; answers 500 to the first `fail_first` calls.
    async fn start(fail_first: usize) -> (Self, String) {
        let me = Self {
            fail_first: Arc::new(fail_first.into()),
            ..Self::default()
        };
        let state = me.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.got.lock().unwrap().push((headers, body));
                    let fail =
                        state
                            .fail_first
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                    if fail.is_ok() {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, url)
    }

    fn calls(&self) -> Vec<(HeaderMap, String)> {
        self.got.lock().unwrap().clone()
    }
}

async fn notify_on_shopper(s: &dyn Store, ws: &Workspace, url: &str) {
    let set = RuleSet::from_json(&json!({
        "rules": [{"name": "notify", "trigger": {"rung_entered": "shopper"},
                   "actions": [{"call_webhook": {"url": url}}]}],
        "templates": {}
    }))
    .unwrap();
    set_rules(s, ws.id, &set, now_micros()).await.unwrap();
}

async fn run(s: &dyn Store, settings: &Settings, at: Micros) {
    while run_due_with(s, &NoSmtp, settings, at, 100).await.unwrap() > 0 {}
}

fn allowing() -> Settings {
    Settings {
        webhooks_allow_private: true,
        ..Settings::default()
    }
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name).unwrap().to_str().unwrap().to_owned()
}

async fn a_webhook_is_signed_and_names_its_step(db: TestDb) {
    let (receiver, url) = Receiver::start(0).await;
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    notify_on_shopper(s, &ws, &url).await;
    let hour_ago = format_instant(now_micros() - 3600 * SECOND);
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago)]).await;
    run(s, &allowing(), noon()).await;

    let calls = receiver.calls();
    assert_eq!(calls.len(), 1);
    let (headers, body) = &calls[0];
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["rule"], "notify");
    assert_eq!(sent["contact"]["external_id"], "lan");
    assert_eq!(sent["rung"], "shopper");
    let lan = by_external_id(s, &ws, "lan").await;
    let steps = s.steps_of(ws.id, lan, 10).await.unwrap();
    assert_eq!(steps[0].status, "done");
    assert_eq!(header(headers, "clientele-idempotency-key"), steps[0].key);
    // The receiver's check: the same key over `t.` and the body.
    let signed = header(headers, "clientele-signature");
    let t: i64 = signed[2..signed.find(',').unwrap()].parse().unwrap();
    let mut tx = s.begin_write(ws.id).await.unwrap();
    let key = webhook::key(&mut *tx, now_micros()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        signed,
        webhook::signature(&key, t * SECOND, body.as_bytes())
    );
}

async fn a_failed_call_is_retried_and_an_inner_address_refused(db: TestDb) {
    let (receiver, url) = Receiver::start(1).await;
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    notify_on_shopper(s, &ws, &url).await;
    let hour_ago = format_instant(now_micros() - 3600 * SECOND);
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago)]).await;
    let lan = by_external_id(s, &ws, "lan").await;
    run(s, &allowing(), noon()).await;
    let step = &s.steps_of(ws.id, lan, 10).await.unwrap()[0];
    assert_eq!((step.status.as_str(), step.attempts), ("pending", 1));
    assert!(
        step.last_error.as_deref().unwrap().contains("500"),
        "{step:?}"
    );
    run(s, &allowing(), noon() + 60 * SECOND).await;
    assert_eq!(s.steps_of(ws.id, lan, 10).await.unwrap()[0].status, "done");
    let calls = receiver.calls();
    assert_eq!(calls.len(), 2, "the failure, then the retry");
    assert_eq!(
        header(&calls[0].0, "clientele-idempotency-key"),
        header(&calls[1].0, "clientele-idempotency-key"),
        "a retry carries the same idempotency key"
    );

    // Without leave, a loopback target is refused before any connection is made.
    ingest_ok(s, &ws, &[paid("e2", "mai", "o2", 250_000, &hour_ago)]).await;
    let mai = by_external_id(s, &ws, "mai").await;
    run(s, &Settings::default(), noon()).await;
    let step = &s.steps_of(ws.id, mai, 10).await.unwrap()[0];
    let error = step.last_error.as_deref().unwrap();
    assert!(
        error.contains("refused") && error.contains("loopback"),
        "{error}"
    );
    assert_eq!(receiver.calls().len(), 2);
}

both_backends!(
    a_webhook_is_signed_and_names_its_step,
    a_failed_call_is_retried_and_an_inner_address_refused,
);
