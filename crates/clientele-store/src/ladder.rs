//! Storage of the loyalty ladder: what the engine reads to classify contacts (their events,
//! flags and stored positions) inside the write transaction, and what it writes back.
//! Rungs, statuses and reasons cross as their API spellings: the store does not interpret
//! them.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::StoreResult;

/// A contact's stored position on the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderRow {
    /// The contact.
    pub contact_id: ContactId,
    /// Rung name.
    pub rung: String,
    /// Status name.
    pub status: String,
    /// Rule-set version that placed it.
    pub rule_version: i64,
    /// Since when a demotion has been waiting out its grace period.
    pub failing_since: Option<Micros>,
    /// When it could next change without an event.
    pub due_at: Option<Micros>,
    /// The moment of the last evaluation.
    pub evaluated_at: Micros,
}

/// One recorded change of rung or status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderChangeRow {
    /// The contact.
    pub contact_id: ContactId,
    /// When.
    pub at: Micros,
    /// `rung` or `status`.
    pub kind: String,
    /// Before.
    pub from: String,
    /// After.
    pub to: String,
    /// Reason code.
    pub reason: String,
    /// Rule-set version.
    pub rule_version: i64,
    /// The metrics that decided it (JSON).
    pub metrics: String,
}

/// An event as the ladder reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LadderEventRow {
    /// The buyer or actor.
    pub contact_id: ContactId,
    /// The company account of an order.
    pub account_id: Option<ContactId>,
    /// Event kind spelling.
    pub kind: String,
    /// When it happened.
    pub occurred_at: Micros,
    /// Order id of order events.
    pub order_id: Option<String>,
    /// Total, refunded amount or score.
    pub amount: Option<i64>,
    /// Interaction type or survey name.
    pub detail: Option<String>,
    /// When it was appended (what was known before a moment, whatever it is about).
    pub received_at: Micros,
}

/// What the ladder reads of the contact itself.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct LadderSubject {
    /// The contact.
    pub contact_id: ContactId,
    /// Its external id.
    pub external_id: Option<String>,
    /// A company (its ladder reads the orders on its account).
    pub is_company: bool,
    /// Contract flag.
    pub contract_active: bool,
    /// Ambassador flag.
    pub ambassador: bool,
    /// P(alive) from the latest lifetime-value fit.
    pub p_alive: Option<f64>,
    /// When that fit was made.
    pub p_alive_since: Option<Micros>,
}

/// A stored rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesRow {
    /// Version, from 1.
    pub version: i64,
    /// The rule set as JSON.
    pub body: String,
    /// When it was saved.
    pub created_at: Micros,
}

/// Ladder reads and writes inside a write transaction.
#[async_trait]
pub trait LadderWrite: Send {
    /// Live contacts among `ids`, with their flags and P(alive).
    async fn ladder_subjects(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderSubject>>;
    /// Events whose contact or account is one of `ids`, and every event of the orders placed
    /// on those accounts, in log order.
    async fn ladder_events(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderEventRow>>;
    /// Stored positions of `ids`.
    async fn ladder_rows(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderRow>>;
    /// Upsert positions and append changes.
    async fn save_ladder(
        &mut self,
        rows: &[LadderRow],
        changes: &[LadderChangeRow],
    ) -> StoreResult<()>;
    /// The active (latest) rule set.
    async fn active_rules(&mut self) -> StoreResult<Option<RulesRow>>;
    /// Save a rule set as the next version.
    async fn insert_rules(&mut self, rules: &RulesRow) -> StoreResult<()>;
    /// Up to `limit` contacts due at or before `now`, earliest first.
    async fn due_contacts(&mut self, now: Micros, limit: i64) -> StoreResult<Vec<ContactId>>;
    /// Live contacts with ids above `after`, ascending, at most `limit`.
    async fn contact_ids_after(
        &mut self,
        after: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<ContactId>>;
}

/// Ladder reads outside a transaction.
#[async_trait]
pub trait LadderReader: Send + Sync {
    /// What classifying contacts reads: the live ones among `ids` and their events, as
    /// [`LadderWrite::ladder_subjects`] and [`LadderWrite::ladder_events`] give them.
    async fn ladder_inputs(
        &self,
        ws: WorkspaceId,
        ids: &[ContactId],
    ) -> StoreResult<(Vec<LadderSubject>, Vec<LadderEventRow>)>;
    /// Live contacts with ids above `after`, ascending, at most `limit`.
    async fn contact_ids_page(
        &self,
        ws: WorkspaceId,
        after: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<ContactId>>;
    /// A contact's stored position.
    async fn ladder_row(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<LadderRow>>;
    /// A contact's changes, oldest first.
    async fn ladder_history(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<Vec<LadderChangeRow>>;
    /// A rule-set version (the active one when `version` is `None`).
    async fn rules_version(
        &self,
        ws: WorkspaceId,
        version: Option<i64>,
    ) -> StoreResult<Option<RulesRow>>;
    /// The earliest `due_at` of the workspace, if any.
    async fn next_due(&self, ws: WorkspaceId) -> StoreResult<Option<Micros>>;
}
