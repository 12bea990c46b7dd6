//! The shipped playbooks walked end to end against a real SMTP server, on SQLite and
//! PostgreSQL — one contact from shopper to advocate, every message checked — and the
//! triggers and actions beyond rung changes: events, score crossings, days without an
//! order, branches, tasks and tickets.

mod common;

use std::time::Duration;

use clientele_automation::RuleSet;
use clientele_core::ContactId;
use clientele_core::contact::{ConsentInput, ContactInput};
use clientele_core::time::{DAY, Micros, SECOND, format_instant};
use clientele_engine::automation::survey::{self, Answer};
use clientele_engine::automation::{Settings, SmtpMailer, run_due_with, set_rules};
use clientele_engine::contacts;
use clientele_loyalty::coupon::display_code;
use clientele_store::{Store, Workspace, now_micros};
use clientele_testkit::smtp::{Received, SmtpSink};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

const PUBLIC: &str = "https://crm.shop.example";

fn settings() -> Settings {
    Settings {
        public_url: Some(PUBLIC.into()),
        ..Settings::default()
    }
}

async fn person(s: &dyn Store, ws: &Workspace, doc: Value) -> ContactId {
    let id = contacts::create(s, ws, ContactInput::from_json(&doc).unwrap())
        .await
        .unwrap();
    let c: ConsentInput =
        serde_json::from_value(json!({"channel": "email", "granted": true, "source": "form"}))
            .unwrap();
    contacts::add_consent(s, ws, id, &c).await.unwrap();
    id
}

