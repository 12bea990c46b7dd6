//! Lifetime value in the product: read a workspace's purchases, fit the purchase and spend
//! models, and store each contact's P(alive), expected purchases and CLV.

use clientele_clv::gamma_gamma;
use clientele_clv::{FitError, FitReport, ModelKind, Txn, Unit, fit_model, fit_report, predict};
use clientele_core::ContactId;
use clientele_core::money::Currency;
use clientele_core::time::{Micros, epoch_day, format_instant, local_epoch_day, parse_time_zone};
use clientele_store::{ClvFitRecord, ContactClv, Store, StoreError, Workspace};
use serde::Serialize;

/// How a workspace's lifetime value is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvSettings {
    /// Purchase model.
    pub model: ModelKind,
    /// Horizon of expected purchases and CLV, in weeks.
    pub horizon_weeks: u32,
    /// Yearly discount rate of future purchases (0.1 = 10 %).
    pub annual_discount_rate: f64,
    /// Fit as of the end of this day instead of today (history replays, the demo).
    pub calibration_end: Option<jiff::civil::Date>,
}

impl Default for ClvSettings {
    fn default() -> Self {
        Self {
            model: ModelKind::Bgnbd,
            horizon_weeks: 52,
            annual_discount_rate: 0.10,
            calibration_end: None,
        }
    }
}

/// Why a refit failed.
#[derive(Debug, thiserror::Error)]
pub enum ClvError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workspace's data cannot be fitted (too few buyers, a degenerate history).
    #[error("cannot fit the {model} model on this workspace's purchases: {source}")]
    Fit {
        /// The model.
        model: &'static str,
        /// The reason.
        source: FitError,
    },
    /// The workspace's settings or data are unusable.
    #[error("{0}")]
    Invalid(String),
}

/// A workspace's purchases as the models read them.
pub struct Transactions {
    /// Purchases; `customer` indexes `contacts` and `ids`.
    pub txns: Vec<Txn>,
    /// Contact of each customer index.
    pub contacts: Vec<ContactId>,
    /// External id of each customer index (the contact id when there is none).
    pub ids: Vec<String>,
}

/// Read the workspace's purchases: days in its time zone, amounts in its base currency's
/// major unit.
pub async fn transactions(store: &dyn Store, ws: &Workspace) -> Result<Transactions, ClvError> {
    let tz = parse_time_zone(&ws.time_zone).map_err(ClvError::Invalid)?;
    let minor = Currency::parse(&ws.currency)
        .map_err(ClvError::Invalid)?
        .minor_per_major() as f64;
    let purchases = store.purchases(ws.id).await?;
    let mut out = Transactions {
        txns: Vec::with_capacity(purchases.len()),
        contacts: Vec::new(),
        ids: Vec::new(),
    };
    // Purchases come ordered by contact, so a new index starts where the contact changes.
    for p in purchases {
        if out.contacts.last() != Some(&p.contact_id) {
            out.contacts.push(p.contact_id);
            out.ids
                .push(p.external_id.unwrap_or_else(|| p.contact_id.0.to_string()));
        }
        out.txns.push(Txn {
            customer: (out.contacts.len() - 1) as u32,
            day: local_epoch_day(p.paid_at, &tz).map_err(ClvError::Invalid)?,
            amount: p.amount as f64 / minor,
        });
    }
    Ok(out)
}

/// The outcome of a refit, as stored and returned by the API.
#[derive(Debug, Clone, Serialize)]
pub struct ClvOutcome {
    /// When it was fitted (RFC 3339).
    pub fitted_at: String,
    /// Last day of the calibration period (the workspace's today).
    pub calibration_end: String,
    /// Horizon of expected purchases and CLV, weeks.
    pub horizon_weeks: u32,
    /// Yearly discount rate.
    pub annual_discount_rate: f64,
    /// Contacts that received a prediction.
    pub contacts: usize,
    /// The fit.
    pub fit: FitReport,
}

/// Fit the workspace's models on every purchase up to `now` and replace each contact's
/// prediction. The numeric work runs on a blocking thread, off the async workers.
pub async fn refit(
    store: &dyn Store,
    ws: &Workspace,
    settings: ClvSettings,
    now: Micros,
) -> Result<ClvOutcome, ClvError> {
    if settings.horizon_weeks == 0 || !(0.0..10.0).contains(&settings.annual_discount_rate) {
        return Err(ClvError::Invalid(
            "horizon_weeks must be positive and annual_discount_rate in [0, 10)".into(),
        ));
    }
    let tz = parse_time_zone(&ws.time_zone).map_err(ClvError::Invalid)?;
    let today = match settings.calibration_end {
        Some(date) => epoch_day(date),
        None => local_epoch_day(now, &tz).map_err(ClvError::Invalid)?,
    };
    let data = transactions(store, ws).await?;
    let minor = Currency::parse(&ws.currency)
        .map_err(ClvError::Invalid)?
        .minor_per_major() as f64;
    let (fit, rows) = tokio::task::spawn_blocking(move || compute(&data, today, settings, minor))
        .await
        .map_err(|e| ClvError::Invalid(format!("the fit stopped: {e}")))??;
    let outcome = ClvOutcome {
        fitted_at: format_instant(now),
        calibration_end: settings
            .calibration_end
            .or_else(|| {
                let ts = jiff::Timestamp::from_microsecond(now).ok()?;
                Some(tz.to_datetime(ts).date())
            })
            .map(|d| d.to_string())
            .unwrap_or_default(),
        horizon_weeks: settings.horizon_weeks,
        annual_discount_rate: settings.annual_discount_rate,
        contacts: rows.len(),
        fit,
    };
    let report = serde_json::to_string(&outcome)
        .map_err(|e| ClvError::Invalid(format!("cannot encode the report: {e}")))?;
    store
        .replace_clv(
            ws.id,
            &ClvFitRecord {
                fitted_at: now,
                report,
            },
            &rows,
        )
        .await?;
    // P(alive) under one half puts a paying contact at risk: statuses follow the new fit.
    let mut tx = store.begin_write(ws.id).await?;
    crate::ladder::reclassify_everyone(&mut *tx, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

fn compute(
    data: &Transactions,
    today: i32,
    settings: ClvSettings,
    minor: f64,
) -> Result<(FitReport, Vec<ContactClv>), ClvError> {
    let summaries = clientele_clv::summarize(&data.txns, today, None, Unit::Week);
    let fitted = fit_model(settings.model, &summaries).map_err(|source| ClvError::Fit {
        model: settings.model.name(),
        source,
    })?;
    // Too few repeat buyers to fit spend is common in a young shop: fall back to each
    // contact's own mean rather than refusing the whole refit.
    let spend = gamma_gamma::fit(&summaries).ok();
    let weekly = (1.0 + settings.annual_discount_rate).powf(1.0 / 52.0) - 1.0;
    let predictions = predict(
        fitted.fit.model.as_ref(),
        spend.as_ref().map(|s| &s.model),
        &summaries,
        settings.horizon_weeks,
        weekly,
    );
    let rows = summaries
        .iter()
        .zip(&predictions)
        .map(|(s, p)| ContactClv {
            contact_id: data.contacts[s.customer as usize],
            p_alive: p.p_alive,
            expected_purchases: p.expected_purchases,
            expected_value: (p.expected_value * minor).round() as i64,
            clv: (p.clv * minor).round() as i64,
        })
        .collect();
    let report = fit_report(Unit::Week, &fitted, spend.as_ref(), &summaries, None);
    Ok((report, rows))
}
