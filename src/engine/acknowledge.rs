//! Acknowledging what SMEV delivered, and keeping what cannot be processed. A message that is
//! unparsable, over a limit or failing a check becomes a dead letter (with its raw bytes) and is
//! acknowledged `accepted=false`, so that one poisoned message never stops a queue. Its
//! MessageId is taken only from SMEV's own `MessageMetadata`; when the envelope does not parse, a
//! bounded byte scan finds it well enough to acknowledge, never to key storage.

use chrono::Utc;

use crate::domain::{Actor, DeadLetter, DeadLetterEvent, Owner, Source};
use crate::smev::SmevError;
use crate::store::new_id;
use crate::xml::{Document, NodeId};

use super::Context;

/// Counts a failed SMEV call by operation and by error code.
pub(crate) fn count_call(ctx: &Context, op: &str, e: &SmevError) {
    let result = if matches!(e, SmevError::Fault(_)) {
        "fault"
    } else {
        "transport"
    };
    ctx.metrics
        .smev_calls
        .with_label_values(&[op, result])
        .inc();
    ctx.metrics
        .smev_faults
        .with_label_values(&[&super::retry::error_code(e)])
        .inc();
}

/// The MessageId of a message that could not be processed, and whether it is certain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FoundId {
    /// From SMEV's own `MessageMetadata` at its place in a parsed envelope.
    Exact(String),
    /// From a byte scan of an envelope that does not parse: good enough to acknowledge the
    /// message (so SMEV stops redelivering it), never trusted as a storage key.
    Scanned(String),
}

/// Finds SMEV's MessageMetadata/MessageId in an envelope that could not be processed: at its
/// place in the tree when the XML parses, otherwise by a bounded byte scan (an over-limit or
/// malformed message must still be acknowledged, or SMEV would deliver it again and again).
fn scavenge_message_id(raw: &[u8]) -> Option<FoundId> {
    match Document::parse(raw) {
        Ok(doc) => message_id_from_tree(&doc).map(FoundId::Exact),
        Err(_) => scan_message_id(raw).map(FoundId::Scanned),
    }
}

/// The UUID-shaped `…MessageId>` text inside the one `MessageMetadata` of the bytes, found by
/// linear scans. SMEV's envelope has exactly one (its start and end tag), after the sender's
/// data; any other occurrence — in the sender's data, its signature or an attachment — makes the
/// position ambiguous, and then nothing is found: a planted id must never be the one
/// acknowledged.
fn scan_message_id(raw: &[u8]) -> Option<String> {
    let mut tags = memchr::memmem::find_iter(raw, b"MessageMetadata");
    let (open, close) = (tags.next()?, tags.next()?);
    if tags.next().is_some() {
        return None;
    }
    // SMEV's MessageMetadata follows the sender's data; one inside it is the sender's own.
    if memchr::memmem::rfind(raw, b"SenderProvided").is_some_and(|end| open < end) {
        return None;
    }
    let inside = &raw[open..close];
    let at = memchr::memmem::find(inside, b"MessageId>")? + b"MessageId>".len();
    let value = &inside[at..inside.len().min(at + 100)];
    let end = memchr::memchr(b'<', value)?;
    let id = std::str::from_utf8(&value[..end]).ok()?.trim();
    uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
}

/// A storage key for a message whose MessageId cannot key it: the digest of its XML, from the
/// first `<` to the first MIME delimiter after it (so redeliveries with a new multipart boundary
/// are still recognised), at most 1 MiB of it.
pub(crate) fn content_key(raw: &[u8]) -> String {
    let start = memchr::memchr(b'<', raw).unwrap_or(0);
    let rest = &raw[start..];
    let end = memchr::memmem::find(rest, b"\r\n--")
        .unwrap_or(rest.len())
        .min(1024 * 1024);
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), &rest[..end])
        .map(|d| hex::encode(&*d))
        .unwrap_or_default();
    format!("unprocessable:{digest}")
}

