//! The modified BG/NBD model (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but a
//! customer may also drop out at time zero, before any repeat purchase.

use statrs::function::gamma::ln_gamma;

use crate::fit::{Fit, FitError, maximize};
use crate::grouped::Grouped;
use crate::special::{hyp2f1, log_add_exp};
use crate::summary::CustomerSummary;

/// Modified BG/NBD parameters, named as BG/NBD's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModifiedBgNbd {
    /// Shape of the purchase-rate Gamma.
    pub r: f64,
    /// Scale of the purchase-rate Gamma.
    pub alpha: f64,
    /// Beta dropout parameter a.
    pub a: f64,
    /// Beta dropout parameter b.
    pub b: f64,
}

/// Parameter names, in fitting order.
pub const NAMES: &[&str] = &["r", "alpha", "a", "b"];

impl ModifiedBgNbd {
    /// Log-likelihood of one customer.
    pub fn log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0) - ln_gamma(b) - ln_gamma(a + b + x + 1.0);
        let a3 = -(r + x) * (alpha + t).ln();
        let a4 = a.ln() - (b + x).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
        a1 + a2 + a3 + log_add_exp(a4, 0.0)
    }

    /// Probability that the customer is still active.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        1.0 / (1.0 + (a / (b + x)) * ((alpha + t) / (alpha + tx)).powf(r + x))
    }

    /// Expected purchases in the next `horizon` units given the customer's history.
    pub fn conditional_expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let hyp = hyp2f1(
            r + x,
            b + x + 1.0,
            a + b + x,
            horizon / (alpha + t + horizon),
        );
        let numerator = (a + b + x) / (a - 1.0)
            * (1.0 - hyp * ((alpha + t) / (alpha + horizon + t)).powf(r + x));
        numerator / (1.0 + (a / (b + x)) * ((alpha + t) / (alpha + tx)).powf(r + x))
    }

    /// Expected purchases of a new customer in their first `t` units.
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        b / (a - 1.0)
            * (1.0 - hyp2f1(r, b + 1.0, a + b, t / (alpha + t)) * (alpha / (alpha + t)).powf(r))
    }
}

/// Fit the modified BG/NBD by maximum likelihood.
pub fn fit(data: &[CustomerSummary]) -> Result<Fit<ModifiedBgNbd>, FitError> {
    let grouped = Grouped::new(data, |c| [c.frequency, c.recency, c.t]);
    let mean_t = data.iter().map(|c| c.t).sum::<f64>() / data.len().max(1) as f64;
    let ll = |p: &[f64]| {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        // The Gamma-function terms depend on the frequency alone.
        let base = ln_gamma(a + b) - ln_gamma(b) - ln_gamma(r) + r * alpha.ln();
        let per_x: Vec<(f64, f64)> = grouped
            .xs
            .iter()
            .map(|x| {
                (
                    base + ln_gamma(r + x) + ln_gamma(b + x + 1.0) - ln_gamma(a + b + x + 1.0),
                    a.ln() - (b + x).ln(),
                )
            })
            .collect();
        grouped
            .groups
            .iter()
            .map(|(i, tx, t, n)| {
                let x = grouped.xs[*i];
                let (gammas, odds) = per_x[*i];
                let a4 = odds + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
                n * (gammas - (r + x) * (alpha + t).ln() + log_add_exp(a4, 0.0))
            })
            .sum::<f64>()
    };
    let starts = [
        vec![1.0, mean_t.max(1e-3), 1.0, 1.0],
        vec![0.5, 1.0, 0.5, 2.0],
        vec![0.1, 10.0, 2.0, 5.0],
    ];
    maximize(ll, &starts, NAMES, data.len(), |p| ModifiedBgNbd {
        r: p[0],
        alpha: p[1],
        a: p[2],
        b: p[3],
    })
}
