//! Everything that puts work into the engine on behalf of a person or an agency system:
//! accepting a request (well-formedness, data kind, XSD, size, ЭП-СП preparation, idempotency),
//! the two-phase ЭП-СП, operator retry and cancel, answers to incoming requests, and the
//! dead-letter actions. The API and the UI call only this; each failure is an [`IntakeError`]
//! that the edge maps to an HTTP status and a stable code.

use base64::Engine as _;
use chrono::Utc;

use crate::config::PersonalSignatureMode;
use crate::domain::*;
use crate::dsig::sign::{self};
use crate::dsig::{Algorithm, CertificateInfo};
use crate::smev::build;
use crate::smev::model::RejectionReasonCode;
use crate::smev::schema::SchemaErrors;
use crate::smev::{MessageId, SmevError};
use crate::store::{new_id, Created, StoreError};
use crate::xml::XmlError;

use super::Context;

pub use super::operator::{
    assign_case, assign_incoming, cancel, dead_letter_ack_and_close, dead_letter_reprocess, retry,
    webhook_redeliver,
};
pub use super::personal_file_signatures::FileToSign;
pub use super::personal_signature::{
    accept_personal_signature, handed_back, parse_certificate, signing_payload, HandedBack,
    SigningPayload,
};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Why an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("unknown information system {0:?}")]
    UnknownSystem(String),
    #[error("unknown data kind {0:?}")]
    UnknownKind(String),
    #[error("data kind {kind:?} is not enabled for system {system:?}")]
    KindNotAllowed { system: String, kind: String },
    #[error("business XML is not well-formed: {0}")]
    InvalidXml(XmlError),
    #[error("{0}")]
    InvalidContent(String),
    #[error("the business root element is {got}, but kind {kind:?} expects {expected}")]
    WrongRoot {
        kind: String,
        expected: String,
        got: String,
    },
    #[error("business XML violates the schema of the data kind: {0}")]
    SchemaViolation(SchemaErrors),
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        what: String,
        size: usize,
        limit: usize,
    },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("personal signature refused: {0}")]
    BadSignature(String),
    #[error("{0}")]
    Invalid(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("storage: {0}")]
    Store(String),
}

impl From<LifecycleError> for IntakeError {
    fn from(e: LifecycleError) -> Self {
        IntakeError::Conflict(e.to_string())
    }
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => IntakeError::NotFound,
            StoreError::Conflict(m) => IntakeError::Conflict(m),
            StoreError::Lifecycle(l) => IntakeError::Conflict(l.to_string()),
            other => IntakeError::Store(other.to_string()),
        }
    }
}

fn content_error(e: SmevError) -> IntakeError {
    match e {
        SmevError::Xml(x) => IntakeError::InvalidXml(x),
        SmevError::InvalidContent(m) => IntakeError::InvalidContent(m),
        other => IntakeError::InvalidContent(other.to_string()),
    }
}

/// A file posted with a request or an answer: its bytes, or (a large multipart part) the file
/// they were streamed to.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub name: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
    pub staged: Option<StagedFile>,
}

/// A posted file streamed to the file area's `partial/`, with its GOST R 34.11-2012-256 key
/// and size; kept in the file area once its request is accepted.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub path: std::path::PathBuf,
    pub key: String,
    pub size: u64,
    /// The file-storage directory its upload began in while it arrived (it may hold all of
    /// the file, a prefix, or nothing); kept as the request's directory.
    pub storage_uuid: Option<String>,
}

impl NewAttachment {
    /// A file held in memory.
    pub fn in_memory(name: String, mime_type: String, bytes: Vec<u8>) -> NewAttachment {
        NewAttachment {
            name,
            mime_type,
            bytes,
            staged: None,
        }
    }

    fn size(&self) -> u64 {
        self.staged
            .as_ref()
            .map_or(self.bytes.len() as u64, |s| s.size)
    }

    fn key(&self) -> Result<String, IntakeError> {
        match &self.staged {
            Some(s) => Ok(s.key.clone()),
            None => Ok(crate::store::blob_key(&self.bytes)?),
        }
    }
}

/// Puts each file where it is kept: a staged one into the file area (its record then says so),
/// the others into `blobs` for the record's transaction.
fn keep_files(
    ctx: &Context,
    files: &[NewAttachment],
    refs: &mut [AttachmentRef],
) -> Result<Vec<Vec<u8>>, IntakeError> {
    let mut blobs = Vec::new();
    for (f, r) in files.iter().zip(refs.iter_mut()) {
        match &f.staged {
            Some(s) => {
                ctx.files
                    .commit(&s.path, &s.key)
                    .map_err(|e| IntakeError::Store(format!("file area: {e}")))?;
                r.in_file_area = true;
            }
            None => blobs.push(f.bytes.clone()),
        }
    }
    Ok(blobs)
}

