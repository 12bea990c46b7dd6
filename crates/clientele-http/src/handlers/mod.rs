//! Request handlers, one module per area.

pub mod clv;
pub mod contacts;
pub mod events;
pub mod health;
pub mod ladder;

use clientele_core::ContactId;

use crate::ApiError;

/// A path id that is not a number cannot name anything: 404, like any unknown id.
pub fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    raw.parse::<i64>()
        .map(ContactId)
        .map_err(|_| ApiError::NotFound("contact"))
}
