//! Maximum-likelihood fitting shared by the models: Nelder-Mead over log-parameters (so
//! every parameter stays positive) from several starts, a restart from the best point to
//! confirm convergence, and standard errors from the observed information matrix.

use argmin::core::{CostFunction, Error, Executor, State, TerminationReason, TerminationStatus};
use argmin::solver::neldermead::NelderMead;

/// A fitted model with its diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<M> {
    /// The parameters.
    pub model: M,
    /// Parameter names, in the order of `std_errors`.
    pub names: &'static [&'static str],
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Standard errors of the parameters (`None` when the information matrix is not
    /// positive definite at the optimum).
    pub std_errors: Option<Vec<f64>>,
    /// Optimiser iterations over all starts.
    pub iterations: u64,
    /// Whether the optimiser met its tolerance.
    pub converged: bool,
    /// Customers the model was fitted on.
    pub observations: usize,
}

impl<M> Fit<M> {
    /// The same fit with its model transformed (boxed, say).
    pub fn map<N>(self, f: impl FnOnce(M) -> N) -> Fit<N> {
        Fit {
            model: f(self.model),
            names: self.names,
            log_likelihood: self.log_likelihood,
            aic: self.aic,
            bic: self.bic,
            std_errors: self.std_errors,
            iterations: self.iterations,
            converged: self.converged,
            observations: self.observations,
        }
    }
}

/// Why a fit failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    /// Nothing to fit.
    #[error("no customers to fit the model on")]
    NoData,
    /// Every start ended at a non-finite likelihood.
    #[error(
        "the likelihood is not finite at any start point: the data cannot be fitted by this model"
    )]
    NonFinite,
    /// The optimiser stopped before meeting its tolerance.
    #[error(
        "the optimiser did not converge after {iterations} iterations (log-likelihood {log_likelihood})"
    )]
    NotConverged {
        /// Iterations used.
        iterations: u64,
        /// Best log-likelihood reached.
        log_likelihood: f64,
    },
}

struct Objective<'a, F: Fn(&[f64]) -> f64>(&'a F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, log_params: &Self::Param) -> Result<f64, Error> {
        let natural: Vec<f64> = log_params.iter().map(|p| p.exp()).collect();
        let nll = -(self.0)(&natural);
        // A NaN would stall the simplex; an infinitely bad point is simply rejected.
        Ok(if nll.is_finite() { nll } else { f64::MAX })
    }
}

const MAX_ITERS: u64 = 20_000;

fn simplex(start: &[f64], step: f64) -> Vec<Vec<f64>> {
    let mut points = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut p = start.to_vec();
        p[i] += step;
        points.push(p);
    }
    points
}

fn run<F: Fn(&[f64]) -> f64>(
    ll: &F,
    start_log: &[f64],
    step: f64,
) -> Result<(Vec<f64>, f64, u64, bool), Error> {
    // The spread of the simplex's values is judged relative to the likelihood's size: an
    // absolute 1e-10 is below f64 resolution for a likelihood of -40 000. Newton polishing
    // afterwards supplies the last digits.
    let scale = Objective(ll)
        .cost(&start_log.to_vec())?
        .abs()
        .clamp(1.0, 1e12);
    let solver = NelderMead::new(simplex(start_log, step)).with_sd_tolerance(1e-11 * scale)?;
    let result = Executor::new(Objective(ll), solver)
        .configure(|s| s.max_iters(MAX_ITERS))
        .run()?;
    let state = result.state();
    let best = state
        .get_best_param()
        .cloned()
        .unwrap_or_else(|| start_log.to_vec());
    let converged = matches!(
        state.get_termination_status(),
        TerminationStatus::Terminated(TerminationReason::SolverConverged)
    );
    Ok((best, -state.get_best_cost(), state.get_iter(), converged))
}

