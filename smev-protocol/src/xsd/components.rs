//! The global components of a schema set (elements, types, groups, attributes), indexed by
//! (namespace, local name), and the resolution of QName-valued attributes (`type="tns:X"`)
//! against the prefixes in scope where they are written.

use std::collections::HashMap;
use std::fmt;

use super::load::SchemaSet;
use super::{XsdError, XS};
use crate::xml::NodeId;

/// A qualified name: namespace URI (none for no namespace) and local name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    pub ns: Option<String>,
    pub local: String,
}

impl QName {
    pub fn new(ns: Option<&str>, local: &str) -> QName {
        QName {
            ns: ns.map(str::to_string),
            local: local.to_string(),
        }
    }

    /// Whether this names a built-in XML Schema type (`xs:string`, `xs:date` …).
    pub fn is_built_in(&self) -> bool {
        self.ns.as_deref() == Some(XS)
    }
}

impl fmt::Display for QName {
    /// Clark notation, `{namespace}local`, as the rest of the gateway writes element names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ns {
            Some(ns) => write!(f, "{{{ns}}}{}", self.local),
            None => f.write_str(&self.local),
        }
    }
}

/// Kinds of global components (each has its own symbol space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Space {
    Element,
    Type,
    Group,
    AttributeGroup,
    Attribute,
}

impl Space {
    fn of(local: &str) -> Option<Space> {
        Some(match local {
            "element" => Space::Element,
            "complexType" | "simpleType" => Space::Type,
            "group" => Space::Group,
            "attributeGroup" => Space::AttributeGroup,
            "attribute" => Space::Attribute,
            _ => return None,
        })
    }

    /// The word errors use.
    pub fn noun(self) -> &'static str {
        match self {
            Space::Element => "element",
            Space::Type => "type",
            Space::Group => "group",
            Space::AttributeGroup => "attribute group",
            Space::Attribute => "attribute",
        }
    }
}

/// Where a component is declared: document index in the set and node in that document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub doc: usize,
    pub node: NodeId,
}

/// The index of global components.
#[derive(Debug, Default)]
pub struct Components {
    by_name: HashMap<(Space, QName), At>,
    /// Global elements in declaration order (main file first), for `kinds import`.
    elements: Vec<(QName, At)>,
}

impl Components {
    /// Indexes every global component of the set; a name declared twice is an error.
    pub fn index(set: &SchemaSet) -> Result<Components, XsdError> {
        let mut out = Components::default();
        for (d, sd) in set.docs.iter().enumerate() {
            let doc = &sd.doc;
            for node in doc.child_elements(sd.schema()) {
                let Some(e) = doc.element(node) else { continue };
                if e.ns.as_deref() != Some(XS) {
                    continue;
                }
                let (Some(space), Some(name)) = (Space::of(&e.local), e.attr("name")) else {
                    continue;
                };
                let q = QName::new(sd.target_namespace.as_deref(), name);
                let at = At { doc: d, node };
                if let Some(prev) = out.by_name.insert((space, q.clone()), at) {
                    return Err(XsdError::Duplicate {
                        file: sd.path.clone(),
                        other: set.docs[prev.doc].path.clone(),
                        what: space.noun(),
                        name: q.to_string(),
                    });
                }
                if space == Space::Element {
                    out.elements.push((q, at));
                }
            }
        }
        Ok(out)
    }

    /// The declaration of a global component.
    pub fn get(&self, space: Space, name: &QName) -> Option<At> {
        self.by_name.get(&(space, name.clone())).copied()
    }

    /// Global elements in declaration order.
    pub fn elements(&self) -> &[(QName, At)] {
        &self.elements
    }
}

/// Resolves a QName written in an attribute value of element `node` in document `doc`.
pub fn resolve_qname(
    set: &SchemaSet,
    doc: usize,
    node: NodeId,
    value: &str,
) -> Result<QName, XsdError> {
    let value = value.trim();
    let (prefix, local) = match value.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, value),
    };
    let scope = set.docs[doc].doc.in_scope_namespaces(node);
    let uri = scope
        .iter()
        .find(|(p, _)| p.as_deref() == prefix)
        .map(|(_, u)| u.as_str());
    match (prefix, uri) {
        // An unprefixed name with no default namespace is in no namespace — except that a
        // chameleon include reads it in its includer's namespace.
        (None, None) | (None, Some("")) => Ok(QName::new(
            set.docs[doc]
                .target_namespace
                .as_deref()
                .filter(|_| chameleon(set, doc)),
            local,
        )),
        (_, Some(uri)) => Ok(QName::new(Some(uri), local)),
        (Some(_), None) if prefix == Some("xml") => Ok(QName::new(
            Some("http://www.w3.org/XML/1998/namespace"),
            local,
        )),
        (Some(_), None) => Err(XsdError::UnboundPrefix {
            file: set.docs[doc].path.clone(),
            qname: value.to_string(),
        }),
    }
}

/// A document without a `targetNamespace` of its own, pulled into another namespace.
fn chameleon(set: &SchemaSet, doc: usize) -> bool {
    let sd = &set.docs[doc];
    sd.doc
        .element(sd.schema())
        .is_some_and(|e| e.attr("targetNamespace").is_none())
}
