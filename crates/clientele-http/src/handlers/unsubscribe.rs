//! The public page an unsubscribe link opens. A `GET` only shows a button (mail scanners
//! fetch links; fetching must not unsubscribe anyone); a `POST` — the button, or a mail
//! client's one-click request (RFC 8058, `List-Unsubscribe=One-Click`) — withdraws e-mail
//! consent. Both pages are bilingual.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use clientele_engine::automation::unsubscribe::{self, Unsubscribed};
use clientele_store::now_micros;

use crate::{ApiError, AppState};

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>{body}</html>"
    ))
}

fn not_a_link() -> Response {
    let body = "<p>Liên kết này không hợp lệ.</p><p>This link is not valid.</p>";
    (
        StatusCode::NOT_FOUND,
        page("Không tìm thấy / Not found", body),
    )
        .into_response()
}

/// `GET /u/{token}`: the button.
pub async fn confirm(Path(token): Path<String>) -> Response {
    if unsubscribe::parse(&token).is_none() {
        return not_a_link();
    }
    page(
        "Hủy đăng ký / Unsubscribe",
        "<form method=\"post\"><p>Bạn sẽ không nhận thư quảng cáo từ chúng tôi nữa.</p>\
         <p>You will no longer receive marketing e-mail from us.</p>\
         <button type=\"submit\">Hủy đăng ký / Unsubscribe</button></form>",
    )
    .into_response()
}

/// `POST /u/{token}`: withdraw e-mail consent.
pub async fn withdraw(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match unsubscribe::unsubscribe(state.store.as_ref(), &token, now_micros()).await {
        Ok(Unsubscribed::Done(..)) => page(
            "Đã hủy đăng ký / Unsubscribed",
            "<p>Bạn đã hủy đăng ký nhận thư.</p><p>You are unsubscribed.</p>",
        )
        .into_response(),
        Ok(Unsubscribed::Invalid) => not_a_link(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
