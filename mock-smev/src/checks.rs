//! The strict checks SMEV applies to every incoming message, each answered with the fault SMEV
//! uses: envelope schema (`InvalidContent`), MessageID format (`InvalidMessageIdFormat`) and age
//! (`StaleMessageId`), the caller's ЭП-ОВ (`SignatureVerificationFault` with its sub-code), the
//! official's ЭП-СП (`SignatureVerificationFault` / `PersonalAccessDenied`) and the business
//! content against its kind's schema (`InvalidContent`). Every result is also recorded in a
//! [`Verification`] shown by the admin API.

use chrono::{DateTime, Utc};
use serde::Serialize;
use smev_protocol::dsig::verify::{verify_signature, Cause, SignatureReport, VerifyOptions};
use smev_protocol::dsig::{CertificateInfo, TrustStore};
use smev_protocol::smev::parse::{self, Envelope};
use smev_protocol::smev::schema::{Schema, SchemaErrors};
use smev_protocol::smev::{MessageId, SmevFault, SmevFaultKind};
use smev_protocol::xml::NodeId;

use super::faults::smev_fault;

/// A SMEV fault to answer with (boxed: it is large and travels in `Result`s).
pub type Fault = Box<SmevFault>;

/// The outcome of a schema or format check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Check {
    pub ok: bool,
    pub errors: Vec<String>,
}

impl Check {
    fn ok() -> Self {
        Check {
            ok: true,
            errors: Vec::new(),
        }
    }
    fn failed(errors: Vec<String>) -> Self {
        Check { ok: false, errors }
    }
}

/// The outcome of a signature check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    pub valid: bool,
    /// Why it failed (the signature doctor's causes).
    pub causes: Vec<String>,
    pub signer: Option<String>,
    pub thumbprint: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    /// The `Id`s its references point to.
    pub referenced: Vec<String>,
}

impl SignatureCheck {
    fn of(report: &SignatureReport) -> Self {
        SignatureCheck {
            valid: report.valid,
            causes: report.causes.iter().map(|c| c.to_string()).collect(),
            signer: report.certificate.as_ref().map(|c| c.subject.clone()),
            thumbprint: report
                .certificate
                .as_ref()
                .map(|c| c.thumbprint_sha1.clone()),
            not_after: report.certificate.as_ref().map(|c| c.not_after),
            referenced: report
                .referenced_ids()
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    fn missing() -> Self {
        SignatureCheck {
            valid: false,
            causes: vec!["no signature".into()],
            signer: None,
            thumbprint: None,
            not_after: None,
            referenced: Vec::new(),
        }
    }
}

/// Everything checked on one incoming message (`None`: not checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub envelope_schema: Option<Check>,
    pub message_id: Option<Check>,
    pub caller_signature: Option<SignatureCheck>,
    pub personal_signature: Option<SignatureCheck>,
    pub business_schema: Option<Check>,
    /// Each attachment's own `SignaturePKCS7` that verified over its bytes (inline, MTOM or in
    /// the file storage), and who signed it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_signatures: Vec<FileSignature>,
}

/// A verified `SignaturePKCS7` of one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSignature {
    /// The content id (inline and MTOM) or `uuid/FileName` (file storage).
    pub file: String,
    /// The signer certificate's common name and organization, when the signature carries it.
    pub signer: Option<String>,
}

/// A fault with SMEV's text `text`.
pub fn fault(kind: SmevFaultKind, text: impl Into<String>) -> Fault {
    let text = text.into();
    Box::new(smev_fault(kind, Some(&text), None, None))
}

/// `SignatureVerificationFault` with a sub-code.
pub fn signature_fault(sub_code: &str, text: impl Into<String>) -> Fault {
    let text = text.into();
    let code = format!("mock-smev:TSMEV3:TR:SYNC:SPS:{sub_code}");
    Box::new(smev_fault(
        SmevFaultKind::SignatureVerificationFault,
        Some(&text),
        Some(&code),
        Some(sub_code),
    ))
}

/// `InvalidContent` with one `ValidationError` per error (at least one).
pub fn invalid_content(description: &str, errors: &[String]) -> Fault {
    let mut f = fault(SmevFaultKind::InvalidContent, description);
    let errors: Vec<String> = if errors.is_empty() {
        vec![description.to_string()]
    } else {
        errors.iter().take(20).cloned().collect()
    };
    f.details = errors
        .into_iter()
        .map(|e| ("ValidationError".to_string(), e))
        .collect();
    f
}

fn schema_errors(e: &SchemaErrors) -> Vec<String> {
    e.0.iter()
        .map(|x| format!("line {}, column {}: {}", x.line, x.column, x.message))
        .collect()
}

