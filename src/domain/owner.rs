//! What a SMEV MessageID belongs to: the typed value of the `message_ids` (ids we sent) and
//! `received` (ids we stored) indexes. Stored as today's `R:<id>`, `I:<id>` and `D:<id>`.

use std::fmt;

/// The record a SMEV message is stored as, or was sent for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// An outgoing request (consumer role).
    Request(String),
    /// An incoming request (provider role) or our response to it.
    Incoming(String),
    /// A dead letter: a received message that could not be processed.
    DeadLetter(String),
}

impl Owner {
    /// The stored form.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// Reads the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Owner> {
        let (tag, id) = s.split_once(':')?;
        let id = id.to_string();
        match tag {
            "R" => Some(Owner::Request(id)),
            "I" => Some(Owner::Incoming(id)),
            "D" => Some(Owner::DeadLetter(id)),
            _ => None,
        }
    }

    /// Reads the stored bytes of an index value.
    pub fn from_stored(bytes: &[u8]) -> Option<Owner> {
        Owner::parse(&String::from_utf8_lossy(bytes))
    }

    /// Whether the message was stored as a dead letter (so its Ack says accepted=false).
    pub fn is_dead_letter(&self) -> bool {
        matches!(self, Owner::DeadLetter(_))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Request(id) => write!(f, "R:{id}"),
            Owner::Incoming(id) => write!(f, "I:{id}"),
            Owner::DeadLetter(id) => write!(f, "D:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_read_back_from_their_stored_form() {
        for o in [
            Owner::Request("0190-a".into()),
            Owner::Incoming("b:c".into()),
            Owner::DeadLetter("d".into()),
        ] {
            assert_eq!(Owner::parse(&o.key()), Some(o));
        }
        assert_eq!(Owner::parse("X:1"), None);
        assert_eq!(Owner::parse("R"), None);
    }
}
