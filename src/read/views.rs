//! JSON shapes the API returns (documented in `openapi.json`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::history::TransitionView;
use crate::domain::*;
use crate::engine::Context;
use crate::smev::model::{Participant, Rejection};

#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub n: usize,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256_gost: String,
    pub href: String,
    /// Received files: `verified` (a PKCS#7 signature in the signed header checked over the
    /// bytes) or `declared` (listed in the signed header list, no file signature); absent for
    /// files the agency sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<crate::smev::attachments::Integrity>,
    /// Received files with a verified PKCS#7 signature: who signed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// Views of stored files; `href_base` + `/n` downloads file `n` (empty when there is no
/// download endpoint).
fn attachment_views(list: &[AttachmentRef], href_base: Option<&str>) -> Vec<AttachmentView> {
    list.iter()
        .enumerate()
        .map(|(n, x)| AttachmentView {
            n,
            name: x.name.clone(),
            mime_type: x.mime_type.clone(),
            size: x.size,
            sha256_gost: x.hash.clone(),
            href: href_base.map(|b| format!("{b}/{n}")).unwrap_or_default(),
            integrity: x.integrity,
            signer: x.signer.clone(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct AnswerSummary {
    pub kind: AnswerKind,
    pub message_id: String,
    pub received_at: DateTime<Utc>,
    pub rejections: Vec<Rejection>,
    pub smev_fault: Option<ErrorInfo>,
    pub attachments: Vec<AttachmentView>,
    pub sender: Option<Participant>,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub struct PersonalSignatureView {
    pub mode: String,
    pub signed: bool,
    pub signer: Option<String>,
    pub signing_payload_href: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub id: String,
    pub system: String,
    pub kind: String,
    pub kind_name: Option<String>,
    pub client_id: Option<String>,
    pub case: Option<CaseInfo>,
    pub status: RequestState,
    pub status_label: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub message_id: Option<String>,
    pub replaced_message_ids: Vec<String>,
    pub test_message: bool,
    pub retry_count: u32,
    pub attempts: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub last_error: Option<ErrorInfo>,
    pub fault: Option<ErrorInfo>,
    pub sent_at: Option<DateTime<Utc>>,
    pub smev_status: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// The executor's UI login, when one is assigned.
    pub assignee: Option<String>,
    pub personal_signature: PersonalSignatureView,
    pub attachments: Vec<AttachmentView>,
    pub answer: Option<AnswerSummary>,
    pub statuses: Vec<StatusUpdate>,
    pub history: Vec<TransitionView>,
}

impl RequestView {
    pub fn of(ctx: &Context, r: &RequestRecord) -> RequestView {
        let now = Utc::now();
        let answer = r.answer.as_ref().map(|a| AnswerSummary {
            kind: a.kind,
            message_id: a.message_id.clone(),
            received_at: a.received_at,
            rejections: a.rejections.clone(),
            smev_fault: a.smev_fault.clone(),
            attachments: attachment_views(
                &a.attachments,
                Some(&format!("/api/v1/requests/{}/attachments", r.id)),
            ),
            sender: a.sender.clone(),
            href: format!("/api/v1/requests/{}/answer", r.id),
        });
        let fault = if r.state == RequestState::Failed {
            r.last_error.clone()
        } else {
            r.answer.as_ref().and_then(|a| a.smev_fault.clone())
        };
        RequestView {
            id: r.id.clone(),
            system: r.system.clone(),
            kind: r.kind.clone(),
            kind_name: ctx.kinds.get(&r.kind).map(|k| k.config.name.clone()),
            client_id: r.client_id.clone(),
            case: r.case.clone(),
            status: r.state,
            status_label: crate::read::labels::request_state(r.state),
            created_at: r.created_at,
            updated_at: r.updated_at,
            message_id: r.message_id.clone(),
            replaced_message_ids: r.replaced_message_ids.clone(),
            test_message: r.test_message,
            retry_count: r.attempts.saturating_sub(1),
            attempts: r.attempts,
            next_due: r.next_due,
            last_error: r.last_error.clone(),
            fault,
            sent_at: r.sent_at,
            smev_status: r.smev_status.clone(),
            deadline: r.deadline,
            overdue: r.is_overdue(now),
            assignee: r.assignee.clone(),
            personal_signature: PersonalSignatureView {
                mode: r.personal.mode.clone(),
                signed: r.personal.signature_xml.is_some(),
                signer: r.personal.signer.clone(),
                signing_payload_href: (r.state == RequestState::AwaitingPersonalSignature)
                    .then(|| format!("/api/v1/requests/{}/signing-payload", r.id)),
            },
            attachments: attachment_views(&r.attachments, None),
            answer,
            statuses: r.statuses.clone(),
            history: r.history.iter().map(TransitionView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct IncomingView {
    pub id: String,
    pub system: String,
    pub kind: Option<String>,
    pub root_element: String,
    pub status: IncomingState,
    pub status_label: &'static str,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub message_id: String,
    pub sender: Option<Participant>,
    pub sending_timestamp: Option<DateTime<Utc>>,
    /// When our answer is due (working days of the production calendar).
    pub answer_deadline: Option<DateTime<Utc>>,
    /// Not answered and past `answer_deadline`.
    pub overdue: bool,
    /// The executor's UI login, when one is assigned.
    pub assignee: Option<String>,
    pub test_message: bool,
    pub business_xml: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub response_message_id: Option<String>,
    pub last_error: Option<ErrorInfo>,
    pub signatures: Vec<SignatureSummary>,
}

impl IncomingView {
    pub fn of(ctx: &Context, r: &IncomingRecord, with_xml: bool) -> IncomingView {
        IncomingView {
            id: r.id.clone(),
            system: r.system.clone(),
            kind: r.kind.clone(),
            root_element: r.root_element.clone(),
            status: r.state,
            status_label: crate::read::labels::incoming_state(r.state),
            received_at: r.received_at,
            updated_at: r.updated_at,
            message_id: r.message_id.clone(),
            sender: r.sender.clone(),
            sending_timestamp: r.sending_timestamp,
            answer_deadline: r.answer_deadline,
            overdue: r.is_overdue(Utc::now()),
            assignee: r.assignee.clone(),
            test_message: r.test_message,
            business_xml: if with_xml {
                ctx.store.blob_text(&r.business_xml).ok()
            } else {
                None
            },
            attachments: attachment_views(
                &r.attachments,
                Some(&format!("/api/v1/incoming/{}/attachments", r.id)),
            ),
            response_message_id: r.response_message_id.clone(),
            last_error: r.last_error.clone(),
            signatures: r.signatures.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeadLetterView {
    pub id: String,
    pub system: String,
    pub source: String,
    pub smev_message_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub state: String,
    pub acked: bool,
    pub envelope_xml: Option<String>,
}

impl DeadLetterView {
    pub fn of(ctx: &Context, d: &DeadLetter, with_xml: bool) -> DeadLetterView {
        DeadLetterView {
            id: d.id.clone(),
            system: d.system.clone(),
            source: d.source.as_str().to_string(),
            smev_message_id: d.smev_message_id.clone(),
            received_at: d.received_at,
            reason: d.reason.clone(),
            state: d.state.as_str().to_string(),
            acked: d.acked,
            envelope_xml: if with_xml {
                ctx.store.blob_text(&d.envelope).ok()
            } else {
                None
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