/// Maximise `ll` (a function of positive natural parameters) from each start; `names` label
/// the parameters and `n` is the number of customers (for BIC).
pub fn maximize<M, F>(
    ll: F,
    starts: &[Vec<f64>],
    names: &'static [&'static str],
    n: usize,
    build: impl Fn(&[f64]) -> M,
) -> Result<Fit<M>, FitError>
where
    F: Fn(&[f64]) -> f64,
{
    if n == 0 {
        return Err(FitError::NoData);
    }
    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut iterations = 0;
    for start in starts {
        let log_start: Vec<f64> = start.iter().map(|p| p.ln()).collect();
        let Ok((p, value, iters, _)) = run(&ll, &log_start, 0.5) else {
            continue;
        };
        iterations += iters;
        if value.is_finite() && best.as_ref().is_none_or(|(_, b)| value > *b) {
            best = Some((p, value));
        }
    }
    let (point, _) = best.ok_or(FitError::NonFinite)?;
    // Restart from the best point with a small simplex: a simplex that collapsed early
    // would show here as a further improvement.
    let (point, log_likelihood, iters, converged) =
        run(&ll, &point, 0.05).map_err(|_| FitError::NonFinite)?;
    iterations += iters;
    if !log_likelihood.is_finite() || log_likelihood == -f64::MAX {
        return Err(FitError::NonFinite);
    }
    if !converged {
        return Err(FitError::NotConverged {
            iterations,
            log_likelihood,
        });
    }
    Ok(finish(&ll, point, names, n, iterations, build))
}

/// Polish the optimiser's answer (log-parameters) and report it with its diagnostics.
fn finish<M, F: Fn(&[f64]) -> f64>(
    ll: &F,
    point: Vec<f64>,
    names: &'static [&'static str],
    n: usize,
    iterations: u64,
    build: impl Fn(&[f64]) -> M,
) -> Fit<M> {
    let (point, log_likelihood) = polish(ll, point);
    let natural: Vec<f64> = point.iter().map(|p| p.exp()).collect();
    let std_errors = standard_errors(ll, &natural);
    report(
        build(&natural),
        log_likelihood,
        names,
        n,
        iterations,
        std_errors,
    )
}

/// A converged fit with its information criteria.
fn report<M>(
    model: M,
    log_likelihood: f64,
    names: &'static [&'static str],
    n: usize,
    iterations: u64,
    std_errors: Option<Vec<f64>>,
) -> Fit<M> {
    let k = names.len() as f64;
    Fit {
        model,
        names,
        log_likelihood,
        aic: 2.0 * k - 2.0 * log_likelihood,
        bic: k * (n as f64).ln() - 2.0 * log_likelihood,
        std_errors,
        iterations,
        converged: true,
        observations: n,
    }
}

