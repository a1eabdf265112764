//! The due-time index: one ordered key per scheduled record (`kind`, due time in milliseconds,
//! id), so each worker finds its next work with a range scan. A record's entry moves with its
//! `next_due` in the same transaction that changes the record.

use chrono::{DateTime, Utc};

use super::{SledStore, StoreError};

/// What the due-time index schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    /// Send (or resend) an outgoing request.
    Request = b'R' as isize,
    /// Send the response to an incoming request.
    Incoming = b'I' as isize,
    /// Deliver a webhook event.
    Webhook = b'W' as isize,
}

impl DueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::Request => "request",
            DueKind::Incoming => "incoming",
            DueKind::Webhook => "webhook",
        }
    }
}

/// The index key of `id` due at `at`.
pub(super) fn due_key(kind: DueKind, at: DateTime<Utc>, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + id.len());
    k.push(kind as u8);
    k.extend_from_slice(&(at.timestamp_millis().max(0) as u64).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

impl SledStore {
    /// Ids due at `now` (oldest due first), up to `limit`.
    pub(super) fn due(
        &self,
        kind: DueKind,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let start = [kind as u8];
        let end = due_key(kind, now, "\u{10FFFF}");
        let mut out = Vec::new();
        for item in self.due.range(start.as_slice()..end.as_slice()) {
            let (k, _) = self.noted("due", item.map_err(StoreError::from))?;
            if k.len() > 9 {
                out.push(String::from_utf8_lossy(&k[9..]).to_string());
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Number of entries of a due kind: (due now, later).
    pub(super) fn due_counts(
        &self,
        kind: DueKind,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let split = due_key(kind, now, "\u{10FFFF}");
        let mut due_now = 0;
        let mut later = 0;
        for item in self.due.scan_prefix([kind as u8]) {
            let (k, _) = self.noted("due_counts", item.map_err(StoreError::from))?;
            if k.as_ref() < split.as_slice() {
                due_now += 1;
            } else {
                later += 1;
            }
        }
        Ok((due_now, later))
    }

    /// The earliest due time of a kind.
    pub(super) fn next_due_time(&self, kind: DueKind) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(item) = self.due.scan_prefix([kind as u8]).next() else {
            return Ok(None);
        };
        let (k, _) = self.noted("next_due_time", item.map_err(StoreError::from))?;
        let ms = k
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::Codec("a due-index key is too short".into()))?;
        Ok(DateTime::from_timestamp_millis(ms as i64))
    }
}
