//! Automated care end to end against a real SMTP server, on SQLite and PostgreSQL: a first
//! paid order makes a shopper, whose playbook issues a coupon and e-mails it; a second paid
//! order makes a customer, whose playbook invites them to the loyalty programme; a repeated
//! event sends nothing; no consent, no marketing e-mail; a failing server is retried.

mod common;

use std::time::Duration;

use clientele_core::ContactId;
use clientele_core::contact::{ConsentInput, ContactInput};
use clientele_core::time::{DAY, Micros, SECOND, format_instant};
use clientele_engine::automation::{MAX_ATTEMPTS, SmtpMailer, run_due};
use clientele_engine::contacts;
use clientele_loyalty::coupon::display_code;
use clientele_store::{Store, Workspace, now_micros};
use clientele_testkit::smtp::SmtpSink;
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::json;

async fn person(s: &dyn Store, ws: &Workspace, ext: &str, consent: bool) -> ContactId {
    let input = ContactInput::from_json(&json!({
        "external_id": ext, "email": format!("{ext}@example.vn"), "name": "Lan", "locale": "vi"
    }))
    .unwrap();
    let id = contacts::create(s, ws, input).await.unwrap();
    if consent {
        let c: ConsentInput =
            serde_json::from_value(json!({"channel": "email", "granted": true, "source": "form"}))
                .unwrap();
        contacts::add_consent(s, ws, id, &c).await.unwrap();
    }
    id
}

/// Run the outbox at [`noon`] until nothing is due; returns the steps handled.
async fn drain(s: &dyn Store, mailer: &SmtpMailer) -> usize {
    drain_at(s, mailer, noon()).await
}

async fn drain_at(s: &dyn Store, mailer: &SmtpMailer, at: Micros) -> usize {
    let mut total = 0;
    loop {
        let n = run_due(s, mailer, at, 100).await.unwrap();
        assert!(
            total < 1000,
            "the runner keeps finding work: a step due again at once"
        );
        if n == 0 {
            return total;
        }
        total += n;
    }
}

fn hour_ago() -> String {
    format_instant(now_micros() - 3600 * SECOND)
}

async fn the_shopper_and_customer_playbooks_send_their_messages(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "Shop <care@shop.vn>").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let lan = person(s, &ws, "lan", true).await;

    let first = paid("e1", "lan", "o1", 250_000, &hour_ago());
    ingest_ok(s, &ws, std::slice::from_ref(&first)).await;
    assert_eq!(drain(s, &mailer).await, 2, "coupon, then e-mail");
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["lan@example.vn"]);
    let coupon = s.coupons_of(ws.id, lan).await.unwrap();
    assert_eq!(coupon.len(), 1, "the second-purchase coupon");
    let code = display_code(&coupon[0].code);
    assert!(got[0].data.contains(&code), "the code is in the message");
    assert!(got[0].header("Subject").is_some());
    assert!(
        got[0]
            .header("Message-ID")
            .unwrap()
            .contains("shopper_thank_you")
    );

    // The same event again: nothing new.
    ingest_ok(s, &ws, &[first]).await;
    assert_eq!(drain(s, &mailer).await, 0);

    ingest_ok(s, &ws, &[paid("e2", "lan", "o2", 100_000, &hour_ago())]).await;
    drain(s, &mailer).await;
    let got = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2);
    let messages = s.messages_of(ws.id, lan, 10).await.unwrap();
    let rules: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m.rule.as_str(), m.status.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            ("customer_loyalty_invitation", "sent"),
            ("shopper_thank_you", "sent")
        ]
    );
}

async fn no_consent_means_no_marketing_e_mail(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let binh = person(s, &ws, "binh", false).await;
    ingest_ok(s, &ws, &[paid("e1", "binh", "o1", 250_000, &hour_ago())]).await;
    drain(s, &mailer).await;
    let m = s.messages_of(ws.id, binh, 10).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].status.as_str(), m[0].detail.as_deref()),
        ("skipped", Some("no e-mail consent"))
    );
    assert!(sink.messages().is_empty());
}

async fn history_being_imported_starts_no_runs(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let chi = person(s, &ws, "chi", true).await;
    let long_ago = format_instant(now_micros() - 400 * DAY);
    ingest_ok(s, &ws, &[paid("e1", "chi", "o1", 250_000, &long_ago)]).await;
    assert_eq!(drain(s, &mailer).await, 0);
    assert!(s.steps_of(ws.id, chi, 10).await.unwrap().is_empty());
}

async fn a_server_that_refuses_is_retried_then_parked(db: TestDb) {
    // Nothing listens on this port: every try fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let mailer = SmtpMailer::new(&url, "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let lan = person(s, &ws, "lan", true).await;
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago())]).await;
    // Each try moves the step's due time out by its backoff; run at that time.
    let mut now = noon();
    for _ in 0..(MAX_ATTEMPTS + 1) {
        run_due(s, &mailer, now, 100).await.unwrap();
        now += 3 * DAY;
    }
    let steps = s.steps_of(ws.id, lan, 10).await.unwrap();
    let email = steps
        .iter()
        .find(|st| st.step == 1)
        .expect("the e-mail step");
    assert_eq!(
        (email.status.as_str(), email.attempts),
        ("failed", MAX_ATTEMPTS)
    );
    assert!(
        email.last_error.as_deref().unwrap().contains("SMTP"),
        "{email:?}"
    );
    let m = s.messages_of(ws.id, lan, 10).await.unwrap();
    assert_eq!(m[0].status, "failed");
}

