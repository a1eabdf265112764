//! The retry policy, in one place: what each failure class means for a request and when it is
//! tried next. Exponential backoff with full jitter, capped, without a limit on attempts (the
//! faults schema says `SMEVFailure` and `DestinationOverflow` are retried until they succeed);
//! delays are stored as due times, so they survive restarts.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::EngineConfig;
use crate::smev::{FaultClass, SmevError};

/// What to do after a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Try again at the given time.
    RetryAt(DateTime<Utc>),
    /// The earlier attempt landed: continue as sent.
    TreatAsSent,
    /// Resend under a new MessageID (StaleMessageId).
    NewMessageId,
    /// Stop: failed with this reason.
    Fail,
}

/// A random fraction in [0, 1).
fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Backoff before attempt `attempts + 1`: between half and all of `base * 2^(attempts-1)`,
/// capped at `max`.
pub fn backoff(attempts: u32, base: Duration, max: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let ms = full.as_millis() as f64;
    Duration::from_millis((ms / 2.0 + ms / 2.0 * jitter()) as u64)
}

/// The decision for an error after `attempts` attempts.
pub fn decide(
    error: &SmevError,
    attempts: u32,
    cfg: &EngineConfig,
    now: DateTime<Utc>,
) -> Decision {
    let at = |d: Duration| {
        now + chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(60))
    };
    match error.class() {
        FaultClass::Temporary | FaultClass::AlreadyAcknowledged => Decision::RetryAt(at(backoff(
            attempts,
            Duration::from_millis(cfg.retry_base_ms),
            Duration::from_millis(cfg.retry_max_ms),
        ))),
        FaultClass::SlowRetry => {
            let q = Duration::from_millis(cfg.quota_retry_ms);
            Decision::RetryAt(at(q.max(backoff(attempts, q, q.saturating_mul(8)))))
        }
        FaultClass::AlreadySent => Decision::TreatAsSent,
        FaultClass::NewMessageId => Decision::NewMessageId,
        FaultClass::Permanent => Decision::Fail,
    }
}

/// Stable error code of a failure for storage, metrics and the API.
pub fn error_code(error: &SmevError) -> String {
    match error {
        SmevError::Fault(f) => f.code_name(),
        SmevError::Transport(t) => match t {
            crate::smev::transport::TransportError::Connect(_) => "transport.connect".into(),
            crate::smev::transport::TransportError::Timeout(_) => "transport.timeout".into(),
            crate::smev::transport::TransportError::Http { status, .. } => {
                format!("transport.http_{status}")
            }
            crate::smev::transport::TransportError::TooLarge(_) => "transport.too_large".into(),
            crate::smev::transport::TransportError::Io(_) => "transport.io".into(),
            crate::smev::transport::TransportError::InvalidEndpoint(_) => {
                "transport.invalid_endpoint".into()
            }
        },
        SmevError::UnexpectedAnswer(_) => "smev.unexpected_answer".into(),
        SmevError::Mtom(_) => "smev.mtom".into(),
        SmevError::MtomTruncated(_) => "smev.mtom_truncated".into(),
        SmevError::Poison { .. } => "smev.unprocessable_answer".into(),
        SmevError::Signature(_) => "signature".into(),
        SmevError::Xml(_) => "xml".into(),
        SmevError::InvalidContent(_) => "invalid_content".into(),
        SmevError::SchemaViolation(_) => "schema_violation".into(),
        SmevError::AttachmentTooLarge { .. } => "attachment_too_large".into(),
        SmevError::FileStorage(e) => format!("file_storage.{}", e.code()),
    }
}

/// The failure as stored with a request or a response.
pub fn error_info(error: &SmevError, at: DateTime<Utc>) -> crate::domain::ErrorInfo {
    crate::domain::ErrorInfo {
        code: error_code(error),
        message: error.to_string(),
        class: error.class().into(),
        at,
    }
}

/// The class name stored with an error.
pub fn class_name(error: &SmevError) -> &'static str {
    match error.class() {
        FaultClass::Temporary => "temporary",
        FaultClass::SlowRetry => "slow_retry",
        FaultClass::AlreadySent => "already_sent",
        FaultClass::NewMessageId => "new_message_id",
        FaultClass::AlreadyAcknowledged => "already_acknowledged",
        FaultClass::Permanent => "permanent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smev::{SmevFault, SmevFaultKind};

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(1000);
        let max = Duration::from_millis(60_000);
        for attempts in 1..40 {
            let d = backoff(attempts, base, max);
            assert!(d <= max);
            let full = base.saturating_mul(1 << (attempts - 1).min(30)).min(max);
            assert!(d >= full / 2, "{attempts}: {d:?}");
        }
    }

    #[test]
    fn classes_map_to_decisions() {
        let cfg = EngineConfig::default();
        let now = Utc::now();
        let f = |k| SmevError::Fault(Box::new(SmevFault::new(k, "x")));
        assert!(
            matches!(decide(&f(SmevFaultKind::SMEVFailure), 3, &cfg, now), Decision::RetryAt(t) if t > now)
        );
        assert!(
            matches!(decide(&f(SmevFaultKind::QuoteLimitExceeded), 1, &cfg, now), Decision::RetryAt(t) if t >= now + chrono::Duration::milliseconds(cfg.quota_retry_ms as i64))
        );
        assert_eq!(
            decide(&f(SmevFaultKind::MessageIsAlreadySent), 1, &cfg, now),
            Decision::TreatAsSent
        );
        assert_eq!(
            decide(&f(SmevFaultKind::StaleMessageId), 1, &cfg, now),
            Decision::NewMessageId
        );
        assert_eq!(
            decide(&f(SmevFaultKind::InvalidContent), 1, &cfg, now),
            Decision::Fail
        );
    }
}
