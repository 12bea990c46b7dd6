//! Building facts in tests: days from an origin, orders, interactions.
#![allow(dead_code, reason = "each test file uses a different subset")]

use clientele_ladder::{DAY, Facts, Micros, OrderFact};

/// Day `d` at 00:00 (the origin is day 0).
pub fn day(d: i64) -> Micros {
    d * DAY
}

/// The last instant of day `d` ("as of day d").
pub fn end_of(d: i64) -> Micros {
    (d + 1) * DAY - 1
}

/// A paid order of 10.00 on day `d`.
pub fn paid(d: i64) -> OrderFact {
    OrderFact {
        paid_at: day(d),
        unpaid_at: None,
        revenue: 1000,
    }
}

/// Facts with paid orders on the given days.
pub fn orders(days: &[i64]) -> Facts {
    Facts {
        orders: days.iter().map(|d| paid(*d)).collect(),
        ..Facts::default()
    }
}
