//! One fitted purchase model of any kind with its diagnostics, so the CLI and the product
//! choose a model by name and handle the result alike.

use std::str::FromStr;

use crate::fit::{Fit, FitError};
use crate::model::PurchaseModel;
use crate::summary::CustomerSummary;
use crate::{bgnbd, mbgnbd, pareto};

/// The purchase models Clientele fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    #[default]
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    Pareto,
    /// Modified BG/NBD (Batislam et al. 2007).
    Mbgnbd,
}

impl ModelKind {
    /// The name used on the command line, in the API and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bgnbd => "bgnbd",
            Self::Pareto => "pareto",
            Self::Mbgnbd => "mbgnbd",
        }
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bgnbd" => Ok(Self::Bgnbd),
            "pareto" => Ok(Self::Pareto),
            "mbgnbd" => Ok(Self::Mbgnbd),
            other => Err(format!(
                "unknown model {other:?}: expected bgnbd, pareto or mbgnbd"
            )),
        }
    }
}

/// A fitted purchase model, whatever its kind.
pub struct FittedModel {
    /// Its kind.
    pub kind: ModelKind,
    /// The fit, its model boxed.
    pub fit: Fit<Box<dyn PurchaseModel + Send>>,
}

fn boxed<M: PurchaseModel + Send + 'static>(kind: ModelKind, fit: Fit<M>) -> FittedModel {
    FittedModel {
        kind,
        fit: fit.map(|m| Box::new(m) as Box<dyn PurchaseModel + Send>),
    }
}

/// Fit a purchase model of the given kind.
pub fn fit_model(kind: ModelKind, data: &[CustomerSummary]) -> Result<FittedModel, FitError> {
    Ok(match kind {
        ModelKind::Bgnbd => boxed(kind, bgnbd::fit(data)?),
        ModelKind::Pareto => boxed(kind, pareto::fit(data)?),
        ModelKind::Mbgnbd => boxed(kind, mbgnbd::fit(data)?),
    })
}
