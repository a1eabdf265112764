//! The outgoing request (consumer role): its record and its states. What may happen to it is in
//! [`super::request_lifecycle`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::answer::{AnswerRecord, StatusUpdate};
use super::attachment::AttachmentRef;
use super::error_info::ErrorInfo;
use super::history::Transition;

/// Lifecycle of an outgoing request (its transitions: [`super::request_lifecycle`]).
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
    /// Numbers in the business data (ИНН, СНИЛС, …) as bare digits, for search
    /// ([`super::digit_terms`]); records stored before search had them have none.
    #[serde(default)]
    pub search_digits: Vec<String>,
    /// The executor (исполнитель): the login of the UI user in charge of it.
    #[serde(default)]
    pub assignee: Option<String>,
}
