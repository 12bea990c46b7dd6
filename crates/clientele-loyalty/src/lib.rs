//! The loyalty program, pure: earn rules as data, the points an order earns, and the points
//! ledger — lots that expire, spent oldest first, reversals that turn into a debt rather
//! than a negative balance — coupons, and the referral programme's rules. The store persists what these functions decide.

pub mod coupon;
pub mod earn;
pub mod ledger;
pub mod rules;

pub use earn::{Bonus, OrderEarning, PaidHistory, order_points, reversal_target, under_day_cap};
pub use ledger::{Account, Cause, Entry, EntryKind, Insufficient, Lot, Unloaded};
pub use rules::{EarnRules, Rate, ReferralReward, ReferralRules, RuleError};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;
