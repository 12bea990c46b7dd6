//! SMS steps against a real HTTP receiver speaking Twilio's form (axum on 127.0.0.1), on
//! SQLite and PostgreSQL: the form and basic authentication the provider expects, SMS
//! consent read at send time, and the message recorded on the `sms` channel.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use clientele_automation::RuleSet;
use clientele_core::contact::{ConsentInput, ContactInput};
use clientele_core::time::{SECOND, format_instant};
use clientele_engine::automation::{NoSmtp, Settings, SmsProvider, run_due_with, set_rules};
use clientele_engine::contacts;
use clientele_store::{Store, Workspace, now_micros};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::json;

type Got = Arc<Mutex<Vec<(HeaderMap, Vec<(String, String)>)>>>;

/// A provider on a free port: keeps what it is sent, answers 201 as Twilio does.
async fn provider() -> (Got, String) {
    let got: Got = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/AC1/Messages.json",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let form = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                kept.lock().unwrap().push((headers, form));
                (StatusCode::CREATED, "{\"sid\": \"SM1\"}")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://AC1:token@{}/2010-04-01/Accounts/AC1/Messages.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, url)
}

async fn texter(s: &dyn Store, ws: &Workspace, ext: &str, phone: &str, consent: bool) {
    let input = ContactInput::from_json(&json!({"external_id": ext, "phone": phone})).unwrap();
    let id = contacts::create(s, ws, input).await.unwrap();
    if consent {
        let c: ConsentInput =
            serde_json::from_value(json!({"channel": "sms", "granted": true, "source": "form"}))
                .unwrap();
        contacts::add_consent(s, ws, id, &c).await.unwrap();
    }
}

async fn a_marketing_sms_reaches_the_provider_with_consent_only(db: TestDb) {
    let (got, url) = provider().await;
    let ws = db.workspace("shop").await;
    let s = db.store.as_ref();
    let set = RuleSet::from_json(&json!({
        "rules": [{"name": "thanks_sms", "trigger": {"rung_entered": "shopper"},
                   "actions": [{"send_sms": {"template": "thanks"}}]}],
        "templates": {"thanks": {"vi": {"subject": "-", "html": "-",
                                         "text": "Cảm ơn {{ contact.name or 'bạn' }}!"}}},
        "limits": {"quiet_hours": null}
    }))
    .unwrap();
    set_rules(s, ws.id, &set, now_micros()).await.unwrap();
    texter(s, &ws, "lan", "+84901234567", true).await;
    texter(s, &ws, "mai", "+84907654321", false).await;
    let hour_ago = format_instant(now_micros() - 3600 * SECOND);
    ingest_ok(
        s,
        &ws,
        &[
            paid("e1", "lan", "o1", 250_000, &hour_ago),
            paid("e2", "mai", "o2", 250_000, &hour_ago),
        ],
    )
    .await;
    let settings = Settings {
        sms: Some(SmsProvider::new(&url, "+84900000000").unwrap()),
        ..Settings::default()
    };
    while run_due_with(s, &NoSmtp, &settings, noon(), 100)
        .await
        .unwrap()
        > 0
    {}

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "only the consenting contact");
    let (headers, form) = &got[0];
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+84901234567"));
    assert_eq!(field("From"), Some("+84900000000"));
    assert_eq!(field("Body"), Some("Cảm ơn bạn!"));
    // Basic authentication with the account and token (base64 of "AC1:token").
    assert_eq!(headers["authorization"], "Basic QUMxOnRva2Vu");

    let lan = by_external_id(s, &ws, "lan").await;
    let m = s.messages_of(ws.id, lan, 10).await.unwrap();
    assert_eq!(
        (
            m[0].channel.as_str(),
            m[0].status.as_str(),
            m[0].recipient.as_str()
        ),
        ("sms", "sent", "+84901234567")
    );
    let mai = by_external_id(s, &ws, "mai").await;
    let m = s.messages_of(ws.id, mai, 10).await.unwrap();
    assert_eq!(m[0].status, "skipped");
    assert_eq!(m[0].detail.as_deref(), Some("no SMS consent"));
}

both_backends!(a_marketing_sms_reaches_the_provider_with_consent_only);
