//! The SMEV 3 protocol, message-exchange 1.3: the message model ([`model`]), building
//! ([`build`]) and parsing ([`parse`]) of SOAP envelopes, faults and their retry class
//! ([`fault`]), MessageIDs ([`message_id`]), MTOM/XOP attachments ([`mtom`]), XSD validation
//! ([`schema`]) and the SOAP-over-HTTP client ([`transport`]).
//!
//! Building produces exactly the bytes that get signed; parsing accepts any prefixes, whitespace
//! and the 1.1/1.2/1.3 namespaces SMEV answers with, never expands entities and never panics.

#[cfg(feature = "smev-side")]
pub mod answers;
pub mod attachments;
pub mod build;
#[cfg(feature = "smev-side")]
pub mod calls;
pub mod client;
pub mod fault;
pub mod file_storage;
pub mod message_id;
pub mod model;
pub mod mtom;
pub mod parse;
pub mod schema;
pub mod transport;

pub use fault::{FaultClass, SmevFault, SmevFaultKind};
pub use message_id::MessageId;

/// Namespace URIs of message-exchange 1.3 and SOAP 1.1.
pub mod ns {
    pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    pub const SERVICE: &str = "urn://x-artefacts-smev-gov-ru/services/message-exchange/1.3";
    pub const TYPES: &str = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3";
    pub const BASIC: &str =
        "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3";
    pub const FAULTS: &str =
        "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/1.3";
    pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
    pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

    /// Whether `uri` is a message-exchange namespace of any version for `part` ("types",
    /// "types/basic", "types/faults"), e.g. `…/types/basic/1.1`.
    pub fn is_smev(uri: &str, part: &str) -> bool {
        let prefix = "urn://x-artefacts-smev-gov-ru/services/message-exchange/";
        uri.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(part))
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|version| version.starts_with("1."))
    }
}

/// Errors of the protocol layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmevError {
    #[error(transparent)]
    Xml(#[from] crate::xml::XmlError),
    #[error(transparent)]
    Signature(#[from] crate::dsig::DsigError),
    /// An answer that is not the SOAP message we expected.
    #[error("unexpected SMEV answer: {0}")]
    UnexpectedAnswer(String),
    /// A SOAP fault from SMEV.
    #[error("SMEV fault: {0}")]
    Fault(Box<SmevFault>),
    /// Business content that cannot go into MessagePrimaryContent.
    #[error("invalid business content: {0}")]
    InvalidContent(String),
    /// Business content that violates its data kind's XSD.
    #[error("schema violation: {0}")]
    SchemaViolation(schema::SchemaErrors),
    /// Attachments over the inline limit.
    #[error("attachments of {total} bytes exceed the inline (MTOM) limit of {limit} bytes; use SMEV's file storage")]
    AttachmentTooLarge { total: usize, limit: usize },
    /// A transport failure (always temporary).
    #[error("transport: {0}")]
    Transport(transport::TransportError),
    /// A malformed multipart/related message.
    #[error("MTOM: {0}")]
    Mtom(String),
    /// A multipart body that ends before its closing boundary: what a connection cut short
    /// looks like, so it is retried rather than refused.
    #[error("MTOM: {0}")]
    MtomTruncated(String),
    /// An answer that arrived whole but cannot be processed (MIME or XOP malformed or over a
    /// limit): a poison message. The receiver keeps it as a dead letter and acknowledges it
    /// instead of retrying it forever; `raw` is its first bytes (at most
    /// [`transport::MAX_POISON_BYTES`]).
    #[error("unprocessable SMEV answer: {reason}")]
    Poison { reason: String, raw: Vec<u8> },
    /// An upload to SMEV's file storage failed (before the message naming the file was sent).
    #[error("{0}")]
    FileStorage(file_storage::FileStorageError),
}

/// Text that came from the SMEV side as it may be written to a log or shown: at most
/// `max_chars` characters, and control, format (bidi) and other non-printable characters
/// escaped (`\n`, `\u{202e}`), so a peer can neither forge log lines nor disguise text.
pub fn peer_text(s: &str, max_chars: usize) -> String {
    crate::xml::escape::printable(s, max_chars)
}

impl SmevError {
    /// How the engine should react to this error.
    pub fn class(&self) -> FaultClass {
        match self {
            SmevError::Fault(f) => f.class(),
            SmevError::Transport(_) => FaultClass::Temporary,
            // A garbled answer (proxy page, truncated body) is treated like a transport failure.
            SmevError::UnexpectedAnswer(_)
            | SmevError::Mtom(_)
            | SmevError::MtomTruncated(_)
            | SmevError::Poison { .. } => FaultClass::Temporary,
            SmevError::FileStorage(e) if !e.is_permanent() => FaultClass::Temporary,
            _ => FaultClass::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_is_bounded_and_escaped() {
        let cases = [
            (
                "Сообщение не прошло проверку",
                100,
                "Сообщение не прошло проверку",
            ),
            ("line\nforged: INFO ok", 100, "line\\nforged: INFO ok"),
            ("a\u{202e}b", 100, "a\\u{202e}b"),
            ("\u{1b}[31mred", 100, "\\u{1b}[31mred"),
            ("abcdef", 3, "abc…"),
        ];
        for (input, max, expected) in cases {
            assert_eq!(peer_text(input, max), expected, "{input:?}");
        }
    }
}
