//! Simple types: a restriction chain followed down to its built-in base with the facets of each
//! step (a derived step replaces its base's bounds and enumeration and adds its own patterns),
//! lists and unions.

use super::components::{QName, Space};
use super::model::{Enumerated, Facets, SimpleType};
use super::resolve::{documentation, xs_children, Resolver};
use super::XsdError;
use crate::xml::NodeId;

impl Resolver<'_> {
    /// An `xs:simpleType` (named when `name` is given).
    pub(super) fn simple(
        &mut self,
        d: usize,
        node: NodeId,
        name: Option<String>,
    ) -> Result<SimpleType, XsdError> {
        let own_doc = documentation(self.set, d, node);
        let Some((step, how)) = xs_children(self.set, d, node).into_iter().next() else {
            return Err(self.unsupported(d, "empty xs:simpleType".into()));
        };
        let mut out = match how {
            "restriction" => {
                let mut base = match self.attr(d, step, "base") {
                    Some(b) => {
                        let q = self.qname(d, step, b)?;
                        self.simple_named(d, &q)?
                    }
                    None => match xs_children(self.set, d, step)
                        .into_iter()
                        .find(|(_, l)| *l == "simpleType")
                    {
                        Some((inner, _)) => self.simple(d, inner, None)?,
                        None => {
                            return Err(self.unsupported(d, "xs:restriction without base".into()))
                        }
                    },
                };
                self.apply_facets(d, step, &mut base.facets)?;
                base
            }
            "list" => {
                let mut item = match self.attr(d, step, "itemType") {
                    Some(t) => {
                        let q = self.qname(d, step, t)?;
                        self.simple_named(d, &q)?
                    }
                    None => match xs_children(self.set, d, step).into_iter().next() {
                        Some((inner, _)) => self.simple(d, inner, None)?,
                        None => return Err(self.unsupported(d, "xs:list without itemType".into())),
                    },
                };
                item.list = true;
                item
            }
            "union" => {
                let mut members = Vec::new();
                if let Some(types) = self.attr(d, step, "memberTypes") {
                    for t in types.split_whitespace() {
                        let q = self.qname(d, step, t)?;
                        members.push(self.simple_named(d, &q)?);
                    }
                }
                for (inner, local) in xs_children(self.set, d, step) {
                    if local == "simpleType" {
                        members.push(self.simple(d, inner, None)?);
                    }
                }
                SimpleType {
                    base: "union".into(),
                    union: members,
                    ..Default::default()
                }
            }
            other => return Err(self.unsupported(d, format!("xs:{other} in xs:simpleType"))),
        };
        out.name = name.or(out.name);
        out.documentation = own_doc.or(out.documentation);
        Ok(out)
    }

    /// A simple type referenced by name.
    pub(super) fn simple_named(&mut self, d: usize, q: &QName) -> Result<SimpleType, XsdError> {
        if q.is_built_in() {
            return Ok(SimpleType {
                base: q.local.clone(),
                ..Default::default()
            });
        }
        let at = self.lookup(d, Space::Type, q)?;
        let is_simple = self.set.docs[at.doc]
            .doc
            .element(at.node)
            .is_some_and(|e| e.local == "simpleType");
        if !is_simple {
            return Err(self.unsupported(
                d,
                format!("{q} is a complex type where a simple type is needed"),
            ));
        }
        let expanded = self.guarded((Space::Type, q.clone()), |r| {
            r.simple(at.doc, at.node, Some(q.to_string()))
        })?;
        expanded
            .ok_or_else(|| self.unsupported(d, format!("simple type {q} is derived from itself")))
    }

    /// The facets of one restriction step, applied over the base's.
    pub(super) fn apply_facets(
        &self,
        d: usize,
        step: NodeId,
        facets: &mut Facets,
    ) -> Result<(), XsdError> {
        let mut patterns = Vec::new();
        let mut enumeration = Vec::new();
        for (f, local) in xs_children(self.set, d, step) {
            let Some(value) = self.attr(d, f, "value") else {
                continue;
            };
            let count = |v: &str| {
                v.trim().parse::<u64>().map_err(|_| {
                    self.unsupported(d, format!("xs:{local} value={v:?} is not a count"))
                })
            };
            match local {
                "pattern" => patterns.push(value.to_string()),
                "enumeration" => enumeration.push(Enumerated {
                    value: value.to_string(),
                    documentation: documentation(self.set, d, f),
                }),
                "length" => facets.length = Some(count(value)?),
                "minLength" => facets.min_length = Some(count(value)?),
                "maxLength" => facets.max_length = Some(count(value)?),
                "totalDigits" => {
                    facets.total_digits = Some(count(value)?.min(u32::MAX.into()) as u32)
                }
                "fractionDigits" => {
                    facets.fraction_digits = Some(count(value)?.min(u32::MAX.into()) as u32)
                }
                "minInclusive" => facets.min_inclusive = Some(value.to_string()),
                "maxInclusive" => facets.max_inclusive = Some(value.to_string()),
                "minExclusive" => facets.min_exclusive = Some(value.to_string()),
                "maxExclusive" => facets.max_exclusive = Some(value.to_string()),
                "whiteSpace" => facets.white_space = Some(value.to_string()),
                _ => {}
            }
        }
        if !patterns.is_empty() {
            facets.patterns.push(patterns);
        }
        if !enumeration.is_empty() {
            facets.enumeration = enumeration;
        }
        Ok(())
    }
}
