//! What the gateway stores: requests (consumer side), incoming requests (provider side), dead
//! letters, webhook events and audit entries. Every value is encoded with a format version byte
//! so a later release can read today's data (see [`super::codec`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::smev::model::{Participant, Rejection, RejectionReasonCode};

/// Lifecycle of an outgoing request (one state machine: [`super::lifecycle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Draft,
    AwaitingPersonalSignature,
    Queued,
    Sending,
    Sent,
    Answered,
    Rejected,
    Failed,
    Expired,
    Cancelled,
}

impl RequestState {
    pub const ALL: &'static [RequestState] = &[
        RequestState::Draft,
        RequestState::AwaitingPersonalSignature,
        RequestState::Queued,
        RequestState::Sending,
        RequestState::Sent,
        RequestState::Answered,
        RequestState::Rejected,
        RequestState::Failed,
        RequestState::Expired,
        RequestState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Draft => "draft",
            RequestState::AwaitingPersonalSignature => "awaiting_personal_signature",
            RequestState::Queued => "queued",
            RequestState::Sending => "sending",
            RequestState::Sent => "sent",
            RequestState::Answered => "answered",
            RequestState::Rejected => "rejected",
            RequestState::Failed => "failed",
            RequestState::Expired => "expired",
            RequestState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|st| st.as_str() == s)
    }

    /// Final states: nothing more happens without an operator.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestState::Answered
                | RequestState::Rejected
                | RequestState::Failed
                | RequestState::Expired
                | RequestState::Cancelled
        )
    }

    /// The status as staff see it.
    pub fn label_ru(self) -> &'static str {
        match self {
            RequestState::Draft => "Черновик",
            RequestState::AwaitingPersonalSignature => "Ожидает подписи ЭП-СП",
            RequestState::Queued => "В очереди на отправку",
            RequestState::Sending => "Отправляется",
            RequestState::Sent => "Ожидает ответа",
            RequestState::Answered => "Ответ получен",
            RequestState::Rejected => "Отклонён",
            RequestState::Failed => "Ошибка",
            RequestState::Expired => "Срок истёк",
            RequestState::Cancelled => "Отменён",
        }
    }
}

/// Case (заявка) the request belongs to, as the agency system describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// The agency system's case number.
    pub reference: String,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub applicant: Option<String>,
    #[serde(default)]
    pub inn: Option<String>,
    #[serde(default)]
    pub snils: Option<String>,
    /// Free-form metadata of the agency system.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// GOST R 34.11-2012-256 of the bytes, hex: the key in the blob tree.
    pub hash: String,
    /// MTOM content id (outgoing) or the part id it came with.
    #[serde(default)]
    pub content_id: Option<String>,
    /// Received attachments: how the bytes are tied to the signed message (`None` for
    /// outgoing attachments and records stored before the check existed).
    #[serde(default)]
    pub integrity: Option<crate::smev::attachments::Integrity>,
}

/// A failure as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable code: the SMEV fault name (e.g. "InvalidContent", "SignatureVerificationFault.CertificateIsExpired") or a transport code.
    pub code: String,
    pub message: String,
    /// "temporary", "permanent", ….
    pub class: String,
    pub at: DateTime<Utc>,
}

/// One transition in the request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub reason: String,
}

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

/// A verified signature, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureSummary {
    /// Where it sat, e.g. "/Envelope/Body/…/SMEVSignature/Signature".
    pub location: String,
    pub valid: bool,
    /// The signer's certificate chain was checked against a configured trust list (`smev.trust`)
    /// and holds. `valid` without `trusted` only says the cryptography matches the embedded
    /// certificate — anyone can make such a signature with a self-made key.
    #[serde(default)]
    pub trusted: bool,
    pub signer: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}

