//! What the request card and its live panel show of one outgoing request: its data as a
//! table, the answer with its files and signature checks, the certificates, the history, and
//! which of the operator's actions are open.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{AnswerKind, CaseInfo, ErrorInfo, RequestRecord, RequestState, StatusUpdate};
use crate::dsig::CertificateInfo;
use crate::read::views::{PersonalSignatureView, RequestView};
use crate::smev::model::Participant;

use super::super::access::{self, Action};
use super::super::messages;
use super::super::xmltable::{self, Row};
use super::super::{Ui, User};
use super::{case_href, certificate_of_signature, signature_place, CertView};

/// The request card (`r` in `request.html` and `request_panel.html`).
#[derive(Debug, Serialize)]
pub(crate) struct RequestCard {
    pub id: String,
    pub kind: String,
    pub kind_name: Option<String>,
    pub case: Option<CaseInfo>,
    pub case_href: Option<String>,
    pub system_name: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// «срок истекает завтра» and the like, for an open request.
    pub deadline_note: Option<&'static str>,
    pub message_id: Option<String>,
    pub replaced_message_ids: Vec<String>,
    pub test_message: bool,
    pub attempts: u32,
    pub last_error: Option<ErrorInfo>,
    pub fault: Option<ErrorInfo>,
    /// What to do about `fault` or `last_error`, in Russian.
    pub error_advice: Option<&'static str>,
    /// The technical message of that error without markup, shortened.
    pub error_detail: Option<String>,
    /// When the engine tries again by itself (a queued request after a temporary failure).
    pub next_attempt: Option<DateTime<Utc>>,
    pub personal_signature: PersonalSignatureView,
    pub statuses: Vec<StatusUpdate>,
    /// The request's business data as labelled rows.
    pub request_rows: Vec<Row>,
    /// The files sent with the request.
    pub request_files: Vec<RequestFile>,
    pub answer: Option<AnswerView>,
    /// The official's certificate from the ЭП-СП kept with the request.
    pub personal_cert: Option<CertView>,
    /// The system's ЭП-ОВ certificate.
    pub ov_cert: Option<CertView>,
    pub can_retry: bool,
    pub can_cancel: bool,
    pub awaiting_signature: bool,
    pub history: Vec<HistoryEntry>,
}

/// A file sent with the request: its name, size and how it travels.
#[derive(Debug, Serialize)]
pub(crate) struct RequestFile {
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// Through SMEV's file storage rather than inside the message.
    pub via_storage: bool,
    /// Whose PKCS#7 signature the file carries: «ЭП-ОВ», «ЭП-СП» or none.
    pub signed_with: Option<&'static str>,
}

impl RequestFile {
    /// `personal`: the kind's files carry the ЭП-СП (`personal_sign_attachments`).
    fn of(a: &crate::domain::AttachmentRef, personal: bool) -> RequestFile {
        RequestFile {
            name: a.name.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            via_storage: a.storage_uuid.is_some(),
            signed_with: a.signature_pkcs7.as_ref().map(|_| {
                if personal {
                    "ЭП-СП"
                } else {
                    "ЭП-ОВ"
                }
            }),
        }
    }
}

/// The answer to the request.
#[derive(Debug, Serialize)]
pub(crate) struct AnswerView {
    pub kind: AnswerKind,
    pub message_id: String,
    pub received_at: DateTime<Utc>,
    /// The business XML of a data answer.
    pub xml: Option<String>,
    pub rows: Vec<Row>,
    pub rejections: Vec<RejectionView>,
    pub smev_fault: Option<ErrorInfo>,
    pub sender: Option<Participant>,
    pub attachments: Vec<AnswerAttachment>,
    pub signatures: Vec<SignatureView>,
}

/// One reason the provider gave for refusing.
#[derive(Debug, Serialize)]
pub(crate) struct RejectionView {
    pub code: &'static str,
    /// The code in Russian.
    pub meaning: &'static str,
    /// What to do about it.
    pub advice: &'static str,
    pub description: String,
}

/// A file of the answer, downloadable from the card.
#[derive(Debug, Serialize)]
pub(crate) struct AnswerAttachment {
    pub n: usize,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// How the file is tied to the signed answer, in Russian.
    pub integrity: Option<&'static str>,
    /// Who signed the file, when its PKCS#7 signature verified.
    pub signer: Option<String>,
    pub href: String,
}

/// A signature check of the answer.
#[derive(Debug, Serialize)]
pub(crate) struct SignatureView {
    pub location: String,
    /// Which signature it is (ЭП-СМЭВ, ЭП-СП, ЭП-ОВ), in Russian.
    pub what: &'static str,
    pub valid: bool,
    pub trusted: bool,
    pub by_smev: bool,
    pub signer: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}

/// A step of the request's history.
#[derive(Debug, Serialize)]
pub(crate) struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor: crate::domain::Actor,
    /// The state before, as a label.
    pub from: Option<&'static str>,
    pub to: &'static str,
    pub to_label: &'static str,
    pub reason: crate::domain::Reason,
}

