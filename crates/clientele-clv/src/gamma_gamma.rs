//! The Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary
//! value"): a customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ).

use rayon::prelude::*;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::fit::{Fit, FitError, maximize_smooth};
use crate::grouped::Grouped;
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

/// Usable customers grouped by (x, m), with ln m and x ln x computed once.
struct SpendData {
    xs: Vec<f64>,
    /// (index of x, x·m, weighted ln m, customers).
    groups: Vec<(usize, f64, f64, f64)>,
    /// Customers per distinct x.
    x_weight: Vec<f64>,
}

impl SpendData {
    fn new(used: &[CustomerSummary]) -> Self {
        let grouped = Grouped::new(used, |c| [c.frequency, c.monetary, 0.0]);
        let mut x_weight = vec![0.0; grouped.xs.len()];
        let groups = grouped
            .groups
            .iter()
            .map(|(i, m, _, n)| {
                x_weight[*i] += n;
                (*i, grouped.xs[*i] * m, n * m.ln(), *n)
            })
            .collect();
        Self {
            xs: grouped.xs,
            groups,
            x_weight,
        }
    }

    /// Log-likelihood and its gradient with respect to (p, q, γ).
    fn value_and_gradient(&self, params: &[f64], gradient: bool) -> (f64, Vec<f64>) {
        let (p, q, gamma) = (params[0], params[1], params[2]);
        let mut ll = 0.0;
        let mut g = vec![0.0; 3];
        // Terms of x alone.
        let base = q * gamma.ln() - ln_gamma(q);
        let psi_q = if gradient { digamma(q) } else { 0.0 };
        for (x, w) in self.xs.iter().zip(&self.x_weight) {
            let px = p * x;
            ll += w * (base + ln_gamma(px + q) - ln_gamma(px) + px * x.ln());
            if gradient {
                let psi_pxq = digamma(px + q);
                g[0] += w * x * (psi_pxq - digamma(px) + x.ln());
                g[1] += w * (psi_pxq - psi_q + gamma.ln());
                g[2] += w * q / gamma;
            }
        }
        let chunk_sums = |chunk: &[(usize, f64, f64, f64)]| {
            let mut s = [0.0; 4];
            for (i, xm, n_ln_m, n) in chunk {
                let x = self.xs[*i];
                let px = p * x;
                let ln_xm_g = (xm + gamma).ln();
                s[0] += (px - 1.0) * n_ln_m - n * (px + q) * ln_xm_g;
                if gradient {
                    s[1] += x * (n_ln_m - n * ln_xm_g);
                    s[2] -= n * ln_xm_g;
                    s[3] -= n * (px + q) / (xm + gamma);
                }
            }
            s
        };
        // A large base is summed on all cores; a small one is not worth the split.
        let s = if self.groups.len() < 16_384 {
            chunk_sums(&self.groups)
        } else {
            self.groups.par_chunks(4096).map(chunk_sums).reduce(
                || [0.0; 4],
                |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]],
            )
        };
        ll += s[0];
        g[0] += s[1];
        g[1] += s[2];
        g[2] += s[3];
        (ll, g)
    }
}

/// Fit Gamma-Gamma on the usable customers; the caller reports how many were left out.
pub fn fit(data: &[CustomerSummary]) -> Result<Fit<GammaGamma>, FitError> {
    let used: Vec<CustomerSummary> = data.iter().filter(|c| usable(c)).copied().collect();
    let d = SpendData::new(&used);
    let mean_m = used.iter().map(|c| c.monetary).sum::<f64>() / used.len().max(1) as f64;
    let starts = [
        vec![1.0, 1.0, mean_m.max(1e-3)],
        vec![5.0, 3.0, 10.0],
        vec![0.5, 2.0, 1.0],
    ];
    maximize_smooth(
        |p: &[f64]| d.value_and_gradient(p, false).0,
        |p: &[f64]| d.value_and_gradient(p, true).1,
        &starts,
        NAMES,
        used.len(),
        |p| GammaGamma {
            p: p[0],
            q: p[1],
            gamma: p[2],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grouped_likelihood_and_its_gradient_match_the_per_customer_formula() {
        let data: Vec<CustomerSummary> = (0..40)
            .map(|i| CustomerSummary {
                customer: i,
                frequency: f64::from(1 + i % 4),
                recency: 0.0,
                t: 0.0,
                monetary: 10.0 + f64::from(i % 7),
                value: 0.0,
                holdout_frequency: 0.0,
                holdout_value: 0.0,
            })
            .collect();
        let d = SpendData::new(&data);
        let at = [6.0, 3.5, 15.0];
        let m = GammaGamma {
            p: at[0],
            q: at[1],
            gamma: at[2],
        };
        let direct: f64 = data
            .iter()
            .map(|c| m.log_likelihood(c.frequency, c.monetary))
            .sum();
        let (ll, grad) = d.value_and_gradient(&at, true);
        assert!(
            (ll - direct).abs() < 1e-9 * direct.abs(),
            "{ll} vs {direct}"
        );
        for i in 0..3 {
            let h = 1e-6 * at[i];
            let (mut up, mut down) = (at, at);
            up[i] += h;
            down[i] -= h;
            let numeric = (d.value_and_gradient(&up, false).0
                - d.value_and_gradient(&down, false).0)
                / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-5 * numeric.abs().max(1.0),
                "d/d{}: {numeric} vs {}",
                NAMES[i],
                grad[i]
            );
        }
    }
}
