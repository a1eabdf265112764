//! MessageIDs: UUID version 1 (time-based), lower case, as SMEV requires. SMEV reads the time
//! from the id and refuses ids older than about a day (`StaleMessageId`), so the timestamp is
//! also what tells us when a stored id has to be replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A SMEV MessageID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(Uuid);

/// Why a string is not a SMEV MessageID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MessageID {value:?}: {reason}")]
pub struct InvalidMessageId {
    pub value: String,
    pub reason: &'static str,
}

/// Gregorian-to-Unix offset of UUID v1 timestamps, in 100 ns ticks.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

fn node_id() -> [u8; 6] {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    *NODE.get_or_init(|| {
        let mut n = [0u8; 6];
        if openssl::rand::rand_bytes(&mut n).is_err() {
            let t = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
            n.copy_from_slice(&t.to_le_bytes()[..6]);
        }
        n[0] |= 0x01; // multicast bit: a random node id, not a MAC (RFC 4122 §4.5)
        n
    })
}

fn unix_ticks(time: DateTime<Utc>) -> u64 {
    (time.timestamp().max(0) as u64)
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(time.timestamp_subsec_nanos() / 100))
}

/// Last issued timestamp in 100 ns ticks, so ids from one process are strictly increasing.
static LAST_TICKS: AtomicU64 = AtomicU64::new(0);

impl MessageId {
    /// A new UUID v1 for the current time; strictly increasing within the process.
    pub fn new() -> Self {
        let now = unix_ticks(Utc::now()) + UUID_EPOCH_OFFSET;
        let mut last = LAST_TICKS.load(Ordering::Relaxed);
        let ticks = loop {
            let next = now.max(last + 1);
            match LAST_TICKS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break next,
                Err(actual) => last = actual,
            }
        };
        Self::from_ticks(ticks)
    }

    /// A UUID v1 for `time` (tests use old times to provoke `StaleMessageId`).
    pub fn at(time: DateTime<Utc>) -> Self {
        Self::from_ticks(unix_ticks(time) + UUID_EPOCH_OFFSET)
    }

    fn from_ticks(ticks: u64) -> Self {
        let mut seq = [0u8; 2];
        if openssl::rand::rand_bytes(&mut seq).is_err() {
            // OpenSSL's generator failing is unheard of; the OS's (through uuid) then serves.
            seq.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..2]);
        }
        let clock_seq = u16::from_be_bytes(seq) & 0x3FFF;
        let ts = uuid::Timestamp::from_gregorian_time(ticks, clock_seq);
        MessageId(Uuid::new_v1(ts, &node_id()))
    }

    /// Parses and validates: lower-case hex, canonical form, version 1.
    pub fn parse(s: &str) -> Result<Self, InvalidMessageId> {
        let err = |reason| InvalidMessageId {
            value: s.chars().take(64).collect(),
            reason,
        };
        if s.len() != 36 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err("expected 36 lower-case characters"));
        }
        let u = Uuid::parse_str(s).map_err(|_| err("not a UUID"))?;
        if u.hyphenated().to_string() != s {
            return Err(err("not in canonical form"));
        }
        if u.get_version_num() != 1 {
            return Err(err("not a version 1 (time-based) UUID"));
        }
        Ok(MessageId(u))
    }

    /// The time encoded in the id.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        DateTime::from_timestamp(secs as i64, nanos)
    }

    /// The underlying UUID.
    pub fn uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl std::str::FromStr for MessageId {
    type Err = InvalidMessageId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidMessageId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MessageId> for String {
    fn from(m: MessageId) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v1_lowercase_unique_and_timed() {
        let a = MessageId::new();
        let b = MessageId::new();
        assert_ne!(a, b);
        let s = a.to_string();
        assert_eq!(MessageId::parse(&s).unwrap(), a);
        assert_eq!(&s[14..15], "1");
        let age = Utc::now() - a.timestamp().unwrap();
        assert!(age.num_seconds().abs() < 5);
    }

    #[test]
    fn old_ids_keep_their_time() {
        let t = Utc::now() - chrono::Duration::days(3);
        let id = MessageId::at(t);
        assert!((id.timestamp().unwrap() - t).num_seconds().abs() < 2);
    }

    #[test]
    fn rejects_non_v1_and_uppercase() {
        assert!(MessageId::parse("6B1AE1C0-CB7E-11F0-8A3D-0242AC120002").is_err());
        assert!(MessageId::parse("6b1ae1c0-cb7e-41f0-8a3d-0242ac120002").is_err());
        assert!(MessageId::parse("not-a-uuid").is_err());
        assert!(MessageId::parse("db0486d0-3c08-11e5-95e2-d4c9eff07b77").is_ok());
    }
}