/// `Envelope/Body/*/(Response|Request)Message/(Response|Request)/MessageMetadata/MessageId`
/// in SMEV's namespace: never an element of the same name inside the sender's data.
fn message_id_from_tree(doc: &Document) -> Option<String> {
    let smev = |n: NodeId, locals: &[&str]| {
        doc.element(n).is_some_and(|e| {
            locals.contains(&e.local.as_str())
                && e.ns.as_deref().is_some_and(|u| {
                    u.starts_with("urn://x-artefacts-smev-gov-ru/services/message-exchange/types/")
                })
        })
    };
    let body = doc.child_by_local(doc.root(), "Body")?;
    let answer = doc.child_elements(body).next()?;
    let message = doc
        .child_elements(answer)
        .find(|n| smev(*n, &["ResponseMessage", "RequestMessage"]))?;
    let inner = doc
        .child_elements(message)
        .find(|n| smev(*n, &["Response", "Request"]))?;
    let meta = doc
        .child_elements(inner)
        .find(|n| smev(*n, &["MessageMetadata"]))?;
    let id = doc.child_by_local(meta, "MessageId")?;
    Some(doc.text(id).trim().to_string()).filter(|s| !s.is_empty())
}

/// Stores a dead letter and acknowledges the message (accepted = `accepted`) when its id is known.
/// `signed`: SMEV's signature over the envelope verified, so its MessageId may key storage (a
/// forged envelope must not reserve a genuine message's id and make it look like a duplicate).
pub(crate) async fn unprocessable(
    ctx: &Context,
    system: &str,
    source: Source,
    raw: &[u8],
    reason: &str,
    accepted: Option<bool>,
    signed: bool,
) {
    let found = crate::cpu::offload(|| scavenge_message_id(raw)).await;
    let envelope = match ctx.store.put_blob(raw) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "cannot store a dead letter; not acknowledging");
            return;
        }
    };
    // Only an exact MessageId from a signed envelope may mark the message as received: any
    // other could have been planted to make a later genuine message look like a duplicate.
    let (message_id, received_key) = match found {
        Some(FoundId::Exact(id)) if signed => (Some(id.clone()), id),
        Some(FoundId::Exact(id) | FoundId::Scanned(id)) => (Some(id), content_key(raw)),
        None => (None, content_key(raw)),
    };
    let stored = match ctx.store.received_as(&received_key) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "store unavailable; not acknowledging");
            return;
        }
    };
    if let Some(existing) = stored {
        tracing::info!(message_id = ?message_id, existing = %existing, "dead letter already stored");
    } else {
        let d = DeadLetter::open(
            new_id(),
            system,
            source,
            message_id.clone(),
            reason.to_string(),
            envelope,
            Utc::now(),
        );
        if let Err(e) = ctx.store.add_dead_letter(&d, &received_key) {
            tracing::error!(error = %e, "cannot store a dead letter; not acknowledging");
            return;
        }
        tracing::warn!(dead_letter = %d.id, message_id = ?message_id, reason, "message stored as a dead letter");
    }
    ctx.metrics
        .received_messages
        .with_label_values(&[source.as_str(), "dead_letter"])
        .inc();
    if ctx.store.durable().await.is_err() {
        return;
    }
    if let (Some(mid), Some(accepted)) = (message_id, accepted) {
        if !ack(ctx, system, &mid, accepted).await {
            return;
        }
        record_ack(ctx, &received_key);
    }
}

/// Notes on the dead letter stored under `received_key` that SMEV took its Ack.
pub(crate) fn record_ack(ctx: &Context, received_key: &str) {
    let id = match ctx.store.received_as(received_key) {
        Ok(Some(Owner::DeadLetter(id))) => id,
        Ok(_) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot record the Ack of a dead letter");
            return;
        }
    };
    let marked = ctx
        .store
        .apply_dead_letter(&id, &Actor::Engine, &DeadLetterEvent::Acked);
    if let Err(e) = marked {
        tracing::error!(dead_letter = %id, error = %e, "cannot record the Ack of a dead letter");
    }
}