/// The whole envelope against the driver schema.
pub fn envelope(schema: &Schema, xml: &[u8], v: &mut Verification) -> Result<(), Fault> {
    match schema.validate(xml) {
        Ok(()) => {
            v.envelope_schema = Some(Check::ok());
            Ok(())
        }
        Err(e) => {
            let errors = schema_errors(&e);
            v.envelope_schema = Some(Check::failed(errors.clone()));
            Err(invalid_content(
                "SMEV-400:Нарушен формат бизнес-конверта: сообщение не соответствует схеме СМЭВ 1.3",
                &errors,
            ))
        }
    }
}

/// A MessageID must be a lower-case UUID version 1.
pub fn message_id_format(id: &str, v: &mut Verification) -> Result<MessageId, Fault> {
    match MessageId::parse(id.trim()) {
        Ok(m) => {
            v.message_id = Some(Check::ok());
            Ok(m)
        }
        Err(e) => {
            v.message_id = Some(Check::failed(vec![e.to_string()]));
            Err(fault(
                SmevFaultKind::InvalidMessageIdFormat,
                format!("Неверный формат идентификатора сообщения {:?}: требуется UUID версии 1 в нижнем регистре", e.value),
            ))
        }
    }
}

/// A MessageID's timestamp must not be older than `max_age`.
pub fn staleness(
    id: &MessageId,
    max_age: chrono::Duration,
    v: &mut Verification,
) -> Result<(), Fault> {
    let Some(t) = id.timestamp() else {
        return Ok(());
    };
    if Utc::now() - t > max_age {
        if let Some(c) = v.message_id.as_mut() {
            c.ok = false;
            c.errors.push(format!(
                "timestamp {t} is older than {} h",
                max_age.num_hours()
            ));
        }
        return Err(fault(
            SmevFaultKind::StaleMessageId,
            format!(
                "Идентификатор сообщения устарел: время его формирования {} старше допустимого ({} ч)",
                t.format("%Y-%m-%d %H:%M:%S UTC"),
                max_age.num_hours()
            ),
        ));
    }
    Ok(())
}

fn verify(env: &Envelope, sig: NodeId, trust: &TrustStore) -> SignatureReport {
    verify_signature(
        &env.doc,
        sig,
        &VerifyOptions {
            trust: Some(trust),
            require_valid_certificate: true,
            at: None,
        },
    )
}

/// The SMEV sub-code and text for a failed ЭП-ОВ.
fn classify(report: &SignatureReport, what: &str) -> (&'static str, String) {
    let first = |pred: fn(&Cause) -> bool| report.causes.iter().find(|c| pred(c));
    if let Some(c) = first(|c| matches!(c, Cause::Malformed { .. })) {
        return (
            "PoorSOAPEnvelopeFormat",
            format!("SMEV-100:Некорректный формат {what}: {c}"),
        );
    }
    if let Some(c) = first(|c| matches!(c, Cause::ReferenceNotFound { .. })) {
        return (
            "IncorrectSignatureTarget",
            format!("SMEV-100:{what} подписывает не тот элемент: {c}"),
        );
    }
    if let Some(c) = first(|c| {
        matches!(
            c,
            Cause::ContentChanged { .. }
                | Cause::TransformsDiffer { .. }
                | Cause::SignedInfoWhitespace
                | Cause::SignatureByteOrderReversed
                | Cause::SignatureValueMismatch
                | Cause::SignedInfoAltered
                | Cause::XopIncludeUnresolved { .. }
                | Cause::UnsupportedAlgorithm { .. }
                | Cause::AlgorithmKeyMismatch { .. }
        )
    }) {
        return (
            "SignatureIsInvalid",
            format!("SMEV-100:{what} не соответствует подписанным данным: {c}"),
        );
    }
    if let Some(c) = first(|c| {
        matches!(
            c,
            Cause::CertificateExpired { .. } | Cause::CertificateNotYetValid { .. }
        )
    }) {
        let t = match c {
            Cause::CertificateExpired { not_after } => format!(
                "SMEV-100:Срок действия сертификата {what} истёк. Сертификат действителен до {}",
                not_after.format("%Y-%m-%d %H:%M")
            ),
            _ => format!("SMEV-100:Срок действия сертификата {what} не наступил: {c}"),
        };
        return ("CertificateIsExpired", t);
    }
    if let Some(c) = first(|c| {
        matches!(
            c,
            Cause::CertificateUntrusted { .. } | Cause::MissingCertificate
        )
    }) {
        return (
            "CertificateIsNotFound",
            format!("SMEV-100:Сертификат {what} не найден среди выданных аккредитованными УЦ: {c}"),
        );
    }
    let c = report
        .causes
        .first()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "неизвестная причина".into());
    (
        "SignatureIsInvalid",
        format!("SMEV-100:{what} недействительна: {c}"),
    )
}

