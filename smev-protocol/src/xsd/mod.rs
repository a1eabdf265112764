//! The XML Schema of a data kind (вид сведений), understood well enough to describe its fields:
//! the schema set of a VS package loaded offline ([`load`]), its global components indexed by
//! (namespace, local name) ([`components`]), and one root element expanded into a tree of fields
//! with their types, restrictions, choices, repetitions and documentation ([`model`],
//! [`resolve`]), printable for people ([`show`]).
//!
//! This is a description of the schema, not a validator: validation stays with libxml2
//! (`smev::schema`), which is the reference the tests compare against. Everything here treats the
//! files as hostile input: bounded file count and size, bounded tree size, recursion cut, and
//! every failure names the file it comes from.

pub mod build;
pub mod check;
pub mod components;
pub mod identifiers;
pub mod inflate;
pub mod load;
pub mod model;
pub mod package;
pub mod pattern;
pub mod regex;
pub mod resolve;
pub mod sample;
pub mod show;
mod simple_types;
pub mod zip;

pub use load::SchemaSet;
pub use model::{
    Compositor, Content, Facets, Field, FieldKind, Group, Occurs, Particle, SimpleType,
};
pub use package::Package;

use std::path::PathBuf;

/// The XML Schema namespace.
pub const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// Most schema files one set may hold (a package with its commons has a handful; the full
/// Росреестр statement set has about a hundred).
pub const MAX_SCHEMA_FILES: usize = 512;
/// Largest schema file read.
pub const MAX_SCHEMA_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most fields (elements, attributes, groups) one expanded root may have.
pub const MAX_TREE_NODES: usize = 20_000;
/// Deepest nesting of an expanded root.
pub const MAX_TREE_DEPTH: usize = 64;

/// Why a schema set could not be loaded or a root could not be described.
#[derive(Debug, thiserror::Error)]
pub enum XsdError {
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read { file: PathBuf, message: String },
    /// A file is larger than [`MAX_SCHEMA_FILE_BYTES`].
    #[error("{file}: {size} bytes, more than the {limit} a schema file may have")]
    FileTooLarge {
        file: PathBuf,
        size: u64,
        limit: u64,
    },
    /// More files than [`MAX_SCHEMA_FILES`].
    #[error("the schema set has more than {0} files")]
    TooManyFiles(usize),
    /// The bytes do not match the encoding the file declares (e.g. windows-1251 bytes in a file
    /// that says UTF-8, as in a circulating copy of smev-supplementary-commons-1.0.1.xsd).
    #[error("{file}: declares encoding {declared} but byte {offset} is not valid {declared}; re-save the file in its declared encoding")]
    WrongEncoding {
        file: PathBuf,
        declared: String,
        offset: usize,
    },
    /// An encoding label that is not known.
    #[error("{file}: unknown encoding {label:?}")]
    UnknownEncoding { file: PathBuf, label: String },
    /// The file is not well-formed XML.
    #[error("{file}: {source}")]
    Xml {
        file: PathBuf,
        source: crate::xml::XmlError,
    },
    /// The document element is not `xs:schema`.
    #[error("{file}: the document element is <{found}>, not xs:schema")]
    NotASchema { file: PathBuf, found: String },
    /// `xs:import`/`xs:include` points outside the package, to the network, or to nothing.
    #[error("{file}: schemaLocation {location:?}: {why}")]
    Location {
        file: PathBuf,
        location: String,
        why: String,
    },
    /// Two global components of one kind share a (namespace, name).
    #[error("{file}: {what} {name} is declared twice (also in {other})")]
    Duplicate {
        file: PathBuf,
        other: PathBuf,
        what: &'static str,
        name: String,
    },
    /// A reference to a component that no file of the set declares.
    #[error("{file}: {what} {name} is referenced but not declared in the schema set")]
    Unresolved {
        file: PathBuf,
        what: &'static str,
        name: String,
    },
    /// A QName whose prefix is not bound.
    #[error("{file}: prefix of {qname:?} is not declared")]
    UnboundPrefix { file: PathBuf, qname: String },
    /// A construct the model does not describe (with where it is).
    #[error("{file}: {what}")]
    Unsupported { file: PathBuf, what: String },
    /// The expanded root is larger than [`MAX_TREE_NODES`] or deeper than [`MAX_TREE_DEPTH`].
    #[error("the expansion of {root} exceeds {limit}")]
    TreeTooLarge { root: String, limit: String },
    /// The package has no schema file, or several that nothing imports (name one with `--main`).
    #[error("{}: {}", dir.display(), if candidates.is_empty() { "no .xsd file in the package".to_string() } else { format!("several schemas are imported by no other file ({}); name the main one", candidates.join(", ")) })]
    NoMainSchema {
        dir: PathBuf,
        candidates: Vec<String>,
    },
    /// None or several global elements end with the expected suffix.
    #[error("cannot tell the {suffix} root: the main schema declares {}; name it", candidates.join(", "))]
    AmbiguousRoot {
        suffix: String,
        candidates: Vec<String>,
    },
    /// The set has no global element with this name.
    #[error("no global element {0} in the schema set")]
    NoSuchElement(String),
}
