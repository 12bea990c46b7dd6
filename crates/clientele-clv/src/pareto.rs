//! The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; likelihood as in
//! Fader, Hardie & Lee 2005): Poisson purchases with Gamma(r, α) rates, exponential
//! lifetimes with Gamma(s, β) dropout rates.

use statrs::function::gamma::ln_gamma;

use crate::fit::{Fit, FitError, maximize};
use crate::grouped::compress;
use crate::special::{hyp2f1, log_add_exp};
use crate::summary::CustomerSummary;

/// Pareto/NBD parameters, named as in the papers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    /// Shape of the purchase-rate Gamma.
    pub r: f64,
    /// Scale of the purchase-rate Gamma.
    pub alpha: f64,
    /// Shape of the dropout-rate Gamma.
    pub s: f64,
    /// Scale of the dropout-rate Gamma.
    pub beta: f64,
}

/// Parameter names, in fitting order.
pub const NAMES: &[&str] = &["r", "alpha", "s", "beta"];

impl ParetoNbd {
    /// ln A₀ of the likelihood, with the hypergeometric argument kept in [0, 1).
    fn log_a0(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let (min, max, second) = if alpha < beta {
            (alpha, beta, r + x)
        } else {
            (beta, alpha, s + 1.0)
        };
        let rsx = r + s + x;
        let p1 = hyp2f1(rsx, second, rsx + 1.0, (max - min) / (max + tx));
        let p2 = hyp2f1(rsx, second, rsx + 1.0, (max - min) / (max + t));
        let (q1, q2) = (max + tx, max + t);
        let l1 = p1.ln() + rsx * q2.ln();
        let l2 = p2.ln() + rsx * q1.ln();
        // ln(e^l1 − e^l2): l1 ≥ l2 since the customer's recency does not exceed its age.
        l1 + (-(l2 - l1).exp()).ln_1p() - rsx * (q1 * q2).ln()
    }

    /// Log-likelihood of one customer.
    pub fn log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let died = s.ln() + self.log_a0(x, tx, t) - (r + s + x).ln();
        a1 + log_add_exp(alive, died)
    }

    /// Probability that the customer is still active.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let e = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + t).ln()
            + s * (beta + t).ln()
            + self.log_a0(x, tx, t);
        1.0 / (1.0 + e.exp())
    }

    /// Expected purchases in the next `horizon` units given the customer's history.
    pub fn conditional_expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
            - (r + x) * (alpha + t).ln()
            - s * (beta + t).ln();
        let second = (r + x).ln() + (beta + t).ln() - (alpha + t).ln();
        let third = ((1.0 - ((beta + t) / (beta + t + horizon)).powf(s - 1.0)) / (s - 1.0)).ln();
        (first + second + third - self.log_likelihood(x, tx, t)).exp()
    }

    /// Expected purchases of a new customer in their first `t` units.
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)).powf(s - 1.0))
    }
}

/// Fit Pareto/NBD by maximum likelihood.
pub fn fit(data: &[CustomerSummary]) -> Result<Fit<ParetoNbd>, FitError> {
    let groups = compress(data, |c| [c.frequency, c.recency, c.t]);
    let mean_t = data.iter().map(|c| c.t).sum::<f64>() / data.len().max(1) as f64;
    let ll = |p: &[f64]| {
        let m = ParetoNbd {
            r: p[0],
            alpha: p[1],
            s: p[2],
            beta: p[3],
        };
        groups
            .iter()
            .map(|([x, tx, t], n)| n * m.log_likelihood(*x, *tx, *t))
            .sum::<f64>()
    };
    let starts = [
        vec![1.0, mean_t.max(1e-3), 1.0, mean_t.max(1e-3)],
        vec![0.5, 5.0, 0.5, 5.0],
        vec![0.2, 1.0, 2.0, 20.0],
    ];
    maximize(ll, &starts, NAMES, data.len(), |p| ParetoNbd {
        r: p[0],
        alpha: p[1],
        s: p[2],
        beta: p[3],
    })
}
