//! A request another agency sent us (provider role): its record, states and lifecycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attachment::AttachmentRef;
use super::error_info::ErrorInfo;
use super::lifecycle_error::LifecycleError;
use super::reason::Reason;
use super::signature::SignatureSummary;
use crate::smev::model::{Participant, RejectionReasonCode};

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
    /// When our answer is due: the kind's working days from SMEV's SendingTimestamp (records
    /// stored before deadlines were tracked have none).
    #[serde(default)]
    pub answer_deadline: Option<DateTime<Utc>>,
    pub test_message: bool,
    pub signatures: Vec<SignatureSummary>,
    pub response: Option<OutgoingResponse>,
    pub response_message_id: Option<String>,
    pub signed_response: Option<String>,
    pub attempts: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub last_error: Option<ErrorInfo>,
    pub history: Vec<(DateTime<Utc>, String, String)>,
    /// The login of the staff member who answers it (исполнитель), once the руководитель
    /// assigned one (records stored before executors were tracked have none).
    #[serde(default)]
    pub assignee: Option<String>,
}

/// Something that happened to an incoming request.
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingEvent {
    /// The agency system posted its answer; due for SendResponse at `due`.
    AnswerPosted {
        response: OutgoingResponse,
        due: DateTime<Utc>,
    },
    /// The responder takes a due answer: leased until `lease_until`; the response's MessageID
    /// is assigned once (`fresh_message_id` is used only when there is none).
    Claimed {
        lease_until: DateTime<Utc>,
        fresh_message_id: String,
    },
    /// The signed SendResponse was stored (blob key `envelope`).
    Prepared { envelope: String },
    /// The response could not be built or signed (our problem: a human must look).
    BuildFailed { error: ErrorInfo },
    /// SMEV accepted the SendResponse.
    Accepted,
    /// A temporary failure: due again at `at`.
    RetryAt { at: DateTime<Utc>, error: ErrorInfo },
    /// `MessageIsAlreadySent`: an earlier attempt landed.
    AlreadySent { error: ErrorInfo },
    /// `StaleMessageId`: a new MessageID, due at `due`.
    NewMessageId {
        due: DateTime<Utc>,
        error: ErrorInfo,
    },
    /// SMEV refused the response permanently.
    Refused { error: ErrorInfo },
    /// SMEV's verdict on the response we sent (by GetResponse or GetStatus): its category,
    /// when it had one, and whether it is a rejection.
    SmevVerdict {
        category: Option<String>,
        rejected: bool,
        /// Blob key of the received envelope.
        evidence: String,
    },
    /// The gateway restarted with the response mid-send: due at `due`.
    Recovered { due: DateTime<Utc> },
    /// A staff member was made the executor (None: nobody); in any state.
    Assigned { assignee: Option<String> },
}

impl IncomingEvent {
    /// Why the history says it happened.
    pub fn reason(&self) -> Reason {
        use IncomingEvent as E;
        match self {
            E::AnswerPosted { .. } => Reason::AnswerPosted,
            E::Claimed { .. } => Reason::SendingResponse,
            E::Prepared { .. } => Reason::ResponseSigned,
            E::BuildFailed { error } => Reason::Failed(error.message.clone()),
            E::Accepted => Reason::ResponseAccepted,
            E::RetryAt { error, .. }
            | E::AlreadySent { error }
            | E::NewMessageId { error, .. }
            | E::Refused { error } => Reason::ResponseFault(error.code.clone()),
            E::SmevVerdict { category, .. } => match category {
                Some(c) => Reason::SmevStatus(c.clone()),
                None => Reason::AnswerToOurResponse,
            },
            E::Recovered { .. } => Reason::Recovered,
            E::Assigned { assignee } => Reason::Assigned(assignee.clone().unwrap_or_default()),
        }
    }

    /// Blob key of the exact XML the event carried (for the audit log).
    pub fn evidence(&self) -> Option<&str> {
        match self {
            IncomingEvent::Prepared { envelope } => Some(envelope),
            IncomingEvent::SmevVerdict { evidence, .. } => Some(evidence),
            _ => None,
        }
    }
}

