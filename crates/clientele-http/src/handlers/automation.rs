//! Automated care: the rule set (read, replace with checks), and per contact the messages
//! sent and the steps of every run with their outcome.

use axum::Json;
use axum::extract::{Path, Query, State};
use clientele_automation::RuleSet;
use clientele_core::FieldError;
use clientele_core::time::format_instant;
use clientele_engine::automation;
use clientele_store::{MessageRow, OutboxRow, now_micros};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::loyalty::{Document, live_contact};
use super::parse_limit;
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_rules, post_rules))
        .routes(routes!(patch_rule))
        .routes(routes!(post_validate))
        .routes(routes!(get_messages))
        .routes(routes!(get_runs))
        .routes(routes!(get_webhook_key))
        .routes(routes!(post_dry_run))
}

/// Query of a dry run.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunParams {
    /// Contacts shown per rule, 0–50 (default 5).
    sample: Option<usize>,
}

/// What a rule set would do now, with nothing sent or written: per enabled rule, how many
/// contacts stand where its trigger leads (`would_enter`), the first of them, and its
/// messages rendered for the first. The body is a rule-set document to try, or `{}` for
/// the active set; one that fails its checks answers 422 naming the path.
#[utoipa::path(post, path = "/api/v1/automation/dry-run", request_body = Document,
    params(DryRunParams),
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn post_dry_run(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(q): Query<DryRunParams>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let sample = q.sample.unwrap_or(5);
    if sample > 50 {
        return Err(FieldError::new("sample", "at most 50").into());
    }
    let tried = body.as_object().is_some_and(|o| !o.is_empty());
    let (version, set) = if tried {
        let set = RuleSet::from_json(&body).map_err(|e| FieldError::new(e.path, e.reason))?;
        (None, set)
    } else {
        let (v, set) = automation::current_rules(state.store.as_ref(), ws.id, now_micros()).await?;
        (Some(v), set)
    };
    let rules = automation::dry_run(state.store.as_ref(), &ws, &set, sample).await?;
    Ok(Json(json!({"version": version, "rules": rules})))
}

/// The key webhooks are signed with (hex), made on first use: a receiver checks
/// `Clientele-Signature: t=UNIX,v1=HEX` as HMAC-SHA256 under it of `"{t}." + body`.
#[utoipa::path(get, path = "/api/v1/automation/webhook-key",
    responses((status = 200, body = Document)), tag = "automation")]
pub async fn get_webhook_key(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.store.begin_write(ws.id).await?;
    let key = automation::webhook::key(&mut *tx, now_micros()).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "key": hex::encode(key),
        "header": "Clientele-Signature",
        "signed": "{t}.{body}",
    })))
}

/// The active rule set: `{"version", "rules": {"rules": […], "templates": {…}}}`.
#[utoipa::path(get, path = "/api/v1/automation/rules",
    responses((status = 200, body = Document)), tag = "automation")]
pub async fn get_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<Value>, ApiError> {
    let (version, set) =
        automation::current_rules(state.store.as_ref(), ws.id, now_micros()).await?;
    Ok(Json(json!({"version": version, "rules": set.to_json()})))
}

/// Make a rule set active (the next version): `{"rules": [{"name", "enabled", "trigger",
/// "conditions", "actions"}], "templates": {NAME: {"vi": {"subject", "text", "html"},
/// "en": …}}}`. Runs already started keep their version. A set that fails its checks
/// answers 422 naming the path (`rules[0].actions[1].send_email.template`).
#[utoipa::path(post, path = "/api/v1/automation/rules", request_body = Document,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn post_rules(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let set = RuleSet::from_json(&body).map_err(|e| FieldError::new(e.path, e.reason))?;
    let version = automation::set_rules(state.store.as_ref(), ws.id, &set, now_micros()).await?;
    Ok(Json(json!({"version": version, "rules": set.to_json()})))
}

/// Check a rule-set document without storing it: `{"valid": true, "rules": N,
/// "templates": N}`, or 422 naming the path of the first mistake.
#[utoipa::path(post, path = "/api/v1/automation/rules/validate", request_body = Document,
    responses((status = 200, body = Document), (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn post_validate(
    Auth(_ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let set = RuleSet::from_json(&body).map_err(|e| FieldError::new(e.path, e.reason))?;
    Ok(Json(
        json!({"valid": true, "rules": set.rules.len(), "templates": set.templates.len()}),
    ))
}

/// Switch one rule on or off: `{"enabled": true|false}` makes the next version of the
/// active set (runs already started keep theirs): `{"version", "name", "enabled"}`.
#[utoipa::path(patch, path = "/api/v1/automation/rules/{name}", params(("name" = String, Path)),
    request_body = Document,
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn patch_rule(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    if let Some(k) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "enabled"))
    {
        return Err(FieldError::new(k.clone(), "unknown field (expected: enabled)").into());
    }
    let enabled = body["enabled"]
        .as_bool()
        .ok_or_else(|| FieldError::new("enabled", "true or false is expected"))?;
    let version =
        automation::set_enabled(state.store.as_ref(), ws.id, &name, enabled, now_micros())
            .await?
            .ok_or(ApiError::NotFound("rule"))?;
    Ok(Json(
        json!({"version": version, "name": name, "enabled": enabled}),
    ))
}

/// Query of the per-contact lists.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// At most this many, 1–500 (default 50).
    limit: Option<String>,
}

fn message_json(m: &MessageRow) -> Value {
    json!({
        "id": m.id,
        "channel": m.channel,
        "rule": m.rule,
        "rule_version": m.rule_version,
        "recipient": m.recipient,
        "subject": m.subject,
        "status": m.status,
        "detail": m.detail,
        "at": format_instant(m.at),
    })
}

fn step_json(s: &OutboxRow) -> Value {
    json!({
        "rule": s.rule,
        "rule_version": s.rule_version,
        "step": s.step,
        "occurrence": s.occurrence,
        "status": s.status,
        "attempts": s.attempts,
        "due_at": format_instant(s.due_at),
        "last_error": s.last_error,
        "finished_at": s.finished_at.map(format_instant),
    })
}

/// What was sent to the contact, newest first: `{"items": [{"channel", "rule",
/// "rule_version", "recipient", "subject", "status": "sent"|"skipped"|"failed", "detail",
/// "at"}]}`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/messages", params(("id" = i64, Path), ListParams),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "automation")]
pub async fn get_messages(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let limit = parse_limit(p.limit.as_deref())?;
    let rows = state.store.messages_of(ws.id, id, limit).await?;
    Ok(Json(
        json!({"items": rows.iter().map(message_json).collect::<Vec<_>>()}),
    ))
}

/// Every step of the contact's runs, newest first, with its rule version, attempts, last
/// error and outcome: `{"items": [{"rule", "rule_version", "step", "occurrence", "status",
/// "attempts", "due_at", "last_error", "finished_at"}]}`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/automation", params(("id" = i64, Path), ListParams),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "automation")]
pub async fn get_runs(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let id = live_contact(&state, ws.id, &id).await?;
    let limit = parse_limit(p.limit.as_deref())?;
    let rows = state.store.steps_of(ws.id, id, limit).await?;
    Ok(Json(
        json!({"items": rows.iter().map(step_json).collect::<Vec<_>>()}),
    ))
}
