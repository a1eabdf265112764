//! The response side of the consumer role: polls GetResponse (and GetStatus), verifies SMEV's
//! and the provider's signatures, stores each answer durably and only then acknowledges it.
//! Duplicates (redelivery after a lost Ack) are recognised by MessageID and only re-acknowledged.
//! Anything that cannot be processed — unparsable, a failing signature, an answer to an unknown
//! request — is stored as a dead letter and acknowledged (accepted=false when SMEV's signature
//! failed), so SMEV's queue is never held hostage.
//!
//! Polling adapts: right after a send or a received message it polls at the floor interval, on
//! empty queues it backs off to the ceiling.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tracing::Instrument;

use crate::dsig::verify::{find_signatures, verify_signature, SignatureReport, VerifyOptions};
use crate::smev::model::{InteractionStatus, ResponseContent, ResponseMessage};
use crate::smev::{attachments, parse, SmevError};
use crate::store::records::*;
use crate::store::StoreError;

use super::acknowledge::{ack, count_call, unprocessable};
use super::{pause, Context};

/// Polls GetResponse for one system until shutdown.
pub async fn run_responses(ctx: Arc<Context>, system: String) {
    let floor = Duration::from_millis(ctx.config.engine.poll_min_interval_ms);
    let ceiling = Duration::from_millis(ctx.config.engine.poll_max_interval_ms).max(floor);
    let mut interval = floor;
    let mut shutdown = ctx.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut got = 0;
        while got < ctx.config.engine.poll_batch.max(1) && !*shutdown.borrow() {
            match poll_response(&ctx, &system).await {
                Ok(true) => got += 1,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(system = %system, error = %e, "GetResponse failed");
                    break;
                }
            }
        }
        interval = if got > 0 {
            floor
        } else {
            (interval * 2).min(ceiling)
        };
        if !pause(&mut shutdown, &ctx.wake_poller, interval).await {
            break;
        }
        if interval > floor {
            // A wake-up (a request was just sent) means an answer may come soon.
            interval = interval.min(ceiling);
        }
    }
}

