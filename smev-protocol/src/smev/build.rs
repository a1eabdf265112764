//! Builds SMEV 3 SOAP envelopes, exactly the bytes that then get signed. Every namespace is bound
//! to an explicit prefix (`soap`, `tns` for types, `basic`) and no default namespace is declared,
//! so business XML embedded verbatim keeps the namespaces it was parsed with.
//!
//! Consumer/provider operations leave an empty `CallerInformationSystemSignature` for ЭП-ОВ.
//! SMEV-side answers live in [`super::answers`] (re-exported here for the mock and the tests).

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat};

use crate::xml::escape;
use crate::xml::Document;

use super::model::*;
use super::mtom::MimePart;
use super::ns;
use super::{SmevError, SmevFault};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// `Id` of the element the consumer/provider signs (customary values).
pub const ID_CONSUMER: &str = "SIGNED_BY_CONSUMER";
pub const ID_PROVIDER: &str = "SIGNED_BY_PROVIDER";
pub const ID_CALLER: &str = "SIGNED_BY_CALLER";
pub const ID_SMEV: &str = "SIGNED_BY_SMEV";
pub const ID_ASYNC_SMEV: &str = "SIGNED_ASYNC_BY_SMEV";
/// `Id` we give the business root for ЭП-СП when it has none.
pub const ID_PERSONAL: &str = "PERSONAL_SIGNATURE";

/// How attachment bodies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentMode {
    /// Base64 inside `AttachmentContent/Content` (one XML part; for validation and small files).
    Inline,
    /// `xop:Include` in the XML, bytes in MIME parts (MTOM).
    Xop,
}

/// An envelope ready to sign and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The SOAP envelope (root part).
    pub xml: Vec<u8>,
    /// Binary MIME parts for MTOM (empty: send as plain text/xml).
    pub parts: Vec<MimePart>,
    /// SOAPAction of the operation.
    pub action: &'static str,
}

/// Checks business XML for `MessagePrimaryContent` and returns the root element's standalone
/// bytes and qualified name. The root must be in a namespace that is not SMEV's own.
pub fn business_content(xml: &str) -> Result<(String, QualifiedName), SmevError> {
    let doc = Document::parse_str(xml)?;
    let root = doc.root();
    let e = doc
        .element(root)
        .ok_or_else(|| SmevError::InvalidContent("no root element".into()))?;
    let namespace = e.ns.clone().ok_or_else(|| {
        SmevError::InvalidContent(format!(
            "the business root element <{}> has no namespace; SMEV routes by the root's qualified name",
            e.qname()
        ))
    })?;
    if namespace.starts_with("urn://x-artefacts-smev-gov-ru/services/message-exchange/")
        || namespace == ns::SOAP
    {
        return Err(SmevError::InvalidContent(
            "the business root element must not be in a SMEV or SOAP namespace".into(),
        ));
    }
    // The SMEV transform cannot sign attributes of the XML namespace (the reference refuses
    // them): say so now rather than when the message is signed for sending.
    let xml_attr = std::iter::once(root)
        .chain(doc.descendants(root))
        .filter_map(|n| doc.element(n))
        .find_map(|e| {
            e.attrs
                .iter()
                .find(|a| a.ns.as_deref() == Some(crate::xml::ns::XML))
        });
    if let Some(a) = xml_attr {
        return Err(SmevError::InvalidContent(format!(
            "attribute xml:{} cannot be signed by the SMEV transform (urn://smev-gov-ru/xmldsig/transform refuses the XML namespace); remove it",
            a.local
        )));
    }
    let standalone = String::from_utf8(doc.standalone(root))
        .map_err(|_| SmevError::InvalidContent("not UTF-8".into()))?;
    Ok((
        standalone,
        QualifiedName {
            namespace: namespace.to_string(),
            local_name: e.local.to_string(),
        },
    ))
}

/// Makes sure the business root carries an `Id` (needed for ЭП-СП) and returns it with the
/// (possibly changed) XML: an existing `Id` is kept, otherwise `Id="PERSONAL_SIGNATURE"` is added.
pub fn ensure_business_id(xml: &str) -> Result<(String, String), SmevError> {
    let doc = Document::parse_str(xml)?;
    let root = doc.root();
    let e = doc
        .element(root)
        .ok_or_else(|| SmevError::InvalidContent("no root element".into()))?;
    if let Some(id) = e.attr("Id") {
        return Ok((xml.to_string(), id.to_string()));
    }
    let raw = doc.raw(root);
    let name_len = 1 + e.qname().len();
    let text = String::from_utf8_lossy(raw);
    let with_id = format!(
        "{} Id=\"{ID_PERSONAL}\"{}",
        &text[..name_len],
        &text[name_len..]
    );
    let src = String::from_utf8_lossy(doc.source());
    let out = format!("{}{}{}", &src[..e.span.start], with_id, &src[e.span.end..]);
    Ok((out, ID_PERSONAL.to_string()))
}