/// Minimise `f` (with gradient `g`) by BFGS with a bounded Armijo backtracking line search.
/// Returns the point, its value and the iterations, or `None` when no descent was possible
/// before convergence.
fn bfgs(
    f: &dyn Fn(&[f64]) -> f64,
    g: &dyn Fn(&[f64]) -> Vec<f64>,
    x0: &[f64],
    grad_tol: f64,
) -> Option<(Vec<f64>, f64, u64)> {
    let k = x0.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let identity = || -> Vec<Vec<f64>> {
        (0..k)
            .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect()
    };
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let mut gx = g(&x);
    if !fx.is_finite() || gx.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut h = identity();
    for iter in 1..=500u64 {
        if gx.iter().fold(0.0f64, |m, v| m.max(v.abs())) < grad_tol {
            return Some((x, fx, iter));
        }
        let mut p: Vec<f64> = (0..k).map(|i| -dot(&h[i], &gx)).collect();
        if iter == 1 || dot(&p, &gx) >= 0.0 {
            // Steepest descent scaled to a unit step in log-parameters: the gradient of a
            // million customers' likelihood is huge, and halving down from it wastes
            // dozens of evaluations.
            h = identity();
            let norm = gx.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
            p = gx.iter().map(|v| -v / norm).collect();
        }
        let slope = dot(&p, &gx);
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let candidate: Vec<f64> = x.iter().zip(&p).map(|(xi, pi)| xi + t * pi).collect();
            // Parameters beyond e^±15 are numerically meaningless for these models (the
            // Gamma-function terms cancel catastrophically there): such a step is too long.
            let fc = if candidate.iter().all(|v| v.abs() < 15.0) {
                f(&candidate)
            } else {
                f64::INFINITY
            };
            if fc.is_finite() && fc <= fx + 1e-4 * t * slope {
                accepted = Some((candidate, fc));
                break;
            }
            t *= 0.5;
        }
        let (x_new, f_new) = accepted?;
        let g_new = g(&x_new);
        if g_new.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&gx).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let done = (fx - f_new).abs() <= 1e-15 * fx.abs().max(1.0);
        x = x_new;
        fx = f_new;
        gx = g_new;
        if done {
            return Some((x, fx, iter));
        }
        if sy > 1e-12 {
            if iter == 1 {
                // Scale the first inverse Hessian to the curvature just seen (Nocedal &
                // Wright, eq. 6.20) before the first update.
                let scale = sy / dot(&y, &y);
                h = identity();
                h.iter_mut().enumerate().for_each(|(i, row)| row[i] = scale);
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..k).map(|i| dot(&h[i], &y)).collect();
            let yhy = dot(&y, &hy);
            for i in 0..k {
                for j in 0..k {
                    h[i][j] += -rho * (s[i] * hy[j] + hy[i] * s[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
    }
    None
}

/// `−ll` in log-parameter space, where the optimisers work.
fn neg_log_ll<F: Fn(&[f64]) -> f64>(ll: &F) -> impl Fn(&[f64]) -> f64 + '_ {
    move |p: &[f64]| -ll(&p.iter().map(|v| v.exp()).collect::<Vec<f64>>())
}

/// The gradient of [`neg_log_ll`]: d/d(ln θ) = θ d/dθ, negated.
fn neg_log_grad<G: Fn(&[f64]) -> Vec<f64>>(grad: &G) -> impl Fn(&[f64]) -> Vec<f64> + '_ {
    move |p: &[f64]| {
        let theta: Vec<f64> = p.iter().map(|v| v.exp()).collect();
        grad(&theta)
            .iter()
            .zip(&theta)
            .map(|(g, t)| -g * t)
            .collect()
    }
}

/// The best BFGS answer (log-parameters) over the starts, and the iterations spent.
fn best_bfgs<F, G>(ll: &F, grad: &G, starts: &[Vec<f64>], n: usize) -> Option<(Vec<f64>, u64)>
where
    F: Fn(&[f64]) -> f64,
    G: Fn(&[f64]) -> Vec<f64>,
{
    let (nll, ngrad) = (neg_log_ll(ll), neg_log_grad(grad));
    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut iterations = 0;
    for start in starts {
        let log_start: Vec<f64> = start.iter().map(|p| p.ln()).collect();
        // Newton polishes the answer, so BFGS need only get near: an average gradient of
        // 1e-5 per customer in log-parameters.
        if let Some((p, value, iters)) = bfgs(&nll, &ngrad, &log_start, 1e-5 * n as f64) {
            iterations += iters;
            if best.as_ref().is_none_or(|(_, b)| value < *b) {
                best = Some((p, value));
            }
        }
    }
    best.map(|(p, _)| (p, iterations))
}

/// The best of BFGS runs from each start, in natural parameters: used on a sample of a
/// large customer base to pick the one start the full data is then fitted from.
pub fn best_start<F, G>(ll: F, grad: G, starts: &[Vec<f64>], n: usize) -> Option<Vec<f64>>
where
    F: Fn(&[f64]) -> f64,
    G: Fn(&[f64]) -> Vec<f64>,
{
    best_bfgs(&ll, &grad, starts, n).map(|(p, _)| p.iter().map(|v| v.exp()).collect())
}

/// Maximise a smooth `ll` with its analytic gradient `grad` (natural parameters) by BFGS in
/// log-parameter space from each start, then Newton polishing with Hessians from the
/// gradient; falls back to [`maximize`] (Nelder-Mead) when no start converges.
pub fn maximize_smooth<M, F, G>(
    ll: F,
    grad: G,
    starts: &[Vec<f64>],
    names: &'static [&'static str],
    n: usize,
    build: impl Fn(&[f64]) -> M,
) -> Result<Fit<M>, FitError>
where
    F: Fn(&[f64]) -> f64,
    G: Fn(&[f64]) -> Vec<f64>,
{
    if n == 0 {
        return Err(FitError::NoData);
    }
    let Some((point, iterations)) = best_bfgs(&ll, &grad, starts, n) else {
        return maximize(ll, starts, names, n, build);
    };
    let (nll, ngrad) = (neg_log_ll(&ll), neg_log_grad(&grad));
    let (point, value, inverse) = newton_with_gradient(&nll, &ngrad, point);
    let natural: Vec<f64> = point.iter().map(|p| p.exp()).collect();
    // At the optimum the gradient vanishes, so the information matrix in natural
    // parameters is D⁻¹ H D⁻¹ (D = diag θ) and se(θᵢ) = θᵢ √(H⁻¹)ᵢᵢ.
    let std_errors = inverse.and_then(|inv| {
        let se: Vec<f64> = (0..natural.len())
            .map(|i| inv[i][i])
            .zip(&natural)
            .map(|(v, t)| if v > 0.0 { t * v.sqrt() } else { f64::NAN })
            .collect();
        se.iter().all(|s| s.is_finite()).then_some(se)
    });
    Ok(report(
        build(&natural),
        -value,
        names,
        n,
        iterations,
        std_errors,
    ))
}

