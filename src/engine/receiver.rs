//! The response side of the consumer role: polls GetResponse, verifies SMEV's and the
//! provider's signatures, stores each answer durably and only then acknowledges it. Duplicates
//! (redelivery after a lost Ack) are recognised by MessageID and only re-acknowledged. Anything
//! that cannot be processed — unparsable, a failing signature, an answer to an unknown request
//! — is stored as a dead letter and acknowledged (accepted=false when SMEV's signature failed),
//! so SMEV's queue is never held hostage. What an answer does to its request is the domain's
//! [`RequestEvent`]; SMEV's verdicts on our responses (provider role) are [`IncomingEvent`]s.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::domain::{
    Actor, AnswerKind, AnswerRecord, AttachmentRef, ErrorInfo, IncomingEvent, Owner, RequestEvent,
    RequestState, SignatureSummary, Source, StatusUpdate,
};
use crate::smev::model::{AsyncProcessingStatus, Participant, ResponseContent, ResponseMessage};
use crate::smev::{attachments, parse, SmevError};
use crate::store::StoreError;

use super::acknowledge::{ack, count_call, unprocessable};
use super::poll::{self, PollPlan};
use super::signatures::check_signatures;
use super::storage_files;
use super::Context;

/// Polls GetResponse for one system until shutdown.
pub async fn run_responses(ctx: Arc<Context>, system: String) {
    let plan = PollPlan::messages(&ctx, "GetResponse", &system, Some(&ctx.wake_poller));
    poll::run(&ctx, plan, || poll_response(&ctx, &system)).await;
}

/// One GetResponse round trip. `Ok(true)` when a message was taken.
async fn poll_response(ctx: &Context, system: &str) -> Result<bool, SmevError> {
    let rt = &ctx.systems[system];
    let raw = match rt.client.get_response_raw().await {
        Ok(r) => r,
        Err(SmevError::Poison { reason, raw }) => {
            ctx.smev_answered();
            unprocessable(
                ctx,
                system,
                Source::GetResponse,
                &raw,
                &format!("unprocessable answer: {reason}"),
                Some(false),
                false,
            )
            .await;
            return Ok(true);
        }
        Err(e) => {
            count_call(ctx, "GetResponse", &e);
            return Err(e);
        }
    };
    ctx.smev_answered();
    match crate::cpu::offload(|| parse::get_response_answer(&raw)).await {
        Ok(received) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["GetResponse", "ok"])
                .inc();
            match received.value {
                None => Ok(false),
                Some(msg) => {
                    handle_response(ctx, system, msg, &received.envelope).await;
                    Ok(true)
                }
            }
        }
        Err(SmevError::Fault(f)) => {
            let e = SmevError::Fault(f);
            count_call(ctx, "GetResponse", &e);
            Err(e)
        }
        Err(e) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["GetResponse", "ok"])
                .inc();
            unprocessable(
                ctx,
                system,
                Source::GetResponse,
                &raw,
                &format!("unparsable answer: {e}"),
                Some(false),
                false,
            )
            .await;
            Ok(true)
        }
    }
}