/// One GetResponse round trip. `Ok(true)` when a message was taken.
pub async fn poll_response(ctx: &Context, system: &str) -> Result<bool, SmevError> {
    let rt = &ctx.systems[system];
    let raw = match rt.client.get_response_raw().await {
        Ok(r) => r,
        Err(SmevError::Poison { reason, raw }) => {
            ctx.smev_answered();
            unprocessable(
                ctx,
                system,
                "GetResponse",
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
                "GetResponse",
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

/// Signature checks of a received envelope, per the configuration: every signature present must
/// verify (SMEV's own against `smev.trust`, when configured), and the element the parser reads
/// (`Response`, `Request` or `AsyncProcessingStatusData`) must itself be covered by a valid
/// ЭП-СМЭВ — so a forged element slipped in beside a genuine signed one is refused.
pub fn check_signatures(ctx: &Context, envelope: &[u8]) -> (Vec<SignatureSummary>, Vec<String>) {
    if !ctx.config.smev.verify_answers {
        return (Vec::new(), Vec::new());
    }
    let mut problems = Vec::new();
    let env = match parse::envelope(envelope) {
        Ok(e) => e,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!(
                    "the envelope cannot be read for signature checks: {e}"
                )],
            )
        }
    };
    let doc = &env.doc;
    let mut summaries = Vec::new();
    let mut smev_covered: Vec<String> = Vec::new();
    let signatures = find_signatures(doc);
    if signatures.len() > crate::dsig::verify::MAX_SIGNATURES {
        return (
            Vec::new(),
            vec![format!(
                "{} signatures in one envelope (at most {} are verified)",
                signatures.len(),
                crate::dsig::verify::MAX_SIGNATURES
            )],
        );
    }
    for sig in signatures {
        let by_smev = doc
            .node(sig)
            .parent
            .and_then(|p| doc.element(p))
            .is_some_and(|e| e.local == "SMEVSignature");
        let opts = VerifyOptions {
            trust: if by_smev {
                ctx.smev_trust.as_ref()
            } else {
                None
            },
            require_valid_certificate: false,
            at: None,
        };
        let r: SignatureReport = verify_signature(doc, sig, &opts);
        ctx.metrics
            .signatures
            .with_label_values(&["verify", if r.valid { "ok" } else { "failed" }])
            .inc();
        if r.valid && by_smev {
            smev_covered.extend(r.referenced_ids().into_iter().map(str::to_string));
        }
        if !r.valid {
            problems.push(format!(
                "{}: {}",
                r.location,
                r.causes
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        let trusted = r.valid && opts.trust.is_some() && r.certificate_trusted == Some(Ok(()));
        summaries.push(SignatureSummary {
            location: r.location.clone(),
            valid: r.valid,
            trusted,
            signer: r.certificate.as_ref().map(|c| c.subject.clone()),
            not_before: r.certificate.as_ref().map(|c| c.not_before),
            not_after: r.certificate.as_ref().map(|c| c.not_after),
            problems: r
                .causes
                .iter()
                .map(|c| c.to_string())
                .chain(r.warnings.iter().cloned())
                .collect(),
        });
    }
    if let Some(target) = parse::smev_signed_element(&env) {
        let el = doc.element(target);
        let id = el.and_then(|e| e.attr("Id"));
        let bound = id.is_some_and(|id| {
            smev_covered.iter().any(|c| c == id) && doc.find_by_id(id).ok() == Some(target)
        });
        if !bound {
            problems.push(format!(
                "<{}> is not covered by a valid SMEV signature (SMEVSignature)",
                el.map(|e| e.local.as_str()).unwrap_or("?")
            ));
        }
    }
    (summaries, problems)
}

/// MessageIDs being processed right now, so that two pollers never store the same message.
fn in_progress() -> &'static std::sync::Mutex<std::collections::HashSet<String>> {
    static SET: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    SET.get_or_init(Default::default)
}

/// Removes the id from [`in_progress`] when dropped.
struct Claim(String);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut s) = in_progress().lock() {
            s.remove(&self.0);
        }
    }
}

fn claim(id: &str) -> Option<Claim> {
    let mut s = in_progress().lock().ok()?;
    s.insert(id.to_string()).then(|| Claim(id.to_string()))
}

