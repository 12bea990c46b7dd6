//! Customer-lifetime-value models, pure and numeric: transaction summaries (frequency,
//! recency, T, monetary value), the BG/NBD purchase model and the Gamma-Gamma spend model,
//! fitted by maximum likelihood, with per-customer predictions.

pub mod bgnbd;
pub mod fit;
pub mod gamma_gamma;
pub mod mbgnbd;
pub mod model;
pub mod pareto;
pub mod simulate;
pub mod special;
pub mod summary;

pub use fit::{Fit, FitError};
pub use model::{PurchaseModel, lifetime_value};
pub use summary::{CustomerSummary, Txn, Unit, summarize};
