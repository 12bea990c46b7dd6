//! Storage of coupons and of their uses. The engine decides with the pure
//! `clientele_loyalty::coupon` terms inside a write transaction; the primary key of a use
//! (code, order) is what makes a retried order event count once.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::StoreResult;

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRow {
    /// Canonical code (16 symbols, no dashes).
    pub code: String,
    /// `percent` or `fixed`.
    pub kind: String,
    /// Percent (1–100) or amount in minor units.
    pub value: i64,
    /// Smallest order total it applies to.
    pub min_order: i64,
    /// Uses allowed (`None` = unlimited).
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
    /// The only contact who may use it.
    pub contact_id: Option<ContactId>,
    /// Usable before.
    pub expires_at: Option<Micros>,
    /// Who issued it: `staff`, `reward`, `referral`.
    pub source: String,
    /// The issuer's reference (user, redemption key, referral).
    pub source_ref: String,
    /// Not withdrawn.
    pub active: bool,
    /// When issued.
    pub created_at: Micros,
}

/// One order's use of a coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponUseRow {
    /// The coupon.
    pub code: String,
    /// The order.
    pub order_id: String,
    /// The buyer.
    pub contact_id: ContactId,
    /// The order's total when it named the code.
    pub order_total: i64,
    /// What the coupon took off.
    pub discount: i64,
    /// `applied`, `restored` (the order was cancelled) or `refused`.
    pub status: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// When.
    pub used_at: Micros,
}

/// Coupon reads and writes inside a [`crate::WriteTx`].
#[async_trait]
pub trait CouponWrite: Send {
    /// Add coupons.
    async fn insert_coupons(&mut self, coupons: &[CouponRow]) -> StoreResult<()>;
    /// A coupon by canonical code.
    async fn coupon(&mut self, code: &str) -> StoreResult<Option<CouponRow>>;
    /// Withdraw or reinstate a coupon.
    async fn set_coupon_active(&mut self, code: &str, active: bool) -> StoreResult<()>;
    /// Change a coupon's use count by `delta`.
    async fn add_coupon_uses(&mut self, code: &str, delta: i64) -> StoreResult<()>;
    /// Every use recorded for the orders `ids`.
    async fn coupon_uses_of(&mut self, order_ids: &[String]) -> StoreResult<Vec<CouponUseRow>>;
    /// Insert or update a use.
    async fn save_coupon_use(&mut self, row: &CouponUseRow) -> StoreResult<()>;
}

/// Coupon reads outside a transaction.
#[async_trait]
pub trait CouponReader: Send + Sync {
    /// A coupon by canonical code.
    async fn coupon(&self, ws: WorkspaceId, code: &str) -> StoreResult<Option<CouponRow>>;
    /// Coupons issued to a contact, newest first.
    async fn coupons_of(&self, ws: WorkspaceId, contact: ContactId) -> StoreResult<Vec<CouponRow>>;
    /// A coupon's uses, oldest first.
    async fn coupon_uses(&self, ws: WorkspaceId, code: &str) -> StoreResult<Vec<CouponUseRow>>;
}
