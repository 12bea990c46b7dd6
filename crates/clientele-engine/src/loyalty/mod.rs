//! The loyalty program in the engine: earn rules stored per workspace, points earned and
//! taken back by order events in the ingest transaction, redemptions, adjustments,
//! expiry, coupons and referrals. Every decision is made by the pure `clientele-loyalty` crate on accounts loaded
//! inside a write transaction, which holds the workspace's write lock: two redemptions can
//! never read the same balance.

pub(crate) mod accounts;
pub mod coupons;
mod error;
mod expire;
mod ingest;
mod redeem;
pub mod referrals;
mod rules;

pub use error::LoyaltyError;
pub use expire::{expire_due, expire_everyone_due};
pub use ingest::on_events;
pub use redeem::{Adjusted, Redeemed, add_reward, adjust, redeem};
pub use rules::{active_rules, current_rules, set_rules};

use clientele_core::time::Micros;

/// When a lot earned at `at` expires: `months` calendar months later in the workspace's
/// time zone (the same wall-clock time; the end of a shorter month when the day is missing).
pub fn expiry_of(at: Micros, months: u32, time_zone: &str) -> Micros {
    let add = || -> Option<Micros> {
        let tz = jiff::tz::TimeZone::get(time_zone).ok()?;
        let zoned = jiff::Timestamp::from_microsecond(at).ok()?.to_zoned(tz);
        let later = zoned
            .checked_add(jiff::Span::new().months(i64::from(months)))
            .ok()?;
        Some(later.timestamp().as_microsecond())
    };
    // An unusable zone or an instant out of range: thirty days a month.
    add().unwrap_or(at + i64::from(months) * 30 * clientele_core::time::DAY)
}