/// Whether `from → to` is a transition of the incoming request's lifecycle.
pub fn incoming_allowed(from: IncomingState, to: IncomingState) -> bool {
    use IncomingState::*;
    matches!(
        (from, to),
        (Received | Failed, Responding)
            | (Responding, Responded | Failed)
            // SMEV's asynchronous rejection of a response it first accepted.
            | (Responded, Failed)
    )
}

impl IncomingRecord {
    /// Not answered yet: waiting for the agency system, or its answer refused by SMEV.
    pub fn awaits_answer(&self) -> bool {
        matches!(self.state, IncomingState::Received | IncomingState::Failed)
    }

    /// Not answered and past the answer deadline.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.awaits_answer() && self.answer_deadline.is_some_and(|d| d < now)
    }

    /// Whether the answer sent (or being sent) is a refusal rather than data.
    pub fn answered_with_refusal(&self) -> bool {
        matches!(self.response, Some(OutgoingResponse::Reject { .. }))
    }

    /// Applies `event` at `now`: the new field values, and the state change `(from, to)` if
    /// there is one. On an error the record is unchanged.
    pub fn apply(
        &mut self,
        event: &IncomingEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<(IncomingState, IncomingState)>, LifecycleError> {
        let mut next = self.clone();
        let to = next.change(event, now)?;
        let change = match to {
            Some(to) if to != self.state => {
                if !incoming_allowed(self.state, to) {
                    return Err(LifecycleError::IllegalIncoming {
                        from: self.state,
                        to,
                    });
                }
                next.state = to;
                Some((self.state, to))
            }
            _ => None,
        };
        next.updated_at = now;
        *self = next;
        Ok(change)
    }

    fn change(
        &mut self,
        event: &IncomingEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<IncomingState>, LifecycleError> {
        use IncomingEvent as E;
        use IncomingState::*;
        let responding = |s: IncomingState| {
            if s == Responding {
                Ok(())
            } else {
                Err(LifecycleError::NotResponding)
            }
        };
        Ok(match event {
            E::AnswerPosted { response, due } => {
                if !matches!(self.state, Received | Failed) {
                    return Err(LifecycleError::AlreadyAnswered(self.state));
                }
                self.response = Some(response.clone());
                self.response_message_id = None;
                self.signed_response = None;
                self.next_due = Some(*due);
                Some(Responding)
            }
            E::Claimed {
                lease_until,
                fresh_message_id,
            } => {
                if self.state != Responding || self.next_due.is_none_or(|d| d > now) {
                    return Err(LifecycleError::NotDue);
                }
                self.attempts += 1;
                if self.response_message_id.is_none() {
                    self.response_message_id = Some(fresh_message_id.clone());
                    self.signed_response = None;
                }
                self.next_due = Some(*lease_until);
                None
            }
            E::Prepared { envelope } => {
                self.signed_response = Some(envelope.clone());
                None
            }
            E::BuildFailed { error } | E::Refused { error } => {
                responding(self.state)?;
                self.next_due = None;
                self.last_error = Some(error.clone());
                Some(Failed)
            }
            E::Accepted => {
                responding(self.state)?;
                self.next_due = None;
                self.last_error = None;
                Some(Responded)
            }
            E::RetryAt { at, error } => {
                responding(self.state)?;
                self.next_due = Some(*at);
                self.last_error = Some(error.clone());
                None
            }
            E::AlreadySent { error } => {
                responding(self.state)?;
                self.next_due = None;
                self.last_error = Some(error.clone());
                Some(Responded)
            }
            E::NewMessageId { due, error } => {
                responding(self.state)?;
                self.response_message_id = None;
                self.signed_response = None;
                self.next_due = Some(*due);
                self.last_error = Some(error.clone());
                None
            }
            E::SmevVerdict {
                category, rejected, ..
            } => {
                if !*rejected {
                    return Ok(None);
                }
                self.next_due = None;
                self.last_error = Some(ErrorInfo::permanent(
                    "SMEV.async_rejection",
                    category.as_deref().unwrap_or("rejected"),
                    now,
                ));
                Some(Failed)
            }
            E::Recovered { due } => {
                responding(self.state)?;
                self.next_due = Some(*due);
                None
            }
            E::Assigned { assignee } => {
                self.assignee = assignee.clone();
                None
            }
        })
    }
}
