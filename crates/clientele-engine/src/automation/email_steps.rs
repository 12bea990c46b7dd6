//! E-mail steps, sent exactly once: a batch's facts read in one transaction, then chunks of
//! `Settings::send_concurrency` messages transmitted up to their end of data, recorded as
//! sent in one transaction, and only then let go (see `gate`).

use clientele_automation::{Purpose, RuleSet, render};
use clientele_core::time::Micros;
use clientele_store::{OutboxRow, Store, StoreResult, Workspace};
use serde_json::{Value, json};
use std::sync::Arc;

use super::facts::{Facts, held_back, message_facts};
use super::mailer::{AfterData, Email, Handover, Mailer, StepRef};
use super::messages::{Recipient, insert_message, record_message};
use super::settle::{MAX_ATTEMPTS, Outcome, Settings, settle_in};
use super::{survey, unsubscribe};

/// An e-mail step with what it needs to be sent.
type Ready = (OutboxRow, Arc<RuleSet>, String, Purpose, Facts);

/// E-mail steps in one batch: what they need read in one transaction, then sent in chunks
/// of `settings.send_concurrency`.
pub(super) async fn send_emails(
    store: &dyn Store,
    mailer: &dyn Mailer,
    ws: &Workspace,
    emails: Vec<(OutboxRow, Arc<RuleSet>, String, Purpose)>,
    settings: &Settings,
    now: Micros,
) -> StoreResult<()> {
    if emails.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write(ws.id).await?;
    let key = match settings.public_url {
        Some(_) => Some(unsubscribe::key(&mut *tx, now).await?),
        None => None,
    };
    let mut ready: Vec<Ready> = Vec::with_capacity(emails.len());
    let mut links = Links::default();
    for (step, set, template, purpose) in emails {
        let mut facts = message_facts(&mut *tx, store, ws, step.contact_id, &set, now).await?;
        if let (Some(url), Some(key)) = (&settings.public_url, &key) {
            facts.unsubscribe = Some(unsubscribe::link(url, key, ws.id, step.contact_id));
        }
        facts.extra = links
            .for_template(&mut *tx, ws, &set, &template, &step, settings, now)
            .await?;
        ready.push((step, set, template, purpose, facts));
    }
    tx.commit().await?;
    for chunk in ready.chunks(settings.send_concurrency.max(1)) {
        send_chunk(store, mailer, ws, chunk, now).await?;
    }
    Ok(())
}

/// What templates read beyond the contact, made only for templates that read it: the NPS
/// answer links (`survey`), the referral code and link (`referral`).
#[derive(Default)]
struct Links {
    survey_key: Option<Vec<u8>>,
}

impl Links {
    #[allow(clippy::too_many_arguments, reason = "one step's whole situation")]
    async fn for_template(
        &mut self,
        tx: &mut dyn clientele_store::WriteTx,
        ws: &Workspace,
        set: &RuleSet,
        template: &str,
        step: &OutboxRow,
        settings: &Settings,
        now: Micros,
    ) -> StoreResult<Vec<(&'static str, Value)>> {
        let reads = |name: &str| {
            set.templates.get(template).is_some_and(|langs| {
                langs.values().any(|t| {
                    [&t.subject, &t.text, &t.html]
                        .iter()
                        .any(|p| p.contains(name))
                })
            })
        };
        let mut extra = Vec::new();
        if reads("survey") && settings.public_url.is_none() {
            // Marks the message unsendable: its answer links cannot be made.
            extra.push(("survey", Value::Null));
        } else if let Some(url) = settings.public_url.as_deref().filter(|_| reads("survey")) {
            let key = match &self.survey_key {
                Some(k) => k.clone(),
                None => self.survey_key.insert(survey::key(tx, now).await?).clone(),
            };
            let token = survey::token(&key, ws.id, step.contact_id, step.id);
            extra.push(("survey", survey::context(url, &token)));
        }
        if reads("referral") {
            let (code, _) = crate::loyalty::referrals::code_in(tx, step.contact_id, now).await?;
            let (_, rules) = crate::loyalty::active_rules(tx, now).await?;
            let shown = clientele_loyalty::coupon::display_code(&code);
            let origin = settings.public_url.as_deref().unwrap_or_default();
            let link = crate::loyalty::referrals::link(&rules.referrals, origin, &shown);
            extra.push(("referral", json!({"code": shown, "link": link})));
        }
        Ok(extra)
    }
}

