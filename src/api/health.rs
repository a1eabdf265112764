//! `/health/live` (the process answers) and `/health/ready` (storage writable, signers usable,
//! SMEV answered recently when there is work, certificates not expired), as JSON naming the
//! failing check; and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Serialize;

use crate::dsig::CertificateInfo;
use crate::engine::Context;
use crate::store::records::RequestState;

#[derive(Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

/// `GET /health/live`.
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /health/ready`.
pub async fn ready(State(ctx): State<Arc<Context>>) -> Response {
    let mut checks = Vec::new();
    let storage = ctx.store.check_writable();
    checks.push(Check {
        name: "storage".into(),
        ok: storage.is_ok(),
        detail: storage
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "writable".into()),
    });
    let now = Utc::now();
    for (id, s) in &ctx.systems {
        let signer = s.client.signer();
        let signed = signer.sign(b"health");
        checks.push(Check {
            name: format!("signer:{id}"),
            ok: signed.is_ok(),
            detail: signed
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "signs".into()),
        });
        let info = CertificateInfo::of(signer.certificate());
        let valid = info.not_after > now && info.not_before <= now;
        checks.push(Check {
            name: format!("certificate:{id}"),
            ok: valid,
            detail: format!("valid until {}", info.not_after.format("%Y-%m-%d")),
        });
    }
    let silence = chrono::Duration::minutes(ctx.config.metrics.smev_silence_minutes as i64);
    let busy = ctx
        .store
        .requests_where(|r| {
            matches!(
                r.state,
                RequestState::Queued | RequestState::Sending | RequestState::Sent
            )
        })
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    let last = ctx.last_smev_answer();
    let smev_ok = !busy || last.is_some_and(|t| now - t < silence) || ctx.config.systems.is_empty();
    checks.push(Check {
        name: "smev".into(),
        ok: smev_ok,
        detail: match last {
            Some(t) => format!("last answer {}", t.to_rfc3339()),
            None => "no answer yet".into(),
        },
    });
    let ok = checks.iter().all(|c| c.ok);
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "not_ready" },
        "failing": failing,
        "checks": checks,
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(ctx): State<Arc<Context>>) -> Response {
    let text = ctx.metrics.render(&ctx.store, &ctx.config.storage.path);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