/// Run the outbox at `at` until nothing is due; returns the steps handled.
async fn drain_at(s: &dyn Store, mailer: &SmtpMailer, at: Micros) -> usize {
    let mut total = 0;
    loop {
        let n = run_due_with(s, mailer, &settings(), at, 100).await.unwrap();
        assert!(total < 1000, "the runner keeps finding work");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

fn minutes_ago(m: i64) -> String {
    format_instant(now_micros() - m * 60 * SECOND)
}

/// The message number `n` (from 1) the sink received, waiting for it.
async fn message(sink: &SmtpSink, n: usize) -> Received {
    let got = sink.wait_for(n, Duration::from_secs(10)).await;
    assert_eq!(got.len(), n, "exactly {n} messages so far");
    got[n - 1].clone()
}

fn rule_of(m: &Received) -> String {
    m.header("Message-ID").unwrap_or_default()
}

async fn one_contact_walks_from_shopper_to_advocate(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "Shop <care@shop.vn>").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    // Steps run at noon on days a week apart, so neither quiet hours nor the frequency cap
    // (two marketing messages a week) hold anything back.
    let t0 = noon();
    let day = |n: i64| t0 + n * DAY;
    let birthday = &format_instant(day(50))[..10];
    let mai = person(
        s,
        &ws,
        json!({"external_id": "mai", "email": "mai@example.vn", "name": "Mai", "locale": "en",
               "custom": {"birthday": birthday}}),
    )
    .await;

    // First paid order: shopper — a thank-you with the second-purchase coupon.
    ingest_ok(
        s,
        &ws,
        &[paid("e1", "mai", "o1", 250_000, &minutes_ago(60))],
    )
    .await;
    drain_at(s, &mailer, day(0)).await;
    let m = message(&sink, 1).await;
    assert!(rule_of(&m).contains("shopper_thank_you"));
    let coupon = &s.coupons_of(ws.id, mai).await.unwrap()[0];
    assert!(
        m.data.contains(&display_code(&coupon.code)),
        "the coupon code"
    );

    // Second: customer — the loyalty invitation, with the points balance.
    ingest_ok(
        s,
        &ws,
        &[paid("e2", "mai", "o2", 100_000, &minutes_ago(50))],
    )
    .await;
    drain_at(s, &mailer, day(8)).await;
    let m = message(&sink, 2).await;
    assert!(rule_of(&m).contains("customer_loyalty_invitation"));
    assert!(
        m.data.contains("3500 points"),
        "250 000 + 100 000 cents earn 3 500"
    );

    // A contract makes a client: the personal thank-you now, the NPS question 14 days on.
    let contract = ContactInput::from_json(&json!({"contract_active": true})).unwrap();
    contacts::update(s, &ws, mai, contract).await.unwrap();
    drain_at(s, &mailer, day(16)).await;
    let m = message(&sink, 3).await;
    assert!(rule_of(&m).contains("client_personal_thanks"));
    drain_at(s, &mailer, day(29)).await;
    assert_eq!(sink.messages().len(), 3, "the question waits its 14 days");
    drain_at(s, &mailer, day(30)).await;
    let m = message(&sink, 4).await;
    assert!(rule_of(&m).contains("client_personal_thanks"));
    assert!(m.data.contains("how likely are you to recommend"));
    let nine = format!("9: {PUBLIC}/s/");
    let at = m.data.find(&nine).expect("a link per score");
    let token = m.data[at + nine.len()..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // Answering 9 records the survey: the contact is a promoter and an advocate, and is
    // invited to refer with their own code.
    assert_eq!(
        survey::answer(s, &token, 9, now_micros()).await.unwrap(),
        Answer::Recorded
    );
    assert_eq!(
        survey::answer(s, &token, 3, now_micros()).await.unwrap(),
        Answer::Already,
        "the first answer stands"
    );
    let forged = token.replacen(&format!(".{}.", mai.0), ".999999.", 1);
    assert_eq!(
        survey::answer(s, &forged, 9, now_micros()).await.unwrap(),
        Answer::Invalid
    );
    let row = s.ladder_row(ws.id, mai).await.unwrap().unwrap();
    assert_eq!(row.rung, "advocate");
    drain_at(s, &mailer, day(38)).await;
    let m = message(&sink, 5).await;
    assert!(rule_of(&m).contains("promoter_referral_invitation"));
    let code = s.referral_code(ws.id, mai).await.unwrap().expect("a code");
    assert!(m.data.contains(&display_code(&code)), "their referral code");
    assert!(s.tickets(ws.id, Some(mai), 10).await.unwrap().is_empty());

    // Birthday: bonus points and a greeting that says how many.
    drain_at(s, &mailer, day(49)).await;
    assert_eq!(sink.messages().len(), 5, "not yet");
    drain_at(s, &mailer, day(50)).await;
    let m = message(&sink, 6).await;
    assert!(rule_of(&m).contains("birthday_points"));
    assert!(m.data.contains("Here are 100 points"));
    assert!(m.data.contains("you now have 3600 points"));
    drain_at(s, &mailer, day(50) + 3600 * SECOND).await;
    assert_eq!(sink.messages().len(), 6, "one greeting a year");

    let sent: Vec<String> = s
        .messages_of(ws.id, mai, 20)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|m| format!("{} {}", m.rule, m.status))
        .collect();
    assert_eq!(
        sent,
        [
            "shopper_thank_you sent",
            "customer_loyalty_invitation sent",
            "client_personal_thanks sent",
            "client_personal_thanks sent",
            "promoter_referral_invitation sent",
            "birthday_points sent",
        ]
    );
}

async fn a_detractor_gets_a_ticket_and_a_call(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let an = person(s, &ws, json!({"external_id": "an", "name": "An"})).await;
    let answer = json!({"id": "nps-1", "kind": "survey.answered", "occurred_at": minutes_ago(5),
        "contact": {"external_id": "an"}, "data": {"survey": "nps", "score": 3}});
    ingest_ok(s, &ws, std::slice::from_ref(&answer)).await;
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "care@shop.vn").unwrap();
    assert_eq!(drain_at(s, &mailer, noon()).await, 2, "ticket, then task");
    ingest_ok(s, &ws, &[answer]).await;
    assert_eq!(
        drain_at(s, &mailer, noon()).await,
        0,
        "a repeated event, nothing"
    );
    let tickets = s.tickets(ws.id, Some(an), 10).await.unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(
        (tickets[0].kind.as_str(), tickets[0].subject.as_str()),
        ("complaint", "NPS 3: An")
    );
    let tasks = s.tasks(ws.id, None, true, 10).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].title, "Call An about their NPS answer (3)");
    assert_eq!(tasks[0].due_at - tasks[0].created_at, DAY);
}

async fn install(s: &dyn Store, ws: &Workspace, rules: Value) {
    let set = RuleSet::from_json(&json!({ "rules": rules, "templates": {} })).unwrap();
    set_rules(s, ws.id, &set, now_micros()).await.unwrap();
}

async fn tags(s: &dyn Store, ws: &Workspace, id: ContactId) -> Vec<String> {
    s.contact(ws.id, id).await.unwrap().unwrap().tags
}