/// A request to accept.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub system: String,
    pub kind: String,
    pub business_xml: String,
    pub client_id: Option<String>,
    pub case: Option<CaseInfo>,
    pub attachments: Vec<NewAttachment>,
    pub test_message: Option<bool>,
    pub actor: Actor,
}

fn attachment_refs(attachments: &[NewAttachment]) -> Result<Vec<AttachmentRef>, IntakeError> {
    let mut out = Vec::new();
    let mut content_ids = std::collections::HashSet::new();
    for (i, a) in attachments.iter().enumerate() {
        if !valid_file_name(&a.name) {
            return Err(IntakeError::Invalid(format!(
                "attachment {i}: invalid file name {:?}",
                a.name
            )));
        }
        if !valid_mime(&a.mime_type) {
            return Err(IntakeError::Invalid(format!(
                "attachment {i}: MIME type {:?} is not of the form (text|image|audio|video|application)/subtype",
                a.mime_type
            )));
        }
        out.push(AttachmentRef {
            integrity: None,
            in_file_area: false,
            storage_uuid: a.staged.as_ref().and_then(|s| s.storage_uuid.clone()),
            signature_pkcs7: None,
            signer: None,
            name: a.name.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size(),
            hash: a.key()?,
            content_id: Some(crate::smev::attachments::content_id_for(
                &a.name,
                &mut content_ids,
            )),
        });
    }
    Ok(out)
}

/// Whether two requests carry the same files: names, types and bytes (not the storage
/// directory or the signature, which every acceptance makes anew).
fn same_files(a: &[AttachmentRef], b: &[AttachmentRef]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (&x.name, &x.mime_type, &x.hash) == (&y.name, &y.mime_type, &y.hash))
}

/// A file name an agency system may give an attachment: 1–255 characters, no path separators,
/// no control characters (CR/LF/NUL would split headers or logs), no bidirectional-text overrides
/// (which disguise `exe.pdf` as `fdp.exe`), and at least one character that is neither white space
/// nor a dot (so never blank, `.` or `..`). The OpenAPI schema states the same rule as a pattern
/// (`AttachmentIn.name` and the multipart part names), so a schema-valid name is never refused.
pub fn valid_file_name(name: &str) -> bool {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    name.chars().count() <= 255
        && name.chars().any(|c| !c.is_whitespace() && c != '.')
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control() || bidi(c))
}

/// SMEV's MimeType pattern: `(text|image|audio|video|application)/[a-zA-Z0-9\-+.]*`.
pub fn valid_mime(m: &str) -> bool {
    let Some((top, sub)) = m.split_once('/') else {
        return false;
    };
    matches!(top, "text" | "image" | "audio" | "video" | "application")
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
}

/// Checks business XML for a kind: well-formed, the kind's request root, the kind's XSD.
pub fn check_business_xml(ctx: &Context, kind: &str, xml: &str) -> Result<(), IntakeError> {
    let k = ctx
        .kinds
        .get(kind)
        .ok_or_else(|| IntakeError::UnknownKind(kind.into()))?;
    let limit = ctx.config.api.max_xml_bytes;
    if xml.len() > limit {
        return Err(IntakeError::TooLarge {
            what: "business XML".into(),
            size: xml.len(),
            limit,
        });
    }
    let (_, name) = build::business_content(xml).map_err(content_error)?;
    let expected = k.request_name();
    if name != expected {
        return Err(IntakeError::WrongRoot {
            kind: kind.into(),
            expected: expected.to_string(),
            got: name.to_string(),
        });
    }
    k.schema
        .validate(xml.as_bytes())
        .map_err(IntakeError::SchemaViolation)
}

