//! Request handlers, one module per area.

pub mod automation;
pub mod clv;
pub mod contacts;
pub mod coupons;
pub mod events;
pub mod health;
pub mod ladder;
pub mod loyalty;
pub mod public_page;
pub mod referrals;
pub mod survey;
pub mod tasks;
pub mod unsubscribe;

use clientele_core::{ContactId, FieldError};

use crate::ApiError;

/// A path id that is not a number cannot name anything: 404, like any unknown id.
pub fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    raw.parse::<i64>()
        .map(ContactId)
        .map_err(|_| ApiError::NotFound("contact"))
}

/// Page size when none is asked for.
const DEFAULT_LIMIT: i64 = 50;
/// The largest page.
const MAX_LIMIT: i64 = 500;

pub fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(FieldError::new(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )
            .into()),
        },
    }
}

pub fn parse_cursor(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|s| {
        s.parse::<i64>()
            .map_err(|_| FieldError::new("cursor", "is not a cursor from a previous page").into())
    })
    .transpose()
}
