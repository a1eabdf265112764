//! Housekeeping: recovery on start (requests and responses left mid-send are made due again so
//! they are resent under the same MessageID), expiry of requests past their legal deadline, and
//! retention (closed requests older than the configured age are written to an archive file —
//! JSON lines with the raw XML — and purged, so the database does not grow forever).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;

use crate::domain::{Actor, IncomingEvent, IncomingState, RequestEvent, RequestState};
use crate::store::StoreError;

use super::{pause, Context};

/// Makes everything left in `sending` due now.
pub fn recover(ctx: &Context) -> Result<(), StoreError> {
    let now = Utc::now();
    let stuck = ctx
        .store
        .requests_where(&|r| r.state == RequestState::Sending)?;
    for r in &stuck {
        tracing::info!(request_id = %r.id, message_id = ?r.message_id, "recovery: resending a request left in 'sending' with the same MessageID");
        ctx.store
            .apply_request(&r.id, &Actor::Engine, &RequestEvent::Recovered { due: now })?;
    }
    let responding = ctx
        .store
        .incoming_where(&|i| i.state == IncomingState::Responding)?;
    for i in &responding {
        ctx.store.apply_incoming(
            &i.id,
            &Actor::Engine,
            &IncomingEvent::Recovered { due: now },
        )?;
    }
    ctx.store.flush()?;
    Ok(())
}

