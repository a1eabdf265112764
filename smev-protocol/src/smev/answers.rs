//! SMEV-side answers — what SMEV sends back to a consumer or provider: SendRequestResponse,
//! GetResponse/GetRequest/GetStatus deliveries with their metadata, empty answers and faults,
//! each with an empty `SMEVSignature` for ЭП-СМЭВ. The gateway never sends these; mock-smev
//! and the protocol tests build them, with the same writer as the consumer-side envelopes.

use super::build::{
    async_status, attachment_contents, fault_extension, time, AttachmentMode, ID_SMEV, W,
};
use super::model::*;
use super::mtom::MimePart;
use super::{ns, SmevFault};
use crate::xml::escape;

fn participant(w: &mut W, name: &str, p: &Option<Participant>) {
    if let Some(p) = p {
        w.open(name);
        w.opt_el("tns:Mnemonic", p.mnemonic.as_deref());
        w.opt_el("tns:HumanReadableName", p.human_readable_name.as_deref());
        w.close(name);
    }
}

fn metadata(w: &mut W, m: &MessageMetadata) {
    match &m.id {
        Some(id) => w.raw(&format!(
            "<tns:MessageMetadata Id=\"{}\">",
            escape::attr(id)
        )),
        None => w.open("tns:MessageMetadata"),
    };
    w.opt_el("tns:MessageId", m.message_id.as_deref());
    w.opt_el("tns:MessageType", m.message_type.as_deref());
    participant(w, "tns:Sender", &m.sender);
    if let Some(t) = &m.sending_timestamp {
        w.text_el("tns:SendingTimestamp", &time(t));
    }
    participant(w, "tns:Recipient", &m.recipient);
    if let Some(t) = &m.delivery_timestamp {
        w.text_el("tns:DeliveryTimestamp", &time(t));
    }
    if let Some(s) = &m.status {
        w.text_el("tns:Status", s.as_str());
    }
    w.close("tns:MessageMetadata");
}

/// SMEV's `SendRequestResponse` / `SendResponseResponse` (mock side), with an empty
/// `SMEVSignature` for ЭП-СМЭВ over `MessageMetadata`.
pub fn send_answer(response_element: &str, m: &MessageMetadata) -> Vec<u8> {
    let mut w = W::new();
    w.envelope_start(response_element);
    metadata(&mut w, m);
    w.empty("tns:SMEVSignature");
    w.envelope_end(response_element)
}

/// An empty answer: `AckResponse`, or `GetResponseResponse` / `GetRequestResponse` /
/// `GetStatusResponse` of an empty queue.
pub fn empty_answer(response_element: &str) -> Vec<u8> {
    let mut w = W::new();
    w.envelope_start(response_element);
    w.envelope_end(response_element)
}

/// What SMEV delivers: raw signed pieces spliced verbatim so their signatures stay valid.
#[derive(Debug, Clone, Default)]
pub struct Delivery<'a> {
    /// Standalone `SenderProvidedRequestData` / `SenderProvidedResponseData` XML.
    pub sender_data: &'a str,
    /// The sender's ЭП-ОВ `ds:Signature` (moved to SenderInformationSystemSignature).
    pub sender_signature: Option<&'a str>,
    pub metadata: MessageMetadata,
    /// For responses: the request's MessageID (and its ReferenceMessageID).
    pub original_message_id: Option<&'a str>,
    pub reference_message_id: Option<&'a str>,
    /// For requests: ReplyTo.
    pub reply_to: Option<&'a str>,
    pub attachments: &'a [AttachmentContent],
    /// Files in the file storage: where and with which one-time credentials to download them.
    pub fs_attachments: &'a [FsAttachment],
}

fn fs_attachments(w: &mut W, list: &[FsAttachment]) {
    if list.is_empty() {
        return;
    }
    w.open("basic:FSAttachmentsList");
    for a in list {
        w.open("basic:FSAttachment");
        w.text_el("basic:uuid", &a.uuid);
        w.text_el("basic:UserName", &a.user_name);
        w.text_el("basic:Password", &a.password);
        w.text_el("basic:FileName", &a.file_name);
        w.close("basic:FSAttachment");
    }
    w.close("basic:FSAttachmentsList");
}

