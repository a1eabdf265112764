//! The «Создать запрос» form of a kind made from its request schema, for kinds without
//! hand-written `fields` and `template`: nested sections for elements, attributes as fields,
//! radio buttons for the alternatives of a choice, «Добавить ещё» for repeated elements,
//! selects for enumerations, labels from the schema's documentation — and, back from the
//! browser, the values as the JSON that `xsd::build` turns into the business XML.
//!
//! A form field is named by the path of its value in the tree, exactly as `xsd::build` names
//! it in its errors (`ЗапросЮЛ/ОГРН`, `СведЮЛ/@ИННЮЛ`, `Ребенок[2]/ФИО`), so each error lands
//! beside its field. Choices and counts of repetitions travel as form fields too: the page
//! works without JavaScript.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{Context, KindFields};
use crate::xsd::{Compositor, Content, Field, FieldKind, Group, Occurs, Particle, SimpleType};

use super::choice::Choice;
use super::forms::{FieldError, FormData};

/// Form-field prefix of a value.
pub(crate) const VALUE: &str = "x:";
/// Form-field prefix of the chosen alternative of a choice.
pub(crate) const CHOICE: &str = "c:";
/// Form-field prefix of the number of occurrences of a repeated element.
pub(crate) const COUNT: &str = "n:";
/// The button that adds one occurrence (its value is the element's path).
pub(crate) const ADD: &str = "add";
/// Most occurrences of one element the form shows.
const MAX_SHOWN: usize = 50;
/// Longest documentation used as a label (longer ones become the hint).
const MAX_LABEL_CHARS: usize = 120;

/// One line of the form, in document order (sections open and close around their fields).
#[derive(Debug, Serialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub(crate) enum Row {
    Open {
        legend: String,
        required: bool,
        error: Option<String>,
    },
    Close,
    Input(Input),
    Choice {
        name: String,
        legend: String,
        options: Vec<ChoiceOption>,
        error: Option<String>,
    },
    AltOpen {
        active: bool,
    },
    AltClose,
    ChoiceClose,
    Add {
        count_name: String,
        count: usize,
        path: String,
        label: String,
    },
}

/// A field to fill.
#[derive(Debug, Serialize)]
pub(crate) struct Input {
    pub name: String,
    pub label: String,
    pub hint: String,
    pub required: bool,
    /// `text`, `date` or `select`.
    pub kind: &'static str,
    pub options: Vec<Choice>,
    pub value: String,
    pub error: Option<String>,
    pub maxlength: Option<u64>,
}

/// An alternative of a choice.
#[derive(Debug, Serialize)]
pub(crate) struct ChoiceOption {
    pub value: usize,
    pub label: String,
    pub checked: bool,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}/{name}")
    }
}

/// Label and hint of a field: its documentation, or its name when the schema has none.
fn label(f: &Field) -> (String, String) {
    let doc = f.documentation.clone().or_else(|| match &f.content {
        Content::Simple { simple } => simple.documentation.clone(),
        _ => None,
    });
    match doc {
        Some(d) if d.chars().count() <= MAX_LABEL_CHARS => (d, String::new()),
        Some(d) => (f.name.clone(), d),
        None => (f.name.clone(), String::new()),
    }
}

/// A short Russian description of what the type accepts.
fn type_hint(s: &SimpleType) -> String {
    let f = &s.facets;
    match (f.length, f.min_length, f.max_length) {
        (Some(n), _, _) => format!("ровно {n} симв."),
        (None, Some(a), Some(b)) if a > 1 => format!("от {a} до {b} симв."),
        (None, _, Some(b)) => format!("до {b} симв."),
        _ => match s.base.as_str() {
            "integer" | "int" | "long" | "nonNegativeInteger" | "positiveInteger" => {
                "целое число".into()
            }
            "decimal" => "число".into(),
            "gYear" => "год, ГГГГ".into(),
            _ => String::new(),
        },
    }
}

/// The form's rows for the request tree, with the values and errors posted so far; `overrides`
/// are the configured labels by path (without repetition indexes).
pub(crate) fn rows(
    root: &Field,
    form: &FormData,
    errors: &[FieldError],
    overrides: &BTreeMap<String, String>,
) -> Vec<Row> {
    let mut r = Render {
        form,
        errors,
        overrides,
        rows: Vec::new(),
    };
    r.content(root, "", true);
    r.rows
}

