//! `POST /api/v1/events`: batch ingest with a result per event.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::FieldError;
use clientele_core::event::MAX_BATCH;
use clientele_engine::{ItemResult, ItemStatus};
use serde::Serialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_events))
}

/// The answer to a batch.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResults {
    /// One result per event, in order.
    pub results: Vec<ItemResult>,
}

/// Append a batch of up to 10 000 events. Each event is `created`, a `duplicate` (same id,
/// same body: nothing changes), a `conflict` (same id, different body) or an `error` naming
/// the field. A batch of one event answers 409 for a conflict and 422 for an error.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    request_body(content = Object, description = "`{\"events\": [envelope, ...]}`"),
    responses(
        (status = 200, body = BatchResults),
        (status = 409, body = crate::error::Problem, description = "a batch of one event that conflicts with the log; `results` is included"),
        (status = 413, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem, description = "the body has no `events` array or too many; a batch of one invalid event answers 422 with `results` included"),
    ),
    tag = "events"
)]
pub async fn create_events(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let events = body
        .get("events")
        .and_then(|e| e.as_array())
        .ok_or_else(|| {
            FieldError::new(
                "events",
                "the body must be an object with an array `events`",
            )
        })?;
    if events.len() > MAX_BATCH {
        return Err(FieldError::new(
            "events",
            format!("at most {MAX_BATCH} events per batch, got {}", events.len()),
        )
        .into());
    }
    let results = clientele_engine::ingest(state.store.as_ref(), &ws, events).await?;
    // A batch of one that failed is an error of the request itself: answer problem details
    // (RFC 9457), keeping `results` as an extension member so clients read one shape.
    let failed = match results.as_slice() {
        [only] if only.status == ItemStatus::Conflict => {
            Some((StatusCode::CONFLICT, "conflict", "Conflict"))
        }
        [only] if only.status == ItemStatus::Error => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid field",
        )),
        _ => None,
    };
    let Some((status, slug, title)) = failed else {
        return Ok(Json(BatchResults { results }).into_response());
    };
    let error = results[0]
        .error
        .clone()
        .unwrap_or_else(|| FieldError::new("", "refused"));
    let body = json!({
        "type": format!("urn:clientele:problem:{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": error.reason,
        "field": error.field,
        "results": results,
    });
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response())
}
