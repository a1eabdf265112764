//! Parses what SMEV receives — a consumer's or provider's SendRequest, SendResponse, GetRequest,
//! GetResponse, Ack or GetStatus — and finds the element the caller's ЭП-ОВ must cover. The
//! gateway never receives these; mock-smev does, with the same tolerant readers as the
//! gateway's answers.

use super::model::*;
use super::parse::*;
use super::SmevError;
use crate::xml::NodeId;

/// A request as SMEV receives it (mock side).
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingCall {
    SendRequest {
        data: SenderProvidedRequestData,
        attachments: Vec<AttachmentContent>,
    },
    SendResponse {
        data: SenderProvidedResponseData,
        attachments: Vec<AttachmentContent>,
    },
    GetRequest(MessageTypeSelector),
    GetResponse(MessageTypeSelector),
    Ack {
        message_id: String,
        accepted: bool,
    },
    GetStatus,
}

/// Parses any consumer/provider request (mock side). Returns the call and the element the
/// caller's ЭП-ОВ must cover.
pub fn incoming_call(bytes: &[u8]) -> Result<(IncomingCall, Envelope), SmevError> {
    let env = envelope(bytes)?;
    let doc = &env.doc;
    let b = env.body_child;
    let call = match env.operation() {
        "SendRequestRequest" => {
            let d = child(doc, b, "SenderProvidedRequestData")
                .ok_or_else(|| unexpected("no SenderProvidedRequestData"))?;
            IncomingCall::SendRequest {
                data: request_data(doc, d)?,
                attachments: attachment_contents(doc, b)?,
            }
        }
        "SendResponseRequest" => {
            let d = child(doc, b, "SenderProvidedResponseData")
                .ok_or_else(|| unexpected("no SenderProvidedResponseData"))?;
            IncomingCall::SendResponse {
                data: response_data(doc, d)?,
                attachments: attachment_contents(doc, b)?,
            }
        }
        op @ ("GetRequestRequest" | "GetResponseRequest") => {
            let s = child(doc, b, "MessageTypeSelector")
                .ok_or_else(|| unexpected("no MessageTypeSelector"))?;
            let kind = match (
                text(doc, s, "NamespaceURI"),
                text(doc, s, "RootElementLocalName"),
            ) {
                (Some(namespace), Some(local_name)) => Some(QualifiedName {
                    namespace,
                    local_name,
                }),
                _ => None,
            };
            let selector = MessageTypeSelector {
                id: doc
                    .element(s)
                    .and_then(|e| e.attr("Id"))
                    .unwrap_or("")
                    .to_string(),
                kind,
                timestamp: text(doc, s, "Timestamp")
                    .and_then(|t| datetime(&t))
                    .ok_or_else(|| unexpected("MessageTypeSelector without a valid Timestamp"))?,
                node_id: text(doc, s, "NodeID"),
            };
            if op == "GetRequestRequest" {
                IncomingCall::GetRequest(selector)
            } else {
                IncomingCall::GetResponse(selector)
            }
        }
        "AckRequest" => {
            let t = child(doc, b, "AckTargetMessage")
                .ok_or_else(|| unexpected("no AckTargetMessage"))?;
            let accepted = doc
                .element(t)
                .and_then(|e| e.attr("accepted"))
                .map(|v| v.trim() == "true" || v.trim() == "1")
                .unwrap_or(true);
            IncomingCall::Ack {
                message_id: doc.text(t).trim().to_string(),
                accepted,
            }
        }
        "GetStatusRequest" => IncomingCall::GetStatus,
        other => return Err(unexpected(format!("unknown operation <{other}>"))),
    };
    Ok((call, env))
}

/// The signed element of an incoming call (what the caller's ЭП-ОВ must reference).
pub fn signed_element(env: &Envelope) -> Option<NodeId> {
    let doc = &env.doc;
    let b = env.body_child;
    let name = match env.operation() {
        "SendRequestRequest" => "SenderProvidedRequestData",
        "SendResponseRequest" => "SenderProvidedResponseData",
        "GetRequestRequest" | "GetResponseRequest" => "MessageTypeSelector",
        "AckRequest" => "AckTargetMessage",
        "GetStatusRequest" => "Timestamp",
        _ => return None,
    };
    child(doc, b, name)
}

/// The caller's ЭП-ОВ `ds:Signature` element, if present.
pub fn caller_signature(env: &Envelope) -> Option<NodeId> {
    child(&env.doc, env.body_child, "CallerInformationSystemSignature")
        .and_then(|c| env.doc.child_elements(c).next())
}
