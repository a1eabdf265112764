//! Why an event cannot be applied to a record in its current state: one variant per cause. The
//! texts are what the API and the UI show (HTTP 409 `conflict`).

use super::dead_letter::DeadLetterState;
use super::incoming::IncomingState;
use super::request::RequestState;

/// An event refused by a record's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("a request in state {} cannot become {}", from.as_str(), to.as_str())]
    Illegal {
        from: RequestState,
        to: RequestState,
    },
    /// A worker's claim found the record not (or no longer) due.
    #[error("not due")]
    NotDue,
    #[error("MessageID changed meanwhile")]
    MessageIdChanged,
    #[error("the request is no longer awaiting a personal signature")]
    NotAwaitingSignature,
    /// The official's file signatures must cover every file, one each.
    #[error("{signatures} file signature(s) for {files} file(s)")]
    FileSignatureCount { files: usize, signatures: usize },
    #[error("only failed, rejected or expired requests can be retried; this one is {}", .0.as_str())]
    NotRetryable(RequestState),
    #[error("the request is being sent right now; try again in a moment")]
    BeingSent,
    #[error("the request is already cancelled")]
    AlreadyCancelled,
    /// A final answer or rejection for a request that already has one (or never was sent).
    /// A sender's outcome for a request that is no longer being sent (an answer, a rejection
    /// or a restart got there first).
    #[error("the request is {}, no longer being sent", .0.as_str())]
    NotSending(RequestState),
    #[error("request is {}", .0.as_str())]
    AlreadyFinal(RequestState),
    /// Only a request waiting for its answer expires.
    #[error("the request is {}, not waiting for an answer", .0.as_str())]
    NotWaiting(RequestState),
    #[error("the incoming request is {} and already has an answer", .0.as_str())]
    AlreadyAnswered(IncomingState),
    /// SMEV's verdict or a restart moved the response on before the worker's outcome.
    #[error("no longer responding")]
    NotResponding,
    #[error("an incoming request in state {} cannot become {}", from.as_str(), to.as_str())]
    IllegalIncoming {
        from: IncomingState,
        to: IncomingState,
    },
    #[error("the dead letter is already {}", .0.as_str())]
    DeadLetterClosed(DeadLetterState),
}
