//! Who caused a change: the gateway itself, SMEV, an agency system (by its token) or a member of
//! staff. Stored as today's strings (`engine`, `smev`, `system:<id>/<token>`, `user:<login>`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The author of a history or audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The gateway's own workers.
    Engine,
    /// SMEV (a received message).
    Smev,
    /// An agency system, by the name of its API token (`<system>/<token>`).
    System(String),
    /// A member of staff, by login.
    User(String),
    /// Anything else found in older records.
    Other(String),
}

impl Actor {
    /// Reads a stored actor.
    pub fn parse(s: &str) -> Actor {
        if let Some(l) = s.strip_prefix("user:") {
            Actor::User(l.to_string())
        } else if let Some(x) = s.strip_prefix("system:") {
            Actor::System(x.to_string())
        } else {
            match s {
                "engine" => Actor::Engine,
                "smev" => Actor::Smev,
                other => Actor::Other(other.to_string()),
            }
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Engine => f.write_str("engine"),
            Actor::Smev => f.write_str("smev"),
            Actor::System(s) => write!(f, "system:{s}"),
            Actor::User(l) => write!(f, "user:{l}"),
            Actor::Other(o) => f.write_str(o),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Actor::parse(&String::deserialize(d)?))
    }
}

impl From<&str> for Actor {
    fn from(s: &str) -> Self {
        Actor::parse(s)
    }
}

impl PartialEq<&str> for Actor {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Actor::Engine => *other == "engine",
            Actor::Smev => *other == "smev",
            Actor::System(s) => other.strip_prefix("system:") == Some(s.as_str()),
            Actor::User(l) => other.strip_prefix("user:") == Some(l.as_str()),
            Actor::Other(o) => o == other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_from_their_stored_form() {
        let cases = [
            ("engine", Actor::Engine),
            ("smev", Actor::Smev),
            ("system:is-main/demo", Actor::System("is-main/demo".into())),
            ("user:ivanova", Actor::User("ivanova".into())),
            ("cli", Actor::Other("cli".into())),
        ];
        for (text, actor) in cases {
            assert_eq!(Actor::parse(text), actor);
            assert_eq!(actor.to_string(), text);
        }
    }
}
