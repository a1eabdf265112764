//! A field tree as indented text, for `smev-gateway kinds show`: one line per element, attribute
//! or group, with its repetition, type, restrictions and documentation.
//!
//! Repetition is written as in regular expressions: nothing for exactly once, `?` optional, `*`
//! any number, `+` at least one, `{m,n}` otherwise. Attributes start with `@`.

use super::model::*;

/// Most enumeration values listed on one line.
const ENUM_SHOWN: usize = 12;

/// The tree of `root` as text.
pub fn render(root: &Field) -> String {
    let mut out = String::new();
    field(&mut out, root, 0);
    out
}

fn occurs(min: u32, max: Occurs) -> String {
    match (min, max) {
        (1, Occurs::Bounded(1)) => String::new(),
        (0, Occurs::Bounded(1)) => "?".into(),
        (0, Occurs::Unbounded) => "*".into(),
        (1, Occurs::Unbounded) => "+".into(),
        (m, Occurs::Unbounded) => format!("{{{m},}}"),
        (m, Occurs::Bounded(n)) => format!("{{{m},{n}}}"),
    }
}

fn line(out: &mut String, depth: usize, text: &str, doc: Option<&str>) {
    out.push_str(&format!("{:width$}{text}", "", width = depth * 2));
    if let Some(d) = doc {
        let first = d.lines().next().unwrap_or_default();
        out.push_str(&format!("  — {first}"));
    }
    out.push('\n');
}

fn field(out: &mut String, f: &Field, depth: usize) {
    let sigil = if f.kind == FieldKind::Attribute {
        "@"
    } else {
        ""
    };
    let occ = if f.kind == FieldKind::Attribute {
        if f.required() {
            String::new()
        } else {
            "?".into()
        }
    } else {
        occurs(f.min_occurs, f.max_occurs)
    };
    let mut head = format!("{sigil}{}{occ}", f.name);
    let mut doc = f.documentation.as_deref();
    match &f.content {
        Content::Simple { simple } => {
            head.push_str(&format!(" : {}", simple_text(simple)));
            doc = doc.or(simple.documentation.as_deref());
        }
        Content::Complex { text: Some(t), .. } => {
            head.push_str(&format!(" : {}", simple_text(t)));
        }
        Content::Complex { .. } => {}
        Content::Any => head.push_str(" : any XML"),
        Content::Recursive { type_name } => {
            head.push_str(&format!(" : {type_name} (recursive, shown above)"));
        }
    }
    if let Some(v) = &f.default {
        head.push_str(&format!(
            " {} {v:?}",
            if f.fixed { "fixed" } else { "default" }
        ));
    }
    if f.nillable {
        head.push_str(" nillable");
    }
    line(out, depth, &head, doc);
    if let Content::Complex {
        attributes,
        children,
        ..
    } = &f.content
    {
        for a in attributes {
            field(out, a, depth + 1);
        }
        if let Some(g) = children {
            group(out, g, depth + 1, true);
        }
    }
}

/// A model group; the outermost sequence of a type (`flat`) is not a line of its own.
fn group(out: &mut String, g: &Group, depth: usize, flat: bool) {
    let plain = g.compositor == Compositor::Sequence
        && g.min_occurs == 1
        && g.max_occurs == Occurs::Bounded(1);
    let inner = if flat && plain {
        depth
    } else {
        let name = match g.compositor {
            Compositor::Sequence => "sequence",
            Compositor::Choice => "choice of",
            Compositor::All => "all of",
        };
        let occ = occurs(g.min_occurs, g.max_occurs);
        line(
            out,
            depth,
            &format!("({name}){occ}:"),
            g.documentation.as_deref(),
        );
        depth + 1
    };
    for item in &g.items {
        let mut text = String::new();
        match item {
            Particle::Element(f) => field(&mut text, f, inner),
            Particle::Group(sub) => {
                let flat_sub = g.compositor != Compositor::Choice && flat && plain;
                group(&mut text, sub, inner, flat_sub)
            }
            Particle::Any {
                namespace,
                min_occurs,
                max_occurs,
                ..
            } => {
                let occ = occurs(*min_occurs, *max_occurs);
                line(
                    &mut text,
                    inner,
                    &format!("(any element of {namespace}){occ}"),
                    None,
                );
            }
        }
        if g.compositor == Compositor::Choice {
            // Each alternative's first line is marked, as in a grammar.
            text.insert_str(inner * 2, "| ");
        }
        out.push_str(&text);
    }
}

/// `ИННФЛТип (string, length 12, pattern [0-9]{12})`.
pub fn simple_text(s: &SimpleType) -> String {
    let mut parts = Vec::new();
    let f = &s.facets;
    if s.list {
        parts.push(format!("list of {}", s.base));
    } else if !s.union.is_empty() {
        let members: Vec<String> = s.union.iter().map(simple_text).collect();
        parts.push(format!("one of [{}]", members.join(" | ")));
    } else {
        parts.push(s.base.clone());
    }
    if let Some(n) = f.length {
        parts.push(format!("length {n}"));
    }
    match (f.min_length, f.max_length) {
        (Some(a), Some(b)) => parts.push(format!("length {a}..{b}")),
        (Some(a), None) => parts.push(format!("length ≥ {a}")),
        (None, Some(b)) => parts.push(format!("length ≤ {b}")),
        (None, None) => {}
    }
    for step in &f.patterns {
        parts.push(format!("pattern {}", step.join(" | ")));
    }
    if !f.enumeration.is_empty() {
        let shown: Vec<&str> = f
            .enumeration
            .iter()
            .take(ENUM_SHOWN)
            .map(|e| e.value.as_str())
            .collect();
        let more = f.enumeration.len().saturating_sub(ENUM_SHOWN);
        let tail = if more > 0 {
            format!(" … +{more}")
        } else {
            String::new()
        };
        parts.push(format!("one of {{{}{tail}}}", shown.join(", ")));
    }
    let bound = |incl: &Option<String>, excl: &Option<String>, incl_op: &str, excl_op: &str| {
        incl.as_ref()
            .map(|v| format!("{incl_op} {v}"))
            .or_else(|| excl.as_ref().map(|v| format!("{excl_op} {v}")))
    };
    parts.extend(bound(&f.min_inclusive, &f.min_exclusive, "≥", ">"));
    parts.extend(bound(&f.max_inclusive, &f.max_exclusive, "≤", "<"));
    if let Some(t) = f.total_digits {
        parts.push(format!("{t} digits"));
    }
    if let Some(t) = f.fraction_digits {
        parts.push(format!("{t} after the point"));
    }
    let base = parts.remove(0);
    let head = match &s.name {
        Some(n) => n.rsplit('}').next().unwrap_or(n).to_string(),
        None => base.clone(),
    };
    let mut rest = if s.name.is_some() {
        vec![base]
    } else {
        Vec::new()
    };
    rest.extend(parts);
    if rest.is_empty() {
        head
    } else {
        format!("{head} ({})", rest.join(", "))
    }
}
