//! The provider role: polls GetRequest for requests other agencies send to our information
//! systems, stores each (then acknowledges it) and tells the agency system by webhook; sends the
//! agency system's answers back with SendResponse (or a rejection), with the same retry rules as
//! outgoing requests. What each outcome does to the incoming request is the domain's
//! [`IncomingEvent`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::domain::*;
use crate::smev::attachments;
use crate::smev::build::{self, Outgoing};
use crate::smev::model::{
    MessageMetadata, Received, Rejection, RequestMessage, ResponseContent,
    SenderProvidedResponseData,
};
use crate::smev::{parse, MessageId, SmevError};
use crate::store::{new_id, DueKind, StoreError};
use crate::xml::Document;

use super::outbound::{self, Outcome};
use super::poll::{self, PollPlan};
use super::signatures::check_signatures;
use super::{acknowledge, pause, signed_once, until_due, Context};

/// Polls GetRequest for one system until shutdown.
pub async fn run_requests(ctx: Arc<Context>, system: String) {
    let plan = PollPlan::messages(&ctx, "GetRequest", &system, None);
    poll::run(&ctx, plan, || poll_request(&ctx, &system)).await;
}

async fn poll_request(ctx: &Context, system: &str) -> Result<bool, SmevError> {
    let raw = match ctx.systems[system].client.get_request_raw().await {
        Ok(r) => r,
        Err(SmevError::Poison { reason, raw }) => {
            ctx.smev_answered();
            acknowledge::unprocessable(
                ctx,
                system,
                Source::GetRequest,
                &raw,
                &format!("unprocessable request: {reason}"),
                Some(false),
                false,
            )
            .await;
            return Ok(true);
        }
        Err(e) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["GetRequest", "transport"])
                .inc();
            return Err(e);
        }
    };
    ctx.smev_answered();
    match crate::cpu::offload(|| parse::get_request_answer(&raw)).await {
        Ok(r) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["GetRequest", "ok"])
                .inc();
            match r.value {
                None => Ok(false),
                Some(msg) => {
                    handle_request(ctx, system, msg, &r.envelope).await;
                    Ok(true)
                }
            }
        }
        Err(SmevError::Fault(f)) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["GetRequest", "fault"])
                .inc();
            Err(SmevError::Fault(f))
        }
        Err(e) => {
            acknowledge::unprocessable(
                ctx,
                system,
                Source::GetRequest,
                &raw,
                &format!("unparsable request: {e}"),
                Some(false),
                false,
            )
            .await;
            Ok(true)
        }
    }
}

fn root_of(xml: &str) -> (String, Option<(String, String)>) {
    match Document::parse_str(xml) {
        Ok(doc) => match doc.element(doc.root()) {
            Some(e) => (
                format!("{{{}}}{}", e.ns.as_deref().unwrap_or_default(), e.local),
                Some((
                    e.ns.as_deref().unwrap_or_default().to_string(),
                    e.local.to_string(),
                )),
            ),
            None => ("?".into(), None),
        },
        Err(_) => ("?".into(), None),
    }
}

