//! What loyalty operations refuse with, and the check they share that a contact is live:
//! one module that redemptions, coupons and referrals import, so none imports another.

use clientele_core::{ContactId, FieldError};
use clientele_loyalty::Insufficient;
use clientele_store::{StoreError, WriteTx};

/// Why a loyalty operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoyaltyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such live contact in the workspace.
    #[error("no such contact")]
    NotFound,
    /// A field is wrong.
    #[error("{0}")]
    Invalid(FieldError),
    /// The balance does not cover it.
    #[error(transparent)]
    Insufficient(#[from] Insufficient),
    /// The reward's stock is gone.
    #[error("the reward is out of stock")]
    OutOfStock,
    /// The reward cannot be redeemed now or by this contact.
    #[error("{0}")]
    Unavailable(String),
    /// The idempotency key was used for a different redemption.
    #[error("this idempotency key was already used for a different redemption")]
    KeyReused,
    /// A referral attribution was refused.
    #[error(transparent)]
    Referral(#[from] Refusal),
}

/// Why an attribution was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The referee is the referrer, or shares their mailbox or phone.
    #[error("self-referral: {0}")]
    SelfReferral(&'static str),
    /// The referrer was (directly or not) referred by the referee.
    #[error("referral loop: the code's owner was referred by this contact")]
    Loop,
    /// The referee has paid before.
    #[error("an existing customer cannot be referred")]
    ExistingCustomer,
    /// The referee was attributed already (the first code wins).
    #[error("the contact was already referred")]
    AlreadyReferred,
    /// The programme is switched off.
    #[error("the referral programme is switched off")]
    Disabled,
}

impl Refusal {
    /// A stable identifier for APIs.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::SelfReferral(_) => "self-referral",
            Self::Loop => "referral-loop",
            Self::ExistingCustomer => "existing-customer",
            Self::AlreadyReferred => "already-referred",
            Self::Disabled => "referrals-disabled",
        }
    }
}

/// Whether `contact` is a live contact (not merged away or deleted).
pub(crate) async fn live(tx: &mut dyn WriteTx, contact: ContactId) -> Result<(), LoyaltyError> {
    let live = tx.live_ids(&[contact]).await?;
    if live
        .iter()
        .any(|(asked, now)| *asked == contact && *now == contact)
    {
        Ok(())
    } else {
        Err(LoyaltyError::NotFound)
    }
}
