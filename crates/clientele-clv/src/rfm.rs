//! RFM scores: recency, frequency and monetary value, each a quintile from 1 (lowest) to
//! 5 (best), ranked over all customers.

use rayon::prelude::*;

use crate::summary::{CustomerSummary, ordered_bits};

/// One customer's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rfm {
    /// 5 for the most recent buyers (least time since the last purchase).
    pub recency: u8,
    /// 5 for the most purchase days.
    pub frequency: u8,
    /// 5 for the most value bought.
    pub monetary: u8,
}

/// Quintile of each position when ranked ascending by `key`; equal keys rank by position,
/// so the scores are deterministic whatever the ties.
fn quintiles(data: &[CustomerSummary], key: impl Fn(&CustomerSummary) -> f64 + Sync) -> Vec<u8> {
    let keys: Vec<f64> = data.par_iter().map(&key).collect();
    quintiles_of(&keys)
}

/// Quintile (1–5) of each value when ranked ascending; equal values rank by position.
pub fn quintiles_of(keys: &[f64]) -> Vec<u8> {
    let n = keys.len();
    // (key as an integer that orders as the float does, position): sorting these plain
    // pairs avoids chasing into the data on every comparison.
    let mut order: Vec<(u64, u32)> = keys
        .par_iter()
        .enumerate()
        .map(|(i, k)| (ordered_bits(*k), i as u32))
        .collect();
    order.par_sort_unstable();
    let mut out = vec![0u8; n];
    for (rank, (_, i)) in order.iter().enumerate() {
        out[*i as usize] = (rank * 5 / n) as u8 + 1;
    }
    out
}

/// Scores in the order of `data`.
pub fn rfm(data: &[CustomerSummary]) -> Vec<Rfm> {
    let (r, (f, m)) = rayon::join(
        // Recent is good: rank by minus the time since the last purchase.
        || quintiles(data, |c| c.recency - c.t),
        || {
            rayon::join(
                || quintiles(data, |c| c.frequency),
                || quintiles(data, |c| c.value),
            )
        },
    );
    (0..data.len())
        .map(|i| Rfm {
            recency: r[i],
            frequency: f[i],
            monetary: m[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(i: u32, frequency: f64, since_last: f64, value: f64) -> CustomerSummary {
        CustomerSummary {
            customer: i,
            frequency,
            recency: 50.0 - since_last,
            t: 50.0,
            monetary: 0.0,
            value,
            holdout_frequency: 0.0,
            holdout_value: 0.0,
        }
    }

    #[test]
    fn each_quintile_holds_a_fifth_and_the_best_score_five() {
        let data: Vec<CustomerSummary> = (0..10)
            .map(|i| customer(i, f64::from(i), f64::from(10 - i), f64::from(i) * 10.0))
            .collect();
        let scores = rfm(&data);
        let f: Vec<u8> = scores.iter().map(|s| s.frequency).collect();
        assert_eq!(f, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        let r: Vec<u8> = scores.iter().map(|s| s.recency).collect();
        assert_eq!(r, f, "the most frequent here also bought last");
        assert_eq!(scores[9].monetary, 5);
    }

    #[test]
    fn ties_are_broken_by_position() {
        let data: Vec<CustomerSummary> = (0..5).map(|i| customer(i, 1.0, 3.0, 10.0)).collect();
        let f: Vec<u8> = rfm(&data).iter().map(|s| s.frequency).collect();
        assert_eq!(f, vec![1, 2, 3, 4, 5]);
        assert_eq!(rfm(&data), rfm(&data));
    }
}
