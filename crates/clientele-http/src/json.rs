//! A JSON body extractor whose failures are problem details: too large is 413, not JSON is
//! 400 with the line and column, a wrong content type is 415.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

use crate::{ApiError, MAX_BODY};

/// The request body as a JSON value; handlers parse it into domain input so that type
/// errors name their field.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::TooLarge(MAX_BODY))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest {
                detail: source_text(&e),
            }),
            Err(e) => Err(ApiError::BadRequest {
                detail: e.body_text(),
            }),
        }
    }
}

fn source_text(e: &dyn std::error::Error) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    format!("the body is not valid JSON: {inner}")
}
