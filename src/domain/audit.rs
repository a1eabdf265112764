//! The audit log's entry: who did what to which record, with the exact XML when the action
//! carried one. The log is legal evidence, so every transition the store persists writes one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Request,
    Incoming,
    DeadLetter,
    Webhook,
    UiUser,
    /// A subject this release does not know.
    #[serde(other)]
    Unknown,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(rename = "subject_type")]
    pub subject: Subject,
    pub subject_id: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: String,
    /// Blob key of the exact XML sent or received, when the action carried one.
    pub xml: Option<String>,
}