async fn handle_request(ctx: &Context, system: &str, msg: RequestMessage, envelope: &[u8]) {
    let ack_id = msg.ack_id().to_string();
    let span = tracing::info_span!("incoming", system, message_id = %ack_id, incoming_id = tracing::field::Empty);
    async {
        match ctx.store.received_as(&ack_id) {
            Ok(Some(subject)) => {
                if super::receiver::awaits_decision(ctx, &subject) {
                    tracing::info!(stored_as = %subject, "redelivered while its dead letter awaits a person's decision: not acknowledging");
                    return;
                }
                ctx.metrics
                    .received_messages
                    .with_label_values(&["GetRequest", "duplicate"])
                    .inc();
                // The first copy's flush may have failed: make sure it is on disk first.
                if ctx.store.durable().await.is_err() {
                    return;
                }
                if let Err(e) = ctx.systems[system]
                    .client
                    .ack(&ack_id, !subject.is_dead_letter())
                    .await
                {
                    tracing::warn!(error = %e, "Ack of a duplicate failed; SMEV will redeliver");
                }
                return;
            }
            Ok(None) => {}
            // The store noted it (log, metric, health); SMEV redelivers the message.
            Err(_) => return,
        }
        // Signatures, then the attachments against the signed header list: on the CPU pool.
        let require = requires_signed_files(ctx, &msg);
        let (signatures, mut problems, integrity, mut what) = crate::cpu::offload(|| {
            let (signatures, mut problems) = check_signatures(ctx, envelope);
            let mut integrity = Vec::new();
            let mut what = "signature check failed";
            if problems.is_empty() {
                match attachments::check(&msg.data.attachment_headers, &msg.attachments, require) {
                    Ok(i) => integrity = i,
                    Err(e) => {
                        what = ATTACHMENTS_FAILED;
                        problems.push(e.to_string());
                    }
                }
            }
            (signatures, problems, integrity, what)
        })
        .await;
        // The MessageId keys storage only when the signatures verified; a forged envelope must
        // not reserve a genuine message's id (it would then look like a duplicate).
        let received_key = if signatures_ok(what) {
            ack_id.clone()
        } else {
            acknowledge::content_key(envelope)
        };
        // Files in SMEV's file storage: downloaded and checked before anything is stored.
        let files = if problems.is_empty() {
            let files = super::storage_files::received_files(
                ctx,
                system,
                Source::GetRequest,
                &ack_id,
                &msg.data.ref_attachment_headers,
                &msg.fs_attachments,
                envelope,
            )
            .await;
            match files {
                Some(f) => f,
                None => return,
            }
        } else {
            Vec::new()
        };
        if let Some(refusal) = super::storage_files::unsigned_refusal(&files, require) {
            what = ATTACHMENTS_FAILED;
            problems.push(refusal);
        }
        let stored = if problems.is_empty() {
            store_incoming(ctx, system, &msg, envelope, signatures, &integrity, files).map(|id| {
                tracing::Span::current().record("incoming_id", id.as_str());
            })
        } else if let Ok(Some(existing)) = ctx.store.received_as(&received_key) {
            tracing::info!(existing = %existing, "dead letter already stored");
            Ok(())
        } else {
            let key = ctx.store.put_blob(envelope);
            key.and_then(|key| {
                let d = DeadLetter::open(
                    new_id(),
                    system,
                    Source::GetRequest,
                    Some(ack_id.clone()),
                    format!("{what}: {}", problems.join(" | ")),
                    key,
                    Utc::now(),
                );
                ctx.store.add_dead_letter(&d, &received_key)
            })
        };
        if let Err(e) = stored {
            tracing::error!(error = %e, "cannot store the incoming request; not acknowledging");
            return;
        }
        ctx.metrics
            .received_messages
            .with_label_values(&[
                "GetRequest",
                if problems.is_empty() {
                    "stored"
                } else {
                    "dead_letter"
                },
            ])
            .inc();
        if ctx.store.durable().await.is_ok() {
            match ctx.systems[system]
                .client
                .ack(&ack_id, problems.is_empty())
                .await
            {
                Ok(()) if !problems.is_empty() => acknowledge::record_ack(ctx, &received_key),
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "Ack failed; SMEV will redeliver"),
            }
        }
    }
    .instrument(span)
    .await
}

/// The refusal came after the signatures verified (only the attachments failed).
fn signatures_ok(what: &str) -> bool {
    what == ATTACHMENTS_FAILED
}

const ATTACHMENTS_FAILED: &str = "attachment check failed";

/// Whether the kind of an incoming request (found by its root element) requires every file to
/// carry a verified PKCS#7 signature.
fn requires_signed_files(ctx: &Context, msg: &RequestMessage) -> bool {
    root_of(&msg.data.content)
        .1
        .and_then(|(ns, local)| ctx.kind_by_root(&ns, &local))
        .is_some_and(|k| k.config.require_attachment_signature)
}