/// ЭП-СП progress of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalSigning {
    /// "none", "two_phase" or "configured".
    pub mode: String,
    /// Id of the business root the signature references.
    pub reference_id: Option<String>,
    /// Base64 of the canonical SignedInfo the official signs (two-phase).
    pub signed_info: Option<String>,
    /// Base64 digest of the transformed business element.
    pub digest: Option<String>,
    /// The ЭП-СП `ds:Signature` XML once made.
    pub signature_xml: Option<String>,
    pub signer: Option<String>,
}

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: String,
    pub system: String,
    pub kind: String,
    pub client_id: Option<String>,
    pub case: Option<CaseInfo>,
    pub state: RequestState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Blob key of the business XML (with the `Id` added for ЭП-СП when needed).
    pub business_xml: String,
    pub test_message: bool,
    pub attachments: Vec<AttachmentRef>,
    pub personal: PersonalSigning,
    /// Current SMEV MessageID: assigned once before the first send, reused on every retry.
    pub message_id: Option<String>,
    /// Earlier MessageIDs replaced after StaleMessageId (old → new links).
    pub replaced_message_ids: Vec<String>,
    /// Blob key of the signed SendRequest envelope exactly as sent.
    pub signed_envelope: Option<String>,
    /// Send attempts so far.
    pub attempts: u32,
    /// When the engine acts next (send or retry).
    pub next_due: Option<DateTime<Utc>>,
    pub last_error: Option<ErrorInfo>,
    /// SMEV's SendingTimestamp (start of the legal deadline).
    pub sent_at: Option<DateTime<Utc>>,
    pub smev_status: Option<String>,
    /// Legal answer deadline.
    pub deadline: Option<DateTime<Utc>>,
    pub answer: Option<AnswerRecord>,
    pub statuses: Vec<StatusUpdate>,
    pub history: Vec<Transition>,
    /// Who created it ("system:<id>" or "user:<login>").
    pub created_by: String,
}

/// Provider-side request lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingState {
    /// Stored and acknowledged; waiting for the agency system's answer.
    Received,
    /// Answer posted; queued for SendResponse.
    Responding,
    /// SendResponse accepted by SMEV.
    Responded,
    /// Response refused by SMEV permanently.
    Failed,
}

impl IncomingState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncomingState::Received => "received",
            IncomingState::Responding => "responding",
            IncomingState::Responded => "responded",
            IncomingState::Failed => "failed",
        }
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            IncomingState::Received => "Получен, ожидает ответа",
            IncomingState::Responding => "Ответ отправляется",
            IncomingState::Responded => "Ответ отправлен",
            IncomingState::Failed => "Ошибка отправки ответа",
        }
    }
}

/// What the agency system answered to an incoming request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutgoingResponse {
    Data {
        business_xml: String,
        attachments: Vec<AttachmentRef>,
    },
    Reject {
        code: RejectionReasonCode,
        description: String,
    },
}

/// A request another agency sent us (provider role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingRecord {
    pub id: String,
    pub system: String,
    /// Our kind id, if the business root matches a configured kind.
    pub kind: Option<String>,
    pub root_element: String,
    pub state: IncomingState,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The requester's MessageID (MessageMetadata/MessageId).
    pub message_id: String,
    pub reply_to: String,
    pub business_xml: String,
    pub envelope: String,
    pub attachments: Vec<AttachmentRef>,
    pub sender: Option<Participant>,
    pub sending_timestamp: Option<DateTime<Utc>>,
    pub test_message: bool,
    pub signatures: Vec<SignatureSummary>,
    pub response: Option<OutgoingResponse>,
    pub response_message_id: Option<String>,
    pub signed_response: Option<String>,
    pub attempts: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub last_error: Option<ErrorInfo>,
    pub history: Vec<(DateTime<Utc>, String, String)>,
}

/// A received message the gateway could not process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub system: String,
    /// "GetResponse", "GetRequest" or "GetStatus".
    pub source: String,
    /// MessageMetadata/MessageId, when it could be read.
    pub smev_message_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub envelope: String,
    /// "open", "closed" (acked and closed) or "reprocessed".
    pub state: String,
    /// Whether SMEV has been told (Ack accepted=false).
    pub acked: bool,
    pub history: Vec<(DateTime<Utc>, String, String)>,
}

/// A webhook event in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    pub system: String,
    /// "request.status_changed", "request.answered", "incoming.received".
    pub event: String,
    pub created_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    pub attempts: u32,
    pub next_due: DateTime<Utc>,
    pub last_error: Option<String>,
    /// "pending", "delivered" or "dead".
    pub state: String,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// "request", "incoming", "dead_letter", "webhook".
    pub subject_type: String,
    pub subject_id: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: String,
    /// Blob key of the exact XML sent or received, when the action carried one.
    pub xml: Option<String>,
}
