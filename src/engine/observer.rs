//! Periodic observation of the stored state for `/metrics` and `/health/ready`. Gauges such as
//! requests by status or the oldest unanswered request need a pass over the store, and readiness
//! needs a trial signature per system: both are computed here, on the CPU pool, every
//! `metrics.refresh_interval_ms`, so that a scrape or a probe only reads the last result and
//! costs the same with ten requests stored or ten million — and so that a flood of scrapes
//! cannot slow the API down.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::RequestState;
use crate::dsig::CertificateInfo;

use super::{pause, Context};

/// One readiness check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The readiness checks as last observed.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    pub checks: Vec<Check>,
    /// Requests are waiting for SMEV (so SMEV's silence matters).
    pub busy: bool,
    pub observed_at: Option<DateTime<Utc>>,
}

/// Observes until shutdown.
pub async fn run(ctx: Arc<Context>) {
    let every = Duration::from_millis(ctx.config.metrics.refresh_interval_ms.max(50));
    let mut shutdown = ctx.shutdown_signal();
    let never = tokio::sync::Notify::new();
    loop {
        if !pause(&mut shutdown, &never, every).await {
            break;
        }
        crate::cpu::offload(|| observe(&ctx)).await;
    }
}

/// One observation: refreshes the gauges and the readiness checks.
pub fn observe(ctx: &Context) {
    ctx.metrics.refresh(&*ctx.store, &ctx.config.storage.path);
    let readiness = readiness(ctx);
    match ctx.readiness.write() {
        Ok(mut r) => *r = readiness,
        Err(e) => tracing::error!(error = %e, "readiness cache poisoned; keeping the old one"),
    }
}

fn readiness(ctx: &Context) -> Readiness {
    let mut checks = Vec::new();
    let now = Utc::now();
    let storage = ctx.store.check_writable();
    // A failed read or write in the last minute counts even when the trial write succeeds:
    // the engine's reads (due work, records) may be what fails.
    let recent = ctx
        .store
        .last_failure()
        .filter(|f| now - f.at < chrono::Duration::seconds(60));
    checks.push(Check {
        name: "storage".into(),
        ok: storage.is_ok() && recent.is_none(),
        detail: match (storage, recent) {
            (Err(e), _) => e.to_string(),
            (Ok(()), Some(f)) => format!(
                "{} storage failures since start; the latest, {} s ago in {}: {}",
                ctx.store.failure_count(),
                (now - f.at).num_seconds(),
                f.operation,
                f.message
            ),
            (Ok(()), None) => "writable".into(),
        },
    });
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
    let busy = match ctx.store.count_by_state() {
        Ok(counts) => [
            RequestState::Queued,
            RequestState::Sending,
            RequestState::Sent,
        ]
        .iter()
        .any(|s| counts.get(s).copied().unwrap_or(0) > 0),
        Err(e) => {
            tracing::warn!(error = %e, "cannot count requests for readiness");
            false
        }
    };
    Readiness {
        checks,
        busy,
        observed_at: Some(now),
    }
}