/// An XML writer for envelopes: every value is escaped, elements are explicit.
pub(super) struct W {
    s: String,
}

impl W {
    /// The bytes written so far (SMEV's answers are bytes; the consumer's envelopes are text).
    #[cfg(feature = "smev-side")]
    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.s.into_bytes()
    }

    pub(super) fn new() -> Self {
        W {
            s: String::with_capacity(4096),
        }
    }
    pub(super) fn raw(&mut self, x: &str) -> &mut Self {
        self.s.push_str(x);
        self
    }
    pub(super) fn open(&mut self, name: &str) -> &mut Self {
        self.s.push('<');
        self.s.push_str(name);
        self.s.push('>');
        self
    }
    pub(super) fn close(&mut self, name: &str) -> &mut Self {
        self.s.push_str("</");
        self.s.push_str(name);
        self.s.push('>');
        self
    }
    pub(super) fn text_el(&mut self, name: &str, value: &str) -> &mut Self {
        self.open(name);
        self.s.push_str(&escape::text(value));
        self.close(name)
    }
    pub(super) fn opt_el(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.text_el(name, v);
        }
        self
    }
    pub(super) fn empty(&mut self, name: &str) -> &mut Self {
        self.s.push('<');
        self.s.push_str(name);
        self.s.push_str("/>");
        self
    }
    pub(super) fn envelope_start(&mut self, body_el: &str) -> &mut Self {
        self.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        self.raw(&format!(
            "<soap:Envelope xmlns:soap=\"{}\"><soap:Body>",
            ns::SOAP
        ));
        self.raw(&format!(
            "<tns:{body_el} xmlns:tns=\"{}\" xmlns:basic=\"{}\">",
            ns::TYPES,
            ns::BASIC
        ))
    }
    pub(super) fn envelope_end(&mut self, body_el: &str) -> Vec<u8> {
        self.raw(&format!("</tns:{body_el}></soap:Body></soap:Envelope>"));
        std::mem::take(&mut self.s).into_bytes()
    }
}

pub(super) fn time(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

pub(super) fn attachment_headers(w: &mut W, headers: &[AttachmentHeader]) {
    if headers.is_empty() {
        return;
    }
    w.open("basic:AttachmentHeaderList");
    for h in headers {
        w.open("basic:AttachmentHeader");
        w.text_el("basic:contentId", &h.content_id);
        w.text_el("basic:MimeType", &h.mime_type);
        if let Some(sig) = &h.signature_pkcs7 {
            w.text_el("basic:SignaturePKCS7", &B64.encode(sig));
        }
        w.close("basic:AttachmentHeader");
    }
    w.close("basic:AttachmentHeaderList");
}

pub(super) fn ref_attachment_headers(w: &mut W, headers: &[RefAttachmentHeader]) {
    if headers.is_empty() {
        return;
    }
    w.open("basic:RefAttachmentHeaderList");
    for h in headers {
        w.open("basic:RefAttachmentHeader");
        w.text_el("basic:uuid", &h.uuid);
        w.opt_el("basic:FileName", h.file_name.as_deref());
        w.text_el("basic:Hash", &B64.encode(&h.hash));
        w.text_el("basic:MimeType", &h.mime_type);
        if let Some(sig) = &h.signature_pkcs7 {
            w.text_el("basic:SignaturePKCS7", &B64.encode(sig));
        }
        w.close("basic:RefAttachmentHeader");
    }
    w.close("basic:RefAttachmentHeaderList");
}

/// Writes `AttachmentContentList`; with XOP, returns the MIME parts.
pub(super) fn attachment_contents(
    w: &mut W,
    contents: &[AttachmentContent],
    mode: AttachmentMode,
) -> Vec<MimePart> {
    let mut parts = Vec::new();
    if contents.is_empty() {
        return parts;
    }
    w.open("basic:AttachmentContentList");
    for c in contents {
        w.open("basic:AttachmentContent");
        w.text_el("basic:Id", &c.id);
        match mode {
            AttachmentMode::Inline => {
                w.text_el("basic:Content", &B64.encode(&c.content));
            }
            AttachmentMode::Xop => {
                w.open("basic:Content");
                w.raw(&format!(
                    "<xop:Include xmlns:xop=\"{}\" href=\"cid:{}\"/>",
                    ns::XOP,
                    escape::attr(&c.id)
                ));
                w.close("basic:Content");
                parts.push(MimePart {
                    content_id: c.id.clone(),
                    content_type: "application/octet-stream".into(),
                    body: c.content.clone(),
                });
            }
        }
        w.close("basic:AttachmentContent");
    }
    w.close("basic:AttachmentContentList");
    parts
}

pub(super) fn request_data(w: &mut W, d: &SenderProvidedRequestData) {
    w.raw(&format!(
        "<tns:SenderProvidedRequestData Id=\"{}\">",
        escape::attr(&d.id)
    ));
    w.text_el("tns:MessageID", &d.message_id);
    w.opt_el("tns:ReferenceMessageID", d.reference_message_id.as_deref());
    w.opt_el("tns:TransactionCode", d.transaction_code.as_deref());
    w.opt_el("tns:NodeID", d.node_id.as_deref());
    if let Some(eol) = &d.eol {
        w.text_el("tns:EOL", &time(eol));
    }
    w.open("basic:MessagePrimaryContent")
        .raw(&d.content)
        .close("basic:MessagePrimaryContent");
    if let Some(sig) = &d.personal_signature {
        w.open("tns:PersonalSignature")
            .raw(sig)
            .close("tns:PersonalSignature");
    }
    attachment_headers(w, &d.attachment_headers);
    ref_attachment_headers(w, &d.ref_attachment_headers);
    if d.test_message {
        w.empty("tns:TestMessage");
    }
    w.close("tns:SenderProvidedRequestData");
}

/// `SendRequestRequest` with an empty ЭП-ОВ container. Set `personal_signature_slot` to leave
/// an empty `PersonalSignature` for ЭП-СП to be signed into.
pub fn send_request(
    d: &SenderProvidedRequestData,
    attachments: &[AttachmentContent],
    mode: AttachmentMode,
    personal_signature_slot: bool,
) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("SendRequestRequest");
    if personal_signature_slot && d.personal_signature.is_none() {
        let mut with_slot = d.clone();
        with_slot.personal_signature = Some(String::new());
        request_data(&mut w, &with_slot);
    } else {
        request_data(&mut w, d);
    }
    let parts = attachment_contents(&mut w, attachments, mode);
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("SendRequestRequest"),
        parts,
        action: "urn:SendRequest",
    }
}