struct Render<'a> {
    form: &'a FormData,
    errors: &'a [FieldError],
    overrides: &'a BTreeMap<String, String>,
    rows: Vec<Row>,
}

fn error_of(errors: &[FieldError], name: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == name)
        .map(|e| e.message.clone())
}

/// How many occurrences of a repeated element the form shows.
fn count(form: &FormData, f: &Field, path: &str) -> usize {
    let least = (f.min_occurs as usize).max(1);
    let most = match f.max_occurs {
        Occurs::Bounded(n) => (n as usize).min(MAX_SHOWN),
        Occurs::Unbounded => MAX_SHOWN,
    };
    let mut n = form.get(&format!("{COUNT}{path}")).parse().unwrap_or(least);
    if form.get(ADD) == path {
        n += 1;
    }
    n.clamp(least.min(most), most.max(1))
}

/// The chosen alternative of the choice at `key`.
fn chosen(form: &FormData, key: &str, alternatives: usize) -> usize {
    form.get(&format!("{CHOICE}{key}"))
        .parse()
        .ok()
        .filter(|i| *i < alternatives)
        .unwrap_or(0)
}

fn alternative_label(p: &Particle) -> String {
    match p {
        Particle::Element(f) => label(f).0,
        Particle::Group(g) => g.items.first().map(alternative_label).unwrap_or_default(),
        Particle::Any { .. } => "…".into(),
    }
}

