//! The outgoing request's lifecycle: every event that can happen to a request, and what it does.
//! [`RequestRecord::apply`] is the one place that changes a request's state; the store persists
//! what it returns (history, audit, webhook events, indexes) in one transaction.
//!
//! One rule for SMEV's verdicts, whichever call delivered them (GetResponse or GetStatus): a
//! final answer or rejection is taken while the request is queued, being sent, sent or expired
//! (an answer proves an attempt landed even when its HTTP answer was lost; a late answer still
//! completes an expired request), and refused in every other state.

use chrono::{DateTime, Utc};

use super::answer::{AnswerKind, AnswerRecord, StatusUpdate};
use super::error_info::ErrorInfo;
use super::lifecycle_error::LifecycleError;
use super::reason::Reason;
use super::request::RequestRecord;
use super::request::RequestState::{self, *};

/// Something that happened to an outgoing request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestEvent {
    /// The sender takes a due request: one more attempt, leased until `lease_until`; the
    /// MessageID is assigned once (`fresh_message_id` is used only when there is none).
    Claimed {
        lease_until: DateTime<Utc>,
        fresh_message_id: String,
    },
    /// The signed SendRequest for `message_id` was stored (blob key `envelope`).
    Prepared {
        message_id: String,
        envelope: String,
    },
    /// SMEV accepted the request (or said an earlier attempt landed).
    Sent {
        sent_at: DateTime<Utc>,
        smev_status: Option<String>,
        deadline: DateTime<Utc>,
        /// Blob key of SMEV's answer, when there was one.
        evidence: Option<String>,
        already_sent: bool,
    },
    /// A temporary failure: due again at `at`.
    RetryAt { at: DateTime<Utc>, error: ErrorInfo },
    /// `StaleMessageId`: a new MessageID, due at `due`.
    NewMessageId {
        due: DateTime<Utc>,
        error: ErrorInfo,
    },
    /// A permanent failure.
    Failed { error: ErrorInfo },
    /// The provider's answer or rejection, or SMEV's asynchronous rejection (GetResponse).
    Answer {
        answer: AnswerRecord,
        /// Blob key of the received envelope.
        evidence: String,
    },
    /// An intermediate status from the provider.
    ProviderStatus {
        status: StatusUpdate,
        evidence: String,
    },
    /// A status from SMEV; a rejection ends the request (under the rule above).
    SmevStatus {
        category: String,
        rejection: Option<AnswerRecord>,
        evidence: String,
    },
    /// The official's ЭП-СП was verified (two-phase signing); due at `due`.
    PersonalSignature {
        signature_xml: String,
        signer: String,
        /// Blob key of the signature element.
        evidence: String,
        /// Blob keys of the official's PKCS#7 of each attachment, in order (empty when the
        /// official does not sign the files).
        file_signatures: Vec<String>,
        due: DateTime<Utc>,
    },
    /// An operator sends a failed, rejected or expired request again under a new MessageID.
    OperatorRetry { due: DateTime<Utc> },
    /// An operator cancels a request without a final answer.
    Cancel,
    /// The legal deadline passed without an answer.
    Expire,
    /// The gateway restarted; a request left mid-send is due at `due` (same MessageID).
    Recovered { due: DateTime<Utc> },
    /// A руководитель assigned the request's executor (None: nobody); any state.
    Assigned { assignee: Option<String> },
}

impl RequestEvent {
    /// Why the history says it happened.
    pub fn reason(&self) -> Reason {
        match self {
            RequestEvent::Claimed { .. } => Reason::Sending,
            RequestEvent::Prepared { .. } => Reason::Signed,
            RequestEvent::Sent { already_sent, .. } => {
                if *already_sent {
                    Reason::AlreadySent
                } else {
                    Reason::AcceptedBySmev
                }
            }
            RequestEvent::RetryAt { error, .. } => Reason::RetryAfter(error.code.clone()),
            RequestEvent::NewMessageId { .. } => Reason::NewMessageId,
            RequestEvent::Failed { error } => Reason::Failed(error.message.clone()),
            RequestEvent::Answer { answer, .. } => match answer.kind {
                AnswerKind::Data => Reason::AnswerReceived,
                AnswerKind::Rejected | AnswerKind::SmevRejected => Reason::Rejected,
            },
            RequestEvent::ProviderStatus { status, .. } => Reason::ProviderStatus {
                code: status.code,
                description: status.description.clone(),
            },
            RequestEvent::SmevStatus { category, .. } => Reason::SmevStatus(category.clone()),
            RequestEvent::PersonalSignature { .. } => Reason::PersonalSignatureAccepted,
            RequestEvent::OperatorRetry { .. } => Reason::OperatorRetry,
            RequestEvent::Cancel => Reason::Cancelled,
            RequestEvent::Expire => Reason::Expired,
            RequestEvent::Recovered { .. } => Reason::Recovered,
            RequestEvent::Assigned { assignee } => {
                Reason::Assigned(assignee.clone().unwrap_or_default())
            }
        }
    }

