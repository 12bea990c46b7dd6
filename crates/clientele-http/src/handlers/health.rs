//! Liveness: answers when the server can reach its store.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// `GET /healthz`: 200 `ok`, or 503 when the store does not answer.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.workspaces().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