/// A path without its repetition indexes (`Ребенок[2]/ФИО` → `Ребенок/ФИО`), as labels are
/// configured.
fn plain(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => skipping = true,
            ']' => skipping = false,
            c if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

impl Render<'_> {
    /// The configured label of the field at `path`, else the schema's.
    fn label_at(&self, f: &Field, path: &str) -> (String, String) {
        match self.overrides.get(&plain(path)) {
            Some(l) => (l.clone(), label(f).1),
            None => label(f),
        }
    }

    fn input(&mut self, f: &Field, simple: &SimpleType, path: String, required: bool) {
        let name = format!("{VALUE}{path}");
        let (label, doc_hint) = self.label_at(f, &path);
        let hint = [doc_hint, type_hint(simple)]
            .into_iter()
            .filter(|h| !h.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let (kind, options) = if !simple.facets.enumeration.is_empty() {
            let mut options = vec![Choice::new("", "— выберите —")];
            options.extend(simple.facets.enumeration.iter().map(|e| {
                let shown = match &e.documentation {
                    Some(d) => format!("{} — {d}", e.value),
                    None => e.value.clone(),
                };
                Choice::new(e.value.clone(), shown)
            }));
            ("select", options)
        } else if simple.base == "boolean" {
            let yes_no = [("", "— выберите —"), ("true", "да"), ("false", "нет")];
            (
                "select",
                yes_no.iter().map(|(v, l)| Choice::new(*v, *l)).collect(),
            )
        } else if simple.base == "date" {
            ("date", Vec::new())
        } else {
            ("text", Vec::new())
        };
        let value = match (self.form.get(&name), f.fixed, &f.default) {
            ("", true, Some(v)) => v.clone(),
            (v, _, _) => v.to_string(),
        };
        self.rows.push(Row::Input(Input {
            error: error_of(self.errors, &name),
            name,
            label,
            hint,
            required,
            kind,
            options,
            value,
            maxlength: simple.facets.length.or(simple.facets.max_length),
        }));
    }

    /// The content of element `f` at `path` (the root's content is at "").
    fn content(&mut self, f: &Field, path: &str, required: bool) {
        match &f.content {
            Content::Simple { simple } => self.input(f, simple, path.to_string(), required),
            Content::Complex {
                attributes,
                children,
                text,
                ..
            } => {
                for a in attributes
                    .iter()
                    .filter(|a| !(a.fixed && a.default.is_some()))
                {
                    if let Content::Simple { simple } = &a.content {
                        self.input(
                            a,
                            simple,
                            join(path, &format!("@{}", a.name)),
                            required && a.required(),
                        );
                    }
                }
                if let Some(t) = text {
                    self.input(f, t, join(path, "#text"), required);
                }
                if let Some(g) = children {
                    let mut choices = 0;
                    self.group(g, path, required, &mut choices);
                }
            }
            Content::Any | Content::Recursive { .. } => {}
        }
    }

    fn element(&mut self, f: &Field, path: String, required: bool) {
        if matches!(f.content, Content::Complex { .. }) {
            let (legend, _) = self.label_at(f, &path);
            self.rows.push(Row::Open {
                error: error_of(self.errors, &format!("{VALUE}{path}")),
                legend,
                required,
            });
            self.content(f, &path, required);
            self.rows.push(Row::Close);
        } else {
            self.content(f, &path, required);
        }
    }

    fn group(&mut self, g: &Group, path: &str, required: bool, choices: &mut usize) {
        let required = required && g.min_occurs > 0;
        if g.compositor != Compositor::Choice {
            for item in &g.items {
                self.particle(item, path, required, choices);
            }
            return;
        }
        let key = format!("{path}#{choices}");
        *choices += 1;
        let active = chosen(self.form, &key, g.items.len());
        self.rows.push(Row::Choice {
            name: format!("{CHOICE}{key}"),
            legend: g
                .documentation
                .clone()
                .unwrap_or_else(|| "Выберите один из вариантов".into()),
            options: g
                .items
                .iter()
                .enumerate()
                .map(|(i, p)| ChoiceOption {
                    value: i,
                    label: alternative_label(p),
                    checked: i == active,
                })
                .collect(),
            error: error_of(self.errors, &format!("{VALUE}{path}")),
        });
        for (i, item) in g.items.iter().enumerate() {
            self.rows.push(Row::AltOpen {
                active: i == active,
            });
            self.particle(item, path, required && i == active, choices);
            self.rows.push(Row::AltClose);
        }
        self.rows.push(Row::ChoiceClose);
    }

    fn particle(&mut self, p: &Particle, path: &str, required: bool, choices: &mut usize) {
        match p {
            Particle::Element(f) if f.max_occurs.repeats() => {
                let base = join(path, &f.name);
                let n = count(self.form, f, &base);
                for i in 1..=n {
                    self.element(
                        f,
                        format!("{base}[{i}]"),
                        required && f.min_occurs as usize >= i,
                    );
                }
                let more = match f.max_occurs {
                    Occurs::Bounded(m) => n < m as usize,
                    Occurs::Unbounded => n < MAX_SHOWN,
                };
                if more {
                    self.rows.push(Row::Add {
                        count_name: format!("{COUNT}{base}"),
                        count: n,
                        path: base,
                        label: format!("Добавить ещё: {}", label(f).0),
                    });
                } else {
                    self.rows.push(Row::Add {
                        count_name: format!("{COUNT}{base}"),
                        count: n,
                        path: String::new(),
                        label: String::new(),
                    });
                }
            }
            Particle::Element(f) => self.element(f, join(path, &f.name), required && f.required()),
            Particle::Group(g) => self.group(g, path, required, choices),
            Particle::Any { .. } => {}
        }
    }
}

/// A kind whose forms are made from its schema — one without hand-written `fields` and
/// `template` whose schema the model describes — with its field trees and configured labels.
/// The same rule serves «Создать запрос» (request root) and the answer to an incoming request
/// (response root).
pub(crate) fn schema_kind<'a>(
    ctx: &'a Context,
    kind_id: &str,
) -> Option<(&'a KindFields, &'a BTreeMap<String, String>)> {
    let k = ctx.kinds.get(kind_id)?;
    let hand_written = !k.config.fields.is_empty() || !k.config.template.trim().is_empty();
    if hand_written {
        return None;
    }
    Some((k.fields.as_deref()?, &k.config.labels))
}

/// The business XML of `root` built from the posted form, or each problem as the error of the
/// form field it concerns.
pub(crate) fn build(root: &Field, form: &FormData) -> Result<String, Vec<FieldError>> {
    crate::xsd::build::from_json(root, &values(root, form)).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| FieldError {
                field: format!("{VALUE}{}", e.path),
                message: e.message,
            })
            .collect()
    })
}

/// The posted values as the JSON `xsd::build::from_json` takes, following the same choices and
/// counts the form showed.
pub(crate) fn values(root: &Field, form: &FormData) -> Value {
    content_value(root, "", form, true).unwrap_or(Value::Object(Map::new()))
}

