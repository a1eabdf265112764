//! One entry of a request's history: when, who, from which state to which, and why. Stored as
//! before the types existed (`actor` and `reason` as strings), so older records read back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::actor::Actor;
use super::reason::Reason;
use super::request::RequestState;

/// One transition in the request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub reason: Reason,
}

impl<'de> Deserialize<'de> for Transition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            at: DateTime<Utc>,
            actor: Actor,
            from: Option<RequestState>,
            to: RequestState,
            reason: Reason,
        }
        let s = Stored::deserialize(d)?;
        // A failure's reason is its message: only the target state says it was one.
        let reason = match (s.to, s.reason) {
            (RequestState::Failed, Reason::Other(message)) => Reason::Failed(message),
            (_, r) => r,
        };
        Ok(Transition {
            at: s.at,
            actor: s.actor,
            from: s.from,
            to: s.to,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_back_as_a_failure() {
        let t = Transition {
            at: Utc::now(),
            actor: Actor::Engine,
            from: Some(RequestState::Sending),
            to: RequestState::Failed,
            reason: Reason::Failed("SMEV refused: InvalidContent".into()),
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["reason"], "SMEV refused: InvalidContent");
        assert_eq!(json["actor"], "engine");
        assert_eq!(serde_json::from_value::<Transition>(json).unwrap(), t);
    }
}
