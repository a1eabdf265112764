//! What the simulator answers and shows: the HTTP outcome of a call and the admin API's views.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use smev_protocol::smev::client::now;
use smev_protocol::smev::mtom::MimePart;
use smev_protocol::smev::SmevFault;

use crate::checks::Verification;
use crate::config::AttachmentConfig;
use crate::faults::{FaultSpecError, Operation};
use crate::queue::Depth;

/// What to answer over HTTP.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// HTTP 200 with a SOAP envelope (MTOM when `parts` is not empty).
    Soap { xml: Vec<u8>, parts: Vec<MimePart> },
    /// HTTP 500 with a SOAP fault.
    Fault(Box<SmevFault>),
}

/// One received call, as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub received_at: DateTime<FixedOffset>,
    pub operation: Operation,
    /// `http` or `simulated` (a simulated consumer or `POST /admin/requests`).
    pub source: &'static str,
    /// Mnemonic of the caller (from its ЭП-ОВ certificate).
    pub caller: Option<String>,
    /// Send*: the MessageID; Ack: the acknowledged id.
    pub message_id: Option<String>,
    /// Business root `{namespace}local` (Send*) or the selector's kind (Get*).
    pub kind: Option<String>,
    /// `accepted`, `delivered`, `empty`, `acknowledged`, `fault` or `injected`.
    pub outcome: String,
    /// The SMEV fault answered (`Kind.SubCode: text`).
    pub fault: Option<String>,
    /// The fault injection that hit this call.
    pub injected: Option<String>,
    /// Get*: the MessageId delivered.
    pub delivered_message_id: Option<String>,
    pub http_status: u16,
    pub verification: Verification,
}

impl LogEntry {
    pub(super) fn new(op: Operation) -> Self {
        LogEntry {
            seq: 0,
            received_at: now(),
            operation: op,
            source: "http",
            caller: None,
            message_id: None,
            kind: None,
            outcome: String::new(),
            fault: None,
            injected: None,
            delivered_message_id: None,
            http_status: 200,
            verification: Verification::default(),
        }
    }
}

/// Per-MessageID counters (duplicate detection in tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Send* calls carrying this MessageID (accepted or not).
    pub sends: u64,
    /// Accepted Send* calls (at most 1: later ones get MessageIsAlreadySent).
    pub accepted: u64,
    /// Send* calls answered with a fault (checks or injection).
    pub faults: u64,
    /// Times a message with this id was delivered by GetRequest/GetResponse.
    pub deliveries: u64,
    /// Successful Acks of this id.
    pub acks: u64,
}

/// `GET /admin/messages/count`.
#[derive(Debug, Clone, Serialize)]
pub struct CountView {
    pub message_id: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Log entries mentioning this id.
    pub log_entries: usize,
}

/// Queue depths of one participant.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxStats {
    pub requests: Depth,
    pub responses: Depth,
    pub statuses: usize,
}

/// `GET /admin/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub uptime_ms: u64,
    pub queues: BTreeMap<String, MailboxStats>,
    /// Operation → outcome (`accepted`, `fault:InvalidContent`, `injected:http_503`…) → count.
    pub operations: BTreeMap<String, BTreeMap<String, u64>>,
    pub accepted_message_ids: usize,
    pub inbox: usize,
    pub fault_rules: usize,
    pub log_entries: usize,
    /// GOST R 34.10 operations the simulator made since it started (its own signatures, and
    /// the signatures and certificates it checked).
    pub gost_signs: u64,
    pub gost_verifies: u64,
}

/// What a simulated consumer received (a participant's SendResponse to its request).
#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub received_at: DateTime<FixedOffset>,
    pub consumer: String,
    pub provider: String,
    pub message_id: String,
    pub original_message_id: String,
    /// `answer`, `rejection`, `status` or `async_status`.
    pub content_type: String,
    /// Business XML, rejection text or status text.
    pub content: String,
    pub attachments: Vec<String>,
}

/// `POST /admin/requests`: a request from a simulated consumer to a participant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InjectRequest {
    /// Kind name (`fns-tax-debt`, `zags-marriage`, …).
    pub kind: String,
    /// Recipient mnemonic (default: the kind's provider when not simulated).
    pub to: Option<String>,
    /// Sender mnemonic (default `CONSUMER`).
    pub from: Option<String>,
    pub from_name: Option<String>,
    /// Business XML (default: the kind's `sample_request` template).
    pub content: Option<String>,
    pub attachments: Vec<AttachmentConfig>,
    /// Files sent through the file storage (`[file_storage] listen` must be set).
    pub storage_files: Vec<crate::config::StorageFileConfig>,
    pub node_id: Option<String>,
    pub test_message: bool,
}

/// `POST /admin/requests` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    pub message_id: String,
    pub reply_to: String,
    pub to: String,
    pub from: String,
    pub kind: String,
}

/// A simulated consumer's state.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerView {
    pub mnemonic: String,
    pub kind: String,
    pub to: String,
    pub enabled: bool,
    pub every_secs: u64,
    pub sent: u64,
}

/// Admin-level errors (HTTP 400/404).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Fault(#[from] FaultSpecError),
}

/// Filters of `GET /admin/messages`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogFilter {
    pub operation: Option<String>,
    pub message_id: Option<String>,
    pub caller: Option<String>,
    pub outcome: Option<String>,
    /// Only entries after this sequence number.
    pub since_seq: Option<u64>,
    /// The last N matching entries.
    pub limit: Option<usize>,
}
