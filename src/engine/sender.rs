//! The sender: takes due requests, assigns the MessageID (once, stored before the first send),
//! builds and signs the SendRequest (ЭП-ОВ), stores the exact signed bytes, sends, and records
//! the outcome — `sent`, a retry at a due time, a new MessageID after `StaleMessageId`, or
//! `failed` with SMEV's fault. A request claimed for sending carries a lease (its due time);
//! if the process dies mid-send, the lease expires and the same MessageID is sent again, which
//! SMEV's duplicate check turns into `MessageIsAlreadySent` = sent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::domain::{Actor, ErrorInfo, RequestEvent, RequestRecord, RequestState};
use crate::smev::build::{self, Outgoing};
use crate::smev::model::{MessageMetadata, Received, SenderProvidedRequestData};
use crate::smev::{MessageId, SmevError};
use crate::store::{DueKind, StoreError};

use super::outbound::{self, Outcome};
use super::{pause, signed_once, until_due, Context};

/// Runs until shutdown.
pub async fn run(ctx: Arc<Context>) {
    let concurrency = ctx.config.engine.send_concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let mut shutdown = ctx.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = Utc::now();
        let due = super::due_work(&ctx, DueKind::Request, now, concurrency * 4);
        for id in due {
            let fresh = in_flight
                .lock()
                .map(|mut s| s.insert(id.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => break,
            };
            let ctx2 = ctx.clone();
            let in_flight2 = in_flight.clone();
            tokio::spawn(async move {
                send_one(&ctx2, &id).await;
                if let Ok(mut s) = in_flight2.lock() {
                    s.remove(&id);
                }
                drop(permit);
            });
        }
        let wait = until_due(&ctx, DueKind::Request, now);
        if !pause(&mut shutdown, &ctx.wake_sender, wait).await {
            break;
        }
    }
    // Let in-flight sends finish (the engine's grace period bounds this).
    drop(permits.acquire_many(concurrency as u32).await);
}

/// Sends one request (if it is still due).
pub async fn send_one(ctx: &Context, id: &str) {
    let span = tracing::info_span!("send", request_id = %id, message_id = tracing::field::Empty);
    async {
        let now = Utc::now();
        let claimed = ctx.store.apply_request(
            id,
            &Actor::Engine,
            &RequestEvent::Claimed {
                lease_until: now + outbound::lease(ctx),
                fresh_message_id: MessageId::new().to_string(),
            },
        );
        let rec = match claimed {
            Ok(r) => r,
            Err(StoreError::Lifecycle(_)) | Err(StoreError::NotFound) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim the request");
                return;
            }
        };
        if let Some(m) = &rec.message_id {
            tracing::Span::current().record("message_id", m.as_str());
        }
        ctx.metrics
            .transition(RequestState::Queued, RequestState::Sending);
        // Files above the inline limit go to the file storage first (a temporary failure is
        // retried like a failed send; what is already uploaded is not sent again).
        let refs =
            match super::storage_uploads::upload_all(ctx, &rec.system, &rec.attachments).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "upload to the file storage failed");
                    record_outcome(ctx, &rec, Err(e)).await;
                    return;
                }
            };
        let outgoing = match prepare(ctx, &rec, refs).await {
            Ok(o) => o,
            Err(e) => {
                // Our own problem (keys, stored data): retrying cannot help without a human.
                tracing::error!(error = %e, "cannot build the SendRequest");
                finish_failed(
                    ctx,
                    &rec,
                    ErrorInfo::permanent("gateway.build", &e, Utc::now()),
                );
                return;
            }
        };
        // The MessageID and the signed envelope are on disk before anything leaves.
        if let Err(e) = ctx.store.durable().await {
            tracing::error!(error = %e, "flush before sending failed; will retry");
            return;
        }
        let Some(system) = ctx.systems.get(&rec.system) else {
            let message = format!("information system {} is not configured", rec.system);
            finish_failed(
                ctx,
                &rec,
                ErrorInfo::permanent("gateway.unknown_system", &message, Utc::now()),
            );
            return;
        };
        let result = system.client.post_send_request(&outgoing).await;
        record_outcome(ctx, &rec, result).await;
    }
    .instrument(span)
    .await
}

