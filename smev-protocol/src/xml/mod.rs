//! XML foundations written for XML signatures: a namespace-aware, position-keeping document
//! tree ([`tree`]), Exclusive XML Canonicalization 1.0 ([`c14n`]) and the SMEV 3 transform
//! `urn://smev-gov-ru/xmldsig/transform` ([`transform`]).
//!
//! Everything here treats its input as hostile: no DOCTYPE, no entity expansion beyond the five
//! predefined entities and character references, bounded nesting depth, and every failure is an
//! [`XmlError`] with a position, never a panic.

pub mod c14n;
pub mod escape;
mod intern;
pub mod name;
mod parser;
mod seen_names;
mod text_rules;
pub mod transform;
pub mod tree;

pub use tree::{Document, NodeId};

/// Well-known namespace URIs.
pub mod ns {
    /// The `xml:` prefix namespace, bound implicitly.
    pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
    /// The namespace of namespace declarations themselves.
    pub const XMLNS: &str = "http://www.w3.org/2000/xmlns/";
    /// XML Signature.
    pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
}

/// Why a document could not be parsed or processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The input is not well-formed XML (or not namespace-well-formed).
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// A DOCTYPE declaration: refused so that no entity is ever expanded and nothing is fetched.
    #[error("XML with a DOCTYPE declaration is refused (line {line}, column {column}): entity expansion and external fetches are not allowed")]
    DoctypeRefused { line: usize, column: usize },
    /// The document declares an encoding other than UTF-8.
    #[error("unsupported XML encoding {0:?}: only UTF-8 is accepted")]
    UnsupportedEncoding(String),
    /// No element carries the requested `Id`.
    #[error("no element with Id=\"{0}\" in the document")]
    IdNotFound(String),
    /// More than one element carries the requested `Id` (a signature-wrapping risk).
    #[error("Id=\"{0}\" is used by more than one element")]
    DuplicateId(String),
    /// Nesting deeper than the parser allows.
    #[error("XML nesting deeper than {0} levels is refused")]
    TooDeep(usize),
    /// The SMEV transform cannot process an element without a namespace.
    #[error(
        "element <{0}> has no namespace; the SMEV transform does not support unqualified elements"
    )]
    UnqualifiedElement(String),
    /// The SMEV transform cannot process attributes of the XML namespace (`xml:lang`,
    /// `xml:space`): rule 6 would bind that namespace to `nsN`, which XML forbids, so the
    /// reference implementation refuses them too.
    #[error("attribute xml:{0} cannot be processed by the SMEV transform (the XML namespace cannot be rebound)")]
    XmlNamespaceAttribute(String),
    /// An element has more attributes than the parser accepts from a peer.
    #[error("element <{element}> has more than {limit} attributes")]
    TooManyAttributes { element: String, limit: usize },
    /// Too many namespace declarations on one element or in scope at once.
    #[error("more than {limit} namespace declarations {scope}")]
    TooManyNamespaces { scope: &'static str, limit: usize },
    /// The document is larger than the caller allows.
    #[error("XML document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}
