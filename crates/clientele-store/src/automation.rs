//! Storage of automated care: versioned rule sets, the outbox of steps (claimed by the
//! runner with a lease, finished in a transaction with their database effects), and the
//! messages sent.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::{RulesRow, StoreResult};

/// One step of a rule's run for a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its id (0 before insertion).
    pub id: i64,
    /// Unique per workspace: rule, version, contact, occurrence and step.
    pub key: String,
    /// The contact.
    pub contact_id: ContactId,
    /// The rule's name.
    pub rule: String,
    /// The rule set's version the run started on.
    pub rule_version: i64,
    /// Which action.
    pub step: i64,
    /// What started the run (e.g. `rung:shopper@1700000000000000`).
    pub occurrence: String,
    /// JSON carried from step to step (the coupon issued…).
    pub context: String,
    /// Not before.
    pub due_at: Micros,
    /// `pending`, `running`, `done`, `skipped` or `failed`.
    pub status: String,
    /// Tries so far.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: Micros,
    /// When it finished.
    pub finished_at: Option<Micros>,
}

/// A message sent (or not) to a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// Its id (0 before insertion).
    pub id: i64,
    /// The contact.
    pub contact_id: ContactId,
    /// `email`, `sms` or `webhook`.
    pub channel: String,
    /// The rule.
    pub rule: String,
    /// Its version.
    pub rule_version: i64,
    /// The outbox step that sent it.
    pub step_key: String,
    /// Address or number.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// `sent`, `skipped` or `failed`.
    pub status: String,
    /// `marketing` or `service`.
    pub purpose: String,
    /// Why skipped or failed.
    pub detail: Option<String>,
    /// When.
    pub at: Micros,
}

/// Automation reads and writes inside a [`crate::WriteTx`].
#[async_trait]
pub trait AutomationWrite: Send {
    /// The newest rule set, if any was stored.
    async fn automation_rules(&mut self) -> StoreResult<Option<RulesRow>>;
    /// One version of the rule set.
    async fn automation_rules_version(&mut self, version: i64) -> StoreResult<Option<RulesRow>>;
    /// Store a new version of the rule set and return its number.
    async fn insert_automation_rules(&mut self, body: &str, at: Micros) -> StoreResult<i64>;
    /// Add steps; a key already present is left as it is.
    async fn enqueue(&mut self, rows: &[OutboxRow]) -> StoreResult<()>;
    /// Claim up to `limit` steps due by `now` (pending, or running with a lapsed lease):
    /// they become `running` until `lease_until`, one more attempt each.
    async fn claim_due(
        &mut self,
        now: Micros,
        lease_until: Micros,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>>;
    /// Set a step's outcome: `done`, `skipped` or `failed` (finished), or `pending` again
    /// at `due_at` after a failed try.
    async fn settle_step(
        &mut self,
        id: i64,
        status: &str,
        due_at: Micros,
        error: Option<&str>,
        at: Micros,
    ) -> StoreResult<()>;
    /// The workspace's key for signing links of `purpose`: the stored one, else `fresh`,
    /// stored now.
    async fn signing_key(
        &mut self,
        purpose: &str,
        fresh: &[u8],
        at: Micros,
    ) -> StoreResult<Vec<u8>>;
    /// Record a step's message, or its new status (one message per step).
    async fn insert_message(&mut self, row: &MessageRow) -> StoreResult<()>;
    /// Put a claimed step back until `due_at` without counting the try (quiet hours, a
    /// full frequency cap), saying why.
    async fn defer_step(&mut self, id: i64, due_at: Micros, why: &str) -> StoreResult<()>;
    /// When marketing messages were sent to `contact` at or after `since`, oldest first.
    async fn marketing_sent_since(
        &mut self,
        contact: ContactId,
        since: Micros,
    ) -> StoreResult<Vec<Micros>>;
}

/// Automation reads outside a transaction.
#[async_trait]
pub trait AutomationReader: Send + Sync {
    /// Messages of a contact, newest first.
    async fn messages_of(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<MessageRow>>;
    /// Outbox steps of a contact, newest first.
    async fn steps_of(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>>;
    /// When the earliest unfinished step of any workspace is due (the runner's sleep).
    async fn next_due(&self) -> StoreResult<Option<Micros>>;
}
