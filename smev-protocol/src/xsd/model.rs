//! The field tree of one root element: what a form, a JSON field list, a generated answer and
//! `kinds show` are made from. Serialized as-is by the API (`GET /api/v1/kinds/{id}`).

use serde::Serialize;

/// How many times a field or group may occur. Serialized as the number or `"unbounded"`, as
/// the schema writes `maxOccurs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurs {
    Bounded(u32),
    Unbounded,
}

impl Serialize for Occurs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Occurs::Bounded(n) => s.serialize_u32(*n),
            Occurs::Unbounded => s.serialize_str("unbounded"),
        }
    }
}

impl Occurs {
    /// Whether more than one occurrence is allowed (a repeated element: "add another").
    pub fn repeats(self) -> bool {
        !matches!(self, Occurs::Bounded(0 | 1))
    }
}

/// Element or attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Element,
    Attribute,
}

/// One element or attribute of the tree.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub kind: FieldKind,
    /// Local name (often Cyrillic: `ИННЮЛ`).
    pub name: String,
    /// Namespace the name is in when written (`None`: unqualified).
    pub namespace: Option<String>,
    /// The schema's documentation (usually the Russian label).
    pub documentation: Option<String>,
    pub min_occurs: u32,
    pub max_occurs: Occurs,
    /// `default="…"` or `fixed="…"` (with `fixed` true).
    pub default: Option<String>,
    pub fixed: bool,
    pub nillable: bool,
    pub content: Content,
}

impl Field {
    /// Required: an element with minOccurs ≥ 1, an attribute with `use="required"`.
    pub fn required(&self) -> bool {
        self.min_occurs > 0
    }
}

/// What a field holds.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text of a simple type (every attribute; elements of simple type).
    Simple { simple: SimpleType },
    /// Child elements and attributes; `text` when the element also has simple content
    /// (`xs:simpleContent`).
    Complex {
        attributes: Vec<Field>,
        children: Option<Group>,
        text: Option<SimpleType>,
        mixed: bool,
    },
    /// `xs:anyType` or no type at all: any XML.
    Any,
    /// A type already being expanded above (a recursive schema); named, not expanded again.
    Recursive { type_name: String },
}

/// `xs:sequence`, `xs:choice` or `xs:all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compositor {
    Sequence,
    Choice,
    All,
}

/// A model group: its compositor, repetition and items in schema order.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub compositor: Compositor,
    pub min_occurs: u32,
    pub max_occurs: Occurs,
    pub documentation: Option<String>,
    pub items: Vec<Particle>,
}

/// An item of a model group.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "particle", rename_all = "snake_case")]
pub enum Particle {
    Element(Box<Field>),
    Group(Group),
    /// `xs:any`: elements of other namespaces (`namespace` as written).
    Any {
        namespace: String,
        /// `strict`, `lax` or `skip` (as written; `strict` when absent).
        process_contents: String,
        min_occurs: u32,
        max_occurs: Occurs,
    },
}

/// A simple type after its restriction chain is followed to a built-in base.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimpleType {
    /// The named type, `{namespace}local` (`None` for an anonymous type).
    pub name: Option<String>,
    /// The built-in base, local name in the XML Schema namespace (`string`, `date`, `integer` …).
    pub base: String,
    /// `xs:list`: a space-separated list of `base` values.
    pub list: bool,
    /// `xs:union`: the member types (a value is valid if it is valid for one of them).
    pub union: Vec<SimpleType>,
    pub facets: Facets,
    /// Documentation of the named type, when the field has none of its own.
    pub documentation: Option<String>,
}

/// The restrictions of a simple type. Facets of a derived type replace those of its base (or,
/// for `pattern`, are all required: each restriction step adds its own patterns).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    /// Each step's patterns; a value must match one pattern of every step.
    pub patterns: Vec<Vec<String>>,
    pub length: Option<u64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub enumeration: Vec<Enumerated>,
    pub min_inclusive: Option<String>,
    pub max_inclusive: Option<String>,
    pub min_exclusive: Option<String>,
    pub max_exclusive: Option<String>,
    pub total_digits: Option<u32>,
    pub fraction_digits: Option<u32>,
    pub white_space: Option<String>,
}

/// One `xs:enumeration` value with its documentation (the label of a select).
#[derive(Debug, Clone, Serialize)]
pub struct Enumerated {
    pub value: String,
    pub documentation: Option<String>,
}
