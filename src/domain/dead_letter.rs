//! A received message the gateway could not process, kept with its raw bytes until a person
//! decides: acknowledge and close it, or have it processed again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle_error::LifecycleError;
use super::reason::Reason;

/// Where a dead letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterState {
    /// Waiting for a person's decision.
    Open,
    /// Acknowledged to SMEV (accepted=false) and closed.
    Closed,
    /// Processed again successfully.
    Reprocessed,
}

impl DeadLetterState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterState::Open => "open",
            DeadLetterState::Closed => "closed",
            DeadLetterState::Reprocessed => "reprocessed",
        }
    }
}

/// The SMEV call a message came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    GetResponse,
    GetRequest,
    GetStatus,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::GetResponse => "GetResponse",
            Source::GetRequest => "GetRequest",
            Source::GetStatus => "GetStatus",
        }
    }
}

/// A received message the gateway could not process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub system: String,
    pub source: Source,
    /// MessageMetadata/MessageId, when it could be read.
    pub smev_message_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub envelope: String,
    pub state: DeadLetterState,
    /// Whether SMEV has been told (Ack accepted=false).
    pub acked: bool,
    pub history: Vec<(DateTime<Utc>, String, String)>,
}

/// Something that happened to a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterEvent {
    /// SMEV took its Ack.
    Acked,
    /// A person acknowledged it (accepted=false) and closed it.
    AckAndClose,
    /// A person had it processed again, successfully (and acknowledged).
    Reprocessed,
    /// Processing it again failed (why).
    ReprocessFailed(String),
}

impl DeadLetterEvent {
    /// The history's entry for it.
    pub fn reason(&self) -> Reason {
        match self {
            DeadLetterEvent::Acked => Reason::AckedToSmev,
            DeadLetterEvent::AckAndClose => Reason::AckAndClose,
            DeadLetterEvent::Reprocessed => Reason::Reprocessed,
            DeadLetterEvent::ReprocessFailed(why) => Reason::ReprocessFailed(why.clone()),
        }
    }
}

impl DeadLetter {
    /// A new, open dead letter.
    pub fn open(
        id: String,
        system: &str,
        source: Source,
        smev_message_id: Option<String>,
        reason: String,
        envelope: String,
        received_at: DateTime<Utc>,
    ) -> DeadLetter {
        DeadLetter {
            id,
            system: system.to_string(),
            source,
            smev_message_id,
            received_at,
            reason,
            envelope,
            state: DeadLetterState::Open,
            acked: false,
            history: Vec::new(),
        }
    }

    /// Applies `event`; a person's decision needs an open dead letter.
    pub fn apply(&mut self, event: &DeadLetterEvent) -> Result<(), LifecycleError> {
        let decided = |s: DeadLetterState| {
            if s == DeadLetterState::Open {
                Ok(())
            } else {
                Err(LifecycleError::DeadLetterClosed(s))
            }
        };
        match event {
            DeadLetterEvent::Acked => self.acked = true,
            DeadLetterEvent::AckAndClose => {
                decided(self.state)?;
                self.acked = true;
                self.state = DeadLetterState::Closed;
            }
            DeadLetterEvent::Reprocessed => {
                decided(self.state)?;
                self.acked = true;
                self.state = DeadLetterState::Reprocessed;
            }
            DeadLetterEvent::ReprocessFailed(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_need_an_open_dead_letter() {
        use DeadLetterEvent as E;
        use DeadLetterState as S;
        // (state, event, resulting state or None when refused)
        let cases = [
            (S::Open, E::Acked, Some(S::Open)),
            (S::Open, E::AckAndClose, Some(S::Closed)),
            (S::Open, E::Reprocessed, Some(S::Reprocessed)),
            (S::Open, E::ReprocessFailed("x".into()), Some(S::Open)),
            (S::Closed, E::Acked, Some(S::Closed)),
            (S::Closed, E::AckAndClose, None),
            (S::Closed, E::Reprocessed, None),
            (S::Reprocessed, E::AckAndClose, None),
            (S::Reprocessed, E::Reprocessed, None),
        ];
        for (state, event, expected) in cases {
            let mut d = DeadLetter::open(
                "d".into(),
                "is",
                Source::GetResponse,
                None,
                "r".into(),
                "k".into(),
                Utc::now(),
            );
            d.state = state;
            let before = d.clone();
            match (d.apply(&event), expected) {
                (Ok(()), Some(s)) => assert_eq!(d.state, s, "{state:?} {event:?}"),
                (Err(_), None) => assert_eq!(d, before, "a refused event changes nothing"),
                (got, want) => panic!("{state:?} {event:?}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn stored_form_is_unchanged() {
        let d = DeadLetter::open(
            "d".into(),
            "is",
            Source::GetStatus,
            None,
            "r".into(),
            "k".into(),
            Utc::now(),
        );
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["state"], "open");
        assert_eq!(v["source"], "GetStatus");
    }
}