/// Accepts a request. Returns the record and whether it was created now (false: the client id
/// was used before and this is the existing request).
pub async fn submit(ctx: &Context, req: NewRequest) -> Result<(RequestRecord, bool), IntakeError> {
    let system = ctx
        .systems
        .get(&req.system)
        .ok_or_else(|| IntakeError::UnknownSystem(req.system.clone()))?;
    let kind = ctx
        .kinds
        .get(&req.kind)
        .ok_or_else(|| IntakeError::UnknownKind(req.kind.clone()))?;
    if !system.config.kinds.contains(&req.kind) {
        return Err(IntakeError::KindNotAllowed {
            system: req.system.clone(),
            kind: req.kind.clone(),
        });
    }
    if let Some(c) = &req.client_id {
        if c.is_empty() || c.len() > 200 {
            return Err(IntakeError::Invalid(
                "client_id must have 1 to 200 characters".into(),
            ));
        }
    }
    crate::cpu::offload(|| check_business_xml(ctx, &req.kind, &req.business_xml)).await?;
    let mut attachments = attachment_refs(&req.attachments)?;
    super::storage_uploads::route(ctx, &req.system, &mut attachments)?;
    if kind.config.sign_attachments {
        let signer = system.client.signer();
        super::file_signatures::sign(ctx, signer, &req.attachments, &mut attachments).await?;
    }
    // The ЭП-СП of the files: the configured key signs them now; an official's (two-phase)
    // come back with the XML ЭП-СП.
    if kind.config.personal_sign_attachments
        && kind.config.personal_signature == PersonalSignatureMode::Configured
    {
        let signer = system.personal_signer.as_ref().ok_or_else(|| {
            IntakeError::Signing("no ЭП-СП key is configured for this system".into())
        })?;
        super::file_signatures::sign(ctx, signer, &req.attachments, &mut attachments).await?;
    }
    let blobs = keep_files(ctx, &req.attachments, &mut attachments)?;
    let mode = kind.config.personal_signature;
    let mut personal = PersonalSigning {
        mode: match mode {
            PersonalSignatureMode::None => "none",
            PersonalSignatureMode::TwoPhase => "two_phase",
            PersonalSignatureMode::Configured => "configured",
        }
        .into(),
        ..Default::default()
    };
    // Parsing, XSD validation and ЭП-СП signing: CPU work on the bounded pool.
    let (content, state) = crate::cpu::offload(|| -> Result<_, IntakeError> {
        let (content, _) = build::business_content(&req.business_xml).map_err(content_error)?;
        Ok(match mode {
            PersonalSignatureMode::None => (content, RequestState::Queued),
            PersonalSignatureMode::Configured => {
                let (with_id, id) = build::ensure_business_id(&content).map_err(content_error)?;
                kind.schema
                    .validate(with_id.as_bytes())
                    .map_err(IntakeError::SchemaViolation)?;
                let signer = system.personal_signer.as_ref().ok_or_else(|| {
                    IntakeError::Signing("no ЭП-СП key is configured for this system".into())
                })?;
                let sig = sign::detached_signature(with_id.as_bytes(), &id, signer.as_ref())
                    .map_err(|e| IntakeError::Signing(e.to_string()))?;
                ctx.metrics
                    .signatures
                    .with_label_values(&["sign", "ok"])
                    .inc();
                personal.reference_id = Some(id);
                personal.signer = Some(CertificateInfo::of(signer.certificate()).subject);
                personal.signature_xml = Some(sig);
                (with_id, RequestState::Queued)
            }
            PersonalSignatureMode::TwoPhase => {
                let (with_id, id) = build::ensure_business_id(&content).map_err(content_error)?;
                kind.schema
                    .validate(with_id.as_bytes())
                    .map_err(IntakeError::SchemaViolation)?;
                let p = sign::prepare_detached(with_id.as_bytes(), &id, Algorithm::Gost2012_256)
                    .map_err(|e| IntakeError::Signing(e.to_string()))?;
                personal.reference_id = Some(id);
                personal.signed_info = Some(B64.encode(&p.signed_info));
                personal.digest = Some(B64.encode(&p.digest));
                (with_id, RequestState::AwaitingPersonalSignature)
            }
        })
    })
    .await?;
    let now = Utc::now();
    let business_key = crate::store::blob_key(content.as_bytes())?;
    let rec = RequestRecord {
        id: new_id(),
        system: req.system.clone(),
        kind: req.kind.clone(),
        client_id: req.client_id.clone(),
        case: req.case.clone(),
        state,
        created_at: now,
        updated_at: now,
        business_xml: business_key,
        test_message: req.test_message.unwrap_or(ctx.config.smev.test_messages),
        attachments,
        personal,
        message_id: None,
        replaced_message_ids: Vec::new(),
        signed_envelope: None,
        attempts: 0,
        next_due: (state == RequestState::Queued).then_some(now),
        last_error: None,
        sent_at: None,
        smev_status: None,
        deadline: None,
        answer: None,
        statuses: Vec::new(),
        history: vec![Transition {
            at: now,
            actor: req.actor.clone(),
            from: None,
            to: state,
            reason: Reason::Accepted,
        }],
        created_by: req.actor.to_string(),
        search_digits: crate::domain::digit_terms(&content),
        assignee: match &req.actor {
            Actor::User(login) => Some(login.clone()),
            _ => None,
        },
    };
    let created = ctx.store.create_request(&rec, content.as_bytes(), &blobs)?;
    ctx.store.durable().await?;
    match created {
        Created::New(r) => {
            tracing::info!(request_id = %r.id, system = %r.system, kind = %r.kind, client_id = ?r.client_id, state = r.state.as_str(), "request accepted");
            ctx.wake_sender.notify_one();
            Ok((r, true))
        }
        Created::Existing(r) => {
            // The same client id must mean the same request: refuse different content instead
            // of silently answering with the old one.
            if r.kind != rec.kind
                || r.business_xml != rec.business_xml
                || !same_files(&r.attachments, &rec.attachments)
            {
                return Err(IntakeError::Conflict(format!(
                    "client_id {:?} was already used for request {} with different content",
                    r.client_id.as_deref().unwrap_or(""),
                    r.id
                )));
            }
            Ok((r, false))
        }
    }
}

