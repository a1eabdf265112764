//! Parses SMEV 3 SOAP messages: the answers the gateway receives (the requests SMEV receives
//! are in [`super::calls`], re-exported here for mock-smev). Tolerant as SMEV's own traffic requires: any prefixes, whitespace,
//! message-exchange 1.1/1.2/1.3 namespaces, fields newer than the schema, unknown statuses.
//! A SOAP fault becomes [`SmevError::Fault`]. Never panics, never expands entities.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

use crate::xml::tree::NodeKind;
use crate::xml::{Document, NodeId};

use super::fault::{SmevFault, SmevFaultKind};
use super::model::*;
use super::ns;
use super::SmevError;

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

pub(super) fn unexpected(msg: impl Into<String>) -> SmevError {
    SmevError::UnexpectedAnswer(msg.into())
}

/// A parsed SOAP envelope and the element inside `soap:Body`.
pub struct Envelope {
    pub doc: Document,
    pub body_child: NodeId,
}

impl Envelope {
    /// Local name of the operation element.
    pub fn operation(&self) -> &str {
        self.doc
            .element(self.body_child)
            .map(|e| e.local.as_str())
            .unwrap_or("")
    }
}

/// Parses an envelope; a SOAP Fault becomes `Err(SmevError::Fault)`.
pub fn envelope(bytes: &[u8]) -> Result<Envelope, SmevError> {
    let doc = Document::parse(bytes)?;
    let root = doc.root();
    let env = doc
        .element(root)
        .ok_or_else(|| unexpected("no root element"))?;
    if env.local != "Envelope" {
        return Err(unexpected(format!(
            "root element is <{}>, not a SOAP Envelope",
            env.qname()
        )));
    }
    let body = doc
        .child_by_local(root, "Body")
        .ok_or_else(|| unexpected("SOAP envelope without Body"))?;
    let body_child = doc
        .child_elements(body)
        .next()
        .ok_or_else(|| unexpected("empty SOAP Body"))?;
    if doc.element(body_child).is_some_and(|e| e.local == "Fault") {
        return Err(SmevError::Fault(Box::new(fault(&doc, body_child))));
    }
    Ok(Envelope { doc, body_child })
}

pub(super) fn child(doc: &Document, n: NodeId, local: &str) -> Option<NodeId> {
    doc.child_by_local(n, local)
}

pub(super) fn children<'a>(
    doc: &'a Document,
    n: NodeId,
    local: &'a str,
) -> impl Iterator<Item = NodeId> + 'a {
    doc.child_elements(n)
        .filter(move |c| doc.element(*c).is_some_and(|e| e.local == local))
}

pub(super) fn text(doc: &Document, n: NodeId, local: &str) -> Option<String> {
    child(doc, n, local).map(|c| doc.text(c).trim().to_string())
}

pub(super) fn req_text(doc: &Document, n: NodeId, local: &str) -> Result<String, SmevError> {
    text(doc, n, local).ok_or_else(|| {
        unexpected(format!(
            "<{}> has no <{local}>",
            doc.element(n).map(|e| e.local.as_str()).unwrap_or("?")
        ))
    })
}

/// Parses an `xs:dateTime`; a value without a zone is taken as Moscow time (UTC+3), as SMEV's
/// own servers write it.
pub fn datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    FixedOffset::east_opt(3 * 3600)?
        .from_local_datetime(&naive)
        .single()
}

pub(super) fn b64(doc: &Document, n: NodeId, local: &str) -> Result<Option<Vec<u8>>, SmevError> {
    match text(doc, n, local) {
        None => Ok(None),
        Some(t) => {
            let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            B64.decode(compact)
                .map(Some)
                .map_err(|e| unexpected(format!("<{local}> is not base64: {e}")))
        }
    }
}

pub(super) fn standalone_text(doc: &Document, n: NodeId) -> String {
    String::from_utf8_lossy(&doc.standalone(n)).to_string()
}

