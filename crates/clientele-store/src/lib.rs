//! The storage interface of Clientele: narrow traits per area, implemented once for SQLite
//! and once for PostgreSQL, and the error type they share.
//!
//! Reads go through [`WorkspaceStore`], [`ContactReader`] and [`ClvStore`]; every write goes through a
//! [`WriteTx`], a transaction that holds the workspace's write lock, so that the engine can
//! read, decide and write as one atomic step on either back end.

pub mod automation;
pub mod care;
pub mod coupons;
pub mod error;
pub mod ladder;
pub mod loyalty;
pub mod referrals;
pub mod types;
pub mod write;

pub use automation::{AutomationReader, AutomationWrite, MessageRow, OutboxRow};
pub use care::{CareReader, CareWrite, TaskRow, TicketRow};
pub use coupons::{CouponReader, CouponRow, CouponUseRow, CouponWrite};
pub use error::StoreError;
pub use ladder::{
    LadderChangeRow, LadderEventRow, LadderReader, LadderRow, LadderSubject, LadderWrite, RulesRow,
};
pub use loyalty::{
    LotRow, LoyaltyAccountRow, LoyaltyEntryRow, LoyaltyOrderRow, LoyaltyReader, LoyaltyWrite,
    RedemptionRow, RewardRow,
};
pub use referrals::{ReferralReader, ReferralRow, ReferralStatsRow, ReferralWrite};
pub use types::*;
pub use write::WriteTx;

use async_trait::async_trait;
use clientele_core::contact::{Consent, Contact};
use clientele_core::metrics::StoredMetrics;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Workspaces (tenants) and their API tokens.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Create a workspace; a taken name is `Conflict { constraint: "workspaces.name" }`.
    async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<Workspace>;
    /// Look a workspace up by name.
    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>>;
    /// Look a workspace up by id.
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>>;
    /// All workspaces, by id.
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;
    /// Store the SHA-256 hash of a new API token.
    async fn create_token(
        &self,
        ws: WorkspaceId,
        token_hash: &[u8],
        label: &str,
    ) -> StoreResult<()>;
    /// The workspace a token hash belongs to.
    async fn workspace_for_token(&self, token_hash: &[u8]) -> StoreResult<Option<Workspace>>;
}

/// Reading contacts, their history and metrics. Every call is scoped to one workspace.
#[async_trait]
pub trait ContactReader: Send + Sync {
    /// A live contact (not merged away or deleted).
    async fn contact(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<Contact>>;
    /// Search, ordered by id, keyset-paginated.
    async fn search_contacts(
        &self,
        ws: WorkspaceId,
        query: &ContactQuery,
    ) -> StoreResult<Vec<Contact>>;
    /// Events of a contact, newest first.
    async fn timeline(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        page: &TimelinePage,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Stored metrics and the payment times of counting orders.
    async fn metrics(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<(StoredMetrics, Vec<Micros>)>;
    /// Consent records of a contact, oldest first.
    async fn consents(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Vec<Consent>>;
    /// People who belong to a company.
    async fn members(&self, ws: WorkspaceId, company: ContactId) -> StoreResult<Vec<Membership>>;
    /// Number of events in the log.
    async fn event_count(&self, ws: WorkspaceId) -> StoreResult<i64>;
    /// A canonical text rendering of every projection row of the workspace, used to prove
    /// that a replay rebuilds byte-identical projections.
    async fn projection_dump(&self, ws: WorkspaceId) -> StoreResult<String>;
}

/// Opening write transactions.
#[async_trait]
pub trait Writer: Send + Sync {
    /// Begin a write transaction holding the workspace's write lock.
    async fn begin_write(&self, ws: WorkspaceId) -> StoreResult<Box<dyn WriteTx>>;
    /// Begin a transaction for claiming due outbox steps, whose statement locks the rows it
    /// takes (and skips those another runner holds), so it needs no workspace write lock.
    /// Where the back end has a lock per workspace, the claim does not queue behind a
    /// running ingest batch; SQLite has one writer, so there it is [`Writer::begin_write`].
    /// Only for claims: anything that reads, decides and writes needs `begin_write`.
    async fn begin_claim(&self, ws: WorkspaceId) -> StoreResult<Box<dyn WriteTx>> {
        self.begin_write(ws).await
    }
}

/// Customer-lifetime-value input and results.
#[async_trait]
pub trait ClvStore: Send + Sync {
    /// Every purchase of the workspace, by contact and payment time.
    async fn purchases(&self, ws: WorkspaceId) -> StoreResult<Vec<Purchase>>;
    /// Replace the workspace's fit and every contact's prediction, atomically.
    async fn replace_clv(
        &self,
        ws: WorkspaceId,
        fit: &ClvFitRecord,
        rows: &[ContactClv],
    ) -> StoreResult<()>;
    /// The latest fit.
    async fn clv_fit(&self, ws: WorkspaceId) -> StoreResult<Option<ClvFitRecord>>;
    /// One contact's prediction from the latest fit.
    async fn contact_clv(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<ContactClv>>;
}

/// Everything a back end provides.
#[async_trait]
pub trait Store:
    WorkspaceStore
    + ContactReader
    + ClvStore
    + LadderReader
    + LoyaltyReader
    + CouponReader
    + ReferralReader
    + AutomationReader
    + CareReader
    + Writer
{
    /// Apply pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// The migration versions this back end ships, ascending.
    fn migration_versions(&self) -> Vec<i64>;
    /// Check the database's physical integrity (`PRAGMA integrity_check` on SQLite).
    async fn integrity_check(&self) -> StoreResult<String>;
    /// Close the pool, flushing everything.
    async fn close(&self);
}

/// The current instant in microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// A `LIKE` pattern matching `text` anywhere, lower-cased, with `%`, `_` and `\` escaped
/// (use with `ESCAPE '\'`).
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Canonical text of projection rows (orders by id, then metrics by contact), identical
/// for both back ends, so a rebuild can be compared byte for byte.
pub fn dump_projections(
    orders: &[clientele_core::order::OrderState],
    metrics: &[(ContactId, StoredMetrics)],
) -> String {
    use std::fmt::Write;
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |x| x.to_string());
    let mut out = String::new();
    for o in orders {
        let _ = writeln!(
            out,
            "order\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            o.order_id,
            o.contact_id,
            opt(o.recipient_id.map(|c| c.0)),
            opt(o.account_id.map(|c| c.0)),
            o.total,
            o.refunded,
            o.fully_refunded,
            opt(o.placed_at),
            opt(o.paid_at),
            opt(o.cancelled_at),
        );
    }
    for (c, m) in metrics {
        let _ = writeln!(
            out,
            "metrics\t{c}\t{}\t{}\t{}\t{}\t{}\t{}",
            m.paid_orders,
            m.revenue,
            opt(m.first_order_at),
            opt(m.last_order_at),
            opt(m.last_engaged_at),
            m.interactions,
        );
    }
    out
}