/// Symmetrised Jacobian of a gradient `g` at `x` by forward differences with steps `h`,
/// `gx` being `g(x)`: the Hessian from k more gradient evaluations instead of O(k²)
/// function evaluations; its O(h) error is far below what Newton steps and standard
/// errors notice.
fn jacobian(g: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], gx: &[f64], h: &[f64]) -> Vec<Vec<f64>> {
    let k = x.len();
    let mut m = vec![vec![0.0; k]; k];
    for j in 0..k {
        let mut up = x.to_vec();
        up[j] += h[j];
        let gu = g(&up);
        for (i, row) in m.iter_mut().enumerate() {
            row[j] = (gu[i] - gx[i]) / h[j];
        }
    }
    // Forward differences are not exactly symmetric; the Hessian is.
    (0..k)
        .map(|i| (0..k).map(|j| (m[i][j] + m[j][i]) / 2.0).collect())
        .collect()
}

/// Newton steps on `f` with gradient `g` (log-parameters), halving a step that does not
/// improve: BFGS gets close, Newton gets the last digits. Stops once the Newton decrement
/// (the decrease the quadratic model still promises) is negligible. Returns the point, its
/// value and the inverse Hessian of the last step.
fn newton_with_gradient(
    f: &dyn Fn(&[f64]) -> f64,
    g: &dyn Fn(&[f64]) -> Vec<f64>,
    mut x: Vec<f64>,
) -> (Vec<f64>, f64, Option<Vec<Vec<f64>>>) {
    let mut value = f(&x);
    let mut last_inverse = None;
    for _ in 0..20 {
        let grad = g(&x);
        let Some(inv) = invert(jacobian(g, &x, &grad, &vec![1e-6; x.len()])) else {
            break;
        };
        let step: Vec<f64> = (0..x.len())
            .map(|i| -(0..x.len()).map(|j| inv[i][j] * grad[j]).sum::<f64>())
            .collect();
        let decrement = -grad.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>() / 2.0;
        last_inverse = Some(inv);
        let (scale, improved) = take_step(f, &mut x, &mut value, &step);
        let size = step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max);
        if !improved || size < 1e-10 || (scale == 1.0 && decrement < 1e-9) {
            break;
        }
    }
    (x, value, last_inverse)
}

/// Move `x` along `step`, halved until `f` does not get worse; returns the scale taken and
/// whether `f` improved (scale below 1e-6 with no improvement leaves `x` where it was).
fn take_step(
    f: &dyn Fn(&[f64]) -> f64,
    x: &mut Vec<f64>,
    value: &mut f64,
    step: &[f64],
) -> (f64, bool) {
    let mut scale = 1.0;
    while scale > 1e-6 {
        let candidate: Vec<f64> = x.iter().zip(step).map(|(v, s)| v + scale * s).collect();
        let v = f(&candidate);
        if v.is_finite() && v <= *value {
            let improved = v < *value;
            *x = candidate;
            *value = v;
            return (scale, improved);
        }
        scale /= 2.0;
    }
    (scale, false)
}

