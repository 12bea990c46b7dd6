//! Storage of the loyalty program: accounts (balance, debt, next expiry), lots, the
//! immutable ledger entries, what each order earned, redemptions by idempotency key, the
//! rewards catalogue and the versioned earn rules. The engine decides every change with the
//! pure `clientele-loyalty` crate inside a write transaction (one writer per workspace) and
//! writes it back here; `CHECK` constraints on both back ends keep balances, debts and lots
//! from going negative should anything else ever try.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::{RulesRow, StoreResult};

/// A lot of earned points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LotRow {
    /// The lot's number within the contact's ledger.
    pub lot_no: i64,
    /// Points put in.
    pub points: i64,
    /// Points left.
    pub remaining: i64,
    /// Expired points a reversal has not yet forgiven.
    pub expired: i64,
    /// When earned.
    pub earned_at: Micros,
    /// When what is left expires.
    pub expires_at: Micros,
    /// The order that earned it.
    pub order_id: Option<String>,
    /// Whether the row exists in the store (read from it, or changed after reading), so a
    /// write updates it; a new one is inserted. PostgreSQL's upsert costs twice its insert.
    #[serde(default = "stored")]
    pub stored: bool,
}

/// A contact's loyalty account; `lots` holds the lots that can still change (reads) or
/// that changed (writes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LoyaltyAccountRow {
    /// The contact.
    pub contact_id: ContactId,
    /// Points available.
    pub balance: i64,
    /// Points owed.
    pub debt: i64,
    /// The number of the last lot created.
    pub next_lot: i64,
    /// When the next open lot expires (what the scheduler reads).
    pub next_expiry: Option<Micros>,
    /// Lots.
    #[serde(default)]
    pub lots: Vec<LotRow>,
    /// Whether the row exists in the store (see [`LotRow::stored`]).
    #[serde(default = "stored")]
    pub stored: bool,
}

/// One immutable ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoyaltyEntryRow {
    /// Its id (ascending in commit order; 0 before insertion).
    pub id: i64,
    /// The contact.
    pub contact_id: ContactId,
    /// `earn`, `redeem`, `expire`, `adjust` or `reverse`.
    pub kind: String,
    /// Signed points.
    pub points: i64,
    /// When it took effect.
    pub at: Micros,
    /// Why.
    pub reason: String,
    /// What it refers to: `order`, `redemption`, `lot`, `event`, `user`…
    pub ref_kind: String,
    /// The referred id.
    pub ref_id: String,
    /// Balance right after it.
    pub balance_after: i64,
    /// Debt right after it.
    pub debt_after: i64,
}

/// What an order earned and still keeps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LoyaltyOrderRow {
    /// The order.
    pub order_id: String,
    /// The contact that earned.
    pub contact_id: ContactId,
    /// Points it earned when paid.
    pub earned: i64,
    /// The total it was paid on.
    pub paid_total: i64,
    /// Points it keeps after reversals.
    pub kept: i64,
    /// Whether the row exists in the store (see [`LotRow::stored`]).
    #[serde(default = "stored")]
    pub stored: bool,
}

/// Rows decoded from the store exist in it.
fn stored() -> bool {
    true
}

/// A redemption, found again by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRow {
    /// Its id.
    pub id: i64,
    /// The contact.
    pub contact_id: ContactId,
    /// The client's key.
    pub idempotency_key: String,
    /// Points spent.
    pub points: i64,
    /// The reward taken, if any.
    pub reward_id: Option<i64>,
    /// The balance right after.
    pub balance_after: i64,
    /// When.
    pub created_at: Micros,
    /// The coupon the reward handed out.
    pub coupon_code: Option<String>,
}

/// A reward of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRow {
    /// Its id.
    pub id: i64,
    /// Name shown to staff and contacts.
    pub name: String,
    /// Price in points.
    pub cost_points: i64,
    /// Units left (`None` = unlimited).
    pub stock: Option<i64>,
    /// Redeemable from.
    pub valid_from: Option<Micros>,
    /// Redeemable until.
    pub valid_until: Option<Micros>,
    /// The lowest rung that may redeem it.
    pub rung_required: Option<String>,
    /// Offered at all.
    pub active: bool,
    /// The coupon it hands out (a `clientele_loyalty::coupon::Template` as JSON text).
    pub coupon: Option<String>,
}

/// Loyalty reads and writes inside a [`crate::WriteTx`].
#[async_trait]
pub trait LoyaltyWrite: Send {
    /// The newest earn rules, if any were ever stored.
    async fn loyalty_rules(&mut self) -> StoreResult<Option<RulesRow>>;
    /// Store a new version of the earn rules (the next number) and return it.
    async fn insert_loyalty_rules(&mut self, body: &str, at: Micros) -> StoreResult<i64>;
    /// Accounts of `ids` that exist, each with its lots that still hold or owe points
    /// (`lots`), or without any (earning alone needs none).
    async fn loyalty_accounts(
        &mut self,
        ids: &[ContactId],
        lots: bool,
    ) -> StoreResult<Vec<LoyaltyAccountRow>>;
    /// Write accounts (with the lots that changed) and append entries.
    async fn save_loyalty(
        &mut self,
        accounts: &[LoyaltyAccountRow],
        entries: &[LoyaltyEntryRow],
    ) -> StoreResult<()>;
    /// What the orders `ids` earned, for those that earned.
    async fn loyalty_orders(&mut self, ids: &[String]) -> StoreResult<Vec<LoyaltyOrderRow>>;
    /// Insert or update what orders earned and keep.
    async fn save_loyalty_orders(&mut self, rows: &[LoyaltyOrderRow]) -> StoreResult<()>;
    /// Points each of `ids` earned (earn entries) at instants in `[from, until)`.
    async fn earned_between(
        &mut self,
        ids: &[ContactId],
        from: Micros,
        until: Micros,
    ) -> StoreResult<Vec<(ContactId, i64)>>;
    /// Contacts with a lot due to expire by `now`, at most `limit`.
    async fn loyalty_due(&mut self, now: Micros, limit: i64) -> StoreResult<Vec<ContactId>>;
    /// The redemption made with `key`, if any.
    async fn redemption_by_key(&mut self, key: &str) -> StoreResult<Option<RedemptionRow>>;
    /// Record a redemption; returns its id.
    async fn insert_redemption(&mut self, row: &RedemptionRow) -> StoreResult<i64>;
    /// A reward of the catalogue.
    async fn reward(&mut self, id: i64) -> StoreResult<Option<RewardRow>>;
    /// Take one unit of a reward's stock; false when none is left (unlimited stock: true).
    async fn take_reward_stock(&mut self, id: i64) -> StoreResult<bool>;
    /// Add a reward to the catalogue; returns it with its id.
    async fn insert_reward(&mut self, reward: &RewardRow) -> StoreResult<RewardRow>;
}

/// Loyalty reads outside a transaction (the API's views).
#[async_trait]
pub trait LoyaltyReader: Send + Sync {
    /// A contact's account, without lots.
    async fn loyalty_account(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<Option<LoyaltyAccountRow>>;
    /// A contact's entries, newest first, with ids below `before` when given.
    async fn loyalty_entries(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<LoyaltyEntryRow>>;
    /// The catalogue, by id.
    async fn rewards(&self, ws: WorkspaceId) -> StoreResult<Vec<RewardRow>>;
}
