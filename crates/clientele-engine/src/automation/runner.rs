//! Carrying out due steps. A step is claimed with a lease (so a crashed runner's steps come
//! back), then done: a database action (coupon, points, tag, wait) in the one transaction
//! that also settles the step and enqueues the next, so it happens exactly once; an e-mail
//! is rendered and handed to the mailer outside any transaction (no write lock is held over
//! the network), then settled. A failed send is retried with exponential backoff and
//! parked as `failed` after [`MAX_ATTEMPTS`], its last error kept.

use clientele_automation::{Action, Purpose, RuleSet, render};
use clientele_core::ContactId;
use clientele_core::money::Currency;
use clientele_core::time::{Micros, SECOND, format_instant};
use clientele_loyalty::coupon::{Discount, display_code};
use clientele_loyalty::{Cause, EntryKind};
use clientele_store::{MessageRow, OutboxRow, Store, StoreResult, Workspace, WriteTx};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

use super::mailer::{AfterData, Email, Handover, Mailer, StepRef};
use super::sms::SmsProvider;
use super::{rules_of_version, step_key, unsubscribe, webhook};
use crate::loyalty::coupons::{CouponSpec, issue_in};

/// Tries before a step is parked as failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// Steps handled per pass of [`run_forever`].
const STEP_BATCH: i64 = 100;

/// How long [`run_forever`] rests when nothing is due: the bound on the delay between an
/// event and the first step it starts.
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(200);

/// How the runner behaves; the server's flags set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long a claimed step stays with its runner before another may take it: the wait
    /// before a crashed server's steps are carried out again.
    pub lease: Micros,
    /// E-mails handed to the SMTP server at once (each on its own connection), and so the
    /// size of the chunks recorded together: they wait mostly on the server's answers, so
    /// overlapping them makes the throughput (BENCHMARKS.md). A hosted provider may allow
    /// fewer connections.
    pub send_concurrency: usize,
    /// Where contacts reach this server (`https://crm.shop.vn`): marketing e-mail carries a
    /// signed one-click unsubscribe link there (a footer and `List-Unsubscribe` headers).
    /// Without it, none.
    pub public_url: Option<Arc<str>>,
    /// Let webhooks reach loopback, private and link-local addresses (a receiver on the
    /// same host or network). Off: such targets are refused.
    pub webhooks_allow_private: bool,
    /// Where SMS goes; without it, SMS steps fail visibly and retry.
    pub sms: Option<SmsProvider>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: 60 * SECOND,
            send_concurrency: 64,
            public_url: None,
            webhooks_allow_private: false,
            sms: None,
        }
    }
}

