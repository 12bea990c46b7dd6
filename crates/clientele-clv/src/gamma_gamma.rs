//! The Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary
//! value"): a customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ).

use statrs::function::gamma::ln_gamma;

use crate::bgnbd::Grouped;
use crate::fit::{Fit, FitError, maximize};
use crate::summary::CustomerSummary;

/// Gamma-Gamma parameters, named as in the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    /// Shape of each transaction's value.
    pub p: f64,
    /// Shape of the customers' scale distribution.
    pub q: f64,
    /// Scale of the customers' scale distribution.
    pub gamma: f64,
}

/// Parameter names, in fitting order.
pub const NAMES: &[&str] = &["p", "q", "gamma"];

impl GammaGamma {
    /// Log-likelihood of a customer's mean repeat value `m` over `x` repeat transactions.
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + (p * x) * x.ln()
            - (p * x + q) * (x * m + gamma).ln()
    }

    /// Expected mean transaction value of a customer with `x` repeats of mean value `m`.
    pub fn conditional_expected_value(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        p * (gamma + x * m) / (p * x + q - 1.0)
    }
}

/// Customers the spend model can use: at least one repeat, positive mean value.
pub fn usable(c: &CustomerSummary) -> bool {
    c.frequency > 0.0 && c.monetary > 0.0
}

/// Fit Gamma-Gamma on the usable customers; the caller reports how many were left out.
pub fn fit(data: &[CustomerSummary]) -> Result<Fit<GammaGamma>, FitError> {
    let used: Vec<CustomerSummary> = data.iter().filter(|c| usable(c)).copied().collect();
    let grouped = Grouped::new(&used, |c| [c.frequency, c.monetary, 0.0]);
    let mean_m = used.iter().map(|c| c.monetary).sum::<f64>() / used.len().max(1) as f64;
    let ll = |params: &[f64]| {
        let (p, q, gamma) = (params[0], params[1], params[2]);
        // The Gamma-function terms depend on the frequency alone.
        let base = q * gamma.ln() - ln_gamma(q);
        let per_x: Vec<f64> = grouped
            .xs
            .iter()
            .map(|x| base + ln_gamma(p * x + q) - ln_gamma(p * x) + (p * x) * x.ln())
            .collect();
        grouped
            .groups
            .iter()
            .map(|(i, m, _, n)| {
                let x = grouped.xs[*i];
                n * (per_x[*i] + (p * x - 1.0) * m.ln() - (p * x + q) * (x * m + gamma).ln())
            })
            .sum::<f64>()
    };
    let starts = [
        vec![1.0, 1.0, mean_m.max(1e-3)],
        vec![5.0, 3.0, 10.0],
        vec![0.5, 2.0, 1.0],
    ];
    maximize(ll, &starts, NAMES, used.len(), |p| GammaGamma {
        p: p[0],
        q: p[1],
        gamma: p[2],
    })
}
