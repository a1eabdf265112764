//! Expanding one global element into its field tree: element and attribute references, named
//! and anonymous types, complex-content extension and restriction, simple content, model groups
//! and group references, attribute groups, and simple-type restriction chains down to a built-in
//! base with their facets.
//!
//! The expansion is bounded: a type or group already being expanded above becomes
//! [`Content::Recursive`], and the tree may not exceed [`MAX_TREE_NODES`] or [`MAX_TREE_DEPTH`].

use super::components::{resolve_qname, At, Components, QName, Space};
use super::load::SchemaSet;
use super::model::*;
use super::{XsdError, MAX_TREE_DEPTH, MAX_TREE_NODES, XS};
use crate::xml::NodeId;

/// The field tree of global element `root`.
pub fn describe(set: &SchemaSet, components: &Components, root: &QName) -> Result<Field, XsdError> {
    let at = components
        .get(Space::Element, root)
        .ok_or_else(|| XsdError::NoSuchElement(root.to_string()))?;
    let mut r = Resolver {
        set,
        components,
        nodes: 0,
        depth: 0,
        expanding: Vec::new(),
        root: root.to_string(),
    };
    r.element(at.doc, at.node, true)
}

pub(super) struct Resolver<'a> {
    pub(super) set: &'a SchemaSet,
    components: &'a Components,
    nodes: usize,
    depth: usize,
    /// Named types and groups being expanded, outermost first (the recursion guard).
    expanding: Vec<(Space, QName)>,
    root: String,
}

/// Children of `node` in the XML Schema namespace, with their local names (annotations skipped).
pub(super) fn xs_children(set: &SchemaSet, d: usize, node: NodeId) -> Vec<(NodeId, &str)> {
    let doc = &set.docs[d].doc;
    doc.child_elements(node)
        .filter_map(|c| doc.element(c).map(|e| (c, e)))
        .filter(|(_, e)| e.ns.as_deref() == Some(XS) && e.local != "annotation")
        .map(|(c, e)| (c, e.local.as_str()))
        .collect()
}

