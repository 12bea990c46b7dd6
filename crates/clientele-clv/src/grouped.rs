//! Customers grouped by their summary: every model's likelihood is a sum over customers,
//! and customers with the same key contribute the same term, so it is summed once per
//! distinct key with the count as weight. Shared by all the models, so it imports none.

use rayon::prelude::*;

use crate::summary::{CustomerSummary, from_ordered_bits, ordered_bits};

/// Customers with the same `(x, tx, T)` share one likelihood term.
pub(crate) fn compress(
    data: &[CustomerSummary],
    key: impl Fn(&CustomerSummary) -> [f64; 3] + Sync,
) -> Vec<([f64; 3], f64)> {
    let mut keys: Vec<[u64; 3]> = data.par_iter().map(|c| key(c).map(ordered_bits)).collect();
    keys.par_sort_unstable();
    let mut out: Vec<([f64; 3], f64)> = Vec::new();
    let mut last: Option<[u64; 3]> = None;
    for bits in keys {
        match out.last_mut() {
            Some((_, n)) if last == Some(bits) => *n += 1.0,
            _ => out.push((bits.map(from_ordered_bits), 1.0)),
        }
        last = Some(bits);
    }
    out
}

/// Groups of identical `(x, tx, T)` with the index of their `x` among the distinct
/// frequencies: the Gamma-function terms depend on `x` alone, so a likelihood evaluation
/// computes them once per distinct frequency (a few dozen) rather than once per customer.
pub(crate) struct Grouped {
    pub xs: Vec<f64>,
    pub groups: Vec<(usize, f64, f64, f64)>,
}

impl Grouped {
    pub(crate) fn new(
        data: &[CustomerSummary],
        key: impl Fn(&CustomerSummary) -> [f64; 3] + Sync,
    ) -> Self {
        let compressed = compress(data, key);
        let mut xs: Vec<f64> = compressed.iter().map(|(k, _)| k[0]).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let groups = compressed
            .into_iter()
            .map(|([x, u, v], n)| (xs.partition_point(|p| *p < x), u, v, n))
            .collect();
        Self { xs, groups }
    }
}