/// `required`: the element must be there (its parents are, and it is not optional) — only then
/// does a choice inside it answer with an empty alternative.
fn content_value(f: &Field, path: &str, form: &FormData, required: bool) -> Option<Value> {
    match &f.content {
        Content::Simple { .. } => {
            let v = form.get(&format!("{VALUE}{path}")).trim();
            (!v.is_empty()).then(|| Value::String(v.to_string()))
        }
        Content::Complex {
            attributes,
            children,
            text,
            ..
        } => {
            let mut obj = Map::new();
            for a in attributes.iter().filter(|a| a.kind == FieldKind::Attribute) {
                let key = format!("@{}", a.name);
                let v = form.get(&format!("{VALUE}{}", join(path, &key))).trim();
                if !v.is_empty() {
                    obj.insert(key, Value::String(v.to_string()));
                }
            }
            if text.is_some() {
                let v = form.get(&format!("{VALUE}{}", join(path, "#text"))).trim();
                if !v.is_empty() {
                    obj.insert("#text".into(), Value::String(v.to_string()));
                }
            }
            if let Some(g) = children {
                let mut choices = 0;
                group_values(g, path, form, &mut obj, &mut choices, required);
            }
            (!obj.is_empty() || path.is_empty()).then_some(Value::Object(obj))
        }
        Content::Any | Content::Recursive { .. } => None,
    }
}

fn group_values(
    g: &Group,
    path: &str,
    form: &FormData,
    obj: &mut Map<String, Value>,
    choices: &mut usize,
    required: bool,
) {
    let required = required && g.min_occurs > 0;
    if g.compositor != Compositor::Choice {
        for item in &g.items {
            particle_values(item, path, form, obj, choices, required);
        }
        return;
    }
    let key = format!("{path}#{choices}");
    *choices += 1;
    let active = chosen(form, &key, g.items.len());
    for (i, item) in g.items.iter().enumerate() {
        if i == active {
            let before = obj.len();
            particle_values(item, path, form, obj, choices, required);
            // A required choice answers with the alternative chosen even when it was left
            // empty, so the errors name its fields rather than "choose one".
            if let (true, true, Particle::Element(f)) = (obj.len() == before, required, item) {
                let empty = match f.content {
                    Content::Complex { .. } => Value::Object(Map::new()),
                    _ => Value::String(String::new()),
                };
                let value = if f.max_occurs.repeats() {
                    Value::Array(vec![empty])
                } else {
                    empty
                };
                obj.insert(f.name.clone(), value);
            }
        } else {
            // Keep the numbering of later choices the same as when the form was drawn.
            let mut ignored = Map::new();
            particle_values(item, path, form, &mut ignored, choices, false);
        }
    }
}

fn particle_values(
    p: &Particle,
    path: &str,
    form: &FormData,
    obj: &mut Map<String, Value>,
    choices: &mut usize,
    required: bool,
) {
    match p {
        Particle::Element(f) if f.max_occurs.repeats() => {
            let base = join(path, &f.name);
            let n = count(form, f, &base);
            let mut items: Vec<Value> = (1..=n)
                .map(|i| {
                    let needed = required && i <= f.min_occurs as usize;
                    content_value(f, &format!("{base}[{i}]"), form, needed).unwrap_or(Value::Null)
                })
                .collect();
            while items.last().is_some_and(Value::is_null) && items.len() > f.min_occurs as usize {
                items.pop();
            }
            if !items.is_empty() {
                obj.insert(f.name.clone(), Value::Array(items));
            }
        }
        Particle::Element(f) => {
            if let Some(v) = content_value(f, &join(path, &f.name), form, required && f.required())
            {
                obj.insert(f.name.clone(), v);
            }
        }
        Particle::Group(g) => group_values(g, path, form, obj, choices, required),
        Particle::Any { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax_tree() -> Field {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/kinds");
        let p =
            crate::xsd::Package::open(&root, Some(std::path::Path::new("fns-tax-debt-1.0.xsd")))
                .unwrap();
        p.describe(&p.root("TaxDebtRequest").unwrap()).unwrap()
    }

    #[test]
    fn posted_fields_become_the_values_of_the_chosen_alternative() {
        let form = FormData(
            [
                ("x:RequestID", "R-1"),
                ("c:Taxpayer#0", "1"),
                ("x:Taxpayer/Organization/INN", "7707329152"),
                ("x:Taxpayer/Person/INN", "500100732259"),
                ("x:OnDate", "2026-12-01"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let v = values(&tax_tree(), &form);
        assert_eq!(
            v,
            serde_json::json!({"RequestID": "R-1", "Taxpayer": {"Person": {"INN": "500100732259"}}, "OnDate": "2026-12-01"})
        );
    }
}
