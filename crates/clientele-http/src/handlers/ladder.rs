//! The loyalty ladder: a contact's position with its reasons and history, the rule set, and
//! what-if on a candidate rule set.

use axum::Json;
use axum::extract::{Path, Query, State};
use clientele_core::FieldError;
use clientele_core::time::parse_instant;
use clientele_engine::ladder;
use clientele_ladder::RuleSet;
use clientele_store::now_micros;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contact_id;
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_contact_ladder))
        .routes(routes!(get_rules, post_rules))
        .routes(routes!(post_what_if))
        .routes(routes!(get_rfm))
}

/// Query of `GET /ladder/rfm`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RfmParams {
    /// One contact's scores instead of the distributions.
    contact_id: Option<String>,
}

/// RFM quintiles of the paying contacts now (recency, frequency, monetary value; 5 is best,
/// ties broken by contact id): `{"contacts", "distribution": {"recency": [n1…n5],
/// "frequency": […], "monetary": […]}, "cells": [{"r", "f", "m", "contacts"}]}`, or with
/// `contact_id` that contact's `{"contact_id", "r", "f", "m"}` (404 if it never paid).
#[utoipa::path(get, path = "/api/v1/ladder/rfm", params(RfmParams),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "ladder")]
pub async fn get_rfm(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(p): Query<RfmParams>,
) -> Result<Json<Value>, ApiError> {
    let scores = ladder::rfm(state.store.as_ref(), ws.id, now_micros()).await?;
    if let Some(raw) = p.contact_id {
        let id = contact_id(&raw)?;
        let (_, s) = scores
            .iter()
            .find(|(c, _)| *c == id)
            .ok_or(ApiError::NotFound("paying contact"))?;
        return Ok(Json(
            json!({"contact_id": id.0, "r": s.recency, "f": s.frequency, "m": s.monetary}),
        ));
    }
    let mut dist = [[0usize; 5]; 3];
    let mut cells: std::collections::BTreeMap<(u8, u8, u8), usize> = Default::default();
    for (_, s) in &scores {
        dist[0][s.recency as usize - 1] += 1;
        dist[1][s.frequency as usize - 1] += 1;
        dist[2][s.monetary as usize - 1] += 1;
        *cells
            .entry((s.recency, s.frequency, s.monetary))
            .or_default() += 1;
    }
    Ok(Json(json!({
        "contacts": scores.len(),
        "distribution": {"recency": dist[0], "frequency": dist[1], "monetary": dist[2]},
        "cells": cells.iter().map(|((r, f, m), n)| json!({"r": r, "f": f, "m": m, "contacts": n})).collect::<Vec<_>>(),
    })))
}

/// Query of `GET /contacts/{id}/ladder`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// An RFC 3339 instant: what the live system showed then.
    as_of: Option<String>,
}

/// A JSON document described in the route's text.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(value_type = Object)]
pub struct Document(Value);

/// A contact's rung and status, the metrics and the rules' reasons (the rule that held; the
/// rung above and by how much each of its comparisons fails), and every change so far:
/// `{"rung", "status", "rule_version", "as_of", "metrics", "explanation", "grace_until",
/// "next_review_at", "history": [{"at", "kind", "from", "to", "reason", "rule_version",
/// "metrics"}]}`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/ladder", params(("id" = i64, Path), AsOfParams),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "ladder")]
pub async fn get_contact_ladder(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<AsOfParams>,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    let as_of = p
        .as_of
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(|r| FieldError::new("as_of", r))?;
    ladder::view(state.store.as_ref(), ws.id, id, as_of, now_micros())
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("contact"))
}

fn rule_set(body: &Value) -> Result<RuleSet, ApiError> {
    RuleSet::from_json(body).map_err(|e| FieldError::new(e.path, e.reason).into())
}

/// The active rule set: `{"version", "rules"}`.
#[utoipa::path(get, path = "/api/v1/ladder/rules",
    responses((status = 200, body = Document)), tag = "ladder")]
pub async fn get_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let (version, rules) = ladder::current_rules(state.store.as_ref(), ws.id).await?;
    Ok(Json(json!({"version": version, "rules": rules.to_json()})))
}

/// Make a rule set active (the next version) and re-evaluate every contact under it,
/// recording the changes: `{"version", "contacts", "changes"}`. A rule set that fails its
/// checks answers 422 with the path of the culprit in `field`.
#[utoipa::path(post, path = "/api/v1/ladder/rules", request_body = Document,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "ladder")]
pub async fn post_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let rules = rule_set(&body)?;
    let (version, contacts, changes) =
        ladder::apply_rules(state.store.as_ref(), ws.id, &rules, now_micros()).await?;
    Ok(Json(
        json!({"version": version, "contacts": contacts, "changes": changes}),
    ))
}

/// What a candidate rule set would do now, changing nothing: `{"active_version",
/// "contacts", "moved", "moves": [{"from", "to", "contacts", "revenue"}]}` (revenue in minor
/// units of the base currency).
#[utoipa::path(post, path = "/api/v1/ladder/what-if", request_body = Document,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "ladder")]
pub async fn post_what_if(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let rules = rule_set(&body)?;
    Ok(Json(
        ladder::what_if(state.store.as_ref(), ws.id, &rules, now_micros()).await?,
    ))
}