pub(super) fn response_content(w: &mut W, c: &ResponseContent) {
    match c {
        ResponseContent::Primary {
            content,
            personal_signature,
            attachment_headers: headers,
            ref_attachment_headers: refs,
        } => {
            w.open("basic:MessagePrimaryContent")
                .raw(content)
                .close("basic:MessagePrimaryContent");
            if let Some(sig) = personal_signature {
                w.open("tns:PersonalSignature")
                    .raw(sig)
                    .close("tns:PersonalSignature");
            }
            attachment_headers(w, headers);
            ref_attachment_headers(w, refs);
        }
        ResponseContent::Rejected(rejections) => {
            for r in rejections {
                w.open("tns:RequestRejected");
                w.text_el("tns:RejectionReasonCode", r.code.as_str());
                w.text_el("tns:RejectionReasonDescription", &r.description);
                w.close("tns:RequestRejected");
            }
        }
        ResponseContent::Status(s) => {
            w.open("tns:RequestStatus");
            w.text_el("tns:StatusCode", &s.code.to_string());
            for (k, v) in &s.parameters {
                w.open("tns:StatusParameter");
                w.text_el("tns:Key", k);
                w.text_el("tns:Value", v);
                w.close("tns:StatusParameter");
            }
            w.text_el("tns:StatusDescription", &s.description);
            w.close("tns:RequestStatus");
        }
        ResponseContent::AsyncProcessingStatus(s) => async_status(w, s),
    }
}

pub(super) fn async_status(w: &mut W, s: &AsyncProcessingStatus) {
    w.open("tns:AsyncProcessingStatus");
    w.text_el("tns:OriginalMessageId", &s.original_message_id);
    w.text_el("tns:StatusCategory", s.category.as_str());
    w.opt_el("tns:StatusDetails", s.details.as_deref());
    if let Some(f) = &s.fault {
        let kind = f.kind.map(|k| k.element_name()).unwrap_or("SMEVFailure");
        w.raw(&format!(
            "<tns:SmevFault xmlns:xsi=\"{}\" xmlns:faults=\"{}\" xsi:type=\"faults:{kind}\">",
            ns::XSI,
            ns::FAULTS
        ));
        w.opt_el("basic:Code", f.code.as_deref());
        w.opt_el("basic:Description", f.description.as_deref());
        fault_extension(w, f, "faults");
        w.close("tns:SmevFault");
    }
    w.close("tns:AsyncProcessingStatus");
}

