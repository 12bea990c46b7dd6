//! Storage of the care automation hands to people and the calendar: tasks for staff,
//! support tickets, the record of which days' date triggers were swept, and the reads the
//! date triggers and conditions need.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::StoreResult;

/// A to-do for a member of staff about a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// Its id (0 before insertion).
    pub id: i64,
    /// Unique per workspace: what made it (an automation step's key), so it is made once.
    pub key: String,
    /// The contact.
    pub contact_id: ContactId,
    /// What to do.
    pub title: String,
    /// Who should.
    pub assignee: Option<String>,
    /// When by.
    pub due_at: Micros,
    /// `open` or `done`.
    pub status: String,
    /// What made it (`automation: RULE`).
    pub source: String,
    /// When it was made.
    pub created_at: Micros,
}

/// A support ticket about a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    /// Its id (0 before insertion).
    pub id: i64,
    /// Unique per workspace: what opened it.
    pub key: String,
    /// The contact.
    pub contact_id: ContactId,
    /// `warranty`, `return`, `complaint` or `question`.
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// `open`, `pending`, `resolved` or `closed`.
    pub status: String,
    /// What opened it.
    pub source: String,
    /// When it was opened.
    pub created_at: Micros,
}

/// Care writes inside a [`crate::WriteTx`].
#[async_trait]
pub trait CareWrite: Send {
    /// Make a task unless one with its key exists; whether it was made.
    async fn insert_task(&mut self, task: &TaskRow) -> StoreResult<bool>;
    /// Mark a task `open` or `done`; the task as it is now (`None`: no such task).
    async fn set_task_status(&mut self, id: i64, status: &str) -> StoreResult<Option<TaskRow>>;
    /// Open a ticket unless one with its key exists; whether it was opened.
    async fn insert_ticket(&mut self, ticket: &TicketRow) -> StoreResult<bool>;
    /// Claim the sweep of date triggers for `day` (`YYYY-MM-DD` in the workspace's zone):
    /// true the first time only.
    async fn claim_sweep(&mut self, day: &str, at: Micros) -> StoreResult<bool>;
    /// The channels `contact` consents to now (the latest record per channel grants).
    async fn granted_channels(&mut self, contact: ContactId) -> StoreResult<Vec<String>>;
    /// Live contacts with a custom `birthday` field, and its text.
    async fn birthdays(&mut self) -> StoreResult<Vec<(ContactId, String)>>;
    /// Live contacts with a paid order, and when the first was paid.
    async fn first_orders(&mut self) -> StoreResult<Vec<(ContactId, Micros)>>;
    /// When `contact`'s last counting order was paid.
    async fn last_order_at(&mut self, contact: ContactId) -> StoreResult<Option<Micros>>;
}

/// Care reads outside a transaction.
#[async_trait]
pub trait CareReader: Send + Sync {
    /// Tasks, newest first; of one contact or all, open only or all.
    async fn tasks(
        &self,
        ws: WorkspaceId,
        contact: Option<ContactId>,
        open_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<TaskRow>>;
    /// Tickets, newest first; of one contact or all.
    async fn tickets(
        &self,
        ws: WorkspaceId,
        contact: Option<ContactId>,
        limit: i64,
    ) -> StoreResult<Vec<TicketRow>>;
}
