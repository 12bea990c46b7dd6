//! Customer lifetime value: refit on demand and read the latest fit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use clientele_clv::ModelKind;
use clientele_core::FieldError;
use clientele_core::time::parse_date;
use clientele_engine::clv::{self, ClvSettings};
use clientele_store::now_micros;
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_fit, post_fit))
}

/// Settings of a refit; every field is optional.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the body for OpenAPI; `settings` reads it field by field.
pub struct FitRequest {
    /// `bgnbd` (default), `pareto` or `mbgnbd`.
    pub model: Option<String>,
    /// Horizon of expected purchases and CLV in weeks, 1–520 (default 52).
    pub horizon_weeks: Option<u32>,
    /// Yearly discount rate, 0 ≤ rate < 10 (default 0.1).
    pub annual_discount_rate: Option<f64>,
    /// Fit on the purchases up to this day (YYYY-MM-DD) instead of today.
    pub calibration_end: Option<String>,
}

/// A fit as stored: when, on what, the parameters and fit statistics.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(value_type = Object)]
pub struct FitOutcome(Value);

fn settings(body: &Value) -> Result<ClvSettings, ApiError> {
    let mut s = ClvSettings::default();
    if body.is_null() {
        return Ok(s);
    }
    let Some(obj) = body.as_object() else {
        return Err(FieldError::new("", "the body must be a JSON object").into());
    };
    for key in obj.keys() {
        if ![
            "model",
            "horizon_weeks",
            "annual_discount_rate",
            "calibration_end",
        ]
        .contains(&key.as_str())
        {
            return Err(FieldError::new(key.clone(), "unknown field").into());
        }
    }
    if let Some(m) = obj.get("model") {
        s.model = m
            .as_str()
            .ok_or_else(|| "must be a string".to_owned())
            .and_then(str::parse::<ModelKind>)
            .map_err(|r| FieldError::new("model", r))?;
    }
    if let Some(h) = obj.get("horizon_weeks") {
        s.horizon_weeks = h
            .as_u64()
            .filter(|h| (1..=520).contains(h))
            .ok_or_else(|| {
                FieldError::new("horizon_weeks", "must be a whole number from 1 to 520")
            })? as u32;
    }
    if let Some(r) = obj.get("annual_discount_rate") {
        s.annual_discount_rate =
            r.as_f64()
                .filter(|r| (0.0..10.0).contains(r))
                .ok_or_else(|| {
                    FieldError::new(
                        "annual_discount_rate",
                        "must be a number, at least 0 and below 10",
                    )
                })?;
    }
    if let Some(d) = obj.get("calibration_end") {
        let date = d
            .as_str()
            .ok_or_else(|| "must be a date YYYY-MM-DD".to_owned())
            .and_then(parse_date)
            .map_err(|r| FieldError::new("calibration_end", r))?;
        s.calibration_end = Some(date);
    }
    Ok(s)
}

/// Fit the lifetime-value models on every purchase up to now and store each contact's
/// P(alive), expected purchases and CLV. The server also refits on its schedule.
#[utoipa::path(post, path = "/api/v1/clv/fit", request_body(content = FitRequest, description = "optional"),
    responses((status = 200, body = FitOutcome), (status = 422, body = crate::error::Problem)), tag = "clv")]
pub async fn post_fit(
    State(state): State<AppState>,
    Auth(ws): Auth,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // An empty body means the defaults; otherwise it must be a JSON object.
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            detail: format!("the body is not valid JSON: {e}"),
        })?
    };
    let outcome = clv::refit(state.store.as_ref(), &ws, settings(&body)?, now_micros()).await?;
    Ok(Json(
        serde_json::to_value(outcome).map_err(anyhow::Error::from)?,
    ))
}

/// The latest fit.
#[utoipa::path(get, path = "/api/v1/clv/fit",
    responses((status = 200, body = FitOutcome), (status = 404, body = crate::error::Problem)), tag = "clv")]
pub async fn get_fit(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .clv_fit(ws.id)
        .await?
        .ok_or(ApiError::NotFound("lifetime-value fit"))?;
    let report: Value = serde_json::from_str(&record.report).map_err(anyhow::Error::from)?;
    Ok(Json(report))
}
