//! The BG/NBD log-likelihood and its gradient over a whole customer base, fast enough for
//! millions of customers: customers with the same (x, tₓ, T) form one weighted group, every
//! term that depends on x alone is computed once per distinct x, every logarithm of α + T
//! or α + tₓ once per distinct T or tₓ, and the groups are summed on all cores.

use rayon::prelude::*;
use statrs::function::gamma::{digamma, ln_gamma};

use crate::grouped::Grouped;

/// Groups below this count are summed on one core: splitting costs more than it saves.
const PARALLEL_FROM: usize = 16_384;

/// Grouped customers with their (x, tₓ, T) replaced by indexes into tables of distinct
/// values.
pub(crate) struct Indexed {
    xs: Vec<f64>,
    /// Customers per distinct x.
    x_weight: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// (x, tₓ, T) indexes and the number of customers.
    groups: Vec<([u32; 3], f64)>,
}

fn distinct(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.par_sort_unstable_by(f64::total_cmp);
    v.dedup();
    v
}

fn position(table: &[f64], v: f64) -> u32 {
    table.partition_point(|p| *p < v) as u32
}

impl Indexed {
    pub(crate) fn new(g: &Grouped) -> Self {
        let txs = distinct(g.groups.iter().map(|(_, tx, _, _)| *tx));
        let ts = distinct(g.groups.iter().map(|(_, _, t, _)| *t));
        let mut x_weight = vec![0.0; g.xs.len()];
        for (i, _, _, n) in &g.groups {
            x_weight[*i] += n;
        }
        let groups = g
            .groups
            .par_iter()
            .map(|(i, tx, t, n)| ([*i as u32, position(&txs, *tx), position(&ts, *t)], *n))
            .collect();
        Self {
            xs: g.xs.clone(),
            x_weight,
            txs,
            ts,
            groups,
        }
    }
}

/// Sums over groups: the log-likelihood part inside ln(e^A₃ + e^A₄) and the pieces of the
/// gradient that depend on each group's weight w₄ of the dropout term.
#[derive(Clone, Copy, Default)]
struct Sums {
    ll: f64,
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

impl std::ops::Add for Sums {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            ll: self.ll + o.ll,
            r: self.r + o.r,
            alpha: self.alpha + o.alpha,
            a: self.a + o.a,
            b: self.b + o.b,
        }
    }
}

/// Total log-likelihood and, when `gradient`, its gradient with respect to (r, α, a, b).
/// `params` are (r, α, a, b).
pub(crate) fn value_and_gradient(params: [f64; 4], d: &Indexed, gradient: bool) -> (f64, [f64; 4]) {
    let [r, alpha, a, b] = params;
    let ln_t: Vec<f64> = d.ts.iter().map(|t| (alpha + t).ln()).collect();
    let ln_tx: Vec<f64> = d.txs.iter().map(|t| (alpha + t).ln()).collect();
    let (inv_t, inv_tx): (Vec<f64>, Vec<f64>) = if gradient {
        (
            d.ts.iter().map(|t| 1.0 / (alpha + t)).collect(),
            d.txs.iter().map(|t| 1.0 / (alpha + t)).collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // ln(a / (b + x − 1)) for repeat buyers; −∞ marks x = 0 (no dropout term).
    let repeat: Vec<f64> =
        d.xs.iter()
            .map(|x| {
                if *x > 0.0 {
                    a.ln() - (b + x - 1.0).ln()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
    let inv_bx: Vec<f64> =
        d.xs.iter()
            .map(|x| if *x > 0.0 { 1.0 / (b + x - 1.0) } else { 0.0 })
            .collect();
    let group_sums = |chunk: &[([u32; 3], f64)]| {
        let mut s = Sums::default();
        for ([xi, txi, ti], n) in chunk {
            let (xi, txi, ti) = (*xi as usize, *txi as usize, *ti as usize);
            let c = r + d.xs[xi];
            let a3 = -c * ln_t[ti];
            let rep = repeat[xi];
            if rep == f64::NEG_INFINITY {
                s.ll += n * a3;
                if gradient {
                    s.r -= n * ln_t[ti];
                    s.alpha -= n * c * inv_t[ti];
                }
                continue;
            }
            let a4 = rep - c * ln_tx[txi];
            // ln(e^A₃ + e^A₄) and w₄ = e^A₄ / (e^A₃ + e^A₄) from one exponential.
            let e = (-(a4 - a3).abs()).exp();
            s.ll += n * (a3.max(a4) + e.ln_1p());
            if gradient {
                let w4 = if a4 >= a3 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                let w3 = 1.0 - w4;
                s.r -= n * (w3 * ln_t[ti] + w4 * ln_tx[txi]);
                s.alpha -= n * c * (w3 * inv_t[ti] + w4 * inv_tx[txi]);
                s.a += n * w4;
                s.b += n * w4 * inv_bx[xi];
            }
        }
        s
    };
    let sums = if d.groups.len() < PARALLEL_FROM {
        group_sums(&d.groups)
    } else {
        d.groups
            .par_chunks(4096)
            .map(group_sums)
            .reduce(Sums::default, |x, y| x + y)
    };
    // Terms of x alone, weighted by the customers with that x.
    let mut ll = sums.ll;
    let mut grad = [sums.r, sums.alpha, sums.a / a, -sums.b];
    let base = ln_gamma(a + b) - ln_gamma(b) - ln_gamma(r) + r * alpha.ln();
    let (psi_r, psi_ab, psi_b) = if gradient {
        (digamma(r), digamma(a + b), digamma(b))
    } else {
        (0.0, 0.0, 0.0)
    };
    for (x, w) in d.xs.iter().zip(&d.x_weight) {
        ll += w * (base + ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x));
        if gradient {
            let psi_abx = digamma(a + b + x);
            grad[0] += w * (digamma(r + x) - psi_r + alpha.ln());
            grad[1] += w * r / alpha;
            grad[2] += w * (psi_ab - psi_abx);
            grad[3] += w * (psi_ab + digamma(b + x) - psi_b - psi_abx);
        }
    }
    (ll, grad)
}
