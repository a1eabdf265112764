//! A request's history as the API shows it: each reason machine-readable (`{code, text}`), so an
//! agency system never parses prose.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Reason, RequestState, Transition};

/// A reason: its stable code and the English text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonView {
    pub code: &'static str,
    pub text: String,
}

impl From<&Reason> for ReasonView {
    fn from(r: &Reason) -> Self {
        ReasonView {
            code: r.code(),
            text: r.text(),
        }
    }
}

/// One history entry.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub reason: ReasonView,
}

impl From<&Transition> for TransitionView {
    fn from(t: &Transition) -> Self {
        TransitionView {
            at: t.at,
            actor: t.actor.to_string(),
            from: t.from,
            to: t.to,
            reason: (&t.reason).into(),
        }
    }
}
