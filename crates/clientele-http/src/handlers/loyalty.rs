//! The loyalty program: a contact's balance and ledger, redemptions and adjustments, the
//! earn rules and the rewards catalogue.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clientele_core::error::from_serde_path;
use clientele_core::time::{format_instant, parse_instant};
use clientele_core::{ContactId, FieldError, WorkspaceId};
use clientele_engine::loyalty;
use clientele_loyalty::EarnRules;
use clientele_loyalty::coupon::{Template, display_code};
use clientele_store::{LoyaltyEntryRow, RewardRow, now_micros};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{contact_id, parse_cursor, parse_limit};
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_loyalty))
        .routes(routes!(get_entries))
        .routes(routes!(post_redemption))
        .routes(routes!(post_adjustment))
        .routes(routes!(get_rules, post_rules))
        .routes(routes!(get_rewards, post_reward))
}

/// A JSON document described in the route's text.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(value_type = Object)]
pub struct Document(Value);

pub(crate) async fn live_contact(
    state: &AppState,
    ws: WorkspaceId,
    raw: &str,
) -> Result<ContactId, ApiError> {
    let id = contact_id(raw)?;
    match state.store.contact(ws, id).await? {
        Some(c) if c.id == id => Ok(id),
        _ => Err(ApiError::NotFound("contact")),
    }
}

/// A contact's points: `{"balance", "debt", "next_expiry"}` (`next_expiry`: when the
/// oldest open lot expires, RFC 3339, or null).
#[utoipa::path(get, path = "/api/v1/contacts/{id}/loyalty", params(("id" = i64, Path)),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "loyalty")]
pub async fn get_loyalty(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let account = state.store.loyalty_account(ws.id, id).await?;
    let (balance, debt, next) =
        account.map_or((0, 0, None), |a| (a.balance, a.debt, a.next_expiry));
    Ok(Json(json!({
        "contact_id": id.0,
        "balance": balance,
        "debt": debt,
        "next_expiry": next.map(format_instant),
    })))
}

/// Query of `GET /contacts/{id}/loyalty/entries`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesParams {
    /// Page size, 1–500 (default 50).
    limit: Option<String>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

fn entry_json(e: &LoyaltyEntryRow) -> Value {
    json!({
        "id": e.id,
        "kind": e.kind,
        "points": e.points,
        "at": format_instant(e.at),
        "reason": e.reason,
        "reference": {"kind": e.ref_kind, "id": e.ref_id},
        "balance_after": e.balance_after,
        "debt_after": e.debt_after,
    })
}

/// The ledger, newest first: `{"items": [{"id", "kind", "points", "at", "reason",
/// "reference": {"kind", "id"}, "balance_after", "debt_after"}], "next_cursor"}`. Every
/// entry is immutable; all of them sum to the balance minus the debt.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/loyalty/entries", params(("id" = i64, Path), EntriesParams),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn get_entries(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<EntriesParams>,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let limit = parse_limit(p.limit.as_deref())?;
    let before = parse_cursor(p.cursor.as_deref())?;
    let items = state
        .store
        .loyalty_entries(ws.id, id, before, limit)
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(json!({
        "items": items.iter().map(entry_json).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// Body of a redemption.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionInput {
    /// Points to spend.
    points: i64,
    /// The client's key: the same key again answers the first result and spends nothing.
    idempotency_key: String,
    /// A reward of the catalogue (its cost must equal `points`).
    reward_id: Option<i64>,
}

/// Spend points, oldest-expiring first, in one atomic step: 201 `{"id", "balance",
/// "coupon"}` (`coupon`: the code a coupon reward handed out, else null). A
/// balance that does not cover it answers 409 `…:insufficient-points`; a reward out of
/// stock 409 `…:out-of-stock`; a key used for a different redemption 409
/// `…:idempotency-key-reused`.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/loyalty/redemptions", params(("id" = i64, Path)),
    request_body = RedemptionInput,
    responses((status = 201, body = Document), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn post_redemption(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = contact_id(&id)?;
    let input: RedemptionInput =
        serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let r = loyalty::redeem(
        state.store.as_ref(),
        ws.id,
        id,
        input.points,
        &input.idempotency_key,
        input.reward_id,
        now_micros(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": r.id,
            "balance": r.balance,
            "replayed": r.replayed,
            "coupon": r.coupon.as_deref().map(display_code),
        })),
    ))
}

/// Body of an adjustment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Points to add (positive) or remove (negative).
    points: i64,
    /// Why; kept on the entry.
    reason: String,
}

/// An operator's correction: `{"balance", "debt"}`. Added points expire like earned ones;
/// removing more than the balance answers 409 `…:insufficient-points`.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/loyalty/adjustments", params(("id" = i64, Path)),
    request_body = AdjustmentInput,
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn post_adjustment(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    let input: AdjustmentInput =
        serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let a = loyalty::adjust(
        state.store.as_ref(),
        &ws,
        id,
        input.points,
        &input.reason,
        "api",
        now_micros(),
    )
    .await?;
    Ok(Json(json!({"balance": a.balance, "debt": a.debt})))
}

