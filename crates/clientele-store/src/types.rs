//! Plain records passed across the store interface.

use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};

/// A workspace (one business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Id.
    pub id: WorkspaceId,
    /// Unique name.
    pub name: String,
    /// ISO 4217 base currency of every metric.
    pub currency: String,
    /// IANA time zone used for dates without a time.
    pub time_zone: String,
    /// Region used for national phone numbers.
    pub phone_region: String,
}

/// Input of workspace creation (already validated).
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    /// Unique name.
    pub name: String,
    /// Base currency code.
    pub currency: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Phone region code.
    pub phone_region: String,
}

/// Contact search filters; all given filters must hold.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// Exact external id.
    pub external_id: Option<String>,
    /// Exact normalised e-mail.
    pub email: Option<String>,
    /// Exact E.164 phone.
    pub phone: Option<String>,
    /// Case-insensitive substring of name, e-mail, phone or external id.
    pub text: Option<String>,
    /// Has this tag.
    pub tag: Option<String>,
    /// Only ids greater than this (keyset cursor).
    pub after: Option<ContactId>,
    /// Page size.
    pub limit: i64,
}

/// One page of a timeline: events older than `before_seq`.
#[derive(Debug, Clone)]
pub struct TimelinePage {
    /// Only events with a smaller sequence number.
    pub before_seq: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the workspace's log.
    pub seq: i64,
    /// Client-supplied id.
    pub client_id: String,
    /// Kind.
    pub kind: String,
    /// When it happened.
    pub occurred_at: Micros,
    /// When it was appended.
    pub received_at: Micros,
    /// Its `data` object.
    pub data: serde_json::Value,
}

/// A person's membership of a company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The person.
    pub person_id: ContactId,
    /// Free role text (buyer, owner, accountant…).
    pub role: Option<String>,
}

/// A row to append to the log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Client-supplied id.
    pub client_id: String,
    /// Kind spelling.
    pub kind: &'static str,
    /// When it happened.
    pub occurred_at: Micros,
    /// Resolved contact.
    pub contact_id: ContactId,
    /// Resolved recipient.
    pub recipient_id: Option<ContactId>,
    /// Resolved account.
    pub account_id: Option<ContactId>,
    /// Order id.
    pub order_id: Option<String>,
    /// Total or refund amount.
    pub amount: Option<i64>,
    /// Interaction type.
    pub detail: Option<String>,
    /// The coupon code an order names (kept in `data`; not a column).
    pub coupon: Option<String>,
    /// `data` as JSON text.
    pub data: String,
    /// Idempotency fingerprint.
    pub body_hash: [u8; 32],
    /// Append time.
    pub received_at: Micros,
}

/// A purchase as the lifetime-value models see it: an order that counts (paid, not
/// cancelled, not refunded in full), at its payment time, net of partial refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    /// The buyer.
    pub contact_id: ContactId,
    /// The buyer's external id, when they have one.
    pub external_id: Option<String>,
    /// Payment time.
    pub paid_at: Micros,
    /// Net amount in minor units of the base currency.
    pub amount: i64,
}

/// The latest lifetime-value fit of a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct ClvFitRecord {
    /// When it was fitted.
    pub fitted_at: Micros,
    /// Its report (JSON), as `POST /api/v1/clv/fit` returned it.
    pub report: String,
}

/// What the latest fit predicts for one contact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactClv {
    /// The contact.
    pub contact_id: ContactId,
    /// Probability they are still a customer.
    pub p_alive: f64,
    /// Expected purchases over the fit's horizon.
    pub expected_purchases: f64,
    /// Expected value of one purchase, minor units.
    pub expected_value: i64,
    /// Discounted lifetime value over the horizon, minor units.
    pub clv: i64,
}
