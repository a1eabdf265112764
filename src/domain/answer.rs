//! What came back for a request: the provider's answer or rejection, SMEV's asynchronous
//! rejection, and the provider's intermediate statuses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attachment::AttachmentRef;
use super::error_info::ErrorInfo;
use super::signature::SignatureSummary;
use crate::smev::model::{Participant, Rejection};

/// How the answer ended the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// Business answer from the provider.
    Data,
    /// RequestRejected from the provider.
    Rejected,
    /// SMEV's asynchronous rejection (AsyncProcessingStatus).
    SmevRejected,
}

/// The final answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub kind: AnswerKind,
    /// MessageID of the answer (MessageMetadata/MessageId).
    pub message_id: String,
    pub received_at: DateTime<Utc>,
    /// Blob key of the business XML (Data only).
    pub business_xml: Option<String>,
    pub rejections: Vec<Rejection>,
    /// SMEV's fault of an asynchronous rejection.
    pub smev_fault: Option<ErrorInfo>,
    pub attachments: Vec<AttachmentRef>,
    /// Blob key of the whole received envelope (legal evidence).
    pub envelope: String,
    pub sender: Option<Participant>,
    /// Signature checks of the answer (ЭП-СМЭВ, the provider's ЭП-ОВ, ЭП-СП).
    pub signatures: Vec<SignatureSummary>,
}

/// An intermediate RequestStatus from the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub at: DateTime<Utc>,
    pub message_id: String,
    pub code: i32,
    pub description: String,
}
