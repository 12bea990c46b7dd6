//! What automation hands to people: tasks for staff (`create_task` steps), listed and
//! marked done, and support tickets (`open_ticket` steps), listed for the workspace or one
//! contact.

use axum::Json;
use axum::extract::{Path, Query, State};
use clientele_core::time::format_instant;
use clientele_core::{ContactId, FieldError, WorkspaceId};
use clientele_store::{TaskRow, TicketRow};
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
        .routes(routes!(get_tasks))
        .routes(routes!(patch_task))
        .routes(routes!(get_tickets))
}

/// Query of the lists.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// Only this contact's.
    contact_id: Option<String>,
    /// Tasks: `open` (default) or `all`.
    status: Option<String>,
    /// At most this many, 1–500 (default 50).
    limit: Option<String>,
}

impl Params {
    /// The contact asked about, checked to exist (404 otherwise).
    async fn contact(
        &self,
        state: &AppState,
        ws: WorkspaceId,
    ) -> Result<Option<ContactId>, ApiError> {
        match &self.contact_id {
            Some(id) => Ok(Some(live_contact(state, ws, id).await?)),
            None => Ok(None),
        }
    }
}

fn task_json(t: &TaskRow) -> Value {
    json!({
        "id": t.id,
        "contact_id": t.contact_id.0,
        "title": t.title,
        "assignee": t.assignee,
        "due_at": format_instant(t.due_at),
        "status": t.status,
        "source": t.source,
        "created_at": format_instant(t.created_at),
    })
}

fn ticket_json(t: &TicketRow) -> Value {
    json!({
        "id": t.id,
        "contact_id": t.contact_id.0,
        "kind": t.kind,
        "subject": t.subject,
        "status": t.status,
        "source": t.source,
        "created_at": format_instant(t.created_at),
    })
}

/// Tasks for staff, newest first: `{"items": [{"id", "contact_id", "title", "assignee",
/// "due_at", "status", "source", "created_at"}]}`; open ones unless `status=all`.
#[utoipa::path(get, path = "/api/v1/tasks", params(Params),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn get_tasks(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let contact = p.contact(&state, ws.id).await?;
    let open_only = match p.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(FieldError::new("status", "open or all").into());
        }
    };
    let limit = parse_limit(p.limit.as_deref())?;
    let rows = state.store.tasks(ws.id, contact, open_only, limit).await?;
    Ok(Json(
        json!({"items": rows.iter().map(task_json).collect::<Vec<_>>()}),
    ))
}

/// Support tickets, newest first: `{"items": [{"id", "contact_id", "kind", "subject",
/// "status", "source", "created_at"}]}`.
#[utoipa::path(get, path = "/api/v1/tickets", params(Params),
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem)), tag = "automation")]
pub async fn get_tickets(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let contact = p.contact(&state, ws.id).await?;
    let limit = parse_limit(p.limit.as_deref())?;
    let rows = state.store.tickets(ws.id, contact, limit).await?;
    Ok(Json(
        json!({"items": rows.iter().map(ticket_json).collect::<Vec<_>>()}),
    ))
}

/// Mark a task done (or open again): `{"status": "done"|"open"}` answers the task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", params(("id" = i64, Path)), request_body = Document,
    responses((status = 200, body = Document), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)), tag = "automation")]
pub async fn patch_task(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound("task"))?;
    if let Some(k) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "status"))
    {
        return Err(FieldError::new(k.clone(), "unknown field (expected: status)").into());
    }
    let status = match body["status"].as_str() {
        Some(s @ ("open" | "done")) => s,
        _ => return Err(FieldError::new("status", "open or done").into()),
    };
    let mut tx = state.store.begin_write(ws.id).await?;
    let task = tx
        .set_task_status(id, status)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    tx.commit().await?;
    Ok(Json(task_json(&task)))
}
