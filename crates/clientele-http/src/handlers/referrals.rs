//! The referral programme: a contact's code, link and figures, attributing a contact to a
//! code, figures per referrer, and the public page a referral link opens.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use clientele_core::error::from_serde_path;
use clientele_core::time::format_instant;
use clientele_core::{ContactId, WorkspaceId};
use clientele_engine::loyalty::{current_rules, referrals};
use clientele_loyalty::coupon::{display_code, normalise_code};
use clientele_store::{ReferralRow, ReferralStatsRow, Workspace, now_micros};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::loyalty::{Document, live_contact};
use super::{contact_id, parse_limit};
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_referral, post_referral))
        .routes(routes!(post_attribution))
        .routes(routes!(get_stats))
}

/// Where this server is reached, as the client addressed it (for links).
fn origin(headers: &HeaderMap) -> String {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text("x-forwarded-host")
        .or_else(|| text(header::HOST.as_str()))
        .unwrap_or("localhost");
    let scheme = text("x-forwarded-proto").unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn link(
    state: &AppState,
    ws: WorkspaceId,
    headers: &HeaderMap,
    code: &str,
) -> Result<String, ApiError> {
    let (_, rules) = current_rules(state.store.as_ref(), ws, now_micros()).await?;
    Ok(referrals::link(
        &rules.referrals,
        &origin(headers),
        &display_code(code),
    ))
}

fn referral_json(r: &ReferralRow) -> Value {
    json!({
        "referee_id": r.referee_id.0,
        "referrer_id": r.referrer_id.0,
        "status": r.status,
        "attributed_at": format_instant(r.attributed_at),
        "window_until": format_instant(r.window_until),
        "order_id": r.order_id,
        "converted_at": r.converted_at.map(format_instant),
        "revoked_at": r.revoked_at.map(format_instant),
    })
}

fn stats_json(s: &ReferralStatsRow, ws: &Workspace) -> Value {
    json!({
        "referrer_id": s.referrer_id.0,
        "invited": s.invited,
        "converted": s.converted,
        "revoked": s.revoked,
        "revenue": s.revenue,
        "currency": ws.currency,
    })
}

/// A contact's part in the programme: `{"code", "link", "referred_by", "invited",
/// "converted", "revoked", "revenue", "currency"}`; `code` and `link` are null until
/// issued (`POST`), `referred_by` is their own attribution, if any.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/referral", params(("id" = i64, Path)),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "loyalty")]
pub async fn get_referral(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let store = state.store.as_ref();
    let code = store.referral_code(ws.id, id).await?;
    let link = match &code {
        Some(c) => Some(link(&state, ws.id, &headers, c).await?),
        None => None,
    };
    let referred_by = store.referral_of(ws.id, id).await?;
    let stats = store.referral_stats(ws.id, Some(id), 1).await?;
    let zero = ReferralStatsRow {
        referrer_id: id,
        invited: 0,
        converted: 0,
        revoked: 0,
        revenue: 0,
    };
    let mut doc = stats_json(stats.first().unwrap_or(&zero), &ws);
    doc["code"] = json!(code.as_deref().map(display_code));
    doc["link"] = json!(link);
    doc["referred_by"] = referred_by.as_ref().map_or(Value::Null, referral_json);
    Ok(Json(doc))
}

/// Issue the contact's referral code (once; later calls answer the same code):
/// 201 on issue, 200 after, `{"code", "link"}`.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/referral", params(("id" = i64, Path)),
    responses((status = 201, body = Document), (status = 200, body = Document), (status = 404, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn post_referral(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = contact_id(&id)?;
    let (code, new) = referrals::code_of(state.store.as_ref(), ws.id, id, now_micros()).await?;
    let link = link(&state, ws.id, &headers, &code).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"code": display_code(&code), "link": link})),
    ))
}

/// Body of `POST /referrals`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionInput {
    /// The referral code the contact arrived with.
    code: String,
    /// The contact who arrived with it.
    referee_id: i64,
}

/// Attribute a contact to the owner of a code: 201 with the attribution (`status`
/// `pending` until the first paid order). Refusals answer 409 with their own type:
/// `…:self-referral`, `…:referral-loop`, `…:existing-customer`, `…:already-referred`,
/// `…:referrals-disabled`; an unknown code 422.
#[utoipa::path(post, path = "/api/v1/referrals", request_body = AttributionInput,
    responses((status = 201, body = Document), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "loyalty")]
pub async fn post_attribution(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: AttributionInput =
        serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    let row = referrals::attribute(
        state.store.as_ref(),
        ws.id,
        ContactId(input.referee_id),
        &input.code,
        now_micros(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(referral_json(&row))))
}

/// Query of `GET /referrals/stats`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Referrers listed, 1–500 (default 50).
    limit: Option<String>,
}

/// Figures per referrer, most revenue first: `{"items": [{"referrer_id", "invited",
/// "converted", "revoked", "revenue", "currency"}]}`; `revenue` is the net revenue of the
/// referees who converted.
#[utoipa::path(get, path = "/api/v1/referrals/stats", params(StatsParams),
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "loyalty")]
pub async fn get_stats(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(p): Query<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = parse_limit(p.limit.as_deref())?;
    let rows = state.store.referral_stats(ws.id, None, limit).await?;
    Ok(Json(json!({
        "items": rows.iter().map(|s| stats_json(s, &ws)).collect::<Vec<_>>(),
    })))
}

/// `GET /r/{code}`: where a referral link leads. With a landing page configured, there
/// (with `ref=CODE`); otherwise a short bilingual page showing the code to sign up with.
pub async fn landing(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let Ok(code) = normalise_code(&code) else {
        return (StatusCode::NOT_FOUND, "no such referral code").into_response();
    };
    let owner = match state.store.referral_code_owner(&code).await {
        Ok(Some((ws, _))) => ws,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such referral code").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let shown = display_code(&code);
    match current_rules(state.store.as_ref(), owner, now_micros()).await {
        Ok((_, rules)) if rules.referrals.landing_url.is_some() => {
            Redirect::to(&referrals::link(&rules.referrals, "", &shown)).into_response()
        }
        Ok(_) => Html(format!(
            "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
             <title>Lời mời / Invitation</title>\
             <p>Bạn được một người bạn giới thiệu. Dùng mã này khi đăng ký:</p>\
             <p>A friend invited you. Use this code when you sign up:</p>\
             <p><strong>{shown}</strong></p></html>"
        ))
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
