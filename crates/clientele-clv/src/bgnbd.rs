//! The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy
//! way"): purchases follow a Poisson process with Gamma(r, α) heterogeneity; after each
//! purchase a customer drops out with probability p ~ Beta(a, b).

use statrs::function::gamma::ln_gamma;

use crate::bgnbd_likelihood::{Indexed, value_and_gradient};
use crate::fit::{Fit, FitError, best_start, maximize_smooth};
use crate::grouped::Grouped;
use crate::special::{hyp2f1, log_add_exp};
use crate::summary::CustomerSummary;

/// BG/NBD parameters, named as in the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
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

impl BgNbd {
    /// The parameters as (r, α, a, b).
    pub fn params(&self) -> [f64; 4] {
        [self.r, self.alpha, self.a, self.b]
    }

    /// Log-likelihood of one customer with `x` repeat purchases, recency `tx`, age `t`.
    pub fn log_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        let a4 = if x > 0.0 {
            a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln()
        } else {
            f64::NEG_INFINITY
        };
        a1 + a2 + log_add_exp(a3, a4)
    }

    /// Probability that the customer is still active.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let Self { r, alpha, a, b } = *self;
        let odds = (a / (b + x - 1.0)) * ((alpha + t) / (alpha + tx)).powf(r + x);
        1.0 / (1.0 + odds)
    }

    /// Expected purchases in the next `horizon` units given the customer's history.
    pub fn conditional_expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let z = horizon / (alpha + t + horizon);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let tail = 1.0
            - ((alpha + t) / (alpha + t + horizon)).powf(r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + t) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        head * tail / denominator
    }

    /// Expected purchases of a new customer in their first `t` units.
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, t / (alpha + t)))
    }
}

/// Total log-likelihood of grouped data.
pub(crate) fn total_log_likelihood(m: &BgNbd, d: &Indexed) -> f64 {
    value_and_gradient(m.params(), d, false).0
}

/// Gradient of [`total_log_likelihood`] with respect to (r, α, a, b).
pub(crate) fn total_gradient(m: &BgNbd, d: &Indexed) -> Vec<f64> {
    value_and_gradient(m.params(), d, true).1.to_vec()
}

/// Above this many customers the start is chosen on a systematic sample of this size.
const SAMPLE: usize = 20_000;

fn indexed(data: &[CustomerSummary]) -> Indexed {
    Indexed::new(&Grouped::new(data, |c| [c.frequency, c.recency, c.t]))
}

fn from_slice(p: &[f64]) -> BgNbd {
    BgNbd {
        r: p[0],
        alpha: p[1],
        a: p[2],
        b: p[3],
    }
}

/// Fit BG/NBD by maximum likelihood: BFGS from several starts (on a sample of a large
/// base, whose best answer then starts the fit on all customers), then Newton.
pub fn fit(data: &[CustomerSummary]) -> Result<Fit<BgNbd>, FitError> {
    let mean_t = data.iter().map(|c| c.t).sum::<f64>() / data.len().max(1) as f64;
    let mut starts = vec![
        vec![1.0, mean_t.max(1e-3), 1.0, 1.0],
        vec![0.5, 1.0, 0.5, 2.0],
        vec![0.1, 10.0, 2.0, 5.0],
    ];
    if data.len() > SAMPLE {
        let sample: Vec<CustomerSummary> = data
            .iter()
            .step_by(data.len().div_ceil(SAMPLE))
            .copied()
            .collect();
        let d = indexed(&sample);
        if let Some(best) = best_start(
            |p: &[f64]| total_log_likelihood(&from_slice(p), &d),
            |p: &[f64]| total_gradient(&from_slice(p), &d),
            &starts,
            sample.len(),
        ) {
            starts = vec![best];
        }
    }
    let d = indexed(data);
    maximize_smooth(
        |p: &[f64]| total_log_likelihood(&from_slice(p), &d),
        |p: &[f64]| total_gradient(&from_slice(p), &d),
        &starts,
        NAMES,
        data.len(),
        from_slice,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grouped_likelihood_equals_the_sum_over_customers() {
        let data: Vec<CustomerSummary> = (0..50)
            .map(|i| {
                let x = f64::from(i % 5);
                CustomerSummary {
                    customer: i,
                    frequency: x,
                    recency: x * 3.0,
                    t: 30.0 + f64::from(i % 3),
                    monetary: 0.0,
                    value: 0.0,
                    holdout_frequency: 0.0,
                    holdout_value: 0.0,
                }
            })
            .collect();
        let m = BgNbd {
            r: 0.3,
            alpha: 4.0,
            a: 0.8,
            b: 2.5,
        };
        let direct: f64 = data
            .iter()
            .map(|c| m.log_likelihood(c.frequency, c.recency, c.t))
            .sum();
        let grouped = total_log_likelihood(&m, &indexed(&data));
        assert!(
            (direct - grouped).abs() < 1e-9 * direct.abs(),
            "{direct} vs {grouped}"
        );
    }

    #[test]
    fn the_analytic_gradient_matches_finite_differences() {
        let data: Vec<CustomerSummary> = (0..60)
            .map(|i| {
                let x = f64::from(i % 6);
                CustomerSummary {
                    customer: i,
                    frequency: x,
                    recency: x * 2.5,
                    t: 30.0 + f64::from(i % 4),
                    monetary: 0.0,
                    value: 0.0,
                    holdout_frequency: 0.0,
                    holdout_value: 0.0,
                }
            })
            .collect();
        let g = indexed(&data);
        let p = [0.3, 4.0, 0.8, 2.5];
        let f = |q: &[f64]| {
            total_log_likelihood(
                &BgNbd {
                    r: q[0],
                    alpha: q[1],
                    a: q[2],
                    b: q[3],
                },
                &g,
            )
        };
        let analytic = total_gradient(
            &BgNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            },
            &g,
        );
        for i in 0..4 {
            let h = 1e-6 * p[i];
            let (mut up, mut down) = (p, p);
            up[i] += h;
            down[i] -= h;
            let numeric = (f(&up) - f(&down)) / (2.0 * h);
            assert!(
                (numeric - analytic[i]).abs() < 1e-5 * numeric.abs().max(1.0),
                "d/d{}: {numeric} vs {}",
                NAMES[i],
                analytic[i]
            );
        }
    }
}
