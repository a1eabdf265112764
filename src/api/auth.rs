//! Bearer-token authentication of agency systems: tokens are configured per system as SHA-256
//! hashes; the presented token's hash is compared in constant time against every configured
//! hash; a caller sees only its own system's data.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openssl::hash::{hash, MessageDigest};

use crate::engine::Context;

use super::error::ApiError;

/// An authenticated agency system.
#[derive(Debug, Clone)]
pub struct Caller {
    pub system: String,
    pub token_name: String,
}

impl Caller {
    /// The actor name for the audit log.
    pub fn actor(&self) -> crate::domain::Actor {
        crate::domain::Actor::System(format!("{}/{}", self.system, self.token_name))
    }
}

/// SHA-256 of a token, hex (what goes into the configuration).
pub fn token_hash(token: &str) -> String {
    hash(MessageDigest::sha256(), token.as_bytes())
        .map(|d| hex::encode(d.as_ref()))
        .unwrap_or_default()
}

/// Finds the system a token belongs to.
pub fn authenticate(ctx: &Context, token: &str) -> Option<Caller> {
    let presented = hex::decode(token_hash(token)).ok()?;
    let mut found = None;
    for s in ctx.config.systems.iter() {
        for t in &s.tokens {
            let Ok(configured) = hex::decode(&t.sha256) else {
                continue;
            };
            // Compare every hash (no early exit) in constant time.
            if configured.len() == presented.len()
                && openssl::memcmp::eq(&configured, &presented)
                && found.is_none()
            {
                found = Some(Caller {
                    system: s.id.clone(),
                    token_name: t.name.clone(),
                });
            }
        }
    }
    found
}

impl FromRequestParts<Arc<Context>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    "unauthorized",
                    "an Authorization: Bearer <token> header is required",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    "unauthorized",
                    "the Authorization header must be \"Bearer <token>\"",
                )
            })?;
        authenticate(ctx, token)
            .ok_or_else(|| ApiError::new("unauthorized", "the token is not valid"))
    }
}
