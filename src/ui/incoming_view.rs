//! What the incoming pages show: a received request as a list row, and its card with the
//! request's data as a table, its files and signatures, our answer so far and its history.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{ErrorInfo, IncomingRecord, IncomingState, OutgoingResponse, SignatureSummary};

use super::access::{self, Action};
use super::choice::Choice;
use super::history_line::HistoryLine;
use super::messages;
use super::render::url_encode;
use super::xmltable::{self, Row};
use super::{Ui, User};

/// The kind's name, or the business root when the request matches no configured kind.
pub(super) fn kind_name(ui: &Ui, r: &IncomingRecord) -> String {
    r.kind
        .as_ref()
        .and_then(|k| ui.ctx.kinds.get(k))
        .map(|k| k.config.name.clone())
        .unwrap_or_else(|| r.root_element.clone())
}

/// `incoming_list.html`: received requests, newest first.
#[derive(Debug, Serialize)]
pub(super) struct IncomingListPage {
    pub title: &'static str,
    pub nav: &'static str,
    pub rows: Vec<IncomingRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    /// «Только мои» is on.
    pub mine: bool,
}

/// An incoming request as a list row (also the head of its card).
#[derive(Debug, Serialize)]
pub(super) struct IncomingRow {
    pub id: String,
    pub href: String,
    pub system: String,
    pub kind_name: String,
    /// The state, or `refused` once a refusal went out (its own badge colour).
    pub status: &'static str,
    pub status_label: &'static str,
    pub received_at: DateTime<Utc>,
    /// When our answer is due.
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// «срок истекает завтра» and the like, while the answer is awaited.
    pub deadline_note: Option<&'static str>,
    /// The requester's name, or its mnemonic.
    pub sender: Option<String>,
    pub test_message: bool,
    /// The executor's login and name, when one is assigned.
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
}

impl IncomingRow {
    pub(super) fn of(ui: &Ui, r: &IncomingRecord) -> IncomingRow {
        let now = Utc::now();
        let refused = r.answered_with_refusal() && r.state != IncomingState::Received;
        IncomingRow {
            id: r.id.clone(),
            href: format!("/ui/incoming/{}", url_encode(&r.id)),
            system: r.system.clone(),
            kind_name: kind_name(ui, r),
            status: if refused && r.state != IncomingState::Failed {
                "refused"
            } else {
                r.state.as_str()
            },
            status_label: if refused {
                crate::read::labels::incoming_refusal_state(r.state)
            } else {
                crate::read::labels::incoming_state(r.state)
            },
            received_at: r.received_at,
            deadline: r.answer_deadline,
            overdue: r.is_overdue(now),
            deadline_note: ui.deadline_note(r.answer_deadline, r.awaits_answer(), now),
            sender: r
                .sender
                .as_ref()
                .and_then(|s| s.human_readable_name.clone().or(s.mnemonic.clone())),
            test_message: r.test_message,
            assignee: r.assignee.clone(),
            assignee_name: r.assignee.as_deref().map(|a| ui.executor_name(a)),
        }
    }
}

/// `incoming.html`: the card with the answer and rejection forms.
#[derive(Debug, Serialize)]
pub(super) struct IncomingPage {
    pub title: String,
    pub nav: &'static str,
    pub r: IncomingCard,
    /// Rejection codes to choose from.
    pub codes: Vec<Choice>,
    /// What the answer field holds: what was typed, or a skeleton of the kind's answer.
    pub answer_xml: String,
    /// The answer form made from the kind's response schema (empty when it has none).
    pub answer_rows: Vec<super::schema_form::Row>,
    pub error: Option<String>,
    pub details: Vec<String>,
    pub notice: Option<&'static str>,
}