/// Gradient and Hessian of `f` at `x` by central differences with steps `h`.
fn derivatives(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let k = x.len();
    let at = |d: &[(usize, f64)]| {
        let mut p = x.to_vec();
        for (i, s) in d {
            p[*i] += s;
        }
        f(&p)
    };
    let f0 = at(&[]);
    let mut grad = vec![0.0; k];
    let mut hess = vec![vec![0.0; k]; k];
    for i in 0..k {
        let (up, down) = (at(&[(i, h[i])]), at(&[(i, -h[i])]));
        grad[i] = (up - down) / (2.0 * h[i]);
        hess[i][i] = (up - 2.0 * f0 + down) / (h[i] * h[i]);
        for j in (i + 1)..k {
            let v = (at(&[(i, h[i]), (j, h[j])])
                - at(&[(i, h[i]), (j, -h[j])])
                - at(&[(i, -h[i]), (j, h[j])])
                + at(&[(i, -h[i]), (j, -h[j])]))
                / (4.0 * h[i] * h[j]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    (grad, hess)
}

/// Newton steps on the negative log-likelihood in log-parameter space from the simplex's
/// answer, halving a step that does not improve: the simplex gets close, Newton gets the
/// last digits. Returns the point and its log-likelihood.
fn polish<F: Fn(&[f64]) -> f64>(ll: &F, mut x: Vec<f64>) -> (Vec<f64>, f64) {
    let nll = |p: &[f64]| {
        let natural: Vec<f64> = p.iter().map(|v| v.exp()).collect();
        -ll(&natural)
    };
    let mut value = nll(&x);
    for _ in 0..50 {
        let (grad, hess) = derivatives(&nll, &x, &vec![1e-5; x.len()]);
        let Some(inv) = invert(hess) else { break };
        let step: Vec<f64> = (0..x.len())
            .map(|i| -(0..x.len()).map(|j| inv[i][j] * grad[j]).sum::<f64>())
            .collect();
        let (scale, improved) = take_step(&nll, &mut x, &mut value, &step);
        let size = step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max);
        if !improved || size < 1e-12 {
            break;
        }
    }
    (x, -value)
}

/// Square roots of the diagonal of the inverse observed information (the Hessian of the
/// negative log-likelihood in natural parameters).
fn standard_errors<F: Fn(&[f64]) -> f64>(ll: &F, theta: &[f64]) -> Option<Vec<f64>> {
    let h: Vec<f64> = theta.iter().map(|t| 1e-4 * t.abs().max(1e-3)).collect();
    let (_, hess) = derivatives(&|p: &[f64]| -ll(p), theta, &h);
    let inv = invert(hess)?;
    let se: Vec<f64> = (0..theta.len())
        .map(|i| inv[i][i])
        .map(|v| if v > 0.0 { v.sqrt() } else { f64::NAN })
        .collect();
    se.iter().all(|s| s.is_finite()).then_some(se)
}

/// Gauss-Jordan inversion with partial pivoting; `None` when singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|a, b| m[*a][col].abs().total_cmp(&m[*b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let d = m[col][col];
        for j in 0..n {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..n {
            if row != col {
                let factor = m[row][col];
                for j in 0..n {
                    m[row][j] -= factor * m[col][j];
                    inv[row][j] -= factor * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gaussian_likelihood_is_maximised_at_its_mean() {
        // ll(mu, s) of three points; maximum at mu = 2, s^2 = 2/3.
        let xs = [1.0, 2.0, 3.0];
        let ll = |p: &[f64]| {
            xs.iter()
                .map(|x| -((x - p[0]) / p[1]).powi(2) / 2.0 - p[1].ln())
                .sum::<f64>()
        };
        let fit = maximize(ll, &[vec![1.0, 1.0]], &["mu", "sigma"], 3, |p| p.to_vec()).unwrap();
        assert!((fit.model[0] - 2.0).abs() < 1e-6);
        assert!((fit.model[1] - (2.0f64 / 3.0).sqrt()).abs() < 1e-6);
        assert!(fit.std_errors.is_some());
    }

    #[test]
    fn no_data_is_an_error() {
        assert_eq!(
            maximize(|_: &[f64]| 0.0, &[vec![1.0]], &["x"], 0, |p| p[0]).unwrap_err(),
            FitError::NoData
        );
    }
}
