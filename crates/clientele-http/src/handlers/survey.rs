//! The public page an NPS answer link opens. `GET /s/{token}?score=N` shows the scale with
//! the clicked score chosen and sends it by itself in a browser (a mail scanner that
//! fetches the link, running no scripts, records nothing); `POST` records it — the first
//! answer to a question stands. Both pages are bilingual.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use clientele_engine::automation::survey::{self, Answer};
use clientele_store::now_micros;
use serde::Deserialize;

use super::public_page::{not_a_link, page};
use crate::{ApiError, AppState};

/// The score a link or the form carries.
#[derive(Deserialize)]
pub struct Score {
    score: Option<String>,
}

impl Score {
    fn value(&self) -> Option<i64> {
        self.score
            .as_deref()
            .and_then(|s| s.trim().parse().ok())
            .filter(|n| (0..=10).contains(n))
    }
}

/// `GET /s/{token}`: the scale, the clicked score chosen and sent.
pub async fn confirm(Path(token): Path<String>, Query(q): Query<Score>) -> Response {
    if survey::parse(&token).is_none() {
        return not_a_link();
    }
    let chosen = q.value();
    let buttons: String = (0..=10)
        .map(|n| {
            let style = if Some(n) == chosen {
                "font-weight:bold;background:#234;color:#fff"
            } else {
                ""
            };
            format!(
                "<button type=\"submit\" name=\"score\" value=\"{n}\" style=\"margin:2px;\
                 padding:8px 12px;{style}\">{n}</button>"
            )
        })
        .collect();
    // The form posts the chosen score at once in a browser; without scripts, a click does.
    let auto = chosen
        .map(|n| {
            format!(
                "<input type=\"hidden\" name=\"score\" value=\"{n}\">\
                 <script>document.getElementById('answer').submit()</script>"
            )
        })
        .unwrap_or_default();
    page(
        "Đánh giá / Your rating",
        &format!(
            "<p>Từ 0 đến 10, bạn có sẵn lòng giới thiệu chúng tôi cho bạn bè không?</p>\
             <p>From 0 to 10, how likely are you to recommend us to a friend?</p>\
             <form id=\"answer\" method=\"post\">{buttons}{auto}</form>"
        ),
    )
    .into_response()
}

/// `POST /s/{token}`: record the score.
pub async fn record(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<Score>,
) -> Response {
    let Some(score) = form.value() else {
        return not_a_link();
    };
    match survey::answer(state.store.as_ref(), &token, score, now_micros()).await {
        Ok(Answer::Recorded) => page(
            "Cảm ơn / Thank you",
            "<p>Cảm ơn bạn đã trả lời!</p><p>Thank you for your answer!</p>",
        )
        .into_response(),
        Ok(Answer::Already) => page(
            "Cảm ơn / Thank you",
            "<p>Câu trả lời của bạn đã được ghi nhận trước đó.</p>\
             <p>Your answer was already recorded.</p>",
        )
        .into_response(),
        Ok(Answer::Invalid) => not_a_link(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