/// SMEV's `GetResponseResponse` with one `ResponseMessage`; `Response Id="SIGNED_BY_SMEV"`
/// gets ЭП-СМЭВ into the empty `SMEVSignature`.
pub fn get_response_answer(d: &Delivery<'_>, mode: AttachmentMode) -> (Vec<u8>, Vec<MimePart>) {
    let mut w = W::new();
    w.envelope_start("GetResponseResponse");
    w.open("tns:ResponseMessage");
    w.raw(&format!("<tns:Response Id=\"{ID_SMEV}\">"));
    w.opt_el("tns:OriginalMessageId", d.original_message_id);
    w.opt_el("tns:ReferenceMessageID", d.reference_message_id);
    w.raw(d.sender_data);
    metadata(&mut w, &d.metadata);
    fs_attachments(&mut w, d.fs_attachments);
    if let Some(sig) = d.sender_signature {
        w.open("tns:SenderInformationSystemSignature")
            .raw(sig)
            .close("tns:SenderInformationSystemSignature");
    }
    w.close("tns:Response");
    let parts = attachment_contents(&mut w, d.attachments, mode);
    w.empty("tns:SMEVSignature");
    w.close("tns:ResponseMessage");
    (w.envelope_end("GetResponseResponse"), parts)
}

/// SMEV's `GetRequestResponse` with one `RequestMessage`.
pub fn get_request_answer(d: &Delivery<'_>, mode: AttachmentMode) -> (Vec<u8>, Vec<MimePart>) {
    let mut w = W::new();
    w.envelope_start("GetRequestResponse");
    w.open("tns:RequestMessage");
    w.raw(&format!("<tns:Request Id=\"{ID_SMEV}\">"));
    w.raw(d.sender_data);
    metadata(&mut w, &d.metadata);
    fs_attachments(&mut w, d.fs_attachments);
    w.opt_el("tns:ReplyTo", d.reply_to);
    if let Some(sig) = d.sender_signature {
        w.open("tns:SenderInformationSystemSignature")
            .raw(sig)
            .close("tns:SenderInformationSystemSignature");
    }
    w.close("tns:Request");
    let parts = attachment_contents(&mut w, d.attachments, mode);
    w.empty("tns:SMEVSignature");
    w.close("tns:RequestMessage");
    (w.envelope_end("GetRequestResponse"), parts)
}

/// SMEV's `GetStatusResponse` with one status message (`AsyncProcessingStatusData`).
pub fn get_status_answer(s: &AsyncProcessingStatus) -> Vec<u8> {
    let mut w = W::new();
    w.envelope_start("GetStatusResponse");
    w.open("tns:SmevAsyncProcessingMessage");
    w.raw(&format!("<tns:AsyncProcessingStatusData Id=\"{ID_SMEV}\">"));
    async_status(&mut w, s);
    w.close("tns:AsyncProcessingStatusData");
    w.empty("tns:SMEVSignature");
    w.close("tns:SmevAsyncProcessingMessage");
    w.envelope_end("GetStatusResponse")
}

/// A SOAP 1.1 Fault with the SMEV fault element in `detail`.
pub fn fault(f: &SmevFault) -> Vec<u8> {
    let mut w = W::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.raw(&format!(
        "<soap:Envelope xmlns:soap=\"{}\"><soap:Body><soap:Fault>",
        ns::SOAP
    ));
    w.raw("<faultcode>");
    w.raw(&escape::text(if f.fault_code.is_empty() {
        "soap:Server"
    } else {
        &f.fault_code
    }));
    w.raw("</faultcode>");
    w.text_el("faultstring", &f.fault_string);
    if let Some(kind) = f.kind {
        let el = kind.element_name();
        w.open("detail");
        w.raw(&format!(
            "<faults:{el} xmlns:faults=\"{}\" xmlns:basic=\"{}\">",
            ns::FAULTS,
            ns::BASIC
        ));
        if !kind.is_void() {
            w.opt_el("basic:Code", f.code.as_deref());
            w.opt_el("basic:Description", f.description.as_deref());
        }
        if let Some(sub) = &f.sub_code {
            w.text_el(&format!("faults:{el}"), sub);
        }
        fault_extension(&mut w, f, "faults");
        w.raw(&format!("</faults:{el}>"));
        w.close("detail");
    }
    w.raw("</soap:Fault></soap:Body></soap:Envelope>");
    w.into_bytes()
}