/// The SOAP fault at `n`.
pub fn fault(doc: &Document, n: NodeId) -> SmevFault {
    // SOAP 1.1: faultcode/faultstring/detail; SOAP 1.2: Code/Value, Reason/Text, Detail.
    let fault_code = text(doc, n, "faultcode")
        .or_else(|| child(doc, n, "Code").and_then(|c| text(doc, c, "Value")))
        .unwrap_or_default();
    let fault_string = text(doc, n, "faultstring")
        .or_else(|| child(doc, n, "Reason").and_then(|c| text(doc, c, "Text")))
        .unwrap_or_default();
    let mut f = SmevFault {
        kind: None,
        fault_code,
        fault_string,
        code: None,
        description: None,
        sub_code: None,
        details: Vec::new(),
    };
    let detail = child(doc, n, "detail").or_else(|| child(doc, n, "Detail"));
    let Some(d) = detail.and_then(|d| doc.child_elements(d).next()) else {
        return f;
    };
    let Some(de) = doc.element(d) else { return f };
    f.kind = SmevFaultKind::from_element_name(&de.local);
    if f.kind.is_none() {
        f.details.push(("detail".into(), de.local.to_string()));
    }
    for c in doc.child_elements(d) {
        let Some(ce) = doc.element(c) else { continue };
        let value = doc.text(c).trim().to_string();
        match ce.local.as_str() {
            "Code" => f.code = Some(value),
            "Description" => f.description = Some(value),
            local if local == de.local => f.sub_code = Some(value),
            local => f.details.push((local.to_string(), value)),
        }
    }
    f
}

pub(super) fn participant(doc: &Document, n: Option<NodeId>) -> Option<Participant> {
    let n = n?;
    Some(Participant {
        mnemonic: text(doc, n, "Mnemonic"),
        human_readable_name: text(doc, n, "HumanReadableName"),
    })
}

/// `MessageMetadata` at `n`.
pub fn metadata(doc: &Document, n: NodeId) -> MessageMetadata {
    MessageMetadata {
        id: doc
            .element(n)
            .and_then(|e| e.attr("Id"))
            .map(str::to_string),
        message_id: text(doc, n, "MessageId"),
        message_type: text(doc, n, "MessageType"),
        sender: participant(doc, child(doc, n, "Sender")),
        sending_timestamp: text(doc, n, "SendingTimestamp").and_then(|t| datetime(&t)),
        recipient: participant(doc, child(doc, n, "Recipient")),
        delivery_timestamp: text(doc, n, "DeliveryTimestamp").and_then(|t| datetime(&t)),
        status: text(doc, n, "Status").map(|s| InteractionStatus::parse(&s)),
    }
}

/// Most attachments of one message, as SMEV allows (each list is capped, so matching contents
/// to headers stays cheap).
pub const MAX_ATTACHMENTS: usize = 100;

/// `children(doc, list, local)`, refused past [`MAX_ATTACHMENTS`].
pub(super) fn capped(doc: &Document, list: NodeId, local: &str) -> Result<Vec<NodeId>, SmevError> {
    let items: Vec<NodeId> = children(doc, list, local).collect();
    if items.len() > MAX_ATTACHMENTS {
        return Err(unexpected(format!(
            "{} {local} elements (SMEV allows at most {MAX_ATTACHMENTS})",
            items.len()
        )));
    }
    Ok(items)
}

pub(super) fn attachment_headers(
    doc: &Document,
    n: NodeId,
) -> Result<Vec<AttachmentHeader>, SmevError> {
    let mut out = Vec::new();
    if let Some(list) = child(doc, n, "AttachmentHeaderList") {
        for h in capped(doc, list, "AttachmentHeader")? {
            out.push(AttachmentHeader {
                content_id: req_text(doc, h, "contentId")?,
                mime_type: req_text(doc, h, "MimeType")?,
                signature_pkcs7: b64(doc, h, "SignaturePKCS7")?,
            });
        }
    }
    Ok(out)
}

pub(super) fn ref_attachment_headers(
    doc: &Document,
    n: NodeId,
) -> Result<Vec<RefAttachmentHeader>, SmevError> {
    let mut out = Vec::new();
    if let Some(list) = child(doc, n, "RefAttachmentHeaderList") {
        for h in capped(doc, list, "RefAttachmentHeader")? {
            out.push(RefAttachmentHeader {
                uuid: req_text(doc, h, "uuid")?,
                file_name: text(doc, h, "FileName"),
                hash: b64(doc, h, "Hash")?.unwrap_or_default(),
                mime_type: req_text(doc, h, "MimeType")?,
                signature_pkcs7: b64(doc, h, "SignaturePKCS7")?,
            });
        }
    }
    Ok(out)
}

