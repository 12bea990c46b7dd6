//! Per-customer predictions from a fitted purchase model and, optionally, a spend model.

use rayon::prelude::*;

use crate::gamma_gamma::{self, GammaGamma};
use crate::model::{PurchaseModel, lifetime_value};
use crate::summary::CustomerSummary;

/// What the models say about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Probability the customer is still active.
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected value of one purchase.
    pub expected_value: f64,
    /// Discounted value of the expected purchases over the horizon.
    pub clv: f64,
}

/// Predictions over `horizon` whole units with `discount` per unit, in the order of
/// `summaries`.
///
/// Without a spend model a customer's own mean repeat value stands in for the expected
/// value; customers without a positive one get the mean over those who have it (as does
/// the spend model's input, which needs a positive observed mean).
pub fn predict(
    model: &dyn PurchaseModel,
    spend: Option<&GammaGamma>,
    summaries: &[CustomerSummary],
    horizon: u32,
    discount: f64,
) -> Vec<Prediction> {
    let (sum, n) = summaries
        .iter()
        .filter(|c| gamma_gamma::usable(c))
        .fold((0.0, 0usize), |(s, n), c| (s + c.monetary, n + 1));
    let overall = sum / n.max(1) as f64;
    summaries
        .par_iter()
        .map(|c| {
            let (x, tx, t) = (c.frequency, c.recency, c.t);
            let observed = if c.monetary > 0.0 {
                c.monetary
            } else {
                overall
            };
            let expected_value = match spend {
                Some(gg) => gg.conditional_expected_value(x, observed),
                None => observed,
            };
            Prediction {
                p_alive: model.p_alive(x, tx, t),
                expected_purchases: model.conditional_expected_purchases(
                    f64::from(horizon),
                    x,
                    tx,
                    t,
                ),
                expected_value,
                clv: lifetime_value(model, horizon, discount, x, tx, t, expected_value),
            }
        })
        .collect()
}
