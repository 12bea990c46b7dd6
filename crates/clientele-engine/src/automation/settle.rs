//! The contract between the runner and the kinds of step it carries out: what a step may
//! come to ([`Outcome`]), how the runner behaves ([`Settings`]), and settling a step in its
//! transaction (the next step enqueued). Its own module so that the runner and the step
//! modules (`email_steps`, `channel_steps`) both import it and never each other.

use clientele_automation::{RuleSet, resolve};
use clientele_core::time::{Micros, SECOND};
use clientele_store::{OutboxRow, StoreResult, WriteTx};
use serde_json::Value;
use std::sync::Arc;

use super::sms::SmsProvider;
use super::step_key;

/// Tries before a step is parked as failed.
pub const MAX_ATTEMPTS: i64 = 5;

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

/// What a step came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done; the next step carries `context`, after `wait`.
    Done { context: Value, wait: Micros },
    /// Done; the run goes on at instruction `to` of the rule's program (a branch).
    Jump { context: Value, to: usize },
    /// The run ends here without doing this step.
    Stopped(String),
    /// Nothing to do for this contact; the run goes on.
    Skipped { context: Value, why: String },
    /// Not now (quiet hours, a full frequency cap): the same step again at `until`.
    Deferred { until: Micros, why: String },
    /// The try failed; maybe again later.
    Failed(String),
}

/// Finish the step as the outcome says, and enqueue the next one.
pub(super) async fn settle_in(
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
        Outcome::Jump { context, to } => {
            tx.settle_step(step.id, "done", step.due_at, None, now)
                .await?;
            return enqueue_next(tx, set, step, to, context, 0, now).await;
        }
        Outcome::Stopped(why) => {
            return tx
                .settle_step(step.id, "skipped", step.due_at, Some(&why), now)
                .await;
        }
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
    enqueue_next(tx, set, step, step.step as usize + 1, context, wait, now).await
}

/// Enqueue the run's instruction `at` (after jumps), if the run goes on.
async fn enqueue_next(
    tx: &mut dyn WriteTx,
    set: &RuleSet,
    step: &OutboxRow,
    at: usize,
    context: Value,
    wait: Micros,
    now: Micros,
) -> StoreResult<()> {
    let Some(next) = set
        .rule(&step.rule)
        .and_then(|r| resolve(&r.program, at))
        .map(|n| n as i64)
    else {
        return Ok(());
    };
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
    .await
}
