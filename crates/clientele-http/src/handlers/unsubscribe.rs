//! The public page an unsubscribe link opens. A `GET` only shows a button (mail scanners
//! fetch links; fetching must not unsubscribe anyone); a `POST` — the button, or a mail
//! client's one-click request (RFC 8058, `List-Unsubscribe=One-Click`) — withdraws e-mail
//! consent. Both pages are bilingual.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use clientele_engine::automation::unsubscribe::{self, Unsubscribed};
use clientele_store::now_micros;

use super::public_page::{not_a_link, page};
use crate::{ApiError, AppState};

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