impl RequestCard {
    /// Everything the card shows of `r` to `user`.
    pub(crate) fn of(ui: &Ui, user: &User, r: &RequestRecord) -> RequestCard {
        let view = RequestView::of(&ui.ctx, r);
        let (req_labels, ans_labels) = ui.labels.get(&r.kind).cloned().unwrap_or_default();
        let business = ui.ctx.store.blob_text(&r.business_xml).unwrap_or_default();
        RequestCard {
            id: view.id,
            kind: view.kind,
            kind_name: view.kind_name,
            case: view.case,
            case_href: r.case.as_ref().map(|c| case_href(&r.system, &c.reference)),
            system_name: ui
                .ctx
                .config
                .system(&r.system)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| r.system.clone()),
            status: r.state.as_str(),
            status_label: view.status_label,
            created_at: view.created_at,
            updated_at: view.updated_at,
            sent_at: view.sent_at,
            deadline: view.deadline,
            overdue: view.overdue,
            deadline_note: ui.deadline_note(r.deadline, !r.state.is_closed(), chrono::Utc::now()),
            message_id: view.message_id,
            replaced_message_ids: view.replaced_message_ids,
            test_message: view.test_message,
            attempts: view.attempts,
            last_error: view.last_error,
            error_advice: view
                .fault
                .as_ref()
                .or(r.last_error.as_ref())
                .map(|e| super::super::advice::for_error(e).what_to_do),
            error_detail: view
                .fault
                .as_ref()
                .or(r.last_error.as_ref())
                .map(|e| super::super::advice::readable_detail(&e.message)),
            next_attempt: r
                .next_due
                .filter(|_| r.last_error.is_some() && !r.state.is_closed()),
            fault: view.fault,
            personal_signature: view.personal_signature,
            statuses: view.statuses,
            request_rows: xmltable::flatten(&business, &req_labels).unwrap_or_default(),
            request_files: {
                let personal = ui
                    .ctx
                    .kinds
                    .get(&r.kind)
                    .is_some_and(|k| k.config.personal_sign_attachments);
                r.attachments
                    .iter()
                    .map(|a| RequestFile::of(a, personal))
                    .collect()
            },
            answer: AnswerView::of(ui, r, &ans_labels),
            personal_cert: r
                .personal
                .signature_xml
                .as_deref()
                .and_then(certificate_of_signature)
                .map(|c| CertView::of(&c)),
            ov_cert: ui
                .ctx
                .systems
                .get(&r.system)
                .map(|s| CertView::of(&CertificateInfo::of(s.client.signer().certificate()))),
            can_retry: access::allows(user.s.role, Action::Retry)
                && super::super::advice::retry_helps(r),
            can_cancel: access::allows(user.s.role, Action::Create)
                && !r.state.is_closed()
                && r.state != RequestState::Sending,
            awaiting_signature: r.state == RequestState::AwaitingPersonalSignature,
            history: r
                .history
                .iter()
                .map(|t| HistoryEntry {
                    at: t.at,
                    actor: t.actor.clone(),
                    from: t.from.map(crate::read::labels::request_state),
                    to: t.to.as_str(),
                    to_label: crate::read::labels::request_state(t.to),
                    reason: t.reason.clone(),
                })
                .collect(),
        }
    }
}

impl AnswerView {
    /// The answer of `r`, if any, with its business data labelled by `labels`.
    fn of(ui: &Ui, r: &RequestRecord, labels: &xmltable::Legend) -> Option<AnswerView> {
        let a = r.answer.as_ref()?;
        let xml = a
            .business_xml
            .as_ref()
            .and_then(|k| ui.ctx.store.blob_text(k).ok());
        let rows = xml
            .as_deref()
            .map(|x| xmltable::flatten(x, labels).unwrap_or_default())
            .unwrap_or_default();
        Some(AnswerView {
            kind: a.kind,
            message_id: a.message_id.clone(),
            received_at: a.received_at,
            xml,
            rows,
            rejections: a
                .rejections
                .iter()
                .map(|x| RejectionView {
                    code: x.code.as_str(),
                    meaning: messages::rejection_ru(x.code),
                    advice: super::super::advice::for_rejection(x.code).what_to_do,
                    description: x.description.clone(),
                })
                .collect(),
            smev_fault: a.smev_fault.clone(),
            sender: a.sender.clone(),
            attachments: a
                .attachments
                .iter()
                .enumerate()
                .map(|(n, x)| AnswerAttachment {
                    n,
                    name: x.name.clone(),
                    mime_type: x.mime_type.clone(),
                    size: x.size,
                    integrity: x.integrity.map(messages::integrity_ru),
                    signer: x.signer.clone(),
                    href: format!("/ui/requests/{}/attachments/{n}", r.id),
                })
                .collect(),
            signatures: a
                .signatures
                .iter()
                .map(|s| SignatureView {
                    location: s.location.clone(),
                    what: signature_place(&s.location),
                    valid: s.valid,
                    trusted: s.trusted,
                    by_smev: s.location.contains("SMEVSignature"),
                    signer: s.signer.clone(),
                    not_before: s.not_before,
                    not_after: s.not_after,
                    problems: s.problems.clone(),
                })
                .collect(),
        })
    }
}