pub(super) fn fs_attachments(doc: &Document, n: NodeId) -> Result<Vec<FsAttachment>, SmevError> {
    let mut out = Vec::new();
    if let Some(list) = child(doc, n, "FSAttachmentsList") {
        for a in capped(doc, list, "FSAttachment")? {
            out.push(FsAttachment {
                uuid: req_text(doc, a, "uuid")?,
                user_name: req_text(doc, a, "UserName")?,
                password: req_text(doc, a, "Password")?,
                file_name: req_text(doc, a, "FileName")?,
            });
        }
    }
    Ok(out)
}

/// `AttachmentContentList` under `n` (XOP includes must be resolved beforehand).
pub fn attachment_contents(doc: &Document, n: NodeId) -> Result<Vec<AttachmentContent>, SmevError> {
    let mut out = Vec::new();
    if let Some(list) = child(doc, n, "AttachmentContentList") {
        for a in capped(doc, list, "AttachmentContent")? {
            let id = req_text(doc, a, "Id")?;
            if let Some(c) = child(doc, a, "Content") {
                if doc
                    .descendants(c)
                    .iter()
                    .any(|d| doc.element(*d).is_some_and(|e| e.is(ns::XOP, "Include")))
                {
                    return Err(SmevError::Mtom(format!(
                        "attachment {id}: xop:Include without its MIME part"
                    )));
                }
            }
            let content = b64(doc, a, "Content")?.unwrap_or_default();
            out.push(AttachmentContent { id, content });
        }
    }
    Ok(out)
}

pub(super) fn primary_content(doc: &Document, n: NodeId) -> Result<String, SmevError> {
    let mpc = child(doc, n, "MessagePrimaryContent")
        .ok_or_else(|| unexpected("no MessagePrimaryContent"))?;
    let root = doc
        .child_elements(mpc)
        .next()
        .ok_or_else(|| unexpected("empty MessagePrimaryContent"))?;
    Ok(standalone_text(doc, root))
}

pub(super) fn personal_signature(doc: &Document, n: NodeId) -> Option<String> {
    child(doc, n, "PersonalSignature")
        .and_then(|p| doc.child_elements(p).next())
        .map(|s| standalone_text(doc, s))
}

/// `SenderProvidedRequestData` at `n`.
pub fn request_data(doc: &Document, n: NodeId) -> Result<SenderProvidedRequestData, SmevError> {
    Ok(SenderProvidedRequestData {
        id: doc
            .element(n)
            .and_then(|e| e.attr("Id"))
            .unwrap_or("")
            .to_string(),
        message_id: req_text(doc, n, "MessageID")?,
        reference_message_id: text(doc, n, "ReferenceMessageID"),
        transaction_code: text(doc, n, "TransactionCode"),
        node_id: text(doc, n, "NodeID"),
        eol: text(doc, n, "EOL").and_then(|t| datetime(&t)),
        content: primary_content(doc, n)?,
        personal_signature: personal_signature(doc, n),
        attachment_headers: attachment_headers(doc, n)?,
        ref_attachment_headers: ref_attachment_headers(doc, n)?,
        test_message: child(doc, n, "TestMessage").is_some(),
    })
}

pub(super) fn async_status(doc: &Document, n: NodeId) -> Result<AsyncProcessingStatus, SmevError> {
    let fault = child(doc, n, "SmevFault").map(|f| {
        // The fault kind is the xsi:type of SmevFault, e.g. "ns3:InvalidContent".
        let kind = doc
            .element(f)
            .and_then(|e| {
                e.attrs
                    .iter()
                    .find(|a| a.local == "type" && a.ns.as_deref() == Some(ns::XSI))
            })
            .map(|a| a.value.rsplit(':').next().unwrap_or("").to_string())
            .and_then(|t| SmevFaultKind::from_element_name(&t));
        let mut details = Vec::new();
        for c in doc.child_elements(f) {
            if let Some(e) = doc.element(c) {
                if e.local != "Code" && e.local != "Description" {
                    details.push((e.local.to_string(), doc.text(c).trim().to_string()));
                }
            }
        }
        SmevFault {
            kind,
            fault_code: String::new(),
            fault_string: text(doc, f, "Description").unwrap_or_default(),
            code: text(doc, f, "Code"),
            description: text(doc, f, "Description"),
            sub_code: None,
            details,
        }
    });
    Ok(AsyncProcessingStatus {
        original_message_id: req_text(doc, n, "OriginalMessageId")?,
        category: InteractionStatus::parse(&req_text(doc, n, "StatusCategory")?),
        details: text(doc, n, "StatusDetails"),
        fault,
    })
}

