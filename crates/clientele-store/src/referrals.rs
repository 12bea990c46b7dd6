//! Storage of the referral programme: one code per contact, one attribution per referee,
//! and what each side received when it converted (so a revocation takes back exactly that).

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

use crate::StoreResult;

/// A referee's attribution to a referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRow {
    /// The contact who signed up with the code.
    pub referee_id: ContactId,
    /// The code's owner.
    pub referrer_id: ContactId,
    /// `pending`, `converted`, `revoked` or `expired`.
    pub status: String,
    /// When the referee signed up with the code.
    pub attributed_at: Micros,
    /// The first paid order must come before this instant.
    pub window_until: Micros,
    /// The qualifying order.
    pub order_id: Option<String>,
    /// When it converted.
    pub converted_at: Option<Micros>,
    /// Points the referrer received.
    pub referrer_points: i64,
    /// Points the referee received.
    pub referee_points: i64,
    /// Coupon the referrer received.
    pub referrer_coupon: Option<String>,
    /// Coupon the referee received.
    pub referee_coupon: Option<String>,
    /// When the rewards were taken back.
    pub revoked_at: Option<Micros>,
}

/// One referrer's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralStatsRow {
    /// The referrer.
    pub referrer_id: ContactId,
    /// Referees attributed.
    pub invited: i64,
    /// Referees whose first order converted (and was not revoked).
    pub converted: i64,
    /// Conversions revoked by a refund.
    pub revoked: i64,
    /// Net revenue of the converted referees, minor units.
    pub revenue: i64,
}

/// Referral reads and writes inside a [`crate::WriteTx`].
#[async_trait]
pub trait ReferralWrite: Send {
    /// A contact's referral code.
    async fn referral_code_of(&mut self, contact: ContactId) -> StoreResult<Option<String>>;
    /// Give a contact its code; false when the code is taken (draw another).
    async fn insert_referral_code(
        &mut self,
        contact: ContactId,
        code: &str,
        at: Micros,
    ) -> StoreResult<bool>;
    /// The owner of a code.
    async fn referrer_by_code(&mut self, code: &str) -> StoreResult<Option<ContactId>>;
    /// The attributions of the referees `ids`.
    async fn referrals_of(&mut self, referees: &[ContactId]) -> StoreResult<Vec<ReferralRow>>;
    /// Insert or update an attribution.
    async fn save_referral(&mut self, row: &ReferralRow) -> StoreResult<()>;
}

/// Referral reads outside a transaction.
#[async_trait]
pub trait ReferralReader: Send + Sync {
    /// A contact's referral code, if one was issued.
    async fn referral_code(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
    ) -> StoreResult<Option<String>>;
    /// Whose code this is, in any workspace (referral links carry only the code).
    async fn referral_code_owner(
        &self,
        code: &str,
    ) -> StoreResult<Option<(WorkspaceId, ContactId)>>;
    /// The attribution of a referee.
    async fn referral_of(
        &self,
        ws: WorkspaceId,
        referee: ContactId,
    ) -> StoreResult<Option<ReferralRow>>;
    /// Figures per referrer (one referrer when given), most revenue first.
    async fn referral_stats(
        &self,
        ws: WorkspaceId,
        referrer: Option<ContactId>,
        limit: i64,
    ) -> StoreResult<Vec<ReferralStatsRow>>;
}
