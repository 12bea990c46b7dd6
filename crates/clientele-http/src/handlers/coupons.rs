//! Coupons: issue, look up, check before checkout, and a contact's coupons. Orders use a
//! coupon by naming it in their event (`data.coupon`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use clientele_core::error::from_serde_path;
use clientele_core::time::{format_instant, parse_instant};
use clientele_core::{ContactId, FieldError};
use clientele_engine::loyalty::coupons::{self, CouponSpec};
use clientele_loyalty::coupon::{Discount, display_code, normalise_code};
use clientele_store::{CouponRow, CouponUseRow, now_micros};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::loyalty::{Document, live_contact};
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_coupons))
        .routes(routes!(post_validate))
        .routes(routes!(get_coupon))
        .routes(routes!(get_contact_coupons))
}

pub(crate) fn coupon_json(c: &CouponRow) -> Value {
    json!({
        "code": display_code(&c.code),
        "kind": c.kind,
        "value": c.value,
        "min_order": c.min_order,
        "max_uses": c.max_uses,
        "uses": c.uses,
        "contact_id": c.contact_id.map(|c| c.0),
        "expires_at": c.expires_at.map(format_instant),
        "source": c.source,
        "active": c.active,
        "created_at": format_instant(c.created_at),
    })
}

fn use_json(u: &CouponUseRow) -> Value {
    json!({
        "order_id": u.order_id,
        "contact_id": u.contact_id.0,
        "order_total": u.order_total,
        "discount": u.discount,
        "status": u.status,
        "reason": u.reason,
        "at": format_instant(u.used_at),
    })
}

/// Body of `POST /coupons`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    /// `percent` (value 1–100) or `fixed` (value in minor units).
    kind: String,
    /// The percentage or the amount.
    value: i64,
    /// Smallest order total it applies to, minor units (default 0).
    min_order: Option<i64>,
    /// Uses allowed: absent = 1 (single use), `null` = unlimited.
    max_uses: Option<i64>,
    /// The only contact who may use it (absent = anyone).
    contact_id: Option<i64>,
    /// RFC 3339: usable before.
    expires_at: Option<String>,
    /// How many codes to issue with these terms, 1–1000 (default 1).
    count: Option<usize>,
}

/// Issue coupons: 201 `{"items": [{"code", "kind", "value", "min_order", "max_uses",
/// "uses", "contact_id", "expires_at", "source", "active", "created_at"}]}`. Codes are 80
/// random bits in 16 symbols (`K7QM-2XPD-9FHT-W3RA`).
#[utoipa::path(post, path = "/api/v1/coupons", request_body = CouponInput,
    responses((status = 201, body = Document), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn post_coupons(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: CouponInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let bad = |f: &str, r: String| ApiError::from(FieldError::new(f, r));
    if !Discount::KINDS.contains(&input.kind.as_str()) {
        return Err(bad("kind", "percent or fixed is expected".into()));
    }
    let discount = Discount::new(&input.kind, input.value).map_err(|r| bad("value", r))?;
    let min_order = input.min_order.unwrap_or(0);
    if min_order < 0 {
        return Err(bad(
            "min_order",
            "an amount in minor units, 0 or more".into(),
        ));
    }
    // Absent means one use; an explicit null means no limit.
    let max_uses = match body.get("max_uses") {
        None => Some(1),
        Some(Value::Null) => None,
        Some(_) => match input.max_uses {
            Some(n) if n >= 1 => Some(n),
            _ => return Err(bad("max_uses", "1 or more, or null for unlimited".into())),
        },
    };
    let expires_at = input
        .expires_at
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(|r| bad("expires_at", r))?;
    let spec = CouponSpec {
        discount,
        min_order,
        max_uses,
        contact_id: input.contact_id.map(ContactId),
        expires_at,
    };
    let rows = coupons::issue(
        state.store.as_ref(),
        ws.id,
        &spec,
        input.count.unwrap_or(1),
        "api",
        now_micros(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"items": rows.iter().map(coupon_json).collect::<Vec<_>>()})),
    ))
}

/// Body of `POST /coupons/validate`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateInput {
    /// The code as typed (case, dashes and spaces do not matter).
    code: String,
    /// The order total it would apply to, minor units.
    order_total: i64,
    /// Who is buying.
    contact_id: Option<i64>,
}

/// Check a code before checkout without using it: `{"code", "valid", "discount",
/// "reason"}`; `reason` is `unknown`, `withdrawn`, `expired`, `used-up`, `not-yours` or
/// `below-minimum`.
#[utoipa::path(post, path = "/api/v1/coupons/validate", request_body = ValidateInput,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "loyalty")]
pub async fn post_validate(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let input: ValidateInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let v = coupons::validate(
        state.store.as_ref(),
        ws.id,
        &input.code,
        input.contact_id.map(ContactId),
        input.order_total,
        now_micros(),
    )
    .await?;
    Ok(Json(json!({
        "code": v.code,
        "valid": v.valid,
        "discount": v.discount,
        "reason": v.reason,
    })))
}

/// One coupon with its uses: `{…coupon, "uses_by_order": [{"order_id", "contact_id",
/// "order_total", "discount", "status": "applied"|"restored"|"refused", "reason", "at"}]}`.
#[utoipa::path(get, path = "/api/v1/coupons/{code}", params(("code" = String, Path)),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "loyalty")]
pub async fn get_coupon(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let code = normalise_code(&code).map_err(|_| ApiError::NotFound("coupon"))?;
    let store = state.store.as_ref();
    let row = clientele_store::CouponReader::coupon(store, ws.id, &code)
        .await?
        .ok_or(ApiError::NotFound("coupon"))?;
    let uses = store.coupon_uses(ws.id, &code).await?;
    let mut doc = coupon_json(&row);
    doc["uses_by_order"] = uses.iter().map(use_json).collect();
    Ok(Json(doc))
}

/// The coupons issued to a contact, newest first: `{"items": [coupon…]}`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/coupons", params(("id" = i64, Path)),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "loyalty")]
pub async fn get_contact_coupons(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let rows = state.store.coupons_of(ws.id, id).await?;
    Ok(Json(
        json!({"items": rows.iter().map(coupon_json).collect::<Vec<_>>()}),
    ))
}
