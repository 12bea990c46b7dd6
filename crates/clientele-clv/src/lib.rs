//! Customer-lifetime-value models, pure and numeric: transaction summaries (frequency,
//! recency, T, monetary value), the BG/NBD, Pareto/NBD and modified BG/NBD purchase models
//! and the Gamma-Gamma spend model, fitted by maximum likelihood, with per-customer
//! predictions, fit reports and the numbers behind the diagnostic charts.

pub mod bgnbd;
mod bgnbd_likelihood;
pub mod csv_summary;
pub mod diagnostics;
pub mod fit;
pub mod fitted;
pub mod gamma_gamma;
mod grouped;
pub mod mbgnbd;
pub mod model;
pub mod pareto;
pub mod predict;
pub mod report;
pub mod rfm;
pub mod simulate;
pub mod special;
pub mod summary;

pub use fit::{Fit, FitError};
pub use fitted::{FittedModel, ModelKind, fit_model};
pub use model::{PurchaseModel, lifetime_value};
pub use predict::{Prediction, predict};
pub use report::{FitReport, fit_report};
pub use summary::{CustomerSummary, Txn, Unit, summarize};
