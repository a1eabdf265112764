//! Business XML built from field values by the schema: element order, namespaces and which
//! alternative of a choice come from the field tree, so neither an agency system nor a form
//! needs a template. Every value is checked against its type on the way ([`super::check`]) and
//! every problem is reported with the path of its field, all at once.
//!
//! Values are a JSON object for the root's content: child elements by local name, attributes as
//! `@name`, simple content as `#text`; a repeated element takes an array; a choice takes the
//! fields of exactly one alternative. Unknown keys are refused, not ignored: a misspelt field
//! would otherwise vanish from the request.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::check::{check, ValueError};
use super::model::*;
use crate::xml::escape;

/// Most values one document may be built from (fields of all repetitions together).
pub const MAX_VALUES: usize = 10_000;

/// A problem with one field: its path (`СведЮЛ/@ИННЮЛ`, `Дети/Ребенок[2]/ФИО`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// The business XML of `root` from `values`, or every field error found.
pub fn from_json(root: &Field, values: &Value) -> Result<String, Vec<FieldError>> {
    let prefixes = namespaces(root);
    let mut b = Builder {
        prefixes: &prefixes,
        out: String::new(),
        errors: Vec::new(),
        values: 0,
    };
    b.element(root, values, String::new(), true);
    if b.errors.is_empty() {
        Ok(b.out)
    } else {
        Err(b.errors)
    }
}

/// Every namespace of the tree with its prefix (`ns1`, `ns2` … in order of appearance).
pub(crate) fn namespaces(root: &Field) -> BTreeMap<String, String> {
    fn field(f: &Field, seen: &mut Vec<String>) {
        if let Some(ns) = &f.namespace {
            if !seen.contains(ns) {
                seen.push(ns.clone());
            }
        }
        if let Content::Complex {
            attributes,
            children,
            ..
        } = &f.content
        {
            attributes.iter().for_each(|a| field(a, seen));
            if let Some(g) = children {
                group(g, seen);
            }
        }
    }
    fn group(g: &Group, seen: &mut Vec<String>) {
        for item in &g.items {
            match item {
                Particle::Element(f) => field(f, seen),
                Particle::Group(sub) => group(sub, seen),
                Particle::Any { .. } => {}
            }
        }
    }
    let mut seen = Vec::new();
    field(root, &mut seen);
    seen.into_iter()
        .enumerate()
        .map(|(i, ns)| (ns, format!("ns{}", i + 1)))
        .collect()
}

/// The name as written, with the prefix of its namespace.
pub(crate) fn tag(f: &Field, prefixes: &BTreeMap<String, String>) -> String {
    match f.namespace.as_ref().and_then(|ns| prefixes.get(ns)) {
        Some(p) => format!("{p}:{}", f.name),
        None => f.name.clone(),
    }
}

/// The namespace declarations the root carries.
pub(crate) fn declarations(prefixes: &BTreeMap<String, String>) -> String {
    prefixes
        .iter()
        .map(|(ns, p)| format!(" xmlns:{p}=\"{}\"", escape::attr(ns)))
        .collect()
}

struct Builder<'a> {
    prefixes: &'a BTreeMap<String, String>,
    out: String,
    errors: Vec<FieldError>,
    values: usize,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}/{name}")
    }
}

