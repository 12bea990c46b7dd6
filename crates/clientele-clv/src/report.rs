//! A fit's report as the CLI prints it and the API returns it: parameters named as in the
//! papers, standard errors, fit statistics and, with a holdout, predicted against actual.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostics::holdout_by_frequency;
use crate::fit::Fit;
use crate::fitted::FittedModel;
use crate::gamma_gamma::GammaGamma;
use crate::summary::{CustomerSummary, Unit};

/// Calibration frequencies shown one by one; higher ones share the last row.
pub const FREQUENCY_ROWS: usize = 7;

/// The report of a purchase fit, with the spend fit and holdout check when there are.
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    /// `bgnbd`, `pareto` or `mbgnbd`.
    pub model: &'static str,
    /// `day` or `week`.
    pub unit: &'static str,
    /// Customers fitted on.
    pub customers: usize,
    /// Parameters by their paper names.
    pub params: BTreeMap<&'static str, f64>,
    /// Standard errors by parameter name.
    pub std_errors: Option<BTreeMap<&'static str, f64>>,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Optimiser iterations.
    pub iterations: u64,
    /// Whether the optimiser met its tolerance.
    pub converged: bool,
    /// The spend model's fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<SpendReport>,
    /// Predicted against actual holdout purchases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<HoldoutReport>,
}

/// The Gamma-Gamma fit.
#[derive(Debug, Clone, Serialize)]
pub struct SpendReport {
    /// Always `gamma-gamma`.
    pub model: &'static str,
    /// `p`, `q`, `gamma`.
    pub params: BTreeMap<&'static str, f64>,
    /// Standard errors by parameter name.
    pub std_errors: Option<BTreeMap<&'static str, f64>>,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Customers fitted on.
    pub customers: usize,
    /// Customers left out: no repeat purchase or no positive mean repeat value.
    pub excluded: usize,
    /// Whether the optimiser met its tolerance.
    pub converged: bool,
}

/// Holdout purchases, predicted and actual.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    /// Holdout length in units.
    pub length: f64,
    /// Predicted purchases in total.
    pub predicted: f64,
    /// Actual purchases in total.
    pub actual: f64,
    /// By calibration frequency.
    pub by_frequency: Vec<HoldoutRow>,
}

/// One calibration frequency's holdout purchases.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutRow {
    /// `0` … `6`, then `7+`.
    pub frequency: String,
    /// Customers.
    pub customers: usize,
    /// Predicted purchases.
    pub predicted: f64,
    /// Actual purchases.
    pub actual: f64,
}

fn named(names: &[&'static str], values: &[f64]) -> BTreeMap<&'static str, f64> {
    names.iter().copied().zip(values.iter().copied()).collect()
}

/// Build the report; `holdout_units` is the holdout length when there is one.
pub fn fit_report(
    unit: Unit,
    fitted: &FittedModel,
    spend: Option<&Fit<GammaGamma>>,
    summaries: &[CustomerSummary],
    holdout_units: Option<f64>,
) -> FitReport {
    let fit = &fitted.fit;
    let values: Vec<f64> = fit.model.params().iter().map(|(_, v)| *v).collect();
    let holdout = holdout_units.map(|h| {
        let rows = holdout_by_frequency(fit.model.as_ref(), summaries, h, FREQUENCY_ROWS);
        HoldoutReport {
            length: h,
            predicted: rows.iter().map(|r| r.predicted).sum(),
            actual: rows.iter().map(|r| r.actual).sum(),
            by_frequency: rows
                .into_iter()
                .map(|r| HoldoutRow {
                    frequency: if r.frequency == FREQUENCY_ROWS {
                        format!("{}+", r.frequency)
                    } else {
                        r.frequency.to_string()
                    },
                    customers: r.customers,
                    predicted: r.predicted,
                    actual: r.actual,
                })
                .collect(),
        }
    });
    FitReport {
        model: fitted.kind.name(),
        unit: match unit {
            Unit::Day => "day",
            Unit::Week => "week",
        },
        customers: fit.observations,
        params: named(fit.names, &values),
        std_errors: fit.std_errors.as_ref().map(|se| named(fit.names, se)),
        log_likelihood: fit.log_likelihood,
        aic: fit.aic,
        bic: fit.bic,
        iterations: fit.iterations,
        converged: fit.converged,
        spend: spend.map(|s| SpendReport {
            model: "gamma-gamma",
            params: named(s.names, &[s.model.p, s.model.q, s.model.gamma]),
            std_errors: s.std_errors.as_ref().map(|se| named(s.names, se)),
            log_likelihood: s.log_likelihood,
            customers: s.observations,
            excluded: summaries.len() - s.observations,
            converged: s.converged,
        }),
        holdout,
    }
}