/// Carry out due steps for ever: straight on while there is work, resting [`IDLE`] between
/// empty passes.
pub async fn run_forever(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, settings: Settings) {
    loop {
        let now = clientele_store::now_micros();
        match run_due_with(store.as_ref(), mailer.as_ref(), &settings, now, STEP_BATCH).await {
            Ok(0) => tokio::time::sleep(IDLE).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "automation runner");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

/// Carry out up to `limit` due steps of every workspace, with the default settings;
/// returns how many were handled.
pub async fn run_due(
    store: &dyn Store,
    mailer: &dyn Mailer,
    now: Micros,
    limit: i64,
) -> StoreResult<usize> {
    run_due_with(store, mailer, &Settings::default(), now, limit).await
}

/// Carry out up to `limit` due steps of every workspace; returns how many were handled.
pub async fn run_due_with(
    store: &dyn Store,
    mailer: &dyn Mailer,
    settings: &Settings,
    now: Micros,
    limit: i64,
) -> StoreResult<usize> {
    let mut handled = 0;
    for ws in store.workspaces().await? {
        let mut tx = store.begin_write(ws.id).await?;
        let steps = tx.claim_due(now, now + settings.lease, limit).await?;
        tx.commit().await?;
        handled += steps.len();
        let mut emails = Vec::new();
        for step in steps {
            let set = rules_cached(store, &ws, step.rule_version).await?;
            match set.as_deref().and_then(|s| action_of(s, &step)) {
                Some(Action::SendEmail { template, purpose }) => {
                    emails.push((step, set.expect("found above"), template, purpose));
                }
                Some(Action::SendSms { template, purpose }) => {
                    let set = set.expect("found above");
                    send_sms(store, &ws, &set, &step, &template, purpose, settings, now).await?;
                }
                Some(Action::CallWebhook { url }) => {
                    let set = set.expect("found above");
                    call_webhook(store, &ws, &set, &step, &url, settings, now).await?;
                }
                _ => run_step(store, &ws, set.as_deref(), &step, now).await?,
            }
        }
        send_emails(store, mailer, &ws, emails, settings, now).await?;
    }
    Ok(handled)
}

/// Rule-set versions never change once stored: parsed once per process.
type RuleCache = std::sync::Mutex<HashMap<(i64, i64), Arc<RuleSet>>>;

async fn rules_cached(
    store: &dyn Store,
    ws: &Workspace,
    version: i64,
) -> StoreResult<Option<Arc<RuleSet>>> {
    static CACHE: std::sync::OnceLock<RuleCache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (ws.id.0, version);
    if let Some(set) = cache.lock().expect("rule cache").get(&key) {
        return Ok(Some(set.clone()));
    }
    let mut tx = store.begin_write(ws.id).await?;
    let set = rules_of_version(&mut *tx, version).await?.map(Arc::new);
    tx.commit().await?;
    if let Some(set) = &set {
        cache.lock().expect("rule cache").insert(key, set.clone());
    }
    Ok(set)
}

fn action_of(set: &RuleSet, step: &OutboxRow) -> Option<Action> {
    set.rule(&step.rule)?
        .actions
        .get(usize::try_from(step.step).ok()?)
        .cloned()
}

/// An e-mail step with what it needs to be sent.
type Ready = (OutboxRow, Arc<RuleSet>, String, Purpose, Facts);

/// E-mail steps in one batch: what they need read in one transaction, then sent in chunks
/// of `settings.send_concurrency`.
async fn send_emails(
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
    for (step, set, template, purpose) in emails {
        let mut facts = message_facts(&mut *tx, store, ws, step.contact_id, &set, now).await?;
        if let (Some(url), Some(key)) = (&settings.public_url, &key) {
            facts.unsubscribe = Some(unsubscribe::link(url, key, ws.id, step.contact_id));
        }
        ready.push((step, set, template, purpose, facts));
    }
    tx.commit().await?;
    for chunk in ready.chunks(settings.send_concurrency.max(1)) {
        send_chunk(store, mailer, ws, chunk, now).await?;
    }
    Ok(())
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

/// What a step came to.
#[derive(Debug, Clone)]
enum Outcome {
    /// Done; the next step carries `context`, after `wait`.
    Done { context: Value, wait: Micros },
    /// Nothing to do for this contact; the run goes on.
    Skipped { context: Value, why: String },
    /// Not now (quiet hours, a full frequency cap): the same step again at `until`.
    Deferred { until: Micros, why: String },
    /// The try failed; maybe again later.
    Failed(String),
}

/// A step done in the database, in the transaction that settles it.
async fn run_step(
    store: &dyn Store,
    ws: &Workspace,
    set: Option<&RuleSet>,
    step: &OutboxRow,
    now: Micros,
) -> StoreResult<()> {
    let mut context: Value = serde_json::from_str(&step.context).unwrap_or_else(|_| json!({}));
    let mut tx = store.begin_write(ws.id).await?;
    let Some(set) = set else {
        return park(tx, step, "the rule set's version is gone", now).await;
    };
    let Some(action) = action_of(set, step) else {
        return park(tx, step, "the rule or its step is gone", now).await;
    };
    let contact = step.contact_id;
    let outcome = match &action {
        Action::IssueCoupon(t) => {
            let spec = CouponSpec::from_template(t, contact, now);
            let coupon = issue_in(&mut *tx, &spec, 1, "automation", &step.key, now).await?;
            if let Some(c) = coupon.first() {
                context["coupon"] = coupon_context(ws, c);
            }
            Outcome::Done { context, wait: 0 }
        }
        Action::AwardPoints(points) => {
            award(&mut *tx, ws, contact, *points, step, now).await?;
            Outcome::Done { context, wait: 0 }
        }
        Action::AddTag(tag) => {
            if let Some(mut fields) = tx.contact_fields(contact).await?
                && !fields.tags.contains(tag)
            {
                fields.tags.push(tag.clone());
                fields.tags.sort();
                tx.update_contact(contact, &fields, now).await?;
            }
            Outcome::Done { context, wait: 0 }
        }
        Action::Wait { hours } => Outcome::Done {
            context,
            wait: hours * 3600 * SECOND,
        },
        Action::SendEmail { .. } | Action::SendSms { .. } | Action::CallWebhook { .. } => {
            unreachable!("steps that call out are done outside a transaction")
        }
    };
    settle_in(&mut *tx, set, step, outcome, now).await?;
    tx.commit().await
}

/// A webhook step: what it sends read in one transaction, the call made with no lock held,
/// the outcome settled in another (a failure retries with backoff, as an e-mail's does).
async fn call_webhook(
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

/// Finish the step as the outcome says, and enqueue the next one.
async fn settle_in(
    tx: &mut dyn WriteTx,
    set: &RuleSet,
    step: &OutboxRow,
    outcome: Outcome,
    now: Micros,
) -> StoreResult<()> {
    let (status, context, wait, error) = match outcome {
        Outcome::Deferred { until, why } => {
            // Never due again at once: the runner would spin on it.
            return tx.defer_step(step.id, until.max(now + SECOND), &why).await;
        }
        Outcome::Done { context, wait } => ("done", context, wait, None),
        Outcome::Skipped { context, why } => ("skipped", context, 0, Some(why)),
        Outcome::Failed(e) => {
            if step.attempts >= MAX_ATTEMPTS {
                tx.settle_step(step.id, "failed", step.due_at, Some(&e), now)
                    .await?;
            } else {
                // 30 s, 2 min, 8 min, 32 min…
                let backoff = 30 * SECOND * 4_i64.pow((step.attempts - 1).clamp(0, 8) as u32);
                tx.settle_step(step.id, "pending", now + backoff, Some(&e), now)
                    .await?;
            }
            tracing::warn!(key = %step.key, attempts = step.attempts, error = %e, "automation step failed");
            return Ok(());
        }
    };
    tx.settle_step(step.id, status, step.due_at, error.as_deref(), now)
        .await?;
    let next = step.step + 1;
    let rule_continues = set
        .rule(&step.rule)
        .is_some_and(|r| next < r.actions.len() as i64);
    if rule_continues {
        let key = step_key(
            &step.rule,
            step.rule_version,
            step.contact_id.0,
            &step.occurrence,
            next,
        );
        tx.enqueue(&[OutboxRow {
            id: 0,
            key,
            step: next,
            context: context.to_string(),
            due_at: now + wait,
            status: "pending".into(),
            attempts: 0,
            last_error: None,
            created_at: now,
            finished_at: None,
            ..step.clone()
        }])
        .await?;
    }
    Ok(())
}

async fn park(
    mut tx: Box<dyn WriteTx>,
    step: &OutboxRow,
    why: &str,
    now: Micros,
) -> StoreResult<()> {
    tx.settle_step(step.id, "failed", step.due_at, Some(why), now)
        .await?;
    tx.commit().await
}

/// Points as an adjustment whose reference is the step, in the step's transaction.
async fn award(
    tx: &mut dyn WriteTx,
    ws: &Workspace,
    contact: ContactId,
    points: i64,
    step: &OutboxRow,
    now: Micros,
) -> StoreResult<()> {
    let (_, rules) = crate::loyalty::active_rules(tx, now).await?;
    let mut books = crate::loyalty::accounts::Books::load(tx, &[contact]).await?;
    let expires = crate::loyalty::expiry_of(now, rules.expiry_months, &ws.time_zone);
    let cause = Cause::new(
        &format!("automation: {}", step.rule),
        "automation",
        &step.key,
    );
    if let Some(e) =
        books
            .account(contact)
            .earn(EntryKind::Adjust, points, now, expires, cause, None)
    {
        books.record(contact, e);
    }
    books.save(tx).await
}

/// What a message to the contact needs from the store.
struct Facts {
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    language: &'static str,
    /// E-mail consent, as of now.
    consented: bool,
    /// SMS consent, as of now.
    sms_consented: bool,
    rung: Option<String>,
    balance: i64,
    external_id: Option<String>,
    /// Minutes after midnight now, in the contact's time zone (else the workspace's).
    local_minute: u32,
    /// Instants of the end of quiet hours after now, in order of preference: today's or
    /// tomorrow's local end time.
    quiet_ends_at: Option<Micros>,
    /// When the frequency cap has room again, if it is full now.
    cap_frees_at: Option<Micros>,
    /// The contact's one-click unsubscribe link, when the server has a public URL.
    unsubscribe: Option<String>,
}

async fn message_facts(
    tx: &mut dyn WriteTx,
    store: &dyn Store,
    ws: &Workspace,
    contact: ContactId,
    set: &RuleSet,
    now: Micros,
) -> StoreResult<Facts> {
    let fields = tx.contact_fields(contact).await?.unwrap_or_default();
    let zone = fields.time_zone.as_deref().unwrap_or(&ws.time_zone);
    let (local_minute, quiet_ends_at) = local_clock(now, zone, set.limits.quiet_hours);
    let cap_frees_at = match set.limits.cap {
        None => None,
        Some((messages, days)) => {
            let window = i64::from(days) * clientele_core::time::DAY;
            // The window is the last `days` up to now: a message exactly `days` ago has
            // left it (else a deferral to that instant would find the cap still full).
            let sent = tx.marketing_sent_since(contact, now - window + 1).await?;
            // Full: room again when the oldest message in the window leaves it.
            (sent.len() >= messages as usize).then(|| sent[sent.len() - messages as usize] + window)
        }
    };
    let rung = tx
        .ladder_rows(&[contact])
        .await?
        .first()
        .map(|r| r.rung.clone());
    let balance = store
        .loyalty_account(ws.id, contact)
        .await?
        .map_or(0, |a| a.balance);
    // Consent is read at send time: a withdrawal since the trigger counts.
    let consents = store.consents(ws.id, contact).await?;
    let latest = |channel: &str| {
        consents
            .iter()
            .rev()
            .find(|c| c.channel == channel)
            .is_some_and(|c| c.granted)
    };
    let (consented, sms_consented) = (latest("email"), latest("sms"));
    let language = match fields.locale.as_deref() {
        Some(l) if l.starts_with("en") => "en",
        _ => "vi",
    };
    Ok(Facts {
        email: fields.email,
        phone: fields.phone,
        name: fields.name,
        language,
        consented,
        sms_consented,
        rung,
        balance,
        external_id: fields.external_id,
        local_minute,
        quiet_ends_at,
        cap_frees_at,
        unsubscribe: None,
    })
}

/// The minute of the day at `now` in `zone`, and when the next end of quiet hours falls.
fn local_clock(now: Micros, zone: &str, quiet: Option<(u32, u32)>) -> (u32, Option<Micros>) {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(ts) = jiff::Timestamp::from_microsecond(now) else {
        return (0, None);
    };
    let local = ts.to_zoned(tz);
    let minute = local.hour() as u32 * 60 + local.minute() as u32;
    let ends = quiet.and_then(|(_, end)| {
        let at = |day: jiff::civil::Date| {
            day.at((end / 60) as i8, (end % 60) as i8, 0, 0)
                .to_zoned(local.time_zone().clone())
                .ok()
                .map(|z| z.timestamp().as_microsecond())
        };
        let today = at(local.date())?;
        if today > now {
            Some(today)
        } else {
            at(local.date().tomorrow().ok()?)
        }
    });
    (minute, ends)
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

/// What keeps a marketing message from going now: no consent on its channel (skipped),
/// quiet hours or a full frequency cap (deferred). Service messages go regardless.
fn held_back(
    set: &RuleSet,
    purpose: Purpose,
    facts: &Facts,
    consented: bool,
    channel: &str,
    context: &Value,
) -> Option<Outcome> {
    if purpose == Purpose::Service {
        return None;
    }
    if !consented {
        let why = format!("no {channel} consent");
        return Some(Outcome::Skipped {
            context: context.clone(),
            why,
        });
    }
    if set.limits.is_quiet(facts.local_minute)
        && let Some(until) = facts.quiet_ends_at
    {
        let why = "deferred: quiet hours in the contact's time zone".into();
        return Some(Outcome::Deferred { until, why });
    }
    if let Some(until) = facts.cap_frees_at {
        let why = "deferred: frequency cap reached".into();
        return Some(Outcome::Deferred { until, why });
    }
    None
}

/// An SMS step: facts read in one transaction, the provider called with no lock held, the
/// outcome and message recorded in another.
#[allow(clippy::too_many_arguments, reason = "one step's whole situation")]
async fn send_sms(
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
    let Some(t) = set.template(template, facts.language) else {
        let e = format!("template {template:?} is missing");
        return Started::not_sent(Outcome::Failed(e));
    };
    let mut ctx = context.clone();
    ctx["contact"] = json!({"name": facts.name, "email": to, "external_id": facts.external_id});
    ctx["rung"] = json!(facts.rung);
    ctx["points"] = json!({"balance": facts.balance});
    ctx["workspace"] = json!({"name": ws.name});
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

/// Where a message went.
#[derive(Debug, Clone, Copy)]
enum Recipient<'a> {
    Email(&'a str),
    Sms(&'a str),
}

impl<'a> Recipient<'a> {
    fn email(facts: &'a Facts) -> Self {
        Self::Email(facts.email.as_deref().unwrap_or_default())
    }

    fn parts(self) -> (&'static str, &'a str) {
        match self {
            Self::Email(a) => ("email", a),
            Self::Sms(a) => ("sms", a),
        }
    }
}

async fn record_message(
    tx: &mut dyn WriteTx,
    step: &OutboxRow,
    to: Recipient<'_>,
    subject: &str,
    purpose: Purpose,
    outcome: &Outcome,
    now: Micros,
) -> StoreResult<()> {
    let (status, detail) = match outcome {
        Outcome::Done { .. } => ("sent", None),
        Outcome::Skipped { why, .. } => ("skipped", Some(why.clone())),
        // A failed try is recorded once it is the last; a deferred one when it is sent.
        Outcome::Failed(e) if step.attempts >= MAX_ATTEMPTS => ("failed", Some(e.clone())),
        Outcome::Failed(_) | Outcome::Deferred { .. } => return Ok(()),
    };
    insert_message(tx, step, to, subject, purpose, status, detail, now).await
}

/// The step's message as it stands now (a later status replaces an earlier one).
#[allow(clippy::too_many_arguments, reason = "one message's columns")]
async fn insert_message(
    tx: &mut dyn WriteTx,
    step: &OutboxRow,
    to: Recipient<'_>,
    subject: &str,
    purpose: Purpose,
    status: &str,
    detail: Option<String>,
    now: Micros,
) -> StoreResult<()> {
    let (channel, recipient) = to.parts();
    tx.insert_message(&MessageRow {
        id: 0,
        contact_id: step.contact_id,
        channel: channel.into(),
        rule: step.rule.clone(),
        rule_version: step.rule_version,
        step_key: step.key.clone(),
        recipient: recipient.into(),
        subject: subject.to_owned(),
        status: status.into(),
        detail,
        at: now,
        purpose: purpose.name().into(),
    })
    .await
}

/// What templates see of a coupon.
fn coupon_context(ws: &Workspace, c: &clientele_store::CouponRow) -> Value {
    let discount = match Discount::new(&c.kind, c.value) {
        Ok(Discount::Percent(p)) => format!("{p}%"),
        Ok(Discount::Fixed(v)) => {
            let unit = Currency::parse(&ws.currency).map_or(1, |c| c.minor_per_major());
            format!("{} {}", v / unit.max(1), ws.currency)
        }
        Err(_) => String::new(),
    };
    json!({
        "code": display_code(&c.code),
        "discount": discount,
        "expires_at": c.expires_at.map(|e| format_instant(e)[..10].to_owned()),
    })
}