/// The agency system's answer to an incoming request.
pub async fn respond(
    ctx: &Context,
    id: &str,
    business_xml: &str,
    attachments: Vec<NewAttachment>,
    actor: &Actor,
) -> Result<IncomingRecord, IntakeError> {
    let inc = ctx.store.get_incoming(id)?;
    let limit = ctx.config.api.max_xml_bytes;
    if business_xml.len() > limit {
        return Err(IntakeError::TooLarge {
            what: "business XML".into(),
            size: business_xml.len(),
            limit,
        });
    }
    // Parsing and XSD validation are CPU work on client bytes: on the bounded pool. Our own
    // parser (with its caps) runs first, so libxml2 only sees documents that passed them.
    let content = crate::cpu::offload(|| {
        let (content, name) = build::business_content(business_xml).map_err(content_error)?;
        if let Some(kind) = inc.kind.as_ref().and_then(|k| ctx.kinds.get(k)) {
            if name != kind.response_name() {
                return Err(IntakeError::WrongRoot {
                    kind: kind.config.id.clone(),
                    expected: kind.response_name().to_string(),
                    got: name.to_string(),
                });
            }
            kind.schema
                .validate(business_xml.as_bytes())
                .map_err(IntakeError::SchemaViolation)?;
        }
        Ok(content)
    })
    .await?;
    let mut refs = attachment_refs(&attachments)?;
    super::storage_uploads::route(ctx, &inc.system, &mut refs)?;
    let signs = inc
        .kind
        .as_ref()
        .and_then(|k| ctx.kinds.get(k))
        .is_some_and(|k| k.config.sign_attachments);
    if let (true, Some(system)) = (signs, ctx.systems.get(&inc.system)) {
        let signer = system.client.signer();
        super::file_signatures::sign(ctx, signer, &attachments, &mut refs).await?;
    }
    for blob in keep_files(ctx, &attachments, &mut refs)? {
        ctx.store.put_blob(&blob)?;
    }
    let xml_key = ctx.store.put_blob(content.as_bytes())?;
    set_response(
        ctx,
        id,
        actor,
        OutgoingResponse::Data {
            business_xml: xml_key,
            attachments: refs,
        },
    )
    .await
}

/// A rejection of an incoming request.
pub async fn reject(
    ctx: &Context,
    id: &str,
    code: RejectionReasonCode,
    description: &str,
    actor: &Actor,
) -> Result<IncomingRecord, IntakeError> {
    if description.trim().is_empty() || description.chars().count() > 4000 {
        return Err(IntakeError::Invalid(
            "the rejection reason must have 1 to 4000 characters".into(),
        ));
    }
    set_response(
        ctx,
        id,
        actor,
        OutgoingResponse::Reject {
            code,
            description: description.to_string(),
        },
    )
    .await
}

async fn set_response(
    ctx: &Context,
    id: &str,
    actor: &Actor,
    response: OutgoingResponse,
) -> Result<IncomingRecord, IntakeError> {
    let event = IncomingEvent::AnswerPosted {
        response,
        due: Utc::now(),
    };
    let r = ctx.store.apply_incoming(id, actor, &event)?;
    ctx.store.durable().await?;
    ctx.wake_responder.notify_one();
    Ok(r)
}

/// A fresh MessageID string.
pub fn fresh_message_id() -> String {
    MessageId::new().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_clients() {
        let cases = [
            ("выписка.pdf", true),
            ("scan 01.jpeg", true),
            ("", false),
            ("  ", false),
            ("..", false),
            ("a/b.pdf", false),
            ("a\\b.pdf", false),
            ("a\r\nContent-Type: text/html.pdf", false),
            ("a\u{0}.pdf", false),
            ("invoice\u{202e}fdp.exe", false),
            ("x\u{2066}.pdf", false),
            ("a\u{93}.pdf", false),
            (". \u{a0}.", false),
            ("\u{3000}", false),
            (".htaccess", true),
        ];
        for (name, ok) in cases {
            assert_eq!(valid_file_name(name), ok, "{name:?}");
        }
        assert!(!valid_file_name(&"a".repeat(256)));
        assert!(
            valid_file_name(&"я".repeat(255)),
            "the limit counts characters, as the schema's maxLength does"
        );
    }
}