/// `SenderProvidedResponseData` at `n`.
pub fn response_data(doc: &Document, n: NodeId) -> Result<SenderProvidedResponseData, SmevError> {
    let content = if child(doc, n, "MessagePrimaryContent").is_some() {
        ResponseContent::Primary {
            content: primary_content(doc, n)?,
            personal_signature: personal_signature(doc, n),
            attachment_headers: attachment_headers(doc, n)?,
            ref_attachment_headers: ref_attachment_headers(doc, n)?,
        }
    } else if child(doc, n, "RequestRejected").is_some() {
        let mut v = Vec::new();
        for r in children(doc, n, "RequestRejected") {
            let code = req_text(doc, r, "RejectionReasonCode")?;
            v.push(Rejection {
                code: RejectionReasonCode::parse(&code).unwrap_or(RejectionReasonCode::Failure),
                description: text(doc, r, "RejectionReasonDescription").unwrap_or_default(),
            });
        }
        ResponseContent::Rejected(v)
    } else if let Some(s) = child(doc, n, "RequestStatus") {
        let code = req_text(doc, s, "StatusCode")?;
        ResponseContent::Status(RequestStatus {
            code: code
                .parse()
                .map_err(|_| unexpected(format!("StatusCode {code:?} is not an integer")))?,
            parameters: children(doc, s, "StatusParameter")
                .map(|p| {
                    (
                        text(doc, p, "Key").unwrap_or_default(),
                        text(doc, p, "Value").unwrap_or_default(),
                    )
                })
                .collect(),
            description: text(doc, s, "StatusDescription").unwrap_or_default(),
        })
    } else if let Some(a) = child(doc, n, "AsyncProcessingStatus") {
        ResponseContent::AsyncProcessingStatus(async_status(doc, a)?)
    } else {
        return Err(unexpected("SenderProvidedResponseData without content"));
    };
    Ok(SenderProvidedResponseData {
        id: doc
            .element(n)
            .and_then(|e| e.attr("Id"))
            .unwrap_or("")
            .to_string(),
        message_id: req_text(doc, n, "MessageID")?,
        to: text(doc, n, "To").unwrap_or_default(),
        content,
    })
}

pub(super) fn expect_operation(env: &Envelope, names: &[&str]) -> Result<(), SmevError> {
    if names.contains(&env.operation()) {
        Ok(())
    } else {
        Err(unexpected(format!(
            "expected {}, got <{}>",
            names.join(" or "),
            env.operation()
        )))
    }
}

/// `SendRequestResponse` / `SendResponseResponse`: SMEV's MessageMetadata.
pub fn send_answer(bytes: &[u8]) -> Result<Received<MessageMetadata>, SmevError> {
    let env = envelope(bytes)?;
    expect_operation(&env, &["SendRequestResponse", "SendResponseResponse"])?;
    let m = child(&env.doc, env.body_child, "MessageMetadata")
        .ok_or_else(|| unexpected("no MessageMetadata in the answer"))?;
    Ok(Received {
        value: metadata(&env.doc, m),
        envelope: bytes.to_vec(),
    })
}

/// `GetResponseResponse`: one message or an empty queue.
pub fn get_response_answer(bytes: &[u8]) -> Result<Received<Option<ResponseMessage>>, SmevError> {
    let env = envelope(bytes)?;
    expect_operation(&env, &["GetResponseResponse"])?;
    let doc = &env.doc;
    let Some(msg) = single(doc, env.body_child, "ResponseMessage")? else {
        return Ok(Received {
            value: None,
            envelope: bytes.to_vec(),
        });
    };
    let r = single(doc, msg, "Response")?
        .ok_or_else(|| unexpected("ResponseMessage without Response"))?;
    let data = single(doc, r, "SenderProvidedResponseData")?
        .ok_or_else(|| unexpected("Response without SenderProvidedResponseData"))?;
    let value = ResponseMessage {
        original_message_id: text(doc, r, "OriginalMessageId"),
        original_transaction_code: text(doc, r, "OriginalTransactionCode"),
        reference_message_id: text(doc, r, "ReferenceMessageID"),
        data: response_data(doc, data)?,
        metadata: child(doc, r, "MessageMetadata")
            .map(|m| metadata(doc, m))
            .unwrap_or_default(),
        fs_attachments: fs_attachments(doc, r)?,
        attachments: attachment_contents(doc, msg)?,
    };
    Ok(Received {
        value: Some(value),
        envelope: bytes.to_vec(),
    })
}