/// The caller's ЭП-ОВ must be there at all.
pub fn signature_present(env: &Envelope, v: &mut Verification) -> Result<(), Fault> {
    if parse::caller_signature(env).is_some() {
        return Ok(());
    }
    v.caller_signature = Some(SignatureCheck::missing());
    Err(signature_fault(
        "NoSignatureFound",
        "SMEV-100:Отсутствует ЭП-ОВ (CallerInformationSystemSignature)",
    ))
}

/// The caller's ЭП-ОВ: present, over the signed element, valid and trusted. Returns the
/// certificate that identifies the caller.
pub fn caller_signature(
    env: &Envelope,
    trust: &TrustStore,
    v: &mut Verification,
) -> Result<CertificateInfo, Fault> {
    let Some(sig) = parse::caller_signature(env) else {
        v.caller_signature = Some(SignatureCheck::missing());
        return Err(signature_fault(
            "NoSignatureFound",
            "SMEV-100:Отсутствует ЭП-ОВ (CallerInformationSystemSignature)",
        ));
    };
    let report = verify(env, sig, trust);
    v.caller_signature = Some(SignatureCheck::of(&report));
    let target_id = parse::signed_element(env)
        .and_then(|n| env.doc.element(n))
        .and_then(|e| e.attr("Id"))
        .map(str::to_string);
    let referenced = report.referenced_ids();
    let on_target = target_id
        .as_deref()
        .is_some_and(|id| referenced.contains(&id));
    if !on_target && !report.references.is_empty() {
        return Err(signature_fault(
            "IncorrectSignatureTarget",
            format!(
                "SMEV-100:ЭП-ОВ должна подписывать элемент {} (#{}), а подписывает {}",
                parse::signed_element(env)
                    .and_then(|n| env.doc.element(n))
                    .map(|e| e.local.to_string())
                    .unwrap_or_default(),
                target_id.unwrap_or_default(),
                referenced
                    .iter()
                    .map(|r| format!("#{r}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !report.valid {
        let (sub, text) = classify(&report, "ЭП-ОВ");
        return Err(signature_fault(sub, text));
    }
    report
        .certificate
        .ok_or_else(|| signature_fault("CertificateIsNotFound", "SMEV-100:В ЭП-ОВ нет сертификата"))
}

/// The ЭП-СП inside `PersonalSignature` of the sender data `data`, when present: it must sign
/// the business root and be valid; a certificate problem is `PersonalAccessDenied`.
pub fn personal_signature(
    env: &Envelope,
    data: NodeId,
    trust: &TrustStore,
    v: &mut Verification,
) -> Result<(), Fault> {
    let doc = &env.doc;
    let Some(sig) = doc
        .child_by_local(data, "PersonalSignature")
        .and_then(|p| doc.child_elements(p).next())
    else {
        return Ok(());
    };
    let report = verify(env, sig, trust);
    v.personal_signature = Some(SignatureCheck::of(&report));
    let root_id = doc
        .child_by_local(data, "MessagePrimaryContent")
        .and_then(|m| doc.child_elements(m).next())
        .and_then(|r| doc.element(r))
        .and_then(|e| e.attr("Id"))
        .map(str::to_string);
    let referenced = report.referenced_ids();
    if !root_id
        .as_deref()
        .is_some_and(|id| referenced.contains(&id))
    {
        return Err(signature_fault(
            "IncorrectSignatureTarget",
            "SMEV-100:ЭП-СП должна подписывать корневой элемент бизнес-данных (MessagePrimaryContent)",
        ));
    }
    if report.valid {
        return Ok(());
    }
    let (sub, text) = classify(&report, "ЭП-СП");
    if matches!(sub, "CertificateIsExpired" | "CertificateIsNotFound") {
        return Err(fault(
            SmevFaultKind::PersonalAccessDenied,
            format!("Доступ запрещён на основании сертификата ЭП-СП: {text}"),
        ));
    }
    Err(signature_fault(sub, text))
}

/// Business content against its kind's schema.
pub fn business(
    schema: &Schema,
    content: &str,
    message_id: &str,
    v: &mut Verification,
) -> Result<(), Fault> {
    match schema.validate(content.as_bytes()) {
        Ok(()) => {
            v.business_schema = Some(Check::ok());
            Ok(())
        }
        Err(e) => {
            let errors = schema_errors(&e);
            v.business_schema = Some(Check::failed(errors.clone()));
            Err(invalid_content(
                &format!("SMEV-403:Бизнес-данные сообщения не соответствуют схеме, зарегистрированной в СМЭВ. MessageId = {message_id}"),
                &errors,
            ))
        }
    }
}