/// Builds and signs the envelope, or rebuilds it from the stored signed bytes.
async fn prepare(
    ctx: &Context,
    rec: &RequestRecord,
    ref_attachment_headers: Vec<crate::smev::model::RefAttachmentHeader>,
) -> Result<Outgoing, String> {
    let system = ctx
        .systems
        .get(&rec.system)
        .ok_or_else(|| format!("information system {} is not configured", rec.system))?;
    let message_id = rec.message_id.clone().ok_or("no MessageID")?;
    let content = match rec.signed_envelope {
        Some(_) => String::new(),
        None => ctx
            .store
            .blob_text(&rec.business_xml)
            .map_err(|e| format!("business XML: {e}"))?,
    };
    let data = SenderProvidedRequestData {
        id: build::ID_CONSUMER.into(),
        message_id: message_id.clone(),
        reference_message_id: None,
        transaction_code: None,
        node_id: system.config.node_id.clone(),
        eol: None,
        content,
        personal_signature: rec.personal.signature_xml.clone(),
        attachment_headers: signed_once::attachment_headers(ctx, &rec.attachments)?,
        ref_attachment_headers,
        test_message: rec.test_message,
    };
    let signed = signed_once::sign_once(
        ctx,
        "urn:SendRequest",
        rec.signed_envelope.as_deref(),
        &rec.attachments,
        system.client.signer().as_ref(),
        build::ID_CONSUMER,
        |contents, mode| build::send_request(&data, contents, mode, false),
    )
    .await?;
    if let Some(envelope) = signed.new_envelope {
        ctx.store
            .apply_request(
                &rec.id,
                &Actor::Engine,
                &RequestEvent::Prepared {
                    message_id,
                    envelope,
                },
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(signed.outgoing)
}

fn finish_failed(ctx: &Context, rec: &RequestRecord, error: ErrorInfo) {
    if outcome(ctx, rec, RequestEvent::Failed { error }).is_some() {
        ctx.metrics
            .transition(RequestState::Sending, RequestState::Failed);
    }
}

/// Applies the outcome of a send; a refusal means something else (an answer, a restart) moved
/// the request on meanwhile, which stands.
fn outcome(ctx: &Context, rec: &RequestRecord, event: RequestEvent) -> Option<RequestRecord> {
    match ctx.store.apply_request(&rec.id, &Actor::Engine, &event) {
        Ok(r) => Some(r),
        Err(StoreError::Lifecycle(e)) => {
            tracing::info!(reason = %e, "send outcome not applied");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record the send outcome; the lease expires and the request is sent again under the same MessageID");
            None
        }
    }
}

async fn record_outcome(
    ctx: &Context,
    rec: &RequestRecord,
    result: Result<Received<MessageMetadata>, SmevError>,
) {
    let now = Utc::now();
    let kind_cfg = ctx
        .kinds
        .get(&rec.kind)
        .map(|k| k.config.deadline_working_days)
        .unwrap_or(5);
    let sent = |sent_at: DateTime<Utc>,
                status: Option<String>,
                evidence: Option<String>,
                already_sent: bool| {
        let deadline = ctx.calendar.add_working_days(sent_at, kind_cfg, ctx.tz);
        let r = outcome(
            ctx,
            rec,
            RequestEvent::Sent {
                sent_at,
                smev_status: status,
                deadline,
                evidence,
                already_sent,
            },
        );
        if let Some(r) = r {
            ctx.metrics
                .transition(RequestState::Sending, RequestState::Sent);
            ctx.metrics
                .accept_to_sent
                .with_label_values(&[&r.kind])
                .observe((sent_at - r.created_at).num_milliseconds().max(0) as f64 / 1000.0);
            ctx.wake_poller.notify_waiters();
            tracing::info!(message_id = ?r.message_id, "request accepted by SMEV");
        }
    };
    match outbound::classify(ctx, "SendRequest", rec.attempts, result, now) {
        Outcome::Accepted(answer) => {
            // SMEV's answer is evidence; without it the send still counts.
            let evidence = match ctx.store.put_blob(&answer.envelope) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = %e, "cannot store SMEV's answer to SendRequest");
                    None
                }
            };
            let sent_at = answer
                .value
                .sending_timestamp
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            let status = answer.value.status.as_ref().map(|s| s.as_str().to_string());
            sent(sent_at, status, evidence, false);
        }
        Outcome::AlreadySent { .. } => sent(now, None, None, true),
        Outcome::RetryAt { at, error } => {
            if outcome(ctx, rec, RequestEvent::RetryAt { at, error }).is_some() {
                ctx.metrics
                    .transition(RequestState::Sending, RequestState::Queued);
            }
        }
        Outcome::NewMessageId { error } => {
            let event = RequestEvent::NewMessageId { due: now, error };
            if outcome(ctx, rec, event).is_some() {
                ctx.metrics
                    .transition(RequestState::Sending, RequestState::Queued);
            }
            ctx.wake_sender.notify_one();
        }
        Outcome::Refused { error } => {
            let error = ErrorInfo::permanent(&error.code, &error.message, now);
            finish_failed(ctx, rec, error);
        }
    }
}