async fn handle_response(ctx: &Context, system: &str, msg: ResponseMessage, envelope: &[u8]) {
    let ack_id = msg.ack_id().to_string();
    // Another poller may be storing the same message (a duplicate delivery): wait for it, then
    // this copy is recognised as stored and only acknowledged.
    let Some(_claim) = ctx.claims.claim(&ack_id, Duration::from_secs(30)).await else {
        tracing::warn!(message_id = %ack_id, "still being processed by another poller; SMEV will redeliver it");
        return;
    };
    let span = tracing::info_span!("answer", system, answer_message_id = %ack_id, original_message_id = ?msg.original_message_id, request_id = tracing::field::Empty);
    async {
        match ctx.store.received_as(&ack_id) {
            Ok(Some(subject)) => {
                if awaits_decision(ctx, &subject) {
                    tracing::info!(stored_as = %subject, "redelivered while its dead letter awaits a person's decision: not acknowledging");
                    return;
                }
                ctx.metrics.received_messages.with_label_values(&["GetResponse", "duplicate"]).inc();
                tracing::info!(stored_as = %subject, "duplicate delivery: acknowledging again");
                // The first copy's flush may have failed: make sure it is on disk first.
                if ctx.store.durable().await.is_err() {
                    return;
                }
                ack(ctx, system, &ack_id, !subject.is_dead_letter()).await;
                return;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "store unavailable; not acknowledging");
                return;
            }
        }
        let (signatures, problems) = crate::cpu::offload(|| check_signatures(ctx, envelope)).await;
        if !problems.is_empty() {
            unprocessable(ctx, system, Source::GetResponse, envelope, &format!("signature check failed: {}", problems.join(" | ")), Some(false), false).await;
            return;
        }
        if let Some(owner) = foreign_owner(ctx, system, &msg) {
            ctx.metrics.received_messages.with_label_values(&["GetResponse", "foreign"]).inc();
            tracing::error!(owner = %owner, "answer to a request of another system arrived in this system's queue; not stored and not acknowledged (systems must not share a SMEV participant)");
            return;
        }
        // Files in SMEV's file storage: downloaded and checked before anything is stored.
        let Some(files) = storage_files::received_files(ctx, system, Source::GetResponse, &ack_id, ref_headers(&msg), &msg.fs_attachments, envelope).await else {
            return;
        };
        // Attachment checks (PKCS#7) and the store writes: on the CPU pool.
        match crate::cpu::offload(|| apply_response(ctx, system, &msg, envelope, signatures, files)).await {
            Ok(Applied::Stored(request_id)) => {
                tracing::Span::current().record("request_id", request_id.as_str());
                ctx.metrics.received_messages.with_label_values(&["GetResponse", "stored"]).inc();
                if ctx.store.durable().await.is_ok() {
                    ack(ctx, system, &ack_id, true).await;
                }
            }
            Ok(Applied::Unmatched(reason)) => {
                unprocessable(ctx, system, Source::GetResponse, envelope, &reason, Some(true), true).await;
            }
            Ok(Applied::Refused(reason)) => {
                unprocessable(ctx, system, Source::GetResponse, envelope, &reason, Some(false), true).await;
            }
            Ok(Applied::Foreign(owner)) => {
                ctx.metrics.received_messages.with_label_values(&["GetResponse", "foreign"]).inc();
                tracing::error!(owner = %owner, "answer to a request of another system arrived in this system's queue; not stored and not acknowledged (systems must not share a SMEV participant)");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store the answer; not acknowledging (SMEV redelivers)");
            }
        }
    }
    .instrument(span)
    .await
}

enum Applied {
    Stored(String),
    Unmatched(String),
    /// The answer belongs to a request of another configured system: it is neither stored
    /// under this system (whose token could then read it) nor acknowledged on the other's behalf.
    Foreign(String),
    /// The answer cannot be accepted as it is (its attachments do not match its signed header
    /// list): a dead letter, acknowledged with accepted=false.
    Refused(String),
}

/// Whether `subject` is a dead letter a person must decide about that SMEV was never told of
/// (a download that kept failing): its redeliveries are left unacknowledged.
pub(crate) fn awaits_decision(ctx: &Context, subject: &Owner) -> bool {
    match subject {
        Owner::DeadLetter(id) => ctx.store.get_dead_letter(id).is_ok_and(|d| {
            d.state == crate::domain::DeadLetterState::Open
                && !d.acked
                && d.source != Source::GetStatus
        }),
        _ => false,
    }
}

/// The system whose request `msg` answers, when that is not `system` (checked before any file
/// is downloaded on the wrong system's behalf).
fn foreign_owner(ctx: &Context, system: &str, msg: &ResponseMessage) -> Option<String> {
    let original = original_id(msg)?;
    match ctx.store.owner_of_message_id(&original).ok()?? {
        Owner::Request(id) => ctx
            .store
            .get_request(&id)
            .ok()
            .map(|r| r.system)
            .filter(|s| s != system),
        _ => None,
    }
}

/// The signed file-storage headers of an answer.
fn ref_headers(msg: &ResponseMessage) -> &[crate::smev::model::RefAttachmentHeader] {
    match &msg.data.content {
        ResponseContent::Primary {
            ref_attachment_headers,
            ..
        } => ref_attachment_headers,
        _ => &[],
    }
}

fn original_id(msg: &ResponseMessage) -> Option<String> {
    match &msg.data.content {
        ResponseContent::AsyncProcessingStatus(s) => Some(s.original_message_id.clone()),
        _ => msg.original_message_id.clone(),
    }
}