/// Exactly once: every message of the chunk is transmitted but for the end of its data,
/// all are recorded as sent in one transaction, and only then let go (see `gate`). A crash
/// before the commit leaves the servers with nothing and the steps due again.
async fn send_chunk(
    store: &dyn Store,
    mailer: &dyn Mailer,
    ws: &Workspace,
    chunk: &[Ready],
    now: Micros,
) -> StoreResult<()> {
    // Futures built first, then driven together (a closure would not be provably `Send`
    // across the spawned runner's lifetimes).
    let mut starts = Vec::with_capacity(chunk.len());
    for (step, set, template, purpose, facts) in chunk {
        let context = serde_json::from_str(&step.context).unwrap_or_else(|_| json!({}));
        starts.push(start_email(
            mailer, ws, set, step, template, *purpose, facts, context,
        ));
    }
    let started: Vec<Started> = futures_util::future::join_all(starts).await;
    let mut tx = store.begin_write(ws.id).await?;
    for ((step, set, _, purpose, facts), s) in chunk.iter().zip(&started) {
        let to = Recipient::email(facts);
        record_message(&mut *tx, step, to, &s.subject, *purpose, &s.outcome, now).await?;
        settle_in(&mut *tx, set, step, s.outcome.clone(), now).await?;
    }
    // Dropping the handovers on an error here abandons their messages, as it must.
    tx.commit().await?;
    let subjects: Vec<String> = started.iter().map(|s| s.subject.clone()).collect();
    let mut finishes = Vec::new();
    for (i, s) in started.into_iter().enumerate() {
        if let Some(handover) = s.handover {
            // `finish` lets the end of the data go as it is called, not when polled: the
            // whole chunk in one loop, as close to the commit as can be.
            let answer = handover.finish();
            finishes.push(async move { (i, answer.await) });
        }
    }
    let mut refused = Vec::new();
    for (i, answer) in futures_util::future::join_all(finishes).await {
        match answer {
            Ok(()) => {}
            Err(AfterData::Unanswered(e)) => {
                // Perhaps delivered: sending it again could double it.
                tracing::warn!(key = %chunk[i].0.key, error = %e, "no answer at the end of an e-mail's data");
            }
            Err(AfterData::Refused(e)) => refused.push((i, e)),
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    // The server refused what was recorded as sent: the record says so, and the step
    // tries again (the run's next step, already enqueued, is not doubled: its key).
    let mut tx = store.begin_write(ws.id).await?;
    for (i, e) in refused {
        let (step, set, _, purpose, facts) = &chunk[i];
        let e = format!("refused at the end of the data: {e}");
        let outcome = Outcome::Failed(e.clone());
        let detail = if step.attempts >= MAX_ATTEMPTS {
            e.clone()
        } else {
            format!("{e} (will try again)")
        };
        let subject = &subjects[i];
        insert_message(
            &mut *tx,
            step,
            Recipient::email(facts),
            subject,
            *purpose,
            "failed",
            Some(detail),
            now,
        )
        .await?;
        settle_in(&mut *tx, set, step, outcome, now).await?;
    }
    tx.commit().await
}

/// An e-mail step, started: what it came to, and the message held at its end of data.
struct Started {
    outcome: Outcome,
    subject: String,
    handover: Option<Box<dyn Handover>>,
}

impl Started {
    fn not_sent(outcome: Outcome) -> Self {
        Self {
            outcome,
            subject: String::new(),
            handover: None,
        }
    }
}

#[allow(clippy::too_many_arguments, reason = "one step's whole situation")]
async fn start_email(
    mailer: &dyn Mailer,
    ws: &Workspace,
    set: &RuleSet,
    step: &OutboxRow,
    template: &str,
    purpose: Purpose,
    facts: &Facts,
    context: Value,
) -> Started {
    let Some(to) = facts.email.clone() else {
        let why = "the contact has no e-mail address".into();
        return Started::not_sent(Outcome::Skipped { context, why });
    };
    if let Some(outcome) = held_back(set, purpose, facts, facts.consented, "e-mail", &context) {
        return Started::not_sent(outcome);
    }
    if facts
        .extra
        .iter()
        .any(|(n, v)| *n == "survey" && v.is_null())
    {
        let why = "its NPS answer links need the server's public URL (--public-url)".into();
        return Started::not_sent(Outcome::Skipped { context, why });
    }
    let Some(t) = set.template(template, facts.language) else {
        let e = format!("template {template:?} is missing");
        return Started::not_sent(Outcome::Failed(e));
    };
    let mut ctx = context.clone();
    ctx["contact"] = json!({"name": facts.name, "email": to, "external_id": facts.external_id});
    ctx["rung"] = json!(facts.rung);
    // A step before may have said what it awarded (`points.awarded`).
    if !ctx["points"].is_object() {
        ctx["points"] = json!({});
    }
    ctx["points"]["balance"] = json!(facts.balance);
    ctx["workspace"] = json!({"name": ws.name});
    for (name, value) in &facts.extra {
        ctx[*name] = value.clone();
    }
    let unsubscribe = match purpose {
        Purpose::Marketing => facts.unsubscribe.clone(),
        Purpose::Service => None,
    };
    ctx["unsubscribe_url"] = json!(unsubscribe);
    let mut rendered = match render(t, &ctx) {
        Ok(r) => r,
        Err(e) => {
            let e = format!("rendering {template}: {e}");
            return Started::not_sent(Outcome::Failed(e));
        }
    };
    if let Some(url) = &unsubscribe {
        add_unsubscribe_footer(&mut rendered, url, facts.language);
    }
    let subject = rendered.subject.clone();
    let email = Email {
        to,
        to_name: facts.name.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: format!("<{}@clientele>", step.key.replace(['/', ':', '@'], ".")),
        unsubscribe,
        step: Some(StepRef {
            workspace: ws.id.0,
            contact: step.contact_id.0,
            key: step.key.clone(),
        }),
    };
    match mailer.prepare(&email).await {
        Ok(handover) => Started {
            outcome: Outcome::Done { context, wait: 0 },
            subject,
            handover: Some(handover),
        },
        Err(e) => Started {
            outcome: Outcome::Failed(e),
            subject,
            handover: None,
        },
    }
}

/// Every marketing message ends with its unsubscribe link, whatever its template says.
fn add_unsubscribe_footer(m: &mut clientele_automation::Rendered, url: &str, language: &str) {
    let words = match language {
        "en" => "Don't want these e-mails? Unsubscribe",
        _ => "Không muốn nhận những thư này? Hủy đăng ký",
    };
    m.text.push_str(&format!("\n\n--\n{words}: {url}\n"));
    let escaped = url.replace('&', "&amp;").replace('"', "&quot;");
    m.html.push_str(&format!(
        "<p style=\"font-size:12px;color:#666\"><a href=\"{escaped}\">{words}</a></p>"
    ));
}