/// `SenderProvidedResponseData` element alone (the provider signs it by `Id`).
pub fn response_data_xml(d: &SenderProvidedResponseData) -> String {
    let mut w = W::new();
    w.raw(&format!(
        "<tns:SenderProvidedResponseData xmlns:tns=\"{}\" xmlns:basic=\"{}\" Id=\"{}\">",
        ns::TYPES,
        ns::BASIC,
        escape::attr(&d.id)
    ));
    w.text_el("tns:MessageID", &d.message_id);
    w.text_el("tns:To", &d.to);
    response_content(&mut w, &d.content);
    w.close("tns:SenderProvidedResponseData");
    w.s
}

/// `SendResponseRequest` with an empty ЭП-ОВ container.
pub fn send_response(
    d: &SenderProvidedResponseData,
    attachments: &[AttachmentContent],
    mode: AttachmentMode,
    personal_signature_slot: bool,
) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("SendResponseRequest");
    let mut d = d.clone();
    if personal_signature_slot {
        if let ResponseContent::Primary {
            personal_signature, ..
        } = &mut d.content
        {
            if personal_signature.is_none() {
                *personal_signature = Some(String::new());
            }
        }
    }
    w.raw(&format!(
        "<tns:SenderProvidedResponseData Id=\"{}\">",
        escape::attr(&d.id)
    ));
    w.text_el("tns:MessageID", &d.message_id);
    w.text_el("tns:To", &d.to);
    response_content(&mut w, &d.content);
    w.close("tns:SenderProvidedResponseData");
    let parts = attachment_contents(&mut w, attachments, mode);
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("SendResponseRequest"),
        parts,
        action: "urn:SendResponse",
    }
}

fn selector(w: &mut W, s: &MessageTypeSelector) {
    w.raw(&format!(
        "<basic:MessageTypeSelector Id=\"{}\">",
        escape::attr(&s.id)
    ));
    if let Some(k) = &s.kind {
        w.text_el("basic:NamespaceURI", &k.namespace);
        w.text_el("basic:RootElementLocalName", &k.local_name);
    }
    w.text_el("basic:Timestamp", &time(&s.timestamp));
    w.opt_el("basic:NodeID", s.node_id.as_deref());
    w.close("basic:MessageTypeSelector");
}

/// `GetResponseRequest`.
pub fn get_response(s: &MessageTypeSelector) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("GetResponseRequest");
    selector(&mut w, s);
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("GetResponseRequest"),
        parts: Vec::new(),
        action: "urn:GetResponse",
    }
}

/// `GetRequestRequest`.
pub fn get_request(s: &MessageTypeSelector) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("GetRequestRequest");
    selector(&mut w, s);
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("GetRequestRequest"),
        parts: Vec::new(),
        action: "urn:GetRequest",
    }
}

/// `AckRequest` for `message_id`.
pub fn ack(id: &str, message_id: &str, accepted: bool) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("AckRequest");
    w.raw(&format!(
        "<basic:AckTargetMessage Id=\"{}\" accepted=\"{accepted}\">",
        escape::attr(id)
    ));
    w.raw(&escape::text(message_id));
    w.close("basic:AckTargetMessage");
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("AckRequest"),
        parts: Vec::new(),
        action: "urn:Ack",
    }
}

/// `GetStatusRequest`.
pub fn get_status(id: &str, timestamp: &DateTime<FixedOffset>) -> Outgoing {
    let mut w = W::new();
    w.envelope_start("GetStatusRequest");
    w.raw(&format!("<basic:Timestamp Id=\"{}\">", escape::attr(id)));
    w.raw(&time(timestamp));
    w.close("basic:Timestamp");
    w.empty("tns:CallerInformationSystemSignature");
    Outgoing {
        xml: w.envelope_end("GetStatusRequest"),
        parts: Vec::new(),
        action: "urn:GetStatus",
    }
}

/// The fields a fault type adds to `SmevFault` (ValidationError, quota sizes, …).
pub(super) fn fault_extension(w: &mut W, f: &SmevFault, prefix: &str) {
    for (k, v) in &f.details {
        if k == "ValidationError" {
            w.raw(&format!(
                "<{prefix}:ValidationError errorPosition=\"-1\">{}</{prefix}:ValidationError>",
                escape::text(v)
            ));
        } else {
            w.text_el(&format!("{prefix}:{k}"), v);
        }
    }
}

#[cfg(feature = "smev-side")]
pub use super::answers::{
    empty_answer, fault, get_request_answer, get_response_answer, get_status_answer, send_answer,
    Delivery,
};
