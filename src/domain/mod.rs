//! The domain: what the gateway keeps and what may happen to it, independent of storage and
//! transport. Records (outgoing requests, incoming requests, dead letters, webhook events, audit
//! entries), their typed states, the events that change them and the one function per record
//! that applies an event ([`RequestRecord::apply`], [`IncomingRecord::apply`],
//! [`DeadLetter::apply`], [`WebhookEvent::apply`]). The store persists what these return; the
//! engine only names events. Every value serializes exactly as the records did before the
//! types existed, so stored data keeps decoding without a migration.

mod actor;
mod answer;
mod attachment;
mod audit;
mod dead_letter;
mod error_info;
mod history;
mod incoming;
#[cfg(test)]
mod incoming_lifecycle_tests;
mod lifecycle_error;
mod owner;
mod reason;
mod request;
mod request_lifecycle;
#[cfg(test)]
mod request_lifecycle_tests;
mod search_terms;
mod signature;
mod ui_account;
mod webhook;

pub use actor::Actor;
pub use answer::{AnswerKind, AnswerRecord, StatusUpdate};
pub use attachment::AttachmentRef;
pub use audit::{AuditEntry, Subject};
pub use dead_letter::{DeadLetter, DeadLetterEvent, DeadLetterState, Source};
pub use error_info::{ErrorClass, ErrorInfo};
pub use history::Transition;
pub use incoming::{
    incoming_allowed, IncomingEvent, IncomingRecord, IncomingState, OutgoingResponse,
};
pub use lifecycle_error::LifecycleError;
pub use owner::Owner;
pub use reason::Reason;
pub use request::{CaseInfo, PersonalSigning, RequestRecord, RequestState};
pub use request_lifecycle::{allowed, overdue, unanswered, RequestEvent, StateChange};
pub use search_terms::{digit_terms, digits_of_query};
pub use signature::SignatureSummary;
pub use ui_account::{StoredPassword, StoredSession};
pub use webhook::{Delivery, WebhookEvent, WebhookState};