/// A JSON scalar as the text of a value.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Builder<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Counts a value against [`MAX_VALUES`]; false once over it.
    fn count(&mut self, path: &str) -> bool {
        self.values += 1;
        if self.values == MAX_VALUES + 1 {
            self.error(
                path,
                format!("больше {MAX_VALUES} значений в одном документе"),
            );
        }
        self.values <= MAX_VALUES
    }

    /// A checked text value of `simple` for field `f` (fixed values win).
    fn text(&mut self, f: &Field, simple: &SimpleType, v: &Value, path: &str) -> Option<String> {
        if v.is_null() {
            self.error(path, ValueError::Missing.to_string());
            return None;
        }
        let Some(text) = scalar(v) else {
            self.error(path, "ожидается значение, а не набор полей");
            return None;
        };
        if let (true, Some(fixed)) = (f.fixed, &f.default) {
            if &text != fixed {
                self.error(path, format!("значение фиксировано схемой: {fixed}"));
                return None;
            }
        }
        match check(simple, &f.name, &text) {
            Ok(()) => Some(text),
            Err(e) => {
                self.error(path, e.to_string());
                None
            }
        }
    }

    fn element(&mut self, f: &Field, v: &Value, path: String, root: bool) {
        if !self.count(&path) {
            return;
        }
        let name = tag(f, self.prefixes);
        let mut open = format!("<{name}");
        if root {
            open.push_str(&declarations(self.prefixes));
        }
        match &f.content {
            Content::Simple { simple } => {
                if let Some(t) = self.text(f, simple, v, &path) {
                    self.out
                        .push_str(&format!("{open}>{}</{name}>", escape::text(&t)));
                }
            }
            Content::Complex {
                attributes,
                children,
                text,
                ..
            } => {
                let empty = Map::new();
                let obj = match v {
                    Value::Object(o) => o,
                    Value::Null => &empty,
                    _ => {
                        self.error(&path, "ожидается набор полей (объект JSON)");
                        return;
                    }
                };
                let mut used = BTreeSet::new();
                for a in attributes {
                    let key = format!("@{}", a.name);
                    let apath = join(&path, &key);
                    let value = match (obj.get(&key), a.fixed, &a.default) {
                        (Some(x), _, _) => Some(x.clone()),
                        (None, true, Some(fixed)) => Some(Value::String(fixed.clone())),
                        (None, _, _) if a.required() => {
                            self.error(&apath, ValueError::Missing.to_string());
                            None
                        }
                        (None, _, _) => None,
                    };
                    used.insert(key);
                    if let (Some(x), Content::Simple { simple }) = (value, &a.content) {
                        if let Some(t) = self.text(a, simple, &x, &apath) {
                            open.push_str(&format!(
                                " {}=\"{}\"",
                                tag(a, self.prefixes),
                                escape::attr(&t)
                            ));
                        }
                    }
                }
                self.out.push_str(&open);
                self.out.push('>');
                if let Some(t) = text {
                    used.insert("#text".into());
                    let tpath = join(&path, "#text");
                    match obj.get("#text") {
                        Some(x) => {
                            if let Some(s) = self.text(f, t, x, &tpath) {
                                self.out.push_str(&escape::text(&s));
                            }
                        }
                        None => self.error(&tpath, ValueError::Missing.to_string()),
                    }
                }
                if let Some(g) = children {
                    self.group(g, obj, &path, &mut used);
                }
                for key in obj.keys().filter(|k| !used.contains(*k)) {
                    self.error(&join(&path, key), "такого поля нет в схеме");
                }
                self.out.push_str(&format!("</{name}>"));
            }
            Content::Any | Content::Recursive { .. } => {
                if !v.is_null() {
                    self.error(
                        &path,
                        "произвольный XML здесь не строится из полей: передайте business_xml",
                    );
                }
            }
        }
    }

    fn group(
        &mut self,
        g: &Group,
        obj: &Map<String, Value>,
        path: &str,
        used: &mut BTreeSet<String>,
    ) {
        if g.compositor != Compositor::Choice {
            for item in &g.items {
                self.particle(item, obj, path, used);
            }
            return;
        }
        let present: Vec<&Particle> = g.items.iter().filter(|p| mentions(p, obj)).collect();
        match present.as_slice() {
            [one] => self.particle(one, obj, path, used),
            [] if g.min_occurs == 0 => {}
            [] => {
                let names: Vec<String> = g.items.iter().map(first_name).collect();
                self.error(
                    path,
                    format!("выберите один из вариантов: {}", names.join(" | ")),
                );
            }
            many => {
                let names: Vec<String> = many.iter().map(|p| first_name(p)).collect();
                self.error(
                    path,
                    format!("указаны взаимоисключающие поля: {}", names.join(", ")),
                );
                g.items.iter().for_each(|p| mark(p, used));
            }
        }
    }

    fn particle(
        &mut self,
        p: &Particle,
        obj: &Map<String, Value>,
        path: &str,
        used: &mut BTreeSet<String>,
    ) {
        match p {
            Particle::Element(f) => {
                used.insert(f.name.clone());
                let fpath = join(path, &f.name);
                let occurrences: Vec<&Value> = match obj.get(&f.name) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) if f.max_occurs.repeats() => items.iter().collect(),
                    Some(Value::Array(_)) => {
                        self.error(
                            &fpath,
                            "поле не повторяется: ожидается одно значение, а не список",
                        );
                        return;
                    }
                    Some(one) => vec![one],
                };
                let n = occurrences.len() as u64;
                if n < u64::from(f.min_occurs) {
                    let fixed_simple = f.fixed && matches!(f.content, Content::Simple { .. });
                    match (fixed_simple, &f.default) {
                        (true, Some(v)) if n == 0 => {
                            self.element(f, &Value::String(v.clone()), fpath, false);
                        }
                        _ if n == 0 => self.error(&fpath, ValueError::Missing.to_string()),
                        _ => {
                            self.error(&fpath, format!("нужно не меньше {} значений", f.min_occurs))
                        }
                    }
                    return;
                }
                if let Occurs::Bounded(max) = f.max_occurs {
                    if n > u64::from(max) {
                        self.error(&fpath, format!("не больше {max} значений"));
                        return;
                    }
                }
                let repeated = f.max_occurs.repeats();
                for (i, v) in occurrences.into_iter().enumerate() {
                    let p = if repeated {
                        format!("{fpath}[{}]", i + 1)
                    } else {
                        fpath.clone()
                    };
                    self.element(f, v, p, false);
                }
            }
            Particle::Group(g) => self.group(g, obj, path, used),
            Particle::Any { .. } => {}
        }
    }
}

/// Whether any field of the particle has a value.
fn mentions(p: &Particle, obj: &Map<String, Value>) -> bool {
    match p {
        Particle::Element(f) => obj.get(&f.name).is_some_and(|v| !v.is_null()),
        Particle::Group(g) => g.items.iter().any(|i| mentions(i, obj)),
        Particle::Any { .. } => false,
    }
}

/// Marks the keys of a particle as known (so a conflict is reported once, not as unknown keys).
fn mark(p: &Particle, used: &mut BTreeSet<String>) {
    match p {
        Particle::Element(f) => {
            used.insert(f.name.clone());
        }
        Particle::Group(g) => g.items.iter().for_each(|i| mark(i, used)),
        Particle::Any { .. } => {}
    }
}

/// The name an alternative is known by: its first element.
fn first_name(p: &Particle) -> String {
    match p {
        Particle::Element(f) => f.name.clone(),
        Particle::Group(g) => g.items.first().map(first_name).unwrap_or_default(),
        Particle::Any { .. } => "…".into(),
    }
}