/// Everything the card shows of one incoming request.
#[derive(Debug, Serialize)]
pub(super) struct IncomingCard {
    pub row: IncomingRow,
    pub message_id: String,
    pub reply_to_set: bool,
    pub sending_timestamp: Option<DateTime<Utc>>,
    pub root_element: String,
    /// The request's business XML.
    pub xml: String,
    /// The same as labelled rows.
    pub rows: Vec<Row>,
    pub attachments: Vec<IncomingAttachment>,
    pub signatures: Vec<SignatureSummary>,
    pub response: Option<ResponseView>,
    pub response_message_id: Option<String>,
    pub last_error: Option<ErrorInfo>,
    pub history: Vec<HistoryLine>,
    /// Whether the user may answer or reject it now.
    pub can_answer: bool,
    /// Who it can be assigned to (empty when the user may not assign).
    pub executors: Vec<Choice>,
}

/// A file of the incoming request, downloadable from the card.
#[derive(Debug, Serialize)]
pub(super) struct IncomingAttachment {
    pub name: String,
    pub size: u64,
    pub mime_type: String,
    pub href: String,
    /// How the file is tied to the signed request, in Russian.
    pub integrity: Option<&'static str>,
    /// Who signed the file, when its PKCS#7 signature verified.
    pub signer: Option<String>,
}

/// Our answer to the incoming request, once posted.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum ResponseView {
    /// Business data, and the files sent with it (by name: the receiver gets them under the
    /// content ids made from these names).
    Data {
        xml: Option<String>,
        files: Vec<IncomingAttachment>,
    },
    /// A rejection: the code, its meaning in Russian and the reason given.
    Reject {
        code: &'static str,
        meaning: &'static str,
        description: String,
    },
}

impl IncomingCard {
    pub(super) fn of(ui: &Ui, user: &User, r: &IncomingRecord) -> IncomingCard {
        let xml = ui.ctx.store.blob_text(&r.business_xml).unwrap_or_default();
        let labels = r
            .kind
            .as_ref()
            .and_then(|k| ui.labels.get(k))
            .map(|l| l.0.clone())
            .unwrap_or_default();
        let rows = xmltable::flatten(&xml, &labels).unwrap_or_default();
        IncomingCard {
            row: IncomingRow::of(ui, r),
            message_id: r.message_id.clone(),
            reply_to_set: !r.reply_to.is_empty(),
            sending_timestamp: r.sending_timestamp,
            root_element: r.root_element.clone(),
            xml,
            rows,
            attachments: r
                .attachments
                .iter()
                .enumerate()
                .map(|(n, a)| IncomingAttachment {
                    name: a.name.clone(),
                    size: a.size,
                    mime_type: a.mime_type.clone(),
                    href: format!("/ui/incoming/{}/attachments/{n}", url_encode(&r.id)),
                    integrity: a.integrity.map(super::messages::integrity_ru),
                    signer: a.signer.clone(),
                })
                .collect(),
            signatures: r.signatures.clone(),
            response: r.response.as_ref().map(|resp| match resp {
                OutgoingResponse::Data {
                    business_xml,
                    attachments,
                } => ResponseView::Data {
                    xml: ui.ctx.store.blob_text(business_xml).ok(),
                    files: attachments
                        .iter()
                        .map(|a| IncomingAttachment {
                            name: a.name.clone(),
                            size: a.size,
                            mime_type: a.mime_type.clone(),
                            href: String::new(),
                            integrity: None,
                            signer: None,
                        })
                        .collect(),
                },
                OutgoingResponse::Reject { code, description } => ResponseView::Reject {
                    code: code.as_str(),
                    meaning: messages::rejection_ru(*code),
                    description: description.clone(),
                },
            }),
            response_message_id: r.response_message_id.clone(),
            last_error: r.last_error.clone(),
            history: HistoryLine::all(&r.history),
            can_answer: access::allows(user.s.role, Action::Create)
                && matches!(r.state, IncomingState::Received | IncomingState::Failed),
            executors: if access::allows(user.s.role, Action::Monitor) {
                ui.executor_choices(&r.system)
            } else {
                Vec::new()
            },
        }
    }
}
