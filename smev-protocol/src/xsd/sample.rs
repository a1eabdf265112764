//! A minimal instance of a field tree: every required element and attribute, the first
//! alternative of each choice, one occurrence of each required repetition, and values that
//! satisfy each field's type and facets. mock-smev answers imported kinds with it, and the tests
//! hold it against libxml2 (the schema's own judge).

use std::collections::BTreeMap;

use super::model::*;
use super::{build, pattern};
use crate::xml::escape;

/// The instance of `root` as an XML document (UTF-8, namespaces declared on the root).
pub fn instance(root: &Field) -> String {
    let prefixes = build::namespaces(root);
    let mut out = String::new();
    element(&mut out, root, &prefixes, true);
    out
}

/// The items an instance writes: all of a sequence or `all`, the first alternative of a choice.
fn chosen(g: &Group) -> &[Particle] {
    match g.compositor {
        Compositor::Choice => &g.items[..g.items.len().min(1)],
        _ => &g.items,
    }
}

fn element(out: &mut String, f: &Field, prefixes: &BTreeMap<String, String>, root: bool) {
    let tag = build::tag(f, prefixes);
    out.push('<');
    out.push_str(&tag);
    if root {
        out.push_str(&build::declarations(prefixes));
    }
    let (attributes, children, text) = match &f.content {
        Content::Complex {
            attributes,
            children,
            text,
            ..
        } => (attributes.as_slice(), children.as_ref(), text.as_ref()),
        Content::Simple { simple } => (&[][..], None, Some(simple)),
        Content::Any | Content::Recursive { .. } => (&[][..], None, None),
    };
    for a in attributes.iter().filter(|a| a.required()) {
        let value = field_value(a);
        out.push_str(&format!(
            " {}=\"{}\"",
            build::tag(a, prefixes),
            escape::attr(&value)
        ));
    }
    out.push('>');
    if let Some(t) = text {
        let value = if f.fixed {
            f.default.clone().unwrap_or_default()
        } else {
            value(t)
        };
        out.push_str(&escape::text(&value));
    }
    if let Some(g) = children {
        group(out, g, prefixes);
    }
    out.push_str(&format!("</{tag}>"));
}

fn group(out: &mut String, g: &Group, prefixes: &BTreeMap<String, String>) {
    for _ in 0..g.min_occurs.max(1) {
        for item in chosen(g) {
            match item {
                Particle::Element(f) => {
                    for _ in 0..f.min_occurs {
                        element(out, f, prefixes, false);
                    }
                }
                Particle::Group(sub) if sub.min_occurs > 0 => group(out, sub, prefixes),
                Particle::Any {
                    namespace,
                    process_contents,
                    min_occurs,
                    ..
                } if *min_occurs > 0 && process_contents != "strict" => {
                    out.push_str(&any_element(namespace));
                }
                Particle::Group(_) | Particle::Any { .. } => {}
            }
        }
        if g.min_occurs == 0 {
            break;
        }
    }
}

/// An empty element for a required `xs:any` that is not validated strictly: in the wildcard's
/// namespace when it names one, in an example namespace for `##any`/`##other`.
fn any_element(namespace: &str) -> String {
    let ns = namespace.split_whitespace().find(|n| !n.starts_with("##"));
    let local_only = namespace.split_whitespace().any(|n| n == "##local");
    match (ns, local_only) {
        (Some(ns), _) => format!("<any:Element xmlns:any=\"{}\"/>", escape::attr(ns)),
        (None, true) => "<Element/>".into(),
        (None, false) => "<any:Element xmlns:any=\"urn:example:any\"/>".into(),
    }
}

fn field_value(f: &Field) -> String {
    if let (true, Some(v)) = (f.fixed, &f.default) {
        return v.clone();
    }
    match &f.content {
        Content::Simple { simple } => value(simple),
        _ => String::new(),
    }
}

/// A value of the simple type: an enumeration's first value, a string of the last pattern, or a
/// value of the built-in base within the bounds.
pub fn value(s: &SimpleType) -> String {
    let f = &s.facets;
    if let Some(e) = f.enumeration.first() {
        return e.value.clone();
    }
    if let Some(first) = s.union.first() {
        return value(first);
    }
    let length = f.length.or(f.min_length).map(|l| l as usize);
    let from_pattern = f
        .patterns
        .last()
        .and_then(|step| step.iter().find_map(|p| pattern::example(p, length)));
    if let Some(v) = from_pattern {
        return v;
    }
    let bound = f
        .min_inclusive
        .clone()
        .or_else(|| f.max_inclusive.clone())
        .or_else(|| {
            f.min_exclusive
                .as_deref()
                .and_then(|v| v.parse::<i64>().ok())
                .map(|v| (v + 1).to_string())
        });
    let base = s.base.as_str();
    match base {
        "date" => "2026-01-15".into(),
        "dateTime" => "2026-01-15T10:00:00+03:00".into(),
        "time" => "10:00:00".into(),
        "gYear" => "2026".into(),
        "gYearMonth" => "2026-01".into(),
        "gMonth" => "--01".into(),
        "gDay" => "---15".into(),
        "gMonthDay" => "--01-15".into(),
        "duration" => "P1D".into(),
        "boolean" => "true".into(),
        "base64Binary" => "AAAA".into(),
        "hexBinary" => "00".into(),
        "anyURI" => "urn:example".into(),
        "decimal" | "float" | "double" | "integer" | "int" | "long" | "short" | "byte"
        | "nonNegativeInteger" | "positiveInteger" | "unsignedInt" | "unsignedLong"
        | "unsignedShort" | "unsignedByte" => bound.unwrap_or_else(|| "1".into()),
        "nonPositiveInteger" => bound.unwrap_or_else(|| "0".into()),
        "negativeInteger" => bound.unwrap_or_else(|| "-1".into()),
        _ => {
            let len = f.length.or(f.min_length).unwrap_or(1).max(1) as usize;
            "Т".repeat(len.min(4096))
        }
    }
}