    /// Blob key of the exact XML the event carried (for the audit log).
    pub fn evidence(&self) -> Option<&str> {
        match self {
            RequestEvent::Prepared { envelope, .. } => Some(envelope),
            RequestEvent::Sent { evidence, .. } => evidence.as_deref(),
            RequestEvent::Answer { evidence, .. }
            | RequestEvent::ProviderStatus { evidence, .. }
            | RequestEvent::SmevStatus { evidence, .. }
            | RequestEvent::PersonalSignature { evidence, .. } => Some(evidence),
            _ => None,
        }
    }
}

/// A change of state, as [`RequestRecord::apply`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub from: RequestState,
    pub to: RequestState,
}

/// Whether `from → to` is a transition of the lifecycle (the table every event obeys).
pub fn allowed(from: RequestState, to: RequestState) -> bool {
    matches!(
        (from, to),
        (Draft, AwaitingPersonalSignature | Queued | Cancelled)
            | (AwaitingPersonalSignature, Queued | Cancelled)
            | (Queued, Sending | Cancelled | Failed | Expired)
            | (Sending, Sent | Queued | Failed)
            // An answer (or SMEV's rejection) proves an attempt landed even when its HTTP answer
            // was lost and the request is still queued for a retry or being sent.
            | (Queued | Sending, Answered | Rejected)
            // Answers, SMEV's asynchronous rejections, and expiry by EOL or deadline.
            | (Sent, Answered | Rejected | Expired | Cancelled)
            // A late answer still completes an expired request.
            | (Expired, Answered | Rejected)
            // Operator retry of a failed or rejected request.
            | (Failed | Rejected | Expired, Queued)
    )
}

/// States in which SMEV's final verdict (an answer or a rejection) is taken.
fn takes_verdict(s: RequestState) -> bool {
    matches!(s, Sent | Expired | Sending | Queued)
}

/// Whether a request still waits for an answer or expired without one: the requests the
/// deadline control watches.
pub fn unanswered(state: RequestState) -> bool {
    !state.is_closed() || state == RequestState::Expired
}

/// [`RequestRecord::is_overdue`] from the two fields it reads.
pub fn overdue(state: RequestState, deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    unanswered(state) && deadline.is_some_and(|d| d < now)
}

