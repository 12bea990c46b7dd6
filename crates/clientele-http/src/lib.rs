//! The HTTP interface: a JSON API under `/api/v1` with bearer-token auth, RFC 9457 problem
//! details for every error, an OpenAPI document generated from the handlers, `/healthz`,
//! and graceful shutdown.

pub mod auth;
pub mod error;
mod handlers;
pub mod json;
mod openapi;
pub mod schedule;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use clientele_store::Store;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;

/// Largest request body accepted: a full batch of 10 000 events fits comfortably.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The store, chosen once from the database URL.
    pub store: Arc<dyn Store>,
}

/// The full application router.
pub fn router(store: Arc<dyn Store>) -> Router {
    let (api, doc) = api_router().split_for_parts();
    let doc = Arc::new(doc);
    api.route(
        "/api/openapi.json",
        axum::routing::get(move || async move { axum::Json((*doc).clone()) }),
    )
    .route("/healthz", axum::routing::get(handlers::health::healthz))
    .route(
        "/r/{code}",
        axum::routing::get(handlers::referrals::landing),
    )
    .route(
        "/s/{token}",
        axum::routing::get(handlers::survey::confirm).post(handlers::survey::record),
    )
    .route(
        "/u/{token}",
        axum::routing::get(handlers::unsubscribe::confirm).post(handlers::unsubscribe::withdraw),
    )
    .layer(DefaultBodyLimit::max(MAX_BODY))
    .layer(TraceLayer::new_for_http())
    .with_state(AppState { store })
}

/// The routes that appear in the OpenAPI document.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(handlers::automation::routes())
        .merge(handlers::clv::routes())
        .merge(handlers::contacts::routes())
        .merge(handlers::coupons::routes())
        .merge(handlers::events::routes())
        .merge(handlers::ladder::routes())
        .merge(handlers::loyalty::routes())
        .merge(handlers::referrals::routes())
        .merge(handlers::tasks::routes())
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