/// SMEV's asynchronous rejection as the request's answer (the same whichever call brought it).
pub(crate) fn smev_rejection(
    s: &AsyncProcessingStatus,
    message_id: &str,
    envelope: &str,
    sender: Option<Participant>,
    signatures: Vec<SignatureSummary>,
    now: DateTime<Utc>,
) -> AnswerRecord {
    let fault = s.fault.as_ref();
    AnswerRecord {
        kind: AnswerKind::SmevRejected,
        message_id: message_id.to_string(),
        received_at: now,
        business_xml: None,
        rejections: Vec::new(),
        smev_fault: Some(ErrorInfo::permanent(
            &fault
                .map(|f| f.code_name())
                .unwrap_or_else(|| s.category.as_str().to_string()),
            &fault
                .and_then(|f| f.description.clone())
                .or_else(|| s.details.clone())
                .unwrap_or_else(|| "SMEV rejected the request".into()),
            now,
        )),
        attachments: Vec::new(),
        envelope: envelope.to_string(),
        sender,
        signatures,
    }
}

/// Whether SMEV's status rejects the message it is about.
pub(crate) fn is_rejection(s: &AsyncProcessingStatus) -> bool {
    s.category.is_rejection() || s.fault.is_some()
}

fn apply_response(
    ctx: &Context,
    system: &str,
    msg: &ResponseMessage,
    envelope: &[u8],
    signatures: Vec<SignatureSummary>,
    files: Vec<AttachmentRef>,
) -> Result<Applied, StoreError> {
    let Some(original) = original_id(msg) else {
        return Ok(Applied::Unmatched(
            "answer without OriginalMessageId".into(),
        ));
    };
    let owner = ctx.store.owner_of_message_id(&original)?;
    let envelope_key = ctx.store.put_blob(envelope)?;
    match owner {
        Some(Owner::Request(id)) => {
            answer_request(ctx, system, msg, &id, &envelope_key, signatures, files)
        }
        Some(Owner::Incoming(id)) => {
            // SMEV's verdict on a response we sent as a provider.
            let (category, rejected) = match &msg.data.content {
                ResponseContent::AsyncProcessingStatus(s) => {
                    (Some(s.category.as_str().to_string()), is_rejection(s))
                }
                _ => (None, false),
            };
            let event = IncomingEvent::SmevVerdict {
                category,
                rejected,
                evidence: envelope_key,
            };
            match ctx
                .store
                .apply_incoming_received(&id, &Actor::Smev, &event, msg.ack_id())
            {
                Ok(_) => Ok(Applied::Stored(id)),
                Err(StoreError::Lifecycle(e)) => Ok(Applied::Unmatched(format!(
                    "verdict on the response to incoming request {id}: {e}"
                ))),
                Err(e) => Err(e),
            }
        }
        _ => Ok(Applied::Unmatched(format!(
            "answer to an unknown MessageID {original}"
        ))),
    }
}

