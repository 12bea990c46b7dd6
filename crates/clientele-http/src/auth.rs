//! Bearer-token authentication. Tokens are 32 random bytes shown once; the store keeps only
//! their SHA-256, looked up by equality on the hash (no timing leak about the token itself).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use clientele_store::Workspace;
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// The workspace of the request's bearer token.
pub struct Auth(pub Workspace);

/// SHA-256 of a presented token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let ws = state
            .store
            .workspace_for_token(&token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Auth(ws))
    }
}
