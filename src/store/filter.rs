//! The request list's filter: which requests a caller sees and asks for.

use chrono::{DateTime, Utc};

use crate::domain::{RequestRecord, RequestState};

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Systems visible to the caller (empty = all).
    pub systems: Vec<String>,
    pub states: Vec<RequestState>,
    pub kind: Option<String>,
    pub case: Option<String>,
    pub client_id: Option<String>,
    pub message_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the case reference, applicant, ИНН or СНИЛС; a number
    /// (digits with spaces or dashes) also matches those and the numbers inside the request's
    /// business data, in any spelling.
    pub text: Option<String>,
    /// Only requests overdue at this instant ([`RequestRecord::is_overdue`]).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only requests with a deadline no later than this.
    pub deadline_to: Option<DateTime<Utc>>,
    /// Only requests whose executor is this login.
    pub assignee: Option<String>,
}

impl RequestFilter {
    /// Whether `r` passes the filter.
    pub fn matches(&self, r: &RequestRecord) -> bool {
        if !self.systems.is_empty() && !self.systems.contains(&r.system) {
            return false;
        }
        if !self.states.is_empty() && !self.states.contains(&r.state) {
            return false;
        }
        if self.kind.as_ref().is_some_and(|k| *k != r.kind) {
            return false;
        }
        if let Some(c) = &self.case {
            if r.case.as_ref().map(|x| &x.reference) != Some(c) {
                return false;
            }
        }
        if self.client_id.is_some() && self.client_id != r.client_id {
            return false;
        }
        if let Some(m) = &self.message_id {
            if r.message_id.as_ref() != Some(m) && !r.replaced_message_ids.contains(m) {
                return false;
            }
        }
        if self.created_from.is_some_and(|t| r.created_at < t)
            || self.created_to.is_some_and(|t| r.created_at > t)
        {
            return false;
        }
        if self.updated_from.is_some_and(|t| r.updated_at < t)
            || self.updated_to.is_some_and(|t| r.updated_at > t)
        {
            return false;
        }
        if self.assignee.is_some() && self.assignee != r.assignee {
            return false;
        }
        if self.overdue_at.is_some_and(|now| !r.is_overdue(now)) {
            return false;
        }
        if let Some(t) = self.deadline_to {
            if r.deadline.is_none_or(|d| d > t) {
                return false;
            }
        }
        if let Some(text) = &self.text {
            if !text_matches(r, text) {
                return false;
            }
        }
        true
    }
}

/// Whether `r` is found by the search text `text`.
fn text_matches(r: &RequestRecord, text: &str) -> bool {
    let case = r.case.as_ref();
    let field = |f: fn(&crate::domain::CaseInfo) -> Option<&str>| case.and_then(f).unwrap_or("");
    let hay = format!(
        "{} {} {} {}",
        case.map(|c| c.reference.as_str()).unwrap_or(""),
        field(|c| c.applicant.as_deref()),
        field(|c| c.inn.as_deref()),
        field(|c| c.snils.as_deref()),
    )
    .to_lowercase();
    if hay.contains(&text.to_lowercase()) {
        return true;
    }
    let Some(digits) = crate::domain::digits_of_query(text) else {
        return false;
    };
    let bare = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    [
        case.map(|c| c.reference.as_str()).unwrap_or(""),
        field(|c| c.inn.as_deref()),
        field(|c| c.snils.as_deref()),
    ]
    .iter()
    .any(|s| bare(s).contains(&digits))
        || r.search_digits.iter().any(|d| d.contains(&digits))
}

/// Filters of the incoming request list.
#[derive(Debug, Clone, Default)]
pub struct IncomingFilter {
    /// Systems visible to the caller (empty = all).
    pub systems: Vec<String>,
    /// Only requests whose executor is this login.
    pub assignee: Option<String>,
}

impl IncomingFilter {
    /// The incoming requests of `systems` (empty = all).
    pub fn of_systems(systems: &[String]) -> IncomingFilter {
        IncomingFilter {
            systems: systems.to_vec(),
            assignee: None,
        }
    }

    /// Whether `r` passes the filter.
    pub fn matches(&self, r: &crate::domain::IncomingRecord) -> bool {
        (self.systems.is_empty() || self.systems.contains(&r.system))
            && (self.assignee.is_none() || self.assignee == r.assignee)
    }
}