async fn a_branch_takes_one_side_then_the_run_goes_on(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    install(
        s,
        &ws,
        json!([{"name": "split", "trigger": {"rung_entered": "shopper"}, "actions": [
            {"branch": {"if": [{"field": "custom.city", "equals": "Huế"}],
                        "then": [{"add_tag": "hue"}, {"add_tag": "central"}],
                        "else": [{"add_tag": "elsewhere"}]}},
            {"add_tag": "done"},
        ]}]),
    )
    .await;
    let hue = person(
        s,
        &ws,
        json!({"external_id": "h", "custom": {"city": "huế"}}),
    )
    .await;
    let hanoi = person(
        s,
        &ws,
        json!({"external_id": "n", "custom": {"city": "Hà Nội"}}),
    )
    .await;
    ingest_ok(
        s,
        &ws,
        &[
            paid("e1", "h", "o1", 1000, &minutes_ago(5)),
            paid("e2", "n", "o2", 1000, &minutes_ago(5)),
        ],
    )
    .await;
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "care@shop.vn").unwrap();
    // test, hue, central, done — and test, elsewhere, done.
    assert_eq!(drain_at(s, &mailer, noon()).await, 7);
    assert_eq!(tags(s, &ws, hue).await, ["central", "done", "hue"]);
    assert_eq!(tags(s, &ws, hanoi).await, ["done", "elsewhere"]);
}

async fn days_without_an_order_start_only_if_no_order_followed(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    install(
        s,
        &ws,
        json!([{"name": "nudge", "trigger": {"no_order_for": {"days": 30}},
                "actions": [{"add_tag": "nudged"}]}]),
    )
    .await;
    let once = person(s, &ws, json!({"external_id": "once"})).await;
    let again = person(s, &ws, json!({"external_id": "again"})).await;
    ingest_ok(
        s,
        &ws,
        &[
            paid("e1", "once", "o1", 1000, &minutes_ago(120)),
            paid("e2", "again", "o2", 1000, &minutes_ago(120)),
            paid("e3", "again", "o3", 1000, &minutes_ago(0)),
        ],
    )
    .await;
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "care@shop.vn").unwrap();
    let start = now_micros();
    assert_eq!(drain_at(s, &mailer, start + 29 * DAY).await, 0, "not yet");
    // Thirty days after the first orders, before thirty after the later one.
    drain_at(s, &mailer, start + 30 * DAY - 30 * 60 * SECOND).await;
    assert_eq!(tags(s, &ws, once).await, ["nudged"]);
    assert!(tags(s, &ws, again).await.is_empty(), "it ordered since");
    let steps = s.steps_of(ws.id, again, 10).await.unwrap();
    let stopped = steps.iter().find(|st| st.status == "skipped").unwrap();
    assert_eq!(
        stopped.last_error.as_deref(),
        Some("the contact has ordered since")
    );
    drain_at(s, &mailer, start + 31 * DAY).await;
    assert_eq!(tags(s, &ws, again).await, ["nudged"], "its own thirty days");
}

async fn a_score_crossing_starts_one_run(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    install(
        s,
        &ws,
        json!([{"name": "second", "trigger": {"score_crossed": {"metric": "paid_orders", "at_least": 2}},
                "conditions": [{"consent": "email"}],
                "actions": [{"add_tag": "two_orders"}]}]),
    )
    .await;
    let id = person(s, &ws, json!({"external_id": "c"})).await;
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "care@shop.vn").unwrap();
    ingest_ok(s, &ws, &[paid("e1", "c", "o1", 1000, &minutes_ago(3))]).await;
    assert_eq!(drain_at(s, &mailer, noon()).await, 0, "below the threshold");
    ingest_ok(s, &ws, &[paid("e2", "c", "o2", 1000, &minutes_ago(2))]).await;
    assert_eq!(drain_at(s, &mailer, noon()).await, 1, "crossed");
    ingest_ok(s, &ws, &[paid("e3", "c", "o3", 1000, &minutes_ago(1))]).await;
    assert_eq!(drain_at(s, &mailer, noon()).await, 0, "already above");
    assert_eq!(tags(s, &ws, id).await, ["two_orders"]);
    // History imported now crossed the threshold long ago: nothing starts.
    person(s, &ws, json!({"external_id": "old"})).await;
    let long_ago = format_instant(now_micros() - 30 * DAY);
    let history = [
        paid("h1", "old", "h1", 1000, &long_ago),
        paid("h2", "old", "h2", 1000, &long_ago),
    ];
    ingest_ok(s, &ws, &history).await;
    assert_eq!(drain_at(s, &mailer, noon()).await, 0, "imported history");
}

/// The first noon (UTC) after `t`.
fn noon_after(t: Micros) -> Micros {
    let noon = t - t.rem_euclid(DAY) + DAY / 2;
    if noon > t { noon } else { noon + DAY }
}