/// Runs expiry and retention until shutdown.
pub async fn run(ctx: Arc<Context>) {
    let mut shutdown = ctx.shutdown_signal();
    let never = tokio::sync::Notify::new();
    let interval = Duration::from_millis(ctx.config.engine.expiry_check_interval_ms.max(1000));
    let retention_every = Duration::from_secs(ctx.config.retention.interval_minutes.max(1) * 60);
    let mut since_retention = retention_every;
    loop {
        if let Err(e) = expire(&ctx) {
            tracing::warn!(error = %e, "expiry check failed");
        }
        if ctx.config.retention.enabled && since_retention >= retention_every {
            since_retention = Duration::ZERO;
            match retain(&ctx) {
                Ok(n) if n > 0 => {
                    tracing::info!(purged = n, "retention: archived and purged closed requests")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
            match collect_files(&ctx) {
                Ok((0, _)) => {}
                Ok((files, bytes)) => {
                    tracing::info!(files, bytes, "retention: removed files no record refers to")
                }
                Err(e) => tracing::warn!(error = %e, "collecting unreferenced files failed"),
            }
        }
        since_retention += interval;
        if !pause(&mut shutdown, &never, interval).await {
            break;
        }
    }
}

/// Requests past their deadline without an answer become `expired`.
pub fn expire(ctx: &Context) -> Result<usize, StoreError> {
    let now = Utc::now();
    // From the store's tally of unanswered requests: a scan of every record each minute
    // would grow with a year of them.
    let overdue: Vec<_> = ctx
        .store
        .watched_requests()?
        .into_iter()
        .filter(|r| r.state == RequestState::Sent && r.deadline.is_some_and(|d| d < now))
        .collect();
    for r in &overdue {
        match ctx
            .store
            .apply_request(&r.id, &Actor::Engine, &RequestEvent::Expire)
        {
            Ok(expired) => {
                ctx.metrics
                    .transition(RequestState::Sent, RequestState::Expired);
                tracing::warn!(request_id = %r.id, message_id = ?expired.message_id, "request expired without an answer");
            }
            // Its answer arrived meanwhile.
            Err(StoreError::Lifecycle(_) | StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(overdue.len())
}

/// Removes files of the file area no request or incoming request refers to any more (purged
/// by retention, or downloaded for a message that was then refused) and partial downloads left
/// behind, once a day has passed since they were written; returns files and bytes freed.
pub fn collect_files(ctx: &Context) -> Result<(usize, u64), StoreError> {
    let mut referenced = std::collections::HashSet::new();
    let mut keep = |files: &[crate::domain::AttachmentRef]| {
        referenced.extend(
            files
                .iter()
                .filter(|a| a.in_file_area)
                .map(|a| a.hash.clone()),
        );
    };
    // The files we send and the ones we received, of both roles.
    for r in ctx.store.requests_where(&|_| true)? {
        keep(&r.attachments);
        if let Some(a) = &r.answer {
            keep(&a.attachments);
        }
    }
    for i in ctx.store.incoming_where(&|_| true)? {
        keep(&i.attachments);
        if let Some(crate::domain::OutgoingResponse::Data { attachments, .. }) = &i.response {
            keep(attachments);
        }
    }
    let before = std::time::SystemTime::now() - Duration::from_secs(24 * 3600);
    ctx.files
        .collect_garbage(&referenced, before)
        .map_err(|e| StoreError::Sled(format!("file area: {e}")))
}

/// Archives and purges closed requests older than the retention age; returns how many.
pub fn retain(ctx: &Context) -> Result<usize, StoreError> {
    let cutoff = Utc::now() - chrono::Duration::days(ctx.config.retention.closed_after_days as i64);
    let old = ctx
        .store
        .requests_where(&|r| r.state.is_closed() && r.updated_at < cutoff)?;
    if old.is_empty() {
        return Ok(0);
    }
    let dir = &ctx.config.retention.archive_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Sled(format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("requests-{}.jsonl", Utc::now().format("%Y-%m-%d")));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| StoreError::Sled(format!("{}: {e}", path.display())))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    // Every blob must read before anything is written: an archive line with a missing part
    // would purge evidence.
    let mut lines = Vec::with_capacity(old.len());
    for r in &old {
        let text = |k: &str| ctx.store.blob_text(k);
        let optional = |k: Option<&str>| k.map(text).transpose();
        let mut attachments = Vec::new();
        for x in r.answer.iter().flat_map(|a| &a.attachments) {
            if x.in_file_area {
                // A large file is copied beside the archive, not inlined into its line.
                let from = ctx.files.path(&x.hash).ok_or(StoreError::NotFound)?;
                let to = dir.join("files").join(&x.hash);
                if !to.exists() {
                    std::fs::create_dir_all(dir.join("files"))
                        .and_then(|()| std::fs::copy(&from, &to))
                        .map_err(|e| StoreError::Sled(format!("{}: {e}", to.display())))?;
                }
                attachments.push(serde_json::json!({"name": x.name, "mime_type": x.mime_type, "file": format!("files/{}", x.hash)}));
                continue;
            }
            attachments.push(serde_json::json!({"name": x.name, "mime_type": x.mime_type, "base64": b64.encode(ctx.store.blob(&x.hash)?)}));
        }
        let line = serde_json::json!({
            "request": r,
            "business_xml": text(&r.business_xml)?,
            "signed_envelope": optional(r.signed_envelope.as_deref())?,
            "answer_envelope": optional(r.answer.as_ref().map(|a| a.envelope.as_str()))?,
            "answer_business_xml": optional(r.answer.as_ref().and_then(|a| a.business_xml.as_deref()))?,
            "answer_attachments": r.answer.as_ref().map(|_| attachments),
            "audit": ctx.store.audit_of(&r.id)?,
        });
        lines.push(line);
    }
    for line in &lines {
        writeln!(file, "{line}")
            .map_err(|e| StoreError::Sled(format!("{}: {e}", path.display())))?;
    }
    file.sync_all()
        .map_err(|e| StoreError::Sled(e.to_string()))?;
    for r in &old {
        ctx.store.purge_request(&r.id, cutoff)?;
    }
    ctx.store.flush()?;
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use crate::domain::RequestState;

    fn context(dir: &std::path::Path) -> std::sync::Arc<super::Context> {
        let mut cfg = crate::config::Config::example();
        cfg.storage.path = dir.join("db");
        cfg.validate().unwrap();
        super::Context::build(cfg).unwrap()
    }

    #[test]
    fn only_sent_requests_past_their_deadline_expire() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let now = Utc::now();
        let cases = [
            (
                RequestState::Sent,
                Some(now - Duration::hours(1)),
                RequestState::Expired,
            ),
            (
                RequestState::Sent,
                Some(now + Duration::hours(1)),
                RequestState::Sent,
            ),
            (RequestState::Sent, None, RequestState::Sent),
            (
                RequestState::Queued,
                Some(now - Duration::hours(1)),
                RequestState::Queued,
            ),
            (
                RequestState::Answered,
                Some(now - Duration::hours(1)),
                RequestState::Answered,
            ),
        ];
        let mut ids = Vec::new();
        for (state, deadline, _) in &cases {
            let mut r = crate::store::contract_tests::request("is-main", None);
            r.state = *state;
            r.deadline = *deadline;
            ctx.store.create_request(&r, b"<a/>", &[]).unwrap();
            ids.push(r.id);
        }
        assert_eq!(super::expire(&ctx).unwrap(), 1);
        for (id, (from, deadline, expected)) in ids.iter().zip(&cases) {
            let r = ctx.store.get_request(id).unwrap();
            assert_eq!(r.state, *expected, "{from:?} with deadline {deadline:?}");
        }
    }
}