/// `xs:annotation/xs:documentation` of `node`, white space collapsed; only the Russian ones
/// (`xml:lang="ru"`) when the schema documents in several languages.
pub(super) fn documentation(set: &SchemaSet, d: usize, node: NodeId) -> Option<String> {
    let doc = &set.docs[d].doc;
    let annotation = doc.child(node, XS, "annotation")?;
    let texts: Vec<(Option<&str>, String)> = doc
        .child_elements(annotation)
        .filter_map(|c| {
            doc.element(c)
                .filter(|e| e.is(XS, "documentation"))
                .map(|e| (c, e))
        })
        .map(|(c, e)| {
            let lang = e
                .attrs
                .iter()
                .find(|a| a.local == "lang" && a.ns.as_deref() == Some(XML_NS))
                .map(|a| a.value.as_str());
            (
                lang,
                doc.text(c).split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let russian = texts.iter().any(|(l, _)| *l == Some("ru"));
    let chosen: Vec<String> = texts
        .into_iter()
        .filter(|(l, _)| !russian || *l == Some("ru"))
        .map(|(_, t)| t)
        .collect();
    (!chosen.is_empty()).then(|| chosen.join("\n"))
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

impl<'a> Resolver<'a> {
    pub(super) fn attr(&self, d: usize, node: NodeId, name: &str) -> Option<&'a str> {
        self.set.docs[d]
            .doc
            .element(node)
            .and_then(|e| e.attr(name))
    }

    pub(super) fn unsupported(&self, d: usize, what: String) -> XsdError {
        XsdError::Unsupported {
            file: self.set.docs[d].path.clone(),
            what,
        }
    }

    pub(super) fn qname(&self, d: usize, node: NodeId, value: &str) -> Result<QName, XsdError> {
        resolve_qname(self.set, d, node, value)
    }

    pub(super) fn lookup(&self, d: usize, space: Space, q: &QName) -> Result<At, XsdError> {
        self.components
            .get(space, q)
            .ok_or_else(|| XsdError::Unresolved {
                file: self.set.docs[d].path.clone(),
                what: space.noun(),
                name: q.to_string(),
            })
    }

    /// Counts one node of the tree against the budget.
    fn count(&mut self) -> Result<(), XsdError> {
        self.nodes += 1;
        if self.nodes > MAX_TREE_NODES {
            return Err(XsdError::TreeTooLarge {
                root: self.root.clone(),
                limit: format!("{MAX_TREE_NODES} fields"),
            });
        }
        Ok(())
    }

    /// Runs `f` one level deeper, refusing trees deeper than the limit.
    fn deeper<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, XsdError>,
    ) -> Result<T, XsdError> {
        self.depth += 1;
        if self.depth > MAX_TREE_DEPTH {
            return Err(XsdError::TreeTooLarge {
                root: self.root.clone(),
                limit: format!("{MAX_TREE_DEPTH} levels"),
            });
        }
        let out = f(self);
        self.depth -= 1;
        out
    }

    /// Runs `f` with a named type or group marked as being expanded; `None` if it already is.
    pub(super) fn guarded<T>(
        &mut self,
        key: (Space, QName),
        f: impl FnOnce(&mut Self) -> Result<T, XsdError>,
    ) -> Result<Option<T>, XsdError> {
        if self.expanding.contains(&key) {
            return Ok(None);
        }
        self.expanding.push(key);
        let out = f(self);
        self.expanding.pop();
        out.map(Some)
    }

    fn occurs(&self, d: usize, node: NodeId) -> Result<(u32, Occurs), XsdError> {
        let number = |v: &str, what: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| self.unsupported(d, format!("{what}={v:?} is not a count")))
        };
        let min = match self.attr(d, node, "minOccurs") {
            Some(v) => number(v, "minOccurs")?,
            None => 1,
        };
        let max = match self.attr(d, node, "maxOccurs") {
            Some(v) if v.trim() == "unbounded" => Occurs::Unbounded,
            Some(v) => Occurs::Bounded(number(v, "maxOccurs")?),
            None => Occurs::Bounded(1),
        };
        Ok((min, max))
    }

    /// An `xs:element` (global when `global`), with references followed.
    fn element(&mut self, d: usize, node: NodeId, global: bool) -> Result<Field, XsdError> {
        self.count()?;
        let (min, max) = if global {
            (1, Occurs::Bounded(1))
        } else {
            self.occurs(d, node)?
        };
        if let Some(r) = self.attr(d, node, "ref") {
            let q = self.qname(d, node, r)?;
            let at = self.lookup(d, Space::Element, &q)?;
            let mut field = self.element(at.doc, at.node, true)?;
            field.min_occurs = min;
            field.max_occurs = max;
            if let Some(doc) = documentation(self.set, d, node) {
                field.documentation = Some(doc);
            }
            return Ok(field);
        }
        let sd = &self.set.docs[d];
        let name = self
            .attr(d, node, "name")
            .ok_or_else(|| self.unsupported(d, "xs:element without name or ref".into()))?;
        let qualified = global
            || match self.attr(d, node, "form") {
                Some(form) => form == "qualified",
                None => sd.elements_qualified,
            };
        let content = self.deeper(|r| r.element_content(d, node))?;
        let (default, fixed) = match (self.attr(d, node, "fixed"), self.attr(d, node, "default")) {
            (Some(f), _) => (Some(f.to_string()), true),
            (None, v) => (v.map(str::to_string), false),
        };
        // An element without documentation of its own is known by its named type's.
        let own = documentation(self.set, d, node);
        let documentation = match (own, self.attr(d, node, "type")) {
            (Some(doc), _) => Some(doc),
            (None, Some(t)) => self
                .qname(d, node, t)
                .ok()
                .and_then(|q| self.components.get(Space::Type, &q))
                .and_then(|at| documentation(self.set, at.doc, at.node)),
            (None, None) => None,
        };
        Ok(Field {
            kind: FieldKind::Element,
            name: name.to_string(),
            namespace: sd.target_namespace.clone().filter(|_| qualified),
            documentation,
            min_occurs: min,
            max_occurs: max,
            default,
            fixed,
            nillable: self.attr(d, node, "nillable") == Some("true"),
            content,
        })
    }

    fn element_content(&mut self, d: usize, node: NodeId) -> Result<Content, XsdError> {
        if let Some(t) = self.attr(d, node, "type") {
            let q = self.qname(d, node, t)?;
            return self.named_type(d, &q);
        }
        for (child, local) in xs_children(self.set, d, node) {
            match local {
                "complexType" => return self.complex(d, child),
                "simpleType" => {
                    return Ok(Content::Simple {
                        simple: self.simple(d, child, None)?,
                    })
                }
                _ => {}
            }
        }
        Ok(Content::Any)
    }

    /// The content of a type referenced by name (built-in or declared in the set).
    fn named_type(&mut self, d: usize, q: &QName) -> Result<Content, XsdError> {
        if q.is_built_in() {
            return Ok(match q.local.as_str() {
                "anyType" => Content::Any,
                local => Content::Simple {
                    simple: SimpleType {
                        base: local.into(),
                        ..Default::default()
                    },
                },
            });
        }
        let at = self.lookup(d, Space::Type, q)?;
        let is_complex = self.set.docs[at.doc]
            .doc
            .element(at.node)
            .is_some_and(|e| e.local == "complexType");
        let expanded = self.guarded((Space::Type, q.clone()), |r| {
            if is_complex {
                r.complex(at.doc, at.node)
            } else {
                let simple = r.simple(at.doc, at.node, Some(q.to_string()))?;
                Ok(Content::Simple { simple })
            }
        })?;
        Ok(expanded.unwrap_or_else(|| Content::Recursive {
            type_name: q.to_string(),
        }))
    }

    /// An `xs:complexType` (named or anonymous).
    fn complex(&mut self, d: usize, node: NodeId) -> Result<Content, XsdError> {
        let mut attributes = Vec::new();
        let mut children = None;
        let mut text = None;
        let mut mixed = self.attr(d, node, "mixed") == Some("true");
        for (child, local) in xs_children(self.set, d, node) {
            match local {
                "sequence" | "choice" | "all" => children = Some(self.group(d, child)?),
                "group" => children = Some(self.group_ref(d, child)?),
                "attribute" | "attributeGroup" => {
                    self.attributes_into(d, child, &mut attributes)?
                }
                "anyAttribute" => {}
                "complexContent" | "simpleContent" => {
                    if self.attr(d, child, "mixed") == Some("true") {
                        mixed = true;
                    }
                    let derived = self.derived(d, child, local == "simpleContent")?;
                    attributes = derived.0;
                    children = derived.1;
                    text = derived.2;
                }
                other => return Err(self.unsupported(d, format!("xs:{other} in xs:complexType"))),
            }
        }
        Ok(Content::Complex {
            attributes,
            children,
            text,
            mixed,
        })
    }

    /// `xs:complexContent`/`xs:simpleContent` with its `xs:extension` or `xs:restriction`:
    /// the resulting attributes, child group and text type.
    #[allow(clippy::type_complexity)]
    fn derived(
        &mut self,
        d: usize,
        node: NodeId,
        simple_content: bool,
    ) -> Result<(Vec<Field>, Option<Group>, Option<SimpleType>), XsdError> {
        let Some((step, how)) = xs_children(self.set, d, node)
            .into_iter()
            .find(|(_, l)| *l == "extension" || *l == "restriction")
        else {
            return Err(self.unsupported(
                d,
                "xs:complexContent without extension or restriction".into(),
            ));
        };
        let base = self
            .attr(d, step, "base")
            .ok_or_else(|| self.unsupported(d, format!("xs:{how} without base")))?;
        let base = self.qname(d, step, base)?;
        let (mut attributes, base_children, base_text) = match self.named_type(d, &base)? {
            Content::Complex {
                attributes,
                children,
                text,
                ..
            } => (attributes, children, text),
            Content::Simple { simple } => (Vec::new(), None, Some(simple)),
            Content::Any | Content::Recursive { .. } => (Vec::new(), None, None),
        };
        let mut own_children = None;
        let mut own_attributes = Vec::new();
        let mut facets_node = None;
        for (child, local) in xs_children(self.set, d, step) {
            match local {
                "sequence" | "choice" | "all" => own_children = Some(self.group(d, child)?),
                "group" => own_children = Some(self.group_ref(d, child)?),
                "attribute" | "attributeGroup" => {
                    self.attributes_into(d, child, &mut own_attributes)?
                }
                "anyAttribute" => {}
                "simpleType" => facets_node = Some(child),
                _ => facets_node = facets_node.or(Some(step)),
            }
        }
        // A restriction's attribute replaces the base's of the same name; `use="prohibited"`
        // (dropped by `attributes_into`) removes it.
        let prohibited = self.prohibited(d, step);
        attributes.retain(|a| {
            !own_attributes.iter().any(|o| o.name == a.name) && !prohibited.contains(&a.name)
        });
        attributes.extend(own_attributes);
        let children = match (how, base_children, own_children) {
            ("restriction", _, own) => own,
            (_, Some(b), Some(o)) => Some(Group {
                compositor: Compositor::Sequence,
                min_occurs: 1,
                max_occurs: Occurs::Bounded(1),
                documentation: None,
                items: vec![Particle::Group(b), Particle::Group(o)],
            }),
            (_, b, o) => b.or(o),
        };
        let text = match (simple_content, how, base_text) {
            (true, "restriction", Some(mut t)) => {
                self.apply_facets(d, step, &mut t.facets)?;
                Some(t)
            }
            (true, _, t) => t,
            (false, _, _) => None,
        };
        Ok((attributes, children, text))
    }

    /// Names of attributes a derivation step prohibits.
    fn prohibited(&self, d: usize, step: NodeId) -> Vec<String> {
        xs_children(self.set, d, step)
            .into_iter()
            .filter(|(c, l)| *l == "attribute" && self.attr(d, *c, "use") == Some("prohibited"))
            .filter_map(|(c, _)| {
                let name = self.attr(d, c, "name").or_else(|| self.attr(d, c, "ref"))?;
                Some(name.rsplit(':').next().unwrap_or(name).to_string())
            })
            .collect()
    }

    /// A model group (`xs:sequence`, `xs:choice`, `xs:all`).
    fn group(&mut self, d: usize, node: NodeId) -> Result<Group, XsdError> {
        self.count()?;
        let compositor = match self.set.docs[d].doc.element(node).map(|e| e.local.as_str()) {
            Some("choice") => Compositor::Choice,
            Some("all") => Compositor::All,
            _ => Compositor::Sequence,
        };
        let (min_occurs, max_occurs) = self.occurs(d, node)?;
        let mut items = Vec::new();
        for (child, local) in xs_children(self.set, d, node) {
            items.push(match local {
                "element" => {
                    Particle::Element(Box::new(self.deeper(|r| r.element(d, child, false))?))
                }
                "sequence" | "choice" | "all" => Particle::Group(self.group(d, child)?),
                "group" => Particle::Group(self.group_ref(d, child)?),
                "any" => {
                    let (min_occurs, max_occurs) = self.occurs(d, child)?;
                    Particle::Any {
                        namespace: self
                            .attr(d, child, "namespace")
                            .unwrap_or("##any")
                            .to_string(),
                        process_contents: self
                            .attr(d, child, "processContents")
                            .unwrap_or("strict")
                            .to_string(),
                        min_occurs,
                        max_occurs,
                    }
                }
                other => return Err(self.unsupported(d, format!("xs:{other} in a model group"))),
            });
        }
        Ok(Group {
            compositor,
            min_occurs,
            max_occurs,
            documentation: documentation(self.set, d, node),
            items,
        })
    }

    /// `<xs:group ref="…"/>`: the named group's model group, with the reference's occurrence.
    fn group_ref(&mut self, d: usize, node: NodeId) -> Result<Group, XsdError> {
        let r = self
            .attr(d, node, "ref")
            .ok_or_else(|| self.unsupported(d, "xs:group without ref inside a type".into()))?;
        let q = self.qname(d, node, r)?;
        let at = self.lookup(d, Space::Group, &q)?;
        let (min_occurs, max_occurs) = self.occurs(d, node)?;
        let inner = xs_children(self.set, at.doc, at.node)
            .into_iter()
            .find(|(_, l)| matches!(*l, "sequence" | "choice" | "all"));
        let Some((inner, _)) = inner else {
            return Err(self.unsupported(at.doc, format!("group {q} has no model group")));
        };
        let expanded = self.guarded((Space::Group, q.clone()), |r| r.group(at.doc, inner))?;
        let mut group = expanded
            .ok_or_else(|| self.unsupported(at.doc, format!("group {q} contains itself")))?;
        group.min_occurs = min_occurs;
        group.max_occurs = max_occurs;
        Ok(group)
    }

    /// An `xs:attribute` or `xs:attributeGroup` reference, appended to `out`.
    fn attributes_into(
        &mut self,
        d: usize,
        node: NodeId,
        out: &mut Vec<Field>,
    ) -> Result<(), XsdError> {
        let is_group = self.set.docs[d]
            .doc
            .element(node)
            .is_some_and(|e| e.local == "attributeGroup");
        if !is_group {
            if let Some(a) = self.attribute(d, node, false)? {
                out.push(a);
            }
            return Ok(());
        }
        let r = self.attr(d, node, "ref").ok_or_else(|| {
            self.unsupported(d, "xs:attributeGroup without ref inside a type".into())
        })?;
        let q = self.qname(d, node, r)?;
        let at = self.lookup(d, Space::AttributeGroup, &q)?;
        let expanded = self.guarded((Space::AttributeGroup, q.clone()), |r| {
            let mut inner = Vec::new();
            for (child, local) in xs_children(r.set, at.doc, at.node) {
                if local == "attribute" || local == "attributeGroup" {
                    r.attributes_into(at.doc, child, &mut inner)?;
                }
            }
            Ok(inner)
        })?;
        out.extend(expanded.unwrap_or_default());
        Ok(())
    }

    /// An `xs:attribute`; `None` when it is prohibited.
    fn attribute(
        &mut self,
        d: usize,
        node: NodeId,
        global: bool,
    ) -> Result<Option<Field>, XsdError> {
        self.count()?;
        let use_ = self.attr(d, node, "use").unwrap_or("optional");
        if use_ == "prohibited" {
            return Ok(None);
        }
        if let Some(r) = self.attr(d, node, "ref") {
            let q = self.qname(d, node, r)?;
            if q.ns.as_deref() == Some("http://www.w3.org/XML/1998/namespace") {
                return Ok(Some(self.plain_attribute(q, use_)));
            }
            let at = self.lookup(d, Space::Attribute, &q)?;
            let mut field = self.attribute(at.doc, at.node, true)?;
            if let Some(f) = field.as_mut() {
                f.min_occurs = u32::from(use_ == "required");
            }
            return Ok(field);
        }
        let sd = &self.set.docs[d];
        let name = self
            .attr(d, node, "name")
            .ok_or_else(|| self.unsupported(d, "xs:attribute without name or ref".into()))?;
        let qualified = global
            || match self.attr(d, node, "form") {
                Some(form) => form == "qualified",
                None => sd.attributes_qualified,
            };
        let simple = if let Some(t) = self.attr(d, node, "type") {
            let q = self.qname(d, node, t)?;
            match self.named_type(d, &q)? {
                Content::Simple { simple } => simple,
                _ => {
                    return Err(self.unsupported(d, format!("attribute {name} of complex type {q}")))
                }
            }
        } else if let Some((st, _)) = xs_children(self.set, d, node)
            .into_iter()
            .find(|(_, l)| *l == "simpleType")
        {
            self.simple(d, st, None)?
        } else {
            SimpleType {
                base: "anySimpleType".into(),
                ..Default::default()
            }
        };
        let (default, fixed) = match (self.attr(d, node, "fixed"), self.attr(d, node, "default")) {
            (Some(f), _) => (Some(f.to_string()), true),
            (None, v) => (v.map(str::to_string), false),
        };
        Ok(Some(Field {
            kind: FieldKind::Attribute,
            name: name.to_string(),
            namespace: sd.target_namespace.clone().filter(|_| qualified),
            documentation: documentation(self.set, d, node),
            min_occurs: u32::from(use_ == "required"),
            max_occurs: Occurs::Bounded(1),
            default,
            fixed,
            nillable: false,
            content: Content::Simple { simple },
        }))
    }

    /// `xml:lang` and the like: built in, a plain string.
    fn plain_attribute(&self, q: QName, use_: &str) -> Field {
        Field {
            kind: FieldKind::Attribute,
            name: q.local,
            namespace: q.ns,
            documentation: None,
            min_occurs: u32::from(use_ == "required"),
            max_occurs: Occurs::Bounded(1),
            default: None,
            fixed: false,
            nillable: false,
            content: Content::Simple {
                simple: SimpleType {
                    base: "string".into(),
                    ..Default::default()
                },
            },
        }
    }
}
