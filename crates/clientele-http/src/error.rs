//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.
//! Client errors say what is wrong and with which field; server errors say nothing and the
//! log gets the cause.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::FieldError;
use clientele_engine::clv::ClvError;
use clientele_engine::contacts::ContactError;
use clientele_engine::loyalty::LoyaltyError;
use clientele_store::StoreError;
use serde::Serialize;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or unknown bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The resource does not exist in the caller's workspace.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The body is not readable JSON (or not JSON at all).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
    },
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The request contradicts stored state.
    #[error("{0}")]
    Conflict(FieldError),
    /// A state the request cannot be carried out in, with its own problem type
    /// (`insufficient-points`, `out-of-stock`…).
    #[error("{detail}")]
    Refused {
        /// The problem type's last segment.
        slug: &'static str,
        /// Its title.
        title: &'static str,
        /// What happened this time.
        detail: String,
    },
    /// The body is over the limit.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// Anything else; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The problem-details body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Problem type URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The offending field, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
            ),
            Self::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid field",
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::Refused { slug, title, .. } => (StatusCode::CONFLICT, slug, title),
            Self::TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "media-type",
                "Unsupported media type",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let (detail, field) = match &self {
            Self::Invalid(e) | Self::Conflict(e) => (e.reason.clone(), Some(e.field.clone())),
            Self::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                ("the server could not complete the request".to_owned(), None)
            }
            other => (other.to_string(), None),
        };
        let body = Problem {
            kind: format!("urn:clientele:problem:{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            field,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // NotFound and Conflict reaching here were not expected by the handler: a bug or a
        // race, so they are internal errors rather than a guess at a 404.
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<ContactError> for ApiError {
    fn from(e: ContactError) -> Self {
        match e {
            ContactError::Invalid(f) => Self::Invalid(f),
            ContactError::NotFound => Self::NotFound("contact"),
            ContactError::Taken { field, existing } => Self::Conflict(FieldError::new(
                field,
                format!("already belongs to contact {existing}"),
            )),
            ContactError::Store(s) => s.into(),
        }
    }
}

impl From<LoyaltyError> for ApiError {
    fn from(e: LoyaltyError) -> Self {
        let refused = |slug, title, e: &LoyaltyError| Self::Refused {
            slug,
            title,
            detail: e.to_string(),
        };
        match e {
            LoyaltyError::Store(s) => s.into(),
            LoyaltyError::NotFound => Self::NotFound("contact"),
            LoyaltyError::Invalid(f) => Self::Invalid(f),
            LoyaltyError::Insufficient(_) => {
                refused("insufficient-points", "Insufficient points", &e)
            }
            LoyaltyError::OutOfStock => refused("out-of-stock", "Out of stock", &e),
            LoyaltyError::Unavailable(_) => refused("reward-unavailable", "Reward unavailable", &e),
            LoyaltyError::KeyReused => {
                refused("idempotency-key-reused", "Idempotency key reused", &e)
            }
            LoyaltyError::Referral(ref r) => refused(r.slug(), "Referral refused", &e),
        }
    }
}

impl From<ClvError> for ApiError {
    fn from(e: ClvError) -> Self {
        match e {
            ClvError::Store(s) => s.into(),
            e @ ClvError::Fit { .. } => Self::Invalid(FieldError::new("model", e.to_string())),
            ClvError::Invalid(reason) => Self::Internal(anyhow::anyhow!(reason)),
        }
    }
}