impl RequestRecord {
    /// Unanswered past its legal deadline: still waiting, or expired by it. An expired request
    /// stays overdue, so the supervisor's overdue list and count keep it until someone acts.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        overdue(self.state, self.deadline, now)
    }

    /// Applies `event` at `now`: the new field values, and the state change if there is one.
    /// On an error the record is unchanged.
    pub fn apply(
        &mut self,
        event: &RequestEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<StateChange>, LifecycleError> {
        let mut next = self.clone();
        let to = next.change(event, now)?;
        let change = match to {
            Some(to) if to != self.state => {
                if !allowed(self.state, to) {
                    return Err(LifecycleError::Illegal {
                        from: self.state,
                        to,
                    });
                }
                next.state = to;
                Some(StateChange {
                    from: self.state,
                    to,
                })
            }
            _ => None,
        };
        next.updated_at = now;
        *self = next;
        Ok(change)
    }

    /// The field changes of `event` and the state it leads to (checked by the caller).
    fn change(
        &mut self,
        event: &RequestEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<RequestState>, LifecycleError> {
        use RequestEvent as E;
        Ok(match event {
            E::Claimed {
                lease_until,
                fresh_message_id,
            } => {
                if !matches!(self.state, Queued | Sending) || self.next_due.is_none_or(|d| d > now)
                {
                    return Err(LifecycleError::NotDue);
                }
                self.attempts += 1;
                // Assigned once and never replaced pre-emptively: an earlier attempt may have
                // landed, so SMEV decides (MessageIsAlreadySent, or StaleMessageId → new id).
                if self.message_id.is_none() {
                    self.message_id = Some(fresh_message_id.clone());
                    self.signed_envelope = None;
                }
                self.next_due = Some(*lease_until);
                Some(Sending)
            }
            E::Prepared {
                message_id,
                envelope,
            } => {
                if self.message_id.as_ref() != Some(message_id) {
                    return Err(LifecycleError::MessageIdChanged);
                }
                self.signed_envelope = Some(envelope.clone());
                None
            }
            E::Sent {
                sent_at,
                smev_status,
                deadline,
                ..
            } => {
                self.expect_sending()?;
                self.next_due = None;
                self.sent_at = Some(*sent_at);
                self.smev_status = smev_status.clone();
                self.deadline = Some(*deadline);
                self.last_error = None;
                Some(Sent)
            }
            E::RetryAt { at, error } => {
                self.expect_sending()?;
                self.next_due = Some(*at);
                self.last_error = Some(error.clone());
                Some(Queued)
            }
            E::NewMessageId { due, error } => {
                self.expect_sending()?;
                self.replace_message_id();
                self.next_due = Some(*due);
                self.last_error = Some(error.clone());
                Some(Queued)
            }
            E::Failed { error } => {
                self.expect_sending()?;
                self.next_due = None;
                self.last_error = Some(error.clone());
                Some(Failed)
            }
            E::Answer { answer, .. } => {
                let to = match answer.kind {
                    AnswerKind::Data => Answered,
                    AnswerKind::Rejected | AnswerKind::SmevRejected => Rejected,
                };
                self.take_verdict(answer.clone(), now)?;
                Some(to)
            }
            E::ProviderStatus { status, .. } => {
                self.statuses.push(status.clone());
                None
            }
            E::SmevStatus {
                category,
                rejection,
                ..
            } => {
                let to = match rejection {
                    Some(answer) => {
                        self.take_verdict(answer.clone(), now)?;
                        Some(Rejected)
                    }
                    None => None,
                };
                self.smev_status = Some(category.clone());
                to
            }
            E::PersonalSignature {
                signature_xml,
                signer,
                file_signatures,
                due,
                ..
            } => {
                if self.state != AwaitingPersonalSignature {
                    return Err(LifecycleError::NotAwaitingSignature);
                }
                if !file_signatures.is_empty() {
                    if file_signatures.len() != self.attachments.len() {
                        return Err(LifecycleError::FileSignatureCount {
                            files: self.attachments.len(),
                            signatures: file_signatures.len(),
                        });
                    }
                    for (a, key) in self.attachments.iter_mut().zip(file_signatures) {
                        a.signature_pkcs7 = Some(key.clone());
                    }
                }
                self.personal.signature_xml = Some(signature_xml.clone());
                self.personal.signer = Some(signer.clone());
                self.next_due = Some(*due);
                Some(Queued)
            }
            E::OperatorRetry { due } => {
                if !matches!(self.state, Failed | Rejected | Expired) {
                    return Err(LifecycleError::NotRetryable(self.state));
                }
                self.replace_message_id();
                self.next_due = Some(*due);
                self.answer = None;
                self.deadline = None;
                Some(Queued)
            }
            E::Cancel => {
                match self.state {
                    Sending => return Err(LifecycleError::BeingSent),
                    Cancelled => return Err(LifecycleError::AlreadyCancelled),
                    _ => {}
                }
                self.next_due = None;
                Some(Cancelled)
            }
            E::Expire => {
                if self.state != Sent {
                    return Err(LifecycleError::NotWaiting(self.state));
                }
                Some(Expired)
            }
            E::Recovered { due } => {
                if self.state != Sending {
                    return Err(LifecycleError::NotDue);
                }
                self.next_due = Some(*due);
                None
            }
            E::Assigned { assignee } => {
                self.assignee = assignee.clone();
                None
            }
        })
    }

    /// Takes SMEV's final verdict, under the one rule of this module.
    fn take_verdict(
        &mut self,
        answer: AnswerRecord,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if !takes_verdict(self.state) {
            return Err(LifecycleError::AlreadyFinal(self.state));
        }
        if matches!(self.state, Sending | Queued) {
            // The answer proves an attempt landed (its HTTP answer was lost).
            self.sent_at.get_or_insert(now);
        }
        self.answer = Some(answer);
        self.next_due = None;
        Ok(())
    }

    /// The sender's outcomes apply only to the attempt it claimed.
    fn expect_sending(&self) -> Result<(), LifecycleError> {
        if self.state == Sending {
            Ok(())
        } else {
            Err(LifecycleError::NotSending(self.state))
        }
    }

    /// Retires the current MessageID (kept in `replaced_message_ids`) and its signed envelope.
    fn replace_message_id(&mut self) {
        if let Some(old) = self.message_id.take() {
            self.replaced_message_ids.push(old);
        }
        self.signed_envelope = None;
    }
}