async fn a_message_refused_at_the_end_of_its_data_is_sent_again(db: TestDb) {
    // Recorded as sent before the end of the data goes; the server's refusal then reopens
    // the step, and the next try delivers it once.
    let sink = SmtpSink::refusing(1);
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let lan = person(s, &ws, "lan", true).await;
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago())]).await;
    let now = noon();
    drain_at(s, &mailer, now).await;
    let m = s.messages_of(ws.id, lan, 10).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].status, "failed");
    let detail = m[0].detail.as_deref().unwrap();
    assert!(
        detail.contains("452") && detail.contains("try again"),
        "{m:?}"
    );
    let steps = s.steps_of(ws.id, lan, 10).await.unwrap();
    let email = steps.iter().find(|st| st.step == 1).unwrap();
    assert_eq!((email.status.as_str(), email.attempts), ("pending", 1));
    assert!(sink.messages().is_empty());

    drain_at(s, &mailer, now + 60 * SECOND).await;
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let m = s.messages_of(ws.id, lan, 10).await.unwrap();
    assert_eq!((m.len(), m[0].status.as_str()), (1, "sent"));
}

async fn tags_are_added_and_removed_in_order(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let set = clientele_automation::RuleSet::from_json(&json!({
        "rules": [{"name": "tagging", "trigger": {"rung_entered": "shopper"},
                   "actions": [{"add_tag": "vip"}, {"add_tag": "new"}, {"remove_tag": "new"},
                               {"remove_tag": "absent"}]}],
        "templates": {}
    }))
    .unwrap();
    clientele_engine::automation::set_rules(s, ws.id, &set, now_micros())
        .await
        .unwrap();
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago())]).await;
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "care@shop.vn").unwrap();
    assert_eq!(drain(s, &mailer).await, 4, "four steps, one after another");
    let lan = by_external_id(s, &ws, "lan").await;
    let contact = s.contact(ws.id, lan).await.unwrap().unwrap();
    assert_eq!(contact.tags, ["vip"]);
}

async fn quiet_hours_defer_marketing_to_the_morning(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let input = ContactInput::from_json(&json!({
        "external_id": "lan", "email": "lan@example.vn", "time_zone": "Asia/Ho_Chi_Minh"
    }))
    .unwrap();
    let lan = contacts::create(s, &ws, input).await.unwrap();
    let c: ConsentInput =
        serde_json::from_value(json!({"channel": "email", "granted": true, "source": "form"}))
            .unwrap();
    contacts::add_consent(s, &ws, lan, &c).await.unwrap();
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago())]).await;
    // 16:00 UTC is 23:00 in Hồ Chí Minh City: quiet.
    let night = noon() + 4 * 3600 * SECOND;
    drain_at(s, &mailer, night).await;
    assert!(sink.messages().is_empty(), "nothing at 23:00 local");
    let steps = s.steps_of(ws.id, lan, 10).await.unwrap();
    let email = steps.iter().find(|st| st.step == 1).unwrap();
    // 08:00 local the next day is 01:00 UTC.
    assert_eq!(
        email.due_at,
        noon() + 13 * 3600 * SECOND,
        "deferred to 08:00 local"
    );
    assert_eq!(
        (email.status.as_str(), email.attempts),
        ("pending", 0),
        "not a failed try"
    );
    assert!(email.last_error.as_deref().unwrap().contains("quiet hours"));
    drain_at(s, &mailer, email.due_at).await;
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await.len(), 1);
}

async fn the_frequency_cap_defers_what_exceeds_it(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let (_, mut set) = clientele_engine::automation::current_rules(s, ws.id, now_micros())
        .await
        .unwrap();
    set.limits.cap = Some((1, 7));
    clientele_engine::automation::set_rules(s, ws.id, &set, now_micros())
        .await
        .unwrap();
    let lan = person(s, &ws, "lan", true).await;
    ingest_ok(s, &ws, &[paid("e1", "lan", "o1", 250_000, &hour_ago())]).await;
    drain(s, &mailer).await;
    ingest_ok(s, &ws, &[paid("e2", "lan", "o2", 250_000, &hour_ago())]).await;
    drain(s, &mailer).await;
    assert_eq!(sink.messages().len(), 1, "one marketing message a week");
    let sent = s.messages_of(ws.id, lan, 10).await.unwrap();
    let steps = s.steps_of(ws.id, lan, 10).await.unwrap();
    let waiting = steps
        .iter()
        .find(|st| st.rule == "customer_loyalty_invitation")
        .unwrap();
    assert_eq!(waiting.status, "pending");
    assert_eq!(
        waiting.due_at,
        sent[0].at + 7 * DAY,
        "when the week has room"
    );
    drain_at(s, &mailer, waiting.due_at).await;
    assert_eq!(sink.wait_for(2, Duration::from_secs(10)).await.len(), 2);
}

both_backends!(
    tags_are_added_and_removed_in_order,
    a_message_refused_at_the_end_of_its_data_is_sent_again,
    quiet_hours_defer_marketing_to_the_morning,
    the_frequency_cap_defers_what_exceeds_it,
    the_shopper_and_customer_playbooks_send_their_messages,
    no_consent_means_no_marketing_e_mail,
    history_being_imported_starts_no_runs,
    a_server_that_refuses_is_retried_then_parked,
);
