//! A failure as stored with a request or a response and shown to people: a stable code, the
//! message, its retry class and when it happened.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::smev::FaultClass;

/// What a failure means for the record (the retry policy's class, stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Temporary,
    SlowRetry,
    AlreadySent,
    NewMessageId,
    AlreadyAcknowledged,
    Permanent,
    /// A class this release does not know (written by a later one).
    #[serde(other)]
    Unknown,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Temporary => "temporary",
            ErrorClass::SlowRetry => "slow_retry",
            ErrorClass::AlreadySent => "already_sent",
            ErrorClass::NewMessageId => "new_message_id",
            ErrorClass::AlreadyAcknowledged => "already_acknowledged",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Unknown => "unknown",
        }
    }
}

impl From<FaultClass> for ErrorClass {
    fn from(c: FaultClass) -> Self {
        match c {
            FaultClass::Temporary => ErrorClass::Temporary,
            FaultClass::SlowRetry => ErrorClass::SlowRetry,
            FaultClass::AlreadySent => ErrorClass::AlreadySent,
            FaultClass::NewMessageId => ErrorClass::NewMessageId,
            FaultClass::AlreadyAcknowledged => ErrorClass::AlreadyAcknowledged,
            FaultClass::Permanent => ErrorClass::Permanent,
        }
    }
}

/// A failure as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable code: the SMEV fault name (e.g. "InvalidContent", "SignatureVerificationFault.CertificateIsExpired") or a transport code.
    pub code: String,
    pub message: String,
    pub class: ErrorClass,
    pub at: DateTime<Utc>,
}

impl ErrorInfo {
    /// A permanent failure.
    pub fn permanent(code: &str, message: &str, at: DateTime<Utc>) -> ErrorInfo {
        ErrorInfo {
            code: code.to_string(),
            message: message.to_string(),
            class: ErrorClass::Permanent,
            at,
        }
    }
}