fn store_incoming(
    ctx: &Context,
    system: &str,
    msg: &RequestMessage,
    envelope: &[u8],
    signatures: Vec<SignatureSummary>,
    integrity: &[crate::smev::attachments::Checked],
    files: Vec<AttachmentRef>,
) -> Result<String, StoreError> {
    let now = Utc::now();
    let (root, qn) = root_of(&msg.data.content);
    let kind = qn
        .and_then(|(ns, local)| ctx.kind_by_root(&ns, &local))
        .map(|k| k.config.id.clone());
    let mut attachments = Vec::new();
    for (i, (a, checked)) in msg.attachments.iter().zip(integrity).enumerate() {
        let key = ctx.store.put_blob(&a.content)?;
        let mime = msg
            .data
            .attachment_headers
            .iter()
            .find(|h| h.content_id == a.id)
            .map(|h| attachments::safe_mime(&h.mime_type))
            .unwrap_or_else(|| "application/octet-stream".into());
        attachments.push(AttachmentRef {
            integrity: Some(checked.integrity),
            signer: checked.signer.clone(),
            in_file_area: false,
            storage_uuid: None,
            signature_pkcs7: None,
            name: attachments::file_name(&a.id, &mime, i),
            mime_type: mime,
            size: a.content.len() as u64,
            hash: key,
            content_id: Some(a.id.clone()),
        });
    }
    attachments.extend(files);
    let sending_timestamp = msg
        .metadata
        .sending_timestamp
        .map(|t| t.with_timezone(&Utc));
    let deadline_days = kind
        .as_ref()
        .and_then(|k| ctx.kinds.get(k))
        .map(|k| k.config.deadline_working_days)
        .unwrap_or(5);
    let answer_deadline = Some(ctx.calendar.add_working_days(
        sending_timestamp.unwrap_or(now),
        deadline_days,
        ctx.tz,
    ));
    let rec = IncomingRecord {
        id: new_id(),
        system: system.into(),
        kind,
        root_element: root,
        state: IncomingState::Received,
        received_at: now,
        updated_at: now,
        message_id: msg.ack_id().to_string(),
        reply_to: msg.reply_to.clone().unwrap_or_default(),
        business_xml: ctx.store.put_blob(msg.data.content.as_bytes())?,
        envelope: ctx.store.put_blob(envelope)?,
        attachments,
        sender: msg.metadata.sender.clone(),
        sending_timestamp,
        answer_deadline,
        test_message: msg.data.test_message,
        signatures,
        response: None,
        response_message_id: None,
        signed_response: None,
        attempts: 0,
        next_due: None,
        last_error: None,
        history: vec![(now, Actor::Smev.to_string(), Reason::Received.text())],
        assignee: None,
    };
    ctx.store.add_incoming(&rec)?;
    tracing::info!(incoming_id = %rec.id, root = %rec.root_element, "incoming request stored");
    Ok(rec.id)
}

/// Reprocesses a stored GetRequest envelope (dead letter).
pub async fn reprocess(ctx: &Context, system: &str, envelope: &[u8]) -> Result<(), String> {
    let r = parse::get_request_answer(envelope).map_err(|e| e.to_string())?;
    let msg = r.value.ok_or("the envelope holds no request")?;
    let (signatures, problems) = crate::cpu::offload(|| check_signatures(ctx, envelope)).await;
    if !problems.is_empty() {
        return Err(format!("signature check failed: {}", problems.join(" | ")));
    }
    let require = requires_signed_files(ctx, &msg);
    let integrity = attachments::check(&msg.data.attachment_headers, &msg.attachments, require)
        .map_err(|e| format!("attachment check failed: {e}"))?;
    let files = super::storage_files::fetch_now(
        ctx,
        system,
        msg.ack_id(),
        &msg.data.ref_attachment_headers,
        &msg.fs_attachments,
    )
    .await?;
    if let Some(refusal) = super::storage_files::unsigned_refusal(&files, require) {
        return Err(format!("attachment check failed: {refusal}"));
    }
    store_incoming(ctx, system, &msg, envelope, signatures, &integrity, files)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Sends answers to incoming requests until shutdown.
pub async fn run_responder(ctx: Arc<Context>) {
    let mut shutdown = ctx.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = Utc::now();
        for id in super::due_work(&ctx, DueKind::Incoming, now, 16) {
            respond_one(&ctx, &id).await;
        }
        let wait = until_due(&ctx, DueKind::Incoming, now);
        if !pause(&mut shutdown, &ctx.wake_responder, wait).await {
            break;
        }
    }
}

/// Applies an event of the responder; a refusal means SMEV's verdict or a person got there
/// first, which stands.
fn record(ctx: &Context, id: &str, event: IncomingEvent) {
    match ctx.store.apply_incoming(id, &Actor::Engine, &event) {
        Ok(_) | Err(StoreError::NotFound) => {}
        Err(StoreError::Lifecycle(e)) => {
            tracing::info!(incoming_id = id, reason = %e, "response outcome not applied");
        }
        Err(e) => {
            tracing::error!(incoming_id = id, error = %e, "cannot record the response outcome; the lease expires and it is sent again");
        }
    }
}

