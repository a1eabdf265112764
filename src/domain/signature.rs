//! The outcome of a signature check on a received message, kept with the record for display.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A verified signature, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureSummary {
    /// Where it sat, e.g. "/Envelope/Body/…/SMEVSignature/Signature".
    pub location: String,
    pub valid: bool,
    /// The signer's certificate chain was checked against a configured trust list (`smev.trust`)
    /// and holds. `valid` without `trusted` only says the cryptography matches the embedded
    /// certificate — anyone can make such a signature with a self-made key.
    #[serde(default)]
    pub trusted: bool,
    pub signer: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}
