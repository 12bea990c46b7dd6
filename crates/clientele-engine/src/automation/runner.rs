//! Carrying out due steps. A step is claimed with a lease (so a crashed runner's steps come
//! back), then done: a database action (coupon, points, tag, wait) in the one transaction
//! that also settles the step and enqueues the next, so it happens exactly once; a step that
//! calls out (e-mail in `email_steps`, SMS and webhooks in `channel_steps`) does so outside
//! any transaction (no write lock is held over the network), then is settled here. A failed
//! try is retried with exponential backoff and parked as `failed` after [`MAX_ATTEMPTS`],
//! its last error kept.

use clientele_automation::{Action, Op, RuleSet, render_line};
use clientele_core::ContactId;
use clientele_core::money::Currency;
use clientele_core::time::{DAY, Micros, SECOND, format_instant};
use clientele_loyalty::coupon::{Discount, display_code};
use clientele_loyalty::{Cause, EntryKind};
use clientele_store::{OutboxRow, Store, StoreResult, TaskRow, TicketRow, Workspace, WriteTx};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

use super::channel_steps::{call_webhook, send_sms};
use super::email_steps::send_emails;
use super::mailer::Mailer;
use super::rules_of_version;
use super::settle::{Outcome, Settings, settle_in};
use super::subject::conditions_hold;
use super::triggers::may_start;
use crate::loyalty::coupons::{CouponSpec, issue_in};

/// Steps handled per pass of [`run_forever`].
const STEP_BATCH: i64 = 100;

/// How long [`run_forever`] rests when nothing is due: the bound on the delay between an
/// event and the first step it starts.
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(200);

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
        super::calendar::sweep(store, &ws, now).await?;
        let mut tx = store.begin_claim(ws.id).await?;
        let steps = tx.claim_due(now, now + settings.lease, limit).await?;
        tx.commit().await?;
        handled += steps.len();
        let mut emails = Vec::new();
        for step in steps {
            let set = rules_cached(store, &ws, step.rule_version).await?;
            if let Some(set) = &set
                && !started(store, &ws, set, &step, now).await?
            {
                continue;
            }
            match set.as_deref().and_then(|s| op_of(s, &step)) {
                Some(Op::Act(Action::SendEmail { template, purpose })) => {
                    emails.push((step, set.expect("found above"), template, purpose));
                }
                Some(Op::Act(Action::SendSms { template, purpose })) => {
                    let set = set.expect("found above");
                    send_sms(store, &ws, &set, &step, &template, purpose, settings, now).await?;
                }
                Some(Op::Act(Action::CallWebhook { url })) => {
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

fn op_of(set: &RuleSet, step: &OutboxRow) -> Option<Op> {
    set.rule(&step.rule)?
        .program
        .get(usize::try_from(step.step).ok()?)
        .cloned()
}

/// Whether a run's first step may go on (see `triggers::may_start`); if not, the run is
/// stopped here, saying why.
async fn started(
    store: &dyn Store,
    ws: &Workspace,
    set: &RuleSet,
    step: &OutboxRow,
    now: Micros,
) -> StoreResult<bool> {
    let Some(rule) = set.rule(&step.rule) else {
        return Ok(true);
    };
    if step.step != 0
        || !matches!(
            rule.trigger,
            clientele_automation::Trigger::NoOrderFor { .. }
        )
    {
        return Ok(true);
    }
    let mut tx = store.begin_write(ws.id).await?;
    let verdict = may_start(&mut *tx, rule, step, now).await?;
    if let Err(why) = &verdict {
        settle_in(&mut *tx, set, step, Outcome::Stopped(why.clone()), now).await?;
    }
    tx.commit().await?;
    Ok(verdict.is_ok())
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
    let Some(op) = op_of(set, step) else {
        return park(tx, step, "the rule or its step is gone", now).await;
    };
    let contact = step.contact_id;
    let action = match op {
        Op::Act(action) => action,
        Op::Test {
            conditions,
            otherwise,
        } => {
            let holds = conditions_hold(&mut *tx, &conditions, contact, now).await?;
            let to = if holds {
                step.step as usize + 1
            } else {
                otherwise
            };
            settle_in(&mut *tx, set, step, Outcome::Jump { context, to }, now).await?;
            return tx.commit().await;
        }
        Op::Goto(to) => {
            settle_in(&mut *tx, set, step, Outcome::Jump { context, to }, now).await?;
            return tx.commit().await;
        }
    };
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
        Action::AwardBonus { bonus, otherwise } => {
            let (_, rules) = crate::loyalty::active_rules(&mut *tx, now).await?;
            let points = match bonus.points(&rules) {
                0 => *otherwise,
                set => set,
            };
            if points > 0 {
                award(&mut *tx, ws, contact, points, step, now).await?;
            }
            context["points"] = json!({ "awarded": points });
            Outcome::Done { context, wait: 0 }
        }
        Action::CreateTask {
            title,
            assignee,
            due_days,
        } => {
            let title = line(&mut *tx, title, contact, &context).await?;
            tx.insert_task(&TaskRow {
                id: 0,
                key: step.key.clone(),
                contact_id: contact,
                title,
                assignee: assignee.clone(),
                due_at: now + due_days * DAY,
                status: "open".into(),
                source: format!("automation: {}", step.rule),
                created_at: now,
            })
            .await?;
            Outcome::Done { context, wait: 0 }
        }
        Action::OpenTicket { kind, subject } => {
            let subject = line(&mut *tx, subject, contact, &context).await?;
            tx.insert_ticket(&TicketRow {
                id: 0,
                key: step.key.clone(),
                contact_id: contact,
                kind: kind.clone(),
                subject,
                status: "open".into(),
                source: format!("automation: {}", step.rule),
                created_at: now,
            })
            .await?;
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
        Action::RemoveTag(tag) => {
            if let Some(mut fields) = tx.contact_fields(contact).await?
                && fields.tags.contains(tag)
            {
                fields.tags.retain(|t| t != tag);
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
        Action::Branch { .. } => unreachable!("branches compile to tests"),
    };
    settle_in(&mut *tx, set, step, outcome, now).await?;
    tx.commit().await
}

/// A one-line template (a task's title, a ticket's subject) rendered for the contact.
async fn line(
    tx: &mut dyn WriteTx,
    source: &str,
    contact: ContactId,
    context: &Value,
) -> StoreResult<String> {
    let fields = tx.contact_fields(contact).await?.unwrap_or_default();
    let mut ctx = context.clone();
    ctx["contact"] = json!({"name": fields.name, "email": fields.email,
        "phone": fields.phone, "external_id": fields.external_id});
    // A template that fails to render still makes its task: the source says what it is.
    Ok(render_line(source, &ctx).unwrap_or_else(|_| source.to_owned()))
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

/// What templates see of a coupon.
pub(super) fn coupon_context(ws: &Workspace, c: &clientele_store::CouponRow) -> Value {
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