async fn respond_one(ctx: &Context, id: &str) {
    let now = Utc::now();
    let claim = IncomingEvent::Claimed {
        lease_until: now + outbound::lease(ctx),
        fresh_message_id: MessageId::new().to_string(),
    };
    let rec = match ctx.store.apply_incoming(id, &Actor::Engine, &claim) {
        Ok(r) => r,
        Err(StoreError::Lifecycle(_) | StoreError::NotFound) => return,
        Err(e) => {
            tracing::error!(incoming_id = id, error = %e, "cannot claim the response");
            return;
        }
    };
    let Some(system) = ctx.systems.get(&rec.system) else {
        return;
    };
    let files: &[AttachmentRef] = match &rec.response {
        Some(OutgoingResponse::Data { attachments, .. }) => attachments,
        _ => &[],
    };
    let refs = match super::storage_uploads::upload_all(ctx, &rec.system, files).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(incoming_id = id, error = %e, "upload to the file storage failed");
            record(ctx, id, send_outcome(ctx, &rec, Err(e), now));
            return;
        }
    };
    let outgoing = match build_response(ctx, &rec, refs).await {
        Ok(o) => o,
        Err(e) => {
            let error = ErrorInfo::permanent("gateway.build", &e, now);
            record(ctx, id, IncomingEvent::BuildFailed { error });
            return;
        }
    };
    if ctx.store.durable().await.is_err() {
        return;
    }
    let result = system.client.post_send_response(&outgoing).await;
    record(ctx, id, send_outcome(ctx, &rec, result, now));
}

/// What the outcome of a SendResponse attempt (or of the upload before it) does to the record.
fn send_outcome(
    ctx: &Context,
    rec: &IncomingRecord,
    result: Result<Received<MessageMetadata>, SmevError>,
    now: DateTime<Utc>,
) -> IncomingEvent {
    match outbound::classify(ctx, "SendResponse", rec.attempts, result, now) {
        Outcome::Accepted(_) => IncomingEvent::Accepted,
        Outcome::RetryAt { at, error } => IncomingEvent::RetryAt { at, error },
        Outcome::AlreadySent { error } => IncomingEvent::AlreadySent { error },
        Outcome::NewMessageId { error } => IncomingEvent::NewMessageId { due: now, error },
        Outcome::Refused { error } => IncomingEvent::Refused { error },
    }
}

async fn build_response(
    ctx: &Context,
    rec: &IncomingRecord,
    ref_attachment_headers: Vec<crate::smev::model::RefAttachmentHeader>,
) -> Result<Outgoing, String> {
    let system = ctx
        .systems
        .get(&rec.system)
        .ok_or_else(|| format!("information system {} is not configured", rec.system))?;
    let replay = rec.signed_response.as_deref();
    let (content, attachments) = match &rec.response {
        Some(OutgoingResponse::Data {
            business_xml,
            attachments,
        }) => {
            let xml = match replay {
                Some(_) => String::new(),
                None => ctx
                    .store
                    .blob_text(business_xml)
                    .map_err(|e| e.to_string())?,
            };
            (
                ResponseContent::Primary {
                    content: xml,
                    personal_signature: None,
                    attachment_headers: signed_once::attachment_headers(ctx, attachments)?,
                    ref_attachment_headers,
                },
                attachments.as_slice(),
            )
        }
        Some(OutgoingResponse::Reject { code, description }) => (
            ResponseContent::Rejected(vec![Rejection {
                code: *code,
                description: description.clone(),
            }]),
            &[][..],
        ),
        None => return Err("no response to send".into()),
    };
    let data = SenderProvidedResponseData {
        id: build::ID_PROVIDER.into(),
        message_id: rec.response_message_id.clone().ok_or("no MessageID")?,
        to: rec.reply_to.clone(),
        content,
    };
    let signed = signed_once::sign_once(
        ctx,
        "urn:SendResponse",
        replay,
        attachments,
        system.client.signer().as_ref(),
        build::ID_PROVIDER,
        |contents, mode| build::send_response(&data, contents, mode, false),
    )
    .await?;
    if let Some(envelope) = signed.new_envelope {
        // Without the record of it, a retry signs again: the same content under the same
        // MessageID, with a different signature.
        if let Err(e) = ctx.store.apply_incoming(
            &rec.id,
            &Actor::Engine,
            &IncomingEvent::Prepared { envelope },
        ) {
            tracing::error!(incoming_id = %rec.id, error = %e, "cannot record the signed SendResponse");
        }
    }
    Ok(signed.outgoing)
}