async fn a_customer_turning_at_risk_is_won_back_a_shopper_is_not(db: TestDb) {
    let sink = SmtpSink::start();
    let mailer = SmtpMailer::new(&sink.url(), "care@shop.vn").unwrap();
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let doc = |ext: &str| json!({"external_id": ext, "email": format!("{ext}@example.vn"), "locale": "en"});
    let once = person(s, &ws, doc("once")).await;
    let twice = person(s, &ws, doc("twice")).await;
    ingest_ok(
        s,
        &ws,
        &[
            paid("e1", "once", "o1", 1000, &minutes_ago(30)),
            paid("e2", "twice", "o2", 1000, &minutes_ago(30)),
            paid("e3", "twice", "o3", 1000, &minutes_ago(20)),
        ],
    )
    .await;
    // The welcome messages first (a shopper's thank-you each, the customer's invitation).
    drain_at(s, &mailer, noon()).await;
    let welcomed = sink.wait_for(3, Duration::from_secs(10)).await.len();
    assert_eq!(welcomed, 3);
    // Ninety days without an order: both are at risk; only the customer is won back.
    let at_risk = s
        .ladder_row(ws.id, twice)
        .await
        .unwrap()
        .unwrap()
        .due_at
        .unwrap();
    let later = at_risk + 3600 * SECOND;
    clientele_engine::ladder::run_due(s, ws.id, later, 100)
        .await
        .unwrap();
    for id in [once, twice] {
        assert_eq!(
            s.ladder_row(ws.id, id).await.unwrap().unwrap().status,
            "at_risk"
        );
    }
    drain_at(s, &mailer, noon_after(later)).await;
    let m = message(&sink, welcomed + 1).await;
    assert_eq!(m.to, ["twice@example.vn"]);
    assert!(rule_of(&m).contains("at_risk_win_back"));
    let coupons = s.coupons_of(ws.id, twice).await.unwrap();
    assert!(
        coupons
            .iter()
            .any(|c| m.data.contains(&display_code(&c.code)))
    );
    assert_eq!(
        sink.messages().len(),
        welcomed + 1,
        "nothing for the shopper"
    );
}

async fn a_dry_run_counts_todays_dates_and_inactivity_clocks(db: TestDb) {
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let today = &format_instant(now_micros())[5..10];
    let tomorrow = &format_instant(now_micros() + DAY)[5..10];
    for (ext, birthday) in [("today", today), ("tomorrow", tomorrow), ("unpaid", today)] {
        let doc = json!({"external_id": ext, "custom": {"birthday": birthday}});
        person(s, &ws, doc).await;
    }
    let month_ago = format_instant(now_micros() - 30 * DAY - 3600 * SECOND);
    ingest_ok(
        s,
        &ws,
        &[
            paid("e1", "today", "o1", 1000, &month_ago),
            paid("e2", "tomorrow", "o2", 1000, &minutes_ago(5)),
        ],
    )
    .await;
    let mut set = clientele_engine::automation::current_rules(s, ws.id, now_micros())
        .await
        .unwrap()
        .1;
    let doc = json!({"rules": [{"name": "quiet_month", "trigger": {"no_order_for": {"days": 30}},
                                "actions": [{"add_tag": "nudge"}]}]});
    set.rules.extend(RuleSet::from_json(&doc).unwrap().rules);
    let runs = clientele_engine::automation::dry_run(s, &ws, &set, 5)
        .await
        .unwrap();
    let entering = |name: &str| {
        let r = runs.iter().find(|r| r.rule == name).unwrap();
        let who: Vec<String> = r
            .sample
            .iter()
            .filter_map(|c| c.external_id.clone())
            .collect();
        (r.would_enter, who)
    };
    // A paying contact whose birthday is today; not tomorrow's, not one who never paid.
    assert_eq!(entering("birthday_points"), (1, vec!["today".to_owned()]));
    assert_eq!(entering("quiet_month"), (1, vec!["today".to_owned()]));
}

both_backends!(
    a_dry_run_counts_todays_dates_and_inactivity_clocks,
    a_customer_turning_at_risk_is_won_back_a_shopper_is_not,
    one_contact_walks_from_shopper_to_advocate,
    a_detractor_gets_a_ticket_and_a_call,
    a_branch_takes_one_side_then_the_run_goes_on,
    days_without_an_order_start_only_if_no_order_followed,
    a_score_crossing_starts_one_run,
);
