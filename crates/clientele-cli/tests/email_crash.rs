//! Exactly once across a crash, through the real binary on SQLite and PostgreSQL: 1 000
//! e-mails are due, the server is killed with SIGKILL while it sends them, a new server on
//! the same database finishes the work, and the SMTP server has received every message
//! exactly once.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use clientele_core::time::{SECOND, format_instant};
use clientele_store::now_micros;
use clientele_testkit::smtp::SmtpSink;
use clientele_testkit::{TestDb, both_backends};
use common::{clientele, serve};
use serde_json::{Value, json};
use tokio::process::Child;

const MESSAGES: usize = 1000;

/// A server sending through `sink`; a killed server's steps come back after the lease:
/// short, so the test is.
async fn serve_with(db: &TestDb, sink: &SmtpSink) -> (Child, String) {
    serve(db, &["--smtp-url", &sink.url(), "--runner-lease", "2s"]).await
}

/// One service e-mail to every new shopper: no consent, quiet hours or cap in the way.
fn receipt_rules() -> Value {
    let template = json!({"subject": "Receipt for {{ contact.email }}",
                          "text": "Thank you.", "html": "<p>Thank you.</p>"});
    json!({
        "rules": [{"name": "receipt", "trigger": {"rung_entered": "shopper"},
                   "actions": [{"send_email": {"template": "receipt", "purpose": "service"}}]}],
        "templates": {"receipt": {"vi": template, "en": template}}
    })
}

async fn a_killed_server_sends_every_e_mail_exactly_once(db: TestDb) {
    let sink = SmtpSink::start();
    clientele(&db, &["workspace", "create", "shop", "--currency", "VND"]);
    let token = clientele(&db, &["token", "create", "--workspace", "shop"]);
    let (mut first, base) = serve_with(&db, &sink).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = post("/api/v1/automation/rules", receipt_rules())
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let at = format_instant(now_micros() - 60 * SECOND);
    for batch in 0..MESSAGES / 100 {
        let events: Vec<Value> = (batch * 100..(batch + 1) * 100)
            .map(|i| {
                json!({"id": format!("e{i}"), "kind": "order.paid", "occurred_at": at,
                       "contact": {"email": format!("c{i}@example.vn")},
                       "data": {"order_id": format!("o{i}"), "total": 100_000, "currency": "VND"}})
            })
            .collect();
        let r = post("/api/v1/events", json!({ "events": events }))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // Killed while sending: some messages are through, not all.
    let before = sink
        .wait_for(MESSAGES / 4, Duration::from_secs(60))
        .await
        .len();
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let at_kill = sink.messages().len();
    assert!(
        (MESSAGES / 4..MESSAGES).contains(&before) && at_kill < MESSAGES,
        "the kill came in the middle: {before} then {at_kill} of {MESSAGES} received"
    );

    let (mut second, _) = serve_with(&db, &sink).await;
    sink.wait_for(MESSAGES, Duration::from_secs(60)).await;
    // Every step settled: nothing more can arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while clientele_store::AutomationReader::next_due(db.store.as_ref())
        .await
        .unwrap()
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "steps still due");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.start_kill().unwrap();

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for m in sink.messages() {
        *per_recipient.entry(m.to.join(",")).or_default() += 1;
    }
    let doubled: Vec<_> = per_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "received more than once: {doubled:?}");
    let missing: Vec<String> = (0..MESSAGES)
        .map(|i| format!("c{i}@example.vn"))
        .filter(|to| !per_recipient.contains_key(to))
        .collect();
    assert!(missing.is_empty(), "never received: {missing:?}");
    assert_eq!(sink.messages().len(), MESSAGES);
}

both_backends!(a_killed_server_sends_every_e_mail_exactly_once);
