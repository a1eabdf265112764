//! The outgoing request's state machine: which transitions exist and who may cause them.
//! Every change of `RequestRecord::state` goes through [`check`], inside the store's transaction.

use crate::store::records::RequestState::{self, *};

/// Whether `from → to` is a legal transition.
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

/// Checks a transition.
pub fn check(from: RequestState, to: RequestState) -> Result<(), crate::store::StoreError> {
    if from == to || allowed(from, to) {
        Ok(())
    } else {
        Err(crate::store::StoreError::Conflict(format!(
            "a request in state {} cannot become {}",
            from.as_str(),
            to.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_states_only_reopen_by_retry_or_late_answer() {
        assert!(allowed(Failed, Queued));
        assert!(!allowed(Answered, Queued));
        assert!(!allowed(Answered, Failed));
        assert!(!allowed(Cancelled, Queued));
        assert!(allowed(Expired, Answered));
        assert!(
            allowed(Queued, Answered),
            "an answer proves an attempt landed"
        );
        assert!(!allowed(Draft, Answered));
    }
}