async fn handle_response(ctx: &Context, system: &str, msg: ResponseMessage, envelope: &[u8]) {
    let ack_id = msg.ack_id().to_string();
    // Another poller may be storing the same message (a duplicate delivery): wait for it, then
    // this copy is recognised as stored and only acknowledged.
    let mut waited = 0;
    let _claim = loop {
        if let Some(c) = claim(&ack_id) {
            break c;
        }
        if waited >= 600 {
            tracing::warn!(message_id = %ack_id, "still being processed by another poller; SMEV will redeliver it");
            return;
        }
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let span = tracing::info_span!("answer", system, answer_message_id = %ack_id, original_message_id = ?msg.original_message_id, request_id = tracing::field::Empty);
    async {
        match ctx.store.received_as(&ack_id) {
            Ok(Some(subject)) => {
                ctx.metrics.received_messages.with_label_values(&["GetResponse", "duplicate"]).inc();
                tracing::info!(stored_as = %subject, "duplicate delivery: acknowledging again");
                // The first copy's flush may have failed: make sure it is on disk first.
                if ctx.store.durable().await.is_err() {
                    return;
                }
                ack(ctx, system, &ack_id, !subject.starts_with("D:")).await;
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
            unprocessable(ctx, system, "GetResponse", envelope, &format!("signature check failed: {}", problems.join(" | ")), Some(false), false).await;
            return;
        }
        // Attachment checks (PKCS#7) and the store writes: on the CPU pool.
        match crate::cpu::offload(|| apply_response(ctx, system, &msg, envelope, signatures)).await {
            Ok(Applied::Stored(request_id)) => {
                tracing::Span::current().record("request_id", request_id.as_str());
                ctx.metrics.received_messages.with_label_values(&["GetResponse", "stored"]).inc();
                if ctx.store.durable().await.is_ok() {
                    ack(ctx, system, &ack_id, true).await;
                }
            }
            Ok(Applied::Unmatched(reason)) => {
                unprocessable(ctx, system, "GetResponse", envelope, &reason, Some(true), true).await;
            }
            Ok(Applied::Refused(reason)) => {
                unprocessable(ctx, system, "GetResponse", envelope, &reason, Some(false), true).await;
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

fn original_id(msg: &ResponseMessage) -> Option<String> {
    match &msg.data.content {
        ResponseContent::AsyncProcessingStatus(s) => Some(s.original_message_id.clone()),
        _ => msg.original_message_id.clone(),
    }
}

fn apply_response(
    ctx: &Context,
    system: &str,
    msg: &ResponseMessage,
    envelope: &[u8],
    signatures: Vec<SignatureSummary>,
) -> Result<Applied, StoreError> {
    let Some(original) = original_id(msg) else {
        return Ok(Applied::Unmatched(
            "answer without OriginalMessageId".into(),
        ));
    };
    let owner = ctx.store.owner_of_message_id(&original)?;
    let ack_id = msg.ack_id().to_string();
    let envelope_key = ctx.store.put_blob(envelope)?;
    let now = Utc::now();
    match owner {
        Some((t, id)) if t == "R" => {
            let rec = ctx.store.get_request(&id)?;
            if rec.system != system {
                return Ok(Applied::Foreign(rec.system));
            }
            let mut answer: Option<AnswerRecord> = None;
            let mut status: Option<StatusUpdate> = None;
            let mut smev_status: Option<String> = None;
            let mut to: Option<RequestState> = None;
            match &msg.data.content {
                ResponseContent::Primary {
                    content,
                    attachment_headers,
                    ..
                } => {
                    let require = ctx
                        .kinds
                        .get(&rec.kind)
                        .is_some_and(|k| k.config.require_attachment_signature);
                    let integrity =
                        match attachments::check(attachment_headers, &msg.attachments, require) {
                            Ok(i) => i,
                            Err(e) => {
                                return Ok(Applied::Refused(format!(
                                    "attachment check failed: {e}"
                                )))
                            }
                        };
                    let xml_key = ctx.store.put_blob(content.as_bytes())?;
                    let mut attachments = Vec::new();
                    for (i, (a, integrity)) in msg.attachments.iter().zip(integrity).enumerate() {
                        let key = ctx.store.put_blob(&a.content)?;
                        let mime = attachments::safe_mime(&attachment_mime(msg, &a.id));
                        attachments.push(AttachmentRef {
                            name: attachments::file_name(&a.id, &mime, i),
                            mime_type: mime,
                            size: a.content.len() as u64,
                            hash: key,
                            content_id: Some(a.id.clone()),
                            integrity: Some(integrity),
                        });
                    }
                    answer = Some(AnswerRecord {
                        kind: AnswerKind::Data,
                        message_id: ack_id.clone(),
                        received_at: now,
                        business_xml: Some(xml_key),
                        rejections: Vec::new(),
                        smev_fault: None,
                        attachments,
                        envelope: envelope_key.clone(),
                        sender: msg.metadata.sender.clone(),
                        signatures: signatures.clone(),
                    });
                    to = Some(RequestState::Answered);
                }
                ResponseContent::Rejected(rejections) => {
                    answer = Some(AnswerRecord {
                        kind: AnswerKind::Rejected,
                        message_id: ack_id.clone(),
                        received_at: now,
                        business_xml: None,
                        rejections: rejections.clone(),
                        smev_fault: None,
                        attachments: Vec::new(),
                        envelope: envelope_key.clone(),
                        sender: msg.metadata.sender.clone(),
                        signatures: signatures.clone(),
                    });
                    to = Some(RequestState::Rejected);
                }
                ResponseContent::Status(s) => {
                    status = Some(StatusUpdate {
                        at: now,
                        message_id: ack_id.clone(),
                        code: s.code,
                        description: s.description.clone(),
                    });
                }
                ResponseContent::AsyncProcessingStatus(s) => {
                    smev_status = Some(s.category.as_str().to_string());
                    if s.category.is_rejection() || s.fault.is_some() {
                        let fault = s.fault.as_ref();
                        answer = Some(AnswerRecord {
                            kind: AnswerKind::SmevRejected,
                            message_id: ack_id.clone(),
                            received_at: now,
                            business_xml: None,
                            rejections: Vec::new(),
                            smev_fault: Some(ErrorInfo {
                                code: fault
                                    .map(|f| f.code_name())
                                    .unwrap_or_else(|| s.category.as_str().to_string()),
                                message: fault
                                    .and_then(|f| f.description.clone())
                                    .or_else(|| s.details.clone())
                                    .unwrap_or_else(|| "SMEV rejected the request".into()),
                                class: "permanent".into(),
                                at: now,
                            }),
                            attachments: Vec::new(),
                            envelope: envelope_key.clone(),
                            sender: msg.metadata.sender.clone(),
                            signatures: signatures.clone(),
                        });
                        to = Some(RequestState::Rejected);
                    }
                }
            }
            if let Some(target) = to {
                if !matches!(
                    rec.state,
                    RequestState::Sent
                        | RequestState::Expired
                        | RequestState::Sending
                        | RequestState::Queued
                ) {
                    return Ok(Applied::Unmatched(format!(
                        "final answer for request {id}, which is already {}",
                        rec.state.as_str()
                    )));
                }
                if matches!(rec.state, RequestState::Sending | RequestState::Queued) {
                    // The send's HTTP answer was lost but SMEV delivered an answer: it was sent.
                    tracing::info!(request_id = %id, "answer for a request still marked {}", rec.state.as_str());
                }
                let _ = target;
            }
            let reason = match (&to, &status) {
                (Some(RequestState::Answered), _) => "answer received".to_string(),
                (Some(_), _) => "rejected".to_string(),
                (None, Some(s)) => format!("provider status {}: {}", s.code, s.description),
                (None, None) => format!("SMEV status {}", smev_status.clone().unwrap_or_default()),
            };
            let updated = ctx.store.transaction(|tx| {
                let r = tx.update_request(
                    &id,
                    "smev",
                    &reason,
                    Some(&envelope_key),
                    &|r: &mut RequestRecord| {
                        if let Some(target) = to {
                            if matches!(r.state, RequestState::Sending | RequestState::Queued) {
                                // The answer proves an attempt landed (its HTTP answer was lost).
                                r.sent_at.get_or_insert(now);
                                r.next_due = None;
                            }
                            if !matches!(
                                r.state,
                                RequestState::Sent
                                    | RequestState::Expired
                                    | RequestState::Sending
                                    | RequestState::Queued
                            ) {
                                return Err(StoreError::Rejected(format!(
                                    "request is {}",
                                    r.state.as_str()
                                )));
                            }
                            r.state = target;
                            r.answer = answer.clone();
                            r.next_due = None;
                        }
                        if let Some(s) = &status {
                            r.statuses.push(s.clone());
                        }
                        if let Some(s) = &smev_status {
                            r.smev_status = Some(s.clone());
                        }
                        Ok(())
                    },
                )?;
                tx.mark_received(&ack_id, &format!("R:{id}"))?;
                Ok(r)
            });
            match updated {
                Ok(r) => {
                    if let (Some(target), Some(sent_at)) = (to, r.sent_at) {
                        ctx.metrics.transition(RequestState::Sent, target);
                        ctx.metrics
                            .sent_to_answered
                            .with_label_values(&[&r.kind])
                            .observe((now - sent_at).num_milliseconds().max(0) as f64 / 1000.0);
                    }
                    Ok(Applied::Stored(id))
                }
                Err(StoreError::Rejected(m)) => {
                    Ok(Applied::Unmatched(format!("answer for request {id}: {m}")))
                }
                Err(e) => Err(e),
            }
        }
        Some((t, id)) if t == "I" => {
            // SMEV's verdict on a response we sent as a provider.
            let reason = match &msg.data.content {
                ResponseContent::AsyncProcessingStatus(s) => s.category.as_str().to_string(),
                _ => "answer to our response".into(),
            };
            let rejected = matches!(&msg.data.content, ResponseContent::AsyncProcessingStatus(s) if s.category.is_rejection() || s.fault.is_some());
            ctx.store.transaction(|tx| {
                let old = tx.get_incoming(&id)?.ok_or_else(|| {
                    sled::transaction::ConflictableTransactionError::Abort(StoreError::NotFound)
                })?;
                let mut new = old.clone();
                if rejected {
                    new.state = IncomingState::Failed;
                    new.next_due = None;
                    new.last_error = Some(ErrorInfo {
                        code: "SMEV.async_rejection".into(),
                        message: reason.clone(),
                        class: "permanent".into(),
                        at: now,
                    });
                }
                new.history.push((now, "smev".into(), reason.clone()));
                tx.put_incoming(Some(&old), &new)?;
                tx.mark_received(&ack_id, &format!("I:{id}"))?;
                Ok(())
            })?;
            Ok(Applied::Stored(id))
        }
        _ => Ok(Applied::Unmatched(format!(
            "answer to an unknown MessageID {original}"
        ))),
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

/// Polls GetStatus for one system until shutdown.
pub async fn run_status(ctx: Arc<Context>, system: String) {
    let floor = Duration::from_millis(ctx.config.engine.poll_min_interval_ms.max(1000));
    let ceiling = Duration::from_millis(ctx.config.engine.poll_max_interval_ms).max(floor);
    let mut interval = floor;
    let mut shutdown = ctx.shutdown_signal();
    let never = tokio::sync::Notify::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let got = match poll_status(&ctx, &system).await {
            Ok(g) => g,
            Err(e) => {
                tracing::debug!(system = %system, error = %e, "GetStatus failed");
                false
            }
        };
        interval = if got {
            floor
        } else {
            (interval * 2).min(ceiling)
        };
        if !pause(&mut shutdown, &never, interval).await {
            break;
        }
    }
}

async fn poll_status(ctx: &Context, system: &str) -> Result<bool, SmevError> {
    let raw = ctx.systems[system]
        .client
        .get_status_raw()
        .await
        .inspect_err(|e| count_call(ctx, "GetStatus", e))?;
    ctx.smev_answered();
    let received = match crate::cpu::offload(|| parse::get_status_answer(&raw)).await {
        Ok(r) => r,
        Err(SmevError::Fault(f)) => {
            let e = SmevError::Fault(f);
            count_call(ctx, "GetStatus", &e);
            return Err(e);
        }
        Err(e) => {
            unprocessable(
                ctx,
                system,
                "GetStatus",
                &raw,
                &format!("unparsable status message: {e}"),
                None,
                false,
            )
            .await;
            return Ok(true);
        }
    };
    ctx.metrics
        .smev_calls
        .with_label_values(&["GetStatus", "ok"])
        .inc();
    let Some(status) = received.value else {
        return Ok(false);
    };
    let (_, problems) = crate::cpu::offload(|| check_signatures(ctx, &received.envelope)).await;
    if !problems.is_empty() {
        // There is no Ack for status messages: keep it for a human and move on.
        unprocessable(
            ctx,
            system,
            "GetStatus",
            &received.envelope,
            &format!("signature check failed: {}", problems.join(" | ")),
            None,
            false,
        )
        .await;
        return Ok(true);
    }
    let s = status.status;
    let key = ctx
        .store
        .put_blob(&received.envelope)
        .map_err(|e| SmevError::UnexpectedAnswer(e.to_string()))?;
    match ctx.store.owner_of_message_id(&s.original_message_id) {
        Ok(Some((t, id))) if t == "R" => {
            let rejected = s.category.is_rejection();
            let now = Utc::now();
            let r = ctx.store.update_request(
                &id,
                "smev",
                &format!("SMEV status {}", s.category.as_str()),
                Some(&key),
                |r| {
                    r.smev_status = Some(s.category.as_str().to_string());
                    if rejected
                        && matches!(
                            r.state,
                            RequestState::Sent | RequestState::Queued | RequestState::Sending
                        )
                    {
                        r.next_due = None;
                        r.state = RequestState::Rejected;
                        r.answer = Some(AnswerRecord {
                            kind: AnswerKind::SmevRejected,
                            message_id: String::new(),
                            received_at: now,
                            business_xml: None,
                            rejections: Vec::new(),
                            smev_fault: Some(ErrorInfo {
                                code: s
                                    .fault
                                    .as_ref()
                                    .map(|f| f.code_name())
                                    .unwrap_or_else(|| s.category.as_str().into()),
                                message: s
                                    .details
                                    .clone()
                                    .unwrap_or_else(|| "SMEV rejected the request".into()),
                                class: "permanent".into(),
                                at: now,
                            }),
                            attachments: Vec::new(),
                            envelope: key.clone(),
                            sender: None,
                            signatures: Vec::new(),
                        });
                    }
                    Ok(())
                },
            );
            if let Err(e) = r {
                tracing::warn!(request_id = %id, error = %e, "status message not applied");
            }
        }
        Ok(Some((_, id))) => {
            let cat = s.category.clone();
            let _ = ctx.store.update_incoming(
                &id,
                "smev",
                &format!("SMEV status {}", cat.as_str()),
                Some(&key),
                |r| {
                    if cat.is_rejection() {
                        r.state = IncomingState::Failed;
                        r.next_due = None;
                    }
                    Ok(())
                },
            );
        }
        _ => {
            if s.category != InteractionStatus::DoesNotExist {
                tracing::info!(original = %s.original_message_id, "status message about an unknown MessageID ignored");
            }
        }
    }
    let _ = ctx.store.durable().await;
    Ok(true)
}

/// Processes a stored envelope again (dead-letter "reprocess"): signature checks and
/// correlation are repeated; nothing is acknowledged here.
pub async fn reprocess(
    ctx: &Context,
    system: &str,
    source: &str,
    envelope: &[u8],
) -> Result<(), String> {
    match source {
        "GetResponse" => {
            let received = parse::get_response_answer(envelope).map_err(|e| e.to_string())?;
            let msg = received.value.ok_or("the envelope holds no message")?;
            let (signatures, problems) =
                crate::cpu::offload(|| check_signatures(ctx, envelope)).await;
            if !problems.is_empty() {
                return Err(format!("signature check failed: {}", problems.join(" | ")));
            }
            match apply_response(ctx, system, &msg, envelope, signatures)
                .map_err(|e| e.to_string())?
            {
                Applied::Stored(_) => Ok(()),
                Applied::Unmatched(reason) | Applied::Refused(reason) => Err(reason),
                Applied::Foreign(owner) => {
                    Err(format!("the answer belongs to a request of system {owner}"))
                }
            }
        }
        "GetRequest" => super::provider::reprocess(ctx, system, envelope).await,
        other => Err(format!("messages from {other} cannot be reprocessed")),
    }
}
