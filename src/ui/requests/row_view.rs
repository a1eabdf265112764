//! A row of a request table: what the request lists, the case card, the monitoring page and
//! the ЭП-СП page show of one outgoing request.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{CaseInfo, RequestRecord};

use super::super::Ui;
use super::case_href;

/// One outgoing request as a table row.
#[derive(Debug, Serialize)]
pub(crate) struct RequestRow {
    pub id: String,
    pub system: String,
    pub kind: String,
    /// The kind's name, or its id when the kind is no longer configured.
    pub kind_name: String,
    pub case: Option<CaseInfo>,
    pub case_href: Option<String>,
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
    /// What tells this request from others of its kind in the case: the first number of its
    /// data (an ИНН, a СНИЛС…) and the tail of its MessageID.
    pub details: Option<String>,
}

impl RequestRow {
    pub(crate) fn of(ui: &Ui, r: &RequestRecord) -> RequestRow {
        RequestRow {
            id: r.id.clone(),
            system: r.system.clone(),
            kind: r.kind.clone(),
            kind_name: ui.kind_name(&r.kind),
            case: r.case.clone(),
            case_href: r.case.as_ref().map(|c| case_href(&r.system, &c.reference)),
            status: r.state.as_str(),
            status_label: crate::read::labels::request_state(r.state),
            created_at: r.created_at,
            updated_at: r.updated_at,
            sent_at: r.sent_at,
            deadline: r.deadline,
            overdue: r.is_overdue(Utc::now()),
            deadline_note: ui.deadline_note(r.deadline, !r.state.is_closed(), Utc::now()),
            message_id: r.message_id.clone(),
            details: details_of(r, r.assignee.as_deref().map(|a| ui.executor_name(a))),
        }
    }

    /// Rows of a list of requests, in its order.
    pub(crate) fn all(ui: &Ui, items: &[RequestRecord]) -> Vec<RequestRow> {
        items.iter().map(|r| RequestRow::of(ui, r)).collect()
    }
}

/// «7707083808 · MessageID …2b071f5494d4 · исп. Иванова А. С.», or what of it there is.
fn details_of(r: &RequestRecord, executor: Option<String>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(n) = r.search_digits.first() {
        parts.push(n.clone());
    }
    if let Some(m) = &r.message_id {
        let tail: String = m
            .chars()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        parts.push(format!("MessageID …{tail}"));
    }
    if let Some(e) = executor {
        parts.push(format!("исп. {e}"));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}