/// What an answer to our request means for it, applied.
fn answer_request(
    ctx: &Context,
    system: &str,
    msg: &ResponseMessage,
    id: &str,
    envelope_key: &str,
    signatures: Vec<SignatureSummary>,
    files: Vec<AttachmentRef>,
) -> Result<Applied, StoreError> {
    let rec = ctx.store.get_request(id)?;
    if rec.system != system {
        return Ok(Applied::Foreign(rec.system));
    }
    let ack_id = msg.ack_id().to_string();
    let now = Utc::now();
    let answer = |kind: AnswerKind| AnswerRecord {
        kind,
        message_id: ack_id.clone(),
        received_at: now,
        business_xml: None,
        rejections: Vec::new(),
        smev_fault: None,
        attachments: Vec::new(),
        envelope: envelope_key.to_string(),
        sender: msg.metadata.sender.clone(),
        signatures: signatures.clone(),
    };
    let evidence = envelope_key.to_string();
    let event = match &msg.data.content {
        ResponseContent::Primary {
            content,
            attachment_headers,
            ..
        } => {
            let require = ctx
                .kinds
                .get(&rec.kind)
                .is_some_and(|k| k.config.require_attachment_signature);
            let integrity = match attachments::check(attachment_headers, &msg.attachments, require)
            {
                Ok(i) => i,
                Err(e) => return Ok(Applied::Refused(format!("attachment check failed: {e}"))),
            };
            let mut data = answer(AnswerKind::Data);
            data.business_xml = Some(ctx.store.put_blob(content.as_bytes())?);
            for (i, (a, checked)) in msg.attachments.iter().zip(integrity).enumerate() {
                let key = ctx.store.put_blob(&a.content)?;
                let mime = attachments::safe_mime(&attachment_mime(msg, &a.id));
                data.attachments.push(AttachmentRef {
                    name: attachments::file_name(&a.id, &mime, i),
                    mime_type: mime,
                    size: a.content.len() as u64,
                    hash: key,
                    content_id: Some(a.id.clone()),
                    integrity: Some(checked.integrity),
                    in_file_area: false,
                    storage_uuid: None,
                    signature_pkcs7: None,
                    signer: checked.signer,
                });
            }
            if let Some(refusal) = super::storage_files::unsigned_refusal(&files, require) {
                return Ok(Applied::Refused(refusal));
            }
            data.attachments.extend(files);
            RequestEvent::Answer {
                answer: data,
                evidence,
            }
        }
        ResponseContent::Rejected(rejections) => {
            let mut rejected = answer(AnswerKind::Rejected);
            rejected.rejections = rejections.clone();
            RequestEvent::Answer {
                answer: rejected,
                evidence,
            }
        }
        ResponseContent::Status(s) => RequestEvent::ProviderStatus {
            status: StatusUpdate {
                at: now,
                message_id: ack_id.clone(),
                code: s.code,
                description: s.description.clone(),
            },
            evidence,
        },
        ResponseContent::AsyncProcessingStatus(s) => RequestEvent::SmevStatus {
            category: s.category.as_str().to_string(),
            rejection: is_rejection(s).then(|| {
                smev_rejection(
                    s,
                    &ack_id,
                    envelope_key,
                    msg.metadata.sender.clone(),
                    signatures.clone(),
                    now,
                )
            }),
            evidence,
        },
    };
    if matches!(rec.state, RequestState::Sending | RequestState::Queued)
        && matches!(event, RequestEvent::Answer { .. })
    {
        // The send's HTTP answer was lost but SMEV delivered an answer: it was sent.
        tracing::info!(request_id = %id, "answer for a request still marked {}", rec.state.as_str());
    }
    match ctx
        .store
        .apply_request_received(id, &Actor::Smev, &event, &ack_id)
    {
        Ok(r) => {
            if r.state != rec.state && r.state.is_closed() {
                ctx.metrics.transition(RequestState::Sent, r.state);
                if let Some(sent_at) = r.sent_at {
                    ctx.metrics
                        .sent_to_answered
                        .with_label_values(&[&r.kind])
                        .observe((now - sent_at).num_milliseconds().max(0) as f64 / 1000.0);
                }
            }
            Ok(Applied::Stored(id.to_string()))
        }
        Err(StoreError::Lifecycle(e)) => Ok(Applied::Unmatched(format!(
            "final answer for request {id}: {e}"
        ))),
        Err(e) => Err(e),
    }
}

fn attachment_mime(msg: &ResponseMessage, content_id: &str) -> String {
    match &msg.data.content {
        ResponseContent::Primary {
            attachment_headers, ..
        } => attachment_headers
            .iter()
            .find(|h| h.content_id == content_id)
            .map(|h| h.mime_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into()),
        _ => "application/octet-stream".into(),
    }
}

/// Processes a stored envelope again (dead-letter "reprocess"): signature checks and
/// correlation are repeated; nothing is acknowledged here.
pub(crate) async fn reprocess(ctx: &Context, system: &str, envelope: &[u8]) -> Result<(), String> {
    let received = parse::get_response_answer(envelope).map_err(|e| e.to_string())?;
    let msg = received.value.ok_or("the envelope holds no message")?;
    let (signatures, problems) = crate::cpu::offload(|| check_signatures(ctx, envelope)).await;
    if !problems.is_empty() {
        return Err(format!("signature check failed: {}", problems.join(" | ")));
    }
    let files = storage_files::fetch_now(
        ctx,
        system,
        msg.ack_id(),
        ref_headers(&msg),
        &msg.fs_attachments,
    )
    .await?;
    match apply_response(ctx, system, &msg, envelope, signatures, files)
        .map_err(|e| e.to_string())?
    {
        Applied::Stored(_) => Ok(()),
        Applied::Unmatched(reason) | Applied::Refused(reason) => Err(reason),
        Applied::Foreign(owner) => {
            Err(format!("the answer belongs to a request of system {owner}"))
        }
    }
}
