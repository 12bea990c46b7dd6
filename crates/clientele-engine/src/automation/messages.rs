//! The record of each step's message (one per step; a later status replaces an earlier).

use clientele_automation::Purpose;
use clientele_core::time::Micros;
use clientele_store::{MessageRow, OutboxRow, StoreResult, WriteTx};

use super::facts::Facts;
use super::settle::{MAX_ATTEMPTS, Outcome};

/// Where a message went.
#[derive(Debug, Clone, Copy)]
pub(super) enum Recipient<'a> {
    Email(&'a str),
    Sms(&'a str),
}

impl<'a> Recipient<'a> {
    pub(super) fn email(facts: &'a Facts) -> Self {
        Self::Email(facts.email.as_deref().unwrap_or_default())
    }

    pub(super) fn parts(self) -> (&'static str, &'a str) {
        match self {
            Self::Email(a) => ("email", a),
            Self::Sms(a) => ("sms", a),
        }
    }
}

pub(super) async fn record_message(
    tx: &mut dyn WriteTx,
    step: &OutboxRow,
    to: Recipient<'_>,
    subject: &str,
    purpose: Purpose,
    outcome: &Outcome,
    now: Micros,
) -> StoreResult<()> {
    let (status, detail) = match outcome {
        Outcome::Done { .. } | Outcome::Jump { .. } => ("sent", None),
        Outcome::Stopped(why) => ("skipped", Some(why.clone())),
        Outcome::Skipped { why, .. } => ("skipped", Some(why.clone())),
        // A failed try is recorded once it is the last; a deferred one when it is sent.
        Outcome::Failed(e) if step.attempts >= MAX_ATTEMPTS => ("failed", Some(e.clone())),
        Outcome::Failed(_) | Outcome::Deferred { .. } => return Ok(()),
    };
    insert_message(tx, step, to, subject, purpose, status, detail, now).await
}

/// The step's message as it stands now (a later status replaces an earlier one).
#[allow(clippy::too_many_arguments, reason = "one message's columns")]
pub(super) async fn insert_message(
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
