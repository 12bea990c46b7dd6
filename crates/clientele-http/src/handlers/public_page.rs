//! The small bilingual pages contacts see when they follow a link from a message
//! (unsubscribe, NPS answers): plain HTML, no scripts but what a page needs, no tracking.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A page with a title and an HTML body.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em\">\
         {body}</body></html>"
    ))
}

/// 404 for a link this server did not sign.
pub fn not_a_link() -> Response {
    let body = "<p>Liên kết này không hợp lệ.</p><p>This link is not valid.</p>";
    (
        StatusCode::NOT_FOUND,
        page("Không tìm thấy / Not found", body),
    )
        .into_response()
}
