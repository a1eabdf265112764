//! `/health/live` (the process answers) and `/health/ready` (storage writable, signers usable,
//! SMEV answered recently when there is work, certificates not expired), and `/metrics`. Both
//! read what the engine's observer last computed (see `engine::observer`): a probe or a scrape
//! does no store scan and no signing, whatever the load. Without a token, readiness says only
//! ready or not; the checks (system names, certificate dates) need the metrics token or an API
//! token, and `/metrics` needs the metrics token when one is configured.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use crate::engine::observer::Check;
use crate::engine::Context;

use super::auth::{authenticate, token_hash};
use super::error::ApiError;

/// `GET /health/live`.
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// The presented token is the configured metrics token.
fn is_metrics_token(ctx: &Context, token: &str) -> bool {
    let Some(expected) = &ctx.config.metrics.token_sha256 else {
        return false;
    };
    let (Ok(a), Ok(b)) = (hex::decode(expected), hex::decode(token_hash(token))) else {
        return false;
    };
    a.len() == b.len() && openssl::memcmp::eq(&a, &b)
}

/// `GET /health/ready`.
pub async fn ready(State(ctx): State<Arc<Context>>, headers: HeaderMap) -> Response {
    let observed = match ctx.readiness.read() {
        Ok(r) => r.clone(),
        Err(_) => Default::default(),
    };
    let mut checks = observed.checks;
    let now = Utc::now();
    // The checks are only as good as their age: a stalled observer must not report "ready".
    let every = ctx.config.metrics.refresh_interval_ms.max(50) as i64;
    let stale_after = chrono::Duration::milliseconds((every * 3).max(30_000));
    match observed.observed_at {
        None => checks.push(Check {
            name: "observer".into(),
            ok: false,
            detail: "not observed yet".into(),
        }),
        Some(at) if now - at > stale_after => checks.push(Check {
            name: "observer".into(),
            ok: false,
            detail: format!("last observation {} s ago", (now - at).num_seconds()),
        }),
        Some(_) => {}
    }
    let silence = chrono::Duration::minutes(ctx.config.metrics.smev_silence_minutes as i64);
    let last = ctx.last_smev_answer();
    let smev_ok =
        !observed.busy || last.is_some_and(|t| now - t < silence) || ctx.config.systems.is_empty();
    checks.push(Check {
        name: "smev".into(),
        ok: smev_ok,
        detail: match last {
            Some(t) => format!("last answer {}", t.to_rfc3339()),
            None => "no answer yet".into(),
        },
    });
    let ok = checks.iter().all(|c| c.ok);
    let detailed = bearer(&headers)
        .is_some_and(|t| is_metrics_token(&ctx, t) || authenticate(&ctx, t).is_some());
    let status = if ok { "ready" } else { "not_ready" };
    let body = if detailed {
        let failing: Vec<&str> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        serde_json::json!({
            "status": status,
            "failing": failing,
            "checks": checks,
            "observed_at": observed.observed_at,
        })
    } else {
        serde_json::json!({ "status": status })
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(ctx): State<Arc<Context>>, headers: HeaderMap) -> Response {
    if ctx.config.metrics.token_sha256.is_some()
        && !bearer(&headers).is_some_and(|t| is_metrics_token(&ctx, t))
    {
        return ApiError::new(
            "unauthorized",
            "/metrics needs Authorization: Bearer <metrics token>",
        )
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        ctx.metrics.encode(),
    )
        .into_response()
}
