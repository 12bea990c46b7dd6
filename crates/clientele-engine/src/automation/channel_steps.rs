//! Steps that call out over HTTP: an SMS through the configured provider, and a signed
//! webhook. Each reads what it needs in one transaction, calls with no lock held, and is
//! settled in another; both are at least once (a webhook carries the step's key as its
//! idempotency key).

use clientele_automation::{Purpose, RuleSet, render};
use clientele_core::time::Micros;
use clientele_store::{OutboxRow, Store, StoreResult, Workspace};
use serde_json::{Value, json};

use super::facts::{held_back, message_facts};
use super::messages::{Recipient, record_message};
use super::settle::{Outcome, Settings, settle_in};
use super::webhook;

/// An SMS step: facts read in one transaction, the provider called with no lock held, the
/// outcome and message recorded in another.
#[allow(clippy::too_many_arguments, reason = "one step's whole situation")]
pub(super) async fn send_sms(
    store: &dyn Store,
    ws: &Workspace,
    set: &RuleSet,
    step: &OutboxRow,
    template: &str,
    purpose: Purpose,
    settings: &Settings,
    now: Micros,
) -> StoreResult<()> {
    let context: Value = serde_json::from_str(&step.context).unwrap_or_else(|_| json!({}));
    let mut tx = store.begin_write(ws.id).await?;
    let facts = message_facts(&mut *tx, store, ws, step.contact_id, set, now).await?;
    tx.commit().await?;
    let mut text = String::new();
    let outcome = if let Some(phone) = facts.phone.clone() {
        if let Some(o) = held_back(set, purpose, &facts, facts.sms_consented, "SMS", &context) {
            o
        } else if let Some(t) = set.template(template, facts.language) {
            let mut ctx = context.clone();
            ctx["contact"] =
                json!({"name": facts.name, "phone": phone, "external_id": facts.external_id});
            ctx["rung"] = json!(facts.rung);
            ctx["points"] = json!({"balance": facts.balance});
            ctx["workspace"] = json!({"name": ws.name});
            match render(t, &ctx) {
                Err(e) => Outcome::Failed(format!("rendering {template}: {e}")),
                Ok(r) => {
                    text = r.text.trim().to_owned();
                    let sent = match &settings.sms {
                        Some(p) => p.send(&phone, &text).await,
                        None => Err("no SMS provider is configured (start with --sms-url)".into()),
                    };
                    match sent {
                        Ok(()) => Outcome::Done { context, wait: 0 },
                        Err(e) => Outcome::Failed(e),
                    }
                }
            }
        } else {
            Outcome::Failed(format!("template {template:?} is missing"))
        }
    } else {
        let why = "the contact has no phone number".into();
        Outcome::Skipped { context, why }
    };
    let mut tx = store.begin_write(ws.id).await?;
    let first_line: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect();
    let to = Recipient::Sms(facts.phone.as_deref().unwrap_or_default());
    record_message(&mut *tx, step, to, &first_line, purpose, &outcome, now).await?;
    settle_in(&mut *tx, set, step, outcome, now).await?;
    tx.commit().await
}

/// A webhook step: what it sends read in one transaction, the call made with no lock held,
/// the outcome settled in another (a failure retries with backoff, as an e-mail's does).
pub(super) async fn call_webhook(
    store: &dyn Store,
    ws: &Workspace,
    set: &RuleSet,
    step: &OutboxRow,
    url: &str,
    settings: &Settings,
    now: Micros,
) -> StoreResult<()> {
    let context: Value = serde_json::from_str(&step.context).unwrap_or_else(|_| json!({}));
    let mut tx = store.begin_write(ws.id).await?;
    let key = webhook::key(&mut *tx, now).await?;
    let fields = tx
        .contact_fields(step.contact_id)
        .await?
        .unwrap_or_default();
    let rung = tx
        .ladder_rows(&[step.contact_id])
        .await?
        .first()
        .map(|r| r.rung.clone());
    tx.commit().await?;
    let body = json!({
        "type": "automation.step",
        "workspace": ws.name,
        "rule": step.rule,
        "rule_version": step.rule_version,
        "step_key": step.key,
        "contact": {"id": step.contact_id.0, "external_id": fields.external_id,
                    "email": fields.email, "name": fields.name},
        "rung": rung,
        "context": context,
    });
    let allow = settings.webhooks_allow_private;
    let outcome = match webhook::post(url, &key, body.to_string(), &step.key, allow, now).await {
        Ok(()) => Outcome::Done { context, wait: 0 },
        Err(e) => Outcome::Failed(e),
    };
    let mut tx = store.begin_write(ws.id).await?;
    settle_in(&mut *tx, set, step, outcome, now).await?;
    tx.commit().await
}
