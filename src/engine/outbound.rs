//! What every message we send needs, whichever role sends it (SendRequest as a consumer,
//! SendResponse as a provider): the lease a claim holds, and the classification of SMEV's
//! answer — counted the same way, decided by the one retry policy — into an [`Outcome`] the
//! role turns into its record's event.

use chrono::{DateTime, Utc};

use crate::domain::ErrorInfo;
use crate::smev::model::{MessageMetadata, Received};
use crate::smev::SmevError;

use super::acknowledge::count_call;
use super::retry::{self, Decision};
use super::Context;

/// How long a claim holds a message: the SMEV call's own timeout and a margin. A process that
/// dies mid-send leaves the message due again when the lease ends, under the same MessageID.
pub(crate) fn lease(ctx: &Context) -> chrono::Duration {
    chrono::Duration::milliseconds((ctx.config.smev.request_timeout_ms + 30_000) as i64)
}

/// What SMEV's answer to a send means.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Accepted: SMEV's answer (its MessageMetadata and the envelope).
    Accepted(Received<MessageMetadata>),
    /// A temporary failure: due again at `at`.
    RetryAt { at: DateTime<Utc>, error: ErrorInfo },
    /// `MessageIsAlreadySent`: an earlier attempt landed.
    AlreadySent { error: ErrorInfo },
    /// `StaleMessageId`: resend under a new MessageID.
    NewMessageId { error: ErrorInfo },
    /// Refused for good.
    Refused { error: ErrorInfo },
}

/// Classifies the answer of `call` ("SendRequest", "SendResponse") after `attempts` attempts,
/// counting it in the metrics.
pub(crate) fn classify(
    ctx: &Context,
    call: &str,
    attempts: u32,
    result: Result<Received<MessageMetadata>, SmevError>,
    now: DateTime<Utc>,
) -> Outcome {
    let e = match result {
        Ok(answer) => {
            ctx.smev_answered();
            ctx.metrics
                .smev_calls
                .with_label_values(&[call, "ok"])
                .inc();
            return Outcome::Accepted(answer);
        }
        Err(e) => e,
    };
    if matches!(e, SmevError::Fault(_)) {
        ctx.smev_answered();
    }
    count_call(ctx, call, &e);
    let error = retry::error_info(&e, now);
    match retry::decide(&e, attempts, &ctx.config.engine, now) {
        Decision::TreatAsSent => Outcome::AlreadySent { error },
        Decision::RetryAt(at) => {
            ctx.metrics
                .retries
                .with_label_values(&[retry::class_name(&e)])
                .inc();
            tracing::warn!(call, error = %e, retry_at = %at, attempts, "send failed, will retry");
            Outcome::RetryAt { at, error }
        }
        Decision::NewMessageId => {
            ctx.metrics
                .retries
                .with_label_values(&["new_message_id"])
                .inc();
            tracing::warn!(call, error = %e, "stale MessageID: resending under a new one");
            Outcome::NewMessageId { error }
        }
        Decision::Fail => {
            tracing::warn!(call, error = %e, "SMEV refused the message permanently");
            Outcome::Refused { error }
        }
    }
}
