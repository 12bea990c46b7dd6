//! From transactions to the per-customer statistics the models read.
//!
//! Several orders on one day are one transaction. `frequency` counts the distinct purchase
//! days after the first, `recency` is first to last purchase day and `T` first purchase day
//! to the end of calibration, in whole days divided by the unit — as in the published
//! analyses (a first purchase on 1997-01-01 gives T = 272/7 weeks at 1997-09-30).

/// One purchase: a customer index, a day number (days since any fixed epoch) and an amount.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Txn {
    /// Customer index (position in the caller's id table).
    pub customer: u32,
    /// Day number.
    pub day: i32,
    /// Amount spent.
    pub amount: f64,
}

/// Time unit of recency, T and predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Days.
    Day,
    /// Weeks of 7 days.
    Week,
}

impl Unit {
    /// Days per unit.
    pub fn days(self) -> f64 {
        match self {
            Self::Day => 1.0,
            Self::Week => 7.0,
        }
    }
}

/// An integer that orders as `v` does in IEEE total order: sorting these is several times
/// faster than comparing floats.
pub(crate) fn ordered_bits(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The float of [`ordered_bits`].
pub(crate) fn from_ordered_bits(b: u64) -> f64 {
    f64::from_bits(if b >> 63 == 1 { b & !(1 << 63) } else { !b })
}

/// Statistics of one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerSummary {
    /// Customer index.
    pub customer: u32,
    /// Repeat purchase days in calibration.
    pub frequency: f64,
    /// First to last purchase day in calibration, in units.
    pub recency: f64,
    /// First purchase day to the end of calibration, in units.
    pub t: f64,
    /// Mean value of the repeat purchase days (0 without repeats).
    pub monetary: f64,
    /// Total value bought in calibration, first purchase day included.
    pub value: f64,
    /// Purchase days in the holdout period.
    pub holdout_frequency: f64,
    /// Value bought in the holdout period.
    pub holdout_value: f64,
}

/// Summarise transactions for customers whose first purchase is on or before
/// `calibration_end`; purchases in `(calibration_end, holdout_end]` form the holdout.
pub fn summarize(
    txns: &[Txn],
    calibration_end: i32,
    holdout_end: Option<i32>,
    unit: Unit,
) -> Vec<CustomerSummary> {
    let mut sorted: Vec<Txn> = txns.to_vec();
    sorted.sort_unstable_by_key(|t| (t.customer, t.day));
    let holdout_end = holdout_end.unwrap_or(calibration_end);
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let customer = sorted[i].customer;
        let mut j = i;
        while j < sorted.len() && sorted[j].customer == customer {
            j += 1;
        }
        if let Some(s) = summarize_one(&sorted[i..j], calibration_end, holdout_end, unit) {
            out.push(s);
        }
        i = j;
    }
    out
}

/// `txns` are one customer's, sorted by day.
fn summarize_one(
    txns: &[Txn],
    calibration_end: i32,
    holdout_end: i32,
    unit: Unit,
) -> Option<CustomerSummary> {
    let first = txns.first()?.day;
    if first > calibration_end {
        return None;
    }
    // Day totals, in day order.
    let mut days: Vec<(i32, f64)> = Vec::new();
    for t in txns {
        match days.last_mut() {
            Some((d, v)) if *d == t.day => *v += t.amount,
            _ => days.push((t.day, t.amount)),
        }
    }
    let (cal, rest): (Vec<_>, Vec<_>) = days.iter().partition(|(d, _)| *d <= calibration_end);
    let last = cal.last().map_or(first, |(d, _)| *d);
    let repeats = &cal[1..];
    let monetary = if repeats.is_empty() {
        0.0
    } else {
        repeats.iter().map(|(_, v)| v).sum::<f64>() / repeats.len() as f64
    };
    let holdout: Vec<_> = rest.iter().filter(|(d, _)| *d <= holdout_end).collect();
    Some(CustomerSummary {
        customer: txns[0].customer,
        frequency: repeats.len() as f64,
        recency: f64::from(last - first) / unit.days(),
        t: f64::from(calibration_end - first) / unit.days(),
        monetary,
        value: cal.iter().map(|(_, v)| v).sum(),
        holdout_frequency: holdout.len() as f64,
        holdout_value: holdout.iter().map(|(_, v)| v).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(customer: u32, day: i32, amount: f64) -> Txn {
        Txn {
            customer,
            day,
            amount,
        }
    }

    #[test]
    fn orders_on_one_day_are_one_transaction() {
        let s = summarize(
            &[
                t(0, 0, 10.0),
                t(0, 0, 5.0),
                t(0, 7, 20.0),
                t(0, 7, 2.0),
                t(0, 14, 0.0),
            ],
            272,
            None,
            Unit::Week,
        );
        assert_eq!(s[0].frequency, 2.0);
        assert_eq!(s[0].recency, 2.0);
        assert_eq!(s[0].t, 272.0 / 7.0);
        assert_eq!(
            s[0].monetary, 11.0,
            "zero-value days are transactions: (22 + 0) / 2"
        );
    }

    #[test]
    fn holdout_purchases_are_counted_apart() {
        let s = summarize(
            &[
                t(0, 0, 10.0),
                t(0, 300, 5.0),
                t(0, 301, 6.0),
                t(0, 400, 9.0),
                t(1, 280, 1.0),
            ],
            272,
            Some(350),
            Unit::Day,
        );
        assert_eq!(
            s.len(),
            1,
            "a customer who first bought after calibration is left out"
        );
        assert_eq!(
            (s[0].frequency, s[0].holdout_frequency, s[0].holdout_value),
            (0.0, 2.0, 11.0)
        );
        assert_eq!(s[0].monetary, 0.0);
    }
}