/// Acknowledges a message; true when SMEV took the Ack.
pub(crate) async fn ack(ctx: &Context, system: &str, message_id: &str, accepted: bool) -> bool {
    match ctx.systems[system].client.ack(message_id, accepted).await {
        Ok(()) => {
            ctx.metrics
                .smev_calls
                .with_label_values(&["Ack", "ok"])
                .inc();
            true
        }
        Err(e) => {
            // Not fatal: SMEV redelivers and the duplicate is recognised.
            count_call(ctx, "Ack", &e);
            tracing::warn!(message_id, error = %e, "Ack failed; SMEV will redeliver");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "5f7b9c2e-1a2b-11ef-8000-0242ac120002";
    const PLANTED: &str = "11111111-1a2b-11ef-8000-0242ac120002";

    fn envelope(inner: &str) -> String {
        format!("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><t:GetResponseResponse xmlns:t=\"urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3\"><t:ResponseMessage><t:Response>{inner}</t:Response></t:ResponseMessage></t:GetResponseResponse></s:Body></s:Envelope>")
    }

    #[test]
    fn redeliveries_with_a_new_boundary_share_a_content_key() {
        let a = b"--uuid:1\r\nContent-Type: x\r\n\r\n<a>root</a>\r\n--uuid:1\r\n\r\npart".to_vec();
        let b = b"--uuid:2\r\nContent-Type: x\r\n\r\n<a>root</a>\r\n--uuid:2\r\n\r\npart".to_vec();
        let c = b"--uuid:2\r\nContent-Type: x\r\n\r\n<a>other</a>\r\n--uuid:2\r\n\r\npart".to_vec();
        assert_eq!(content_key(&a), content_key(&b));
        assert_ne!(content_key(&a), content_key(&c));
    }

    #[test]
    fn message_ids_are_found_in_unprocessable_envelopes() {
        let sender = format!("<t:SenderProvidedResponseData><t:MessageMetadata><t:MessageId>{PLANTED}</t:MessageId></t:MessageMetadata></t:SenderProvidedResponseData>");
        let meta =
            format!("<t:MessageMetadata><t:MessageId>{ID}</t:MessageId></t:MessageMetadata>");
        let cases: Vec<(Vec<u8>, Option<FoundId>)> = vec![
            // Parsed: SMEV's MessageMetadata at its place, not the one inside the sender's data.
            (
                envelope(&format!("{sender}{meta}")).into_bytes(),
                Some(FoundId::Exact(ID.into())),
            ),
            (envelope(&sender).into_bytes(), None),
            // Not parsable: scanned when there is exactly one MessageMetadata.
            (
                format!("<t:SenderProvidedResponseData/>{meta}<x y=1 y=2>").into_bytes(),
                Some(FoundId::Scanned(ID.into())),
            ),
            (
                format!(
                    "--b\r\n\r\n<MessageMetadata><MessageId> {ID} </MessageId></MessageMetadata> <"
                )
                .into_bytes(),
                Some(FoundId::Scanned(ID.into())),
            ),
            // A second MessageMetadata anywhere (planted) makes the scan give up.
            (format!("{sender}{meta}<x y=1 y=2>").into_bytes(), None),
            (format!("{meta}<x y=1 y=2>{sender}").into_bytes(), None),
            (format!("{sender}<x y=1 y=2>").into_bytes(), None),
            (
                format!("<MessageMetadata><MessageId>{ID}</MessageId><").into_bytes(),
                None,
            ),
            (
                b"<MessageMetadata><MessageId>not-a-uuid</MessageId></MessageMetadata><".to_vec(),
                None,
            ),
            (b"\xff\xfe garbage".to_vec(), None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                scavenge_message_id(&raw),
                expected,
                "{}",
                String::from_utf8_lossy(&raw)
            );
        }
    }
}