/// The active earn rules: `{"version", "rules": {"points_per_unit", "expiry_months",
/// "multipliers", "bonuses", "caps"}}`.
#[utoipa::path(get, path = "/api/v1/loyalty/rules",
    responses((status = 200, body = Document)), tag = "loyalty")]
pub async fn get_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let (version, rules) =
        loyalty::current_rules(state.store.as_ref(), ws.id, now_micros()).await?;
    Ok(Json(json!({"version": version, "rules": rules.to_json()})))
}

/// Make earn rules active (the next version); points already earned do not change:
/// `{"version", "rules"}`. Rules that fail their checks answer 422 naming the path.
#[utoipa::path(post, path = "/api/v1/loyalty/rules", request_body = Document,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "loyalty")]
pub async fn post_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let rules = EarnRules::from_json(&body).map_err(|e| FieldError::new(e.path, e.reason))?;
    let version = loyalty::set_rules(state.store.as_ref(), ws.id, &rules, now_micros()).await?;
    Ok(Json(json!({"version": version, "rules": rules.to_json()})))
}

fn reward_json(r: &RewardRow) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "cost_points": r.cost_points,
        "stock": r.stock,
        "valid_from": r.valid_from.map(format_instant),
        "valid_until": r.valid_until.map(format_instant),
        "rung_required": r.rung_required,
        "active": r.active,
        "coupon": r.coupon.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
    })
}

/// The rewards catalogue: `{"items": [{"id", "name", "cost_points", "stock", "valid_from",
/// "valid_until", "rung_required", "active", "coupon"}]}`.
#[utoipa::path(get, path = "/api/v1/loyalty/rewards",
    responses((status = 200, body = Document)), tag = "loyalty")]
pub async fn get_rewards(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let items = state.store.rewards(ws.id).await?;
    Ok(Json(
        json!({"items": items.iter().map(reward_json).collect::<Vec<_>>()}),
    ))
}

/// Body of a new reward.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardInput {
    /// Name.
    name: String,
    /// Price in points (> 0).
    cost_points: i64,
    /// Units available (absent = unlimited).
    stock: Option<i64>,
    /// RFC 3339: redeemable from.
    valid_from: Option<String>,
    /// RFC 3339: redeemable until.
    valid_until: Option<String>,
    /// The lowest rung that may redeem it.
    rung_required: Option<String>,
    /// The coupon it hands out: `{"kind": "percent"|"fixed", "value", "min_order"?,
    /// "valid_days"?}` (single use, for the redeeming contact).
    #[schema(value_type = Option<Object>)]
    coupon: Option<Value>,
}

/// Add a reward to the catalogue: 201 with the reward.
#[utoipa::path(post, path = "/api/v1/loyalty/rewards", request_body = RewardInput,
    responses((status = 201, body = Document), (status = 422, body = crate::error::Problem)), tag = "loyalty")]
pub async fn post_reward(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: RewardInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let bad = |f: &str, r: &str| ApiError::from(FieldError::new(f, r));
    if input.name.trim().is_empty() || input.name.len() > 200 {
        return Err(bad("name", "1 to 200 characters are required"));
    }
    if input.cost_points <= 0 {
        return Err(bad(
            "cost_points",
            "a positive whole number of points is required",
        ));
    }
    if input.stock.is_some_and(|s| s < 0) {
        return Err(bad("stock", "0 or more, or absent for unlimited"));
    }
    let instant = |raw: Option<&str>, f: &str| {
        raw.map(parse_instant)
            .transpose()
            .map_err(|r| ApiError::from(FieldError::new(f, r)))
    };
    let valid_from = instant(input.valid_from.as_deref(), "valid_from")?;
    let valid_until = instant(input.valid_until.as_deref(), "valid_until")?;
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u <= f
    {
        return Err(bad("valid_until", "must be after valid_from"));
    }
    if let Some(r) = input.rung_required.as_deref()
        && clientele_ladder::Rung::parse(r).is_none()
    {
        return Err(bad("rung_required", "unknown rung"));
    }
    let coupon = input
        .coupon
        .as_ref()
        .map(|c| {
            Template::from_json(c).map_err(|(f, r)| {
                let path = if f.is_empty() {
                    "coupon".to_owned()
                } else {
                    format!("coupon.{f}")
                };
                ApiError::from(FieldError::new(path, r))
            })
        })
        .transpose()?;
    let row = loyalty::add_reward(
        state.store.as_ref(),
        ws.id,
        &RewardRow {
            id: 0,
            name: input.name.trim().to_owned(),
            cost_points: input.cost_points,
            stock: input.stock,
            valid_from,
            valid_until,
            rung_required: input.rung_required,
            active: true,
            coupon: coupon.map(|t| t.to_json().to_string()),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(reward_json(&row))))
}