/// `GetRequestResponse`: one message or an empty queue.
pub fn get_request_answer(bytes: &[u8]) -> Result<Received<Option<RequestMessage>>, SmevError> {
    let env = envelope(bytes)?;
    expect_operation(&env, &["GetRequestResponse"])?;
    let doc = &env.doc;
    let Some(msg) = single(doc, env.body_child, "RequestMessage")? else {
        return Ok(Received {
            value: None,
            envelope: bytes.to_vec(),
        });
    };
    let r =
        single(doc, msg, "Request")?.ok_or_else(|| unexpected("RequestMessage without Request"))?;
    let data = single(doc, r, "SenderProvidedRequestData")?
        .ok_or_else(|| unexpected("Request without SenderProvidedRequestData"))?;
    let value = RequestMessage {
        data: request_data(doc, data)?,
        metadata: child(doc, r, "MessageMetadata")
            .map(|m| metadata(doc, m))
            .unwrap_or_default(),
        fs_attachments: fs_attachments(doc, r)?,
        reply_to: text(doc, r, "ReplyTo"),
        attachments: attachment_contents(doc, msg)?,
    };
    Ok(Received {
        value: Some(value),
        envelope: bytes.to_vec(),
    })
}

/// `AckResponse`.
pub fn ack_answer(bytes: &[u8]) -> Result<(), SmevError> {
    let env = envelope(bytes)?;
    expect_operation(&env, &["AckResponse"])
}

/// `GetStatusResponse`: one status message or an empty queue.
pub fn get_status_answer(bytes: &[u8]) -> Result<Received<Option<StatusMessage>>, SmevError> {
    let env = envelope(bytes)?;
    expect_operation(&env, &["GetStatusResponse"])?;
    let doc = &env.doc;
    let value = match child(doc, env.body_child, "SmevAsyncProcessingMessage")
        .and_then(|m| child(doc, m, "AsyncProcessingStatusData"))
        .and_then(|d| child(doc, d, "AsyncProcessingStatus"))
    {
        Some(s) => Some(StatusMessage {
            status: async_status(doc, s)?,
        }),
        None => None,
    };
    Ok(Received {
        value,
        envelope: bytes.to_vec(),
    })
}

/// The element SMEV signs in a delivery — `Response` of GetResponse, `Request` of GetRequest,
/// `AsyncProcessingStatusData` of GetStatus — exactly as the parsers above find it.
pub fn smev_signed_element(env: &Envelope) -> Option<NodeId> {
    let doc = &env.doc;
    let b = env.body_child;
    match env.operation() {
        "GetResponseResponse" => {
            child(doc, b, "ResponseMessage").and_then(|m| child(doc, m, "Response"))
        }
        "GetRequestResponse" => {
            child(doc, b, "RequestMessage").and_then(|m| child(doc, m, "Request"))
        }
        "GetStatusResponse" => child(doc, b, "SmevAsyncProcessingMessage")
            .and_then(|m| child(doc, m, "AsyncProcessingStatusData")),
        _ => None,
    }
}

/// Refuses a delivery with two elements of a name where the schema allows one (a forged copy
/// beside the signed one).
pub(super) fn single(doc: &Document, n: NodeId, local: &str) -> Result<Option<NodeId>, SmevError> {
    let mut it = children(doc, n, local);
    let first = it.next();
    if it.next().is_some() {
        return Err(unexpected(format!("more than one <{local}> in the answer")));
    }
    Ok(first)
}

/// Whether an element has only whitespace text.
pub fn is_blank(doc: &Document, n: NodeId) -> bool {
    doc.children(n)
        .iter()
        .all(|c| matches!(&doc.node(*c).kind, NodeKind::Text(t) if t.trim().is_empty()))
}

#[cfg(feature = "smev-side")]
pub use super::calls::{caller_signature, incoming_call, signed_element, IncomingCall};
