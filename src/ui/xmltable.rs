//! Business XML as a readable table: every leaf element (and attribute) of a document becomes a
//! «поле — значение» row. Field names come from the kind's field tree (its schema's
//! documentation, in Russian where the schema has both languages), resolved along the
//! element's path from the root, so that `INN` under the request and `INN` under the answer get
//! their own labels — imports and named types included.

use std::collections::HashMap;

use crate::xml::tree::{Document, NodeId};
use crate::xsd::{Content, Field, Group, Particle};

use super::value_text::{self, Shapes};

/// Deepest nesting labelled (the tree itself is bounded and cut at recursion).
const MAX_LABEL_DEPTH: usize = 64;
/// Most rows shown for one document.
const MAX_ROWS: usize = 2000;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Labels of the enclosing elements ("Задолженность 2 › …"), empty at the top level.
    pub group: String,
    /// The field's label (Russian from the XSD, or the element name).
    pub label: String,
    /// Technical path, e.g. `Result/Debts/Debt[2]/Amount`.
    pub path: String,
    /// The value exactly as in the XML.
    pub value: String,
    /// The value as a clerk reads it («Да», «03.12.2026», «15 230,50 руб.», an enumeration's
    /// text); equal to `value` where nothing applies.
    pub text: String,
}

/// What a document's table is made with: labels and value shapes of the kind's schema.
#[derive(Debug, Clone, Default)]
pub struct Legend {
    pub labels: Labels,
    pub shapes: Shapes,
}

impl Legend {
    /// Labels and shapes of the fields under a root of a kind's field tree.
    pub fn from_tree(root: &Field) -> Legend {
        Legend {
            labels: labels_from_tree(root),
            shapes: value_text::shapes_from_tree(root),
        }
    }
}

/// Labels of a kind: element path relative to a root (`Result/Debts/Debt/Amount`, no
/// indexes) → short Russian label.
pub type Labels = HashMap<String, String>;

/// Shortens an XSD documentation sentence to a label: up to the first `(`, `,`, `:`, `;` or
/// period, whitespace collapsed.
pub fn short_label(doc: &str) -> String {
    let collapsed: String = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut = collapsed
        .find(['(', ',', ':', ';', '.'])
        .unwrap_or(collapsed.len());
    let s = collapsed[..cut].trim();
    if s.is_empty() {
        collapsed.trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Labels of the fields under a root of a kind's field tree (paths relative to the root, the
/// root itself under "", attributes as `path/@name`): the short form of each field's
/// documentation, which the schema model reads in Russian where the schema has both languages.
pub fn labels_from_tree(root: &Field) -> Labels {
    let mut out = Labels::new();
    visit_tree(root, &mut |path, f| {
        if let Some(doc) = f.documentation.as_deref() {
            out.insert(path.to_string(), short_label(doc));
        }
    });
    out
}

/// Calls `visit` with every field under `root` (the root included) and its path relative to
/// the root: element names joined by `/`, no indexes, attributes as `path/@name`.
pub(super) fn visit_tree(root: &Field, visit: &mut dyn FnMut(&str, &Field)) {
    visit_field(root, "", visit, 0);
}

fn visit_field(f: &Field, path: &str, visit: &mut dyn FnMut(&str, &Field), depth: usize) {
    visit(path, f);
    let Content::Complex {
        attributes,
        children,
        ..
    } = &f.content
    else {
        return;
    };
    for a in attributes {
        visit(&format!("{path}/@{}", a.name), a);
    }
    if let (Some(g), true) = (children, depth < MAX_LABEL_DEPTH) {
        visit_group(g, path, visit, depth);
    }
}

fn visit_group(g: &Group, path: &str, visit: &mut dyn FnMut(&str, &Field), depth: usize) {
    for item in &g.items {
        match item {
            Particle::Element(f) => {
                let child = if path.is_empty() {
                    f.name.clone()
                } else {
                    format!("{path}/{}", f.name)
                };
                visit_field(f, &child, visit, depth + 1);
            }
            Particle::Group(sub) => visit_group(sub, path, visit, depth),
            Particle::Any { .. } => {}
        }
    }
}

fn push(
    rows: &mut Vec<Row>,
    group: &[String],
    label: String,
    path: String,
    value: String,
    text: String,
) {
    if rows.len() < MAX_ROWS {
        rows.push(Row {
            group: group.join(" › "),
            label,
            path,
            value,
            text,
        });
    }
}

fn walk(
    doc: &Document,
    n: NodeId,
    shown: &str,
    plain: &str,
    group: &mut Vec<String>,
    legend: &Legend,
    rows: &mut Vec<Row>,
) {
    let labels = &legend.labels;
    let Some(e) = doc.element(n) else { return };
    let kids: Vec<NodeId> = doc.child_elements(n).collect();
    // An amount's currency attribute reads as part of the amount («15 230,50 руб.»).
    let leaf_text = doc.text(n).trim().to_string();
    let currency = e
        .attrs
        .iter()
        .find(|a| a.ns.is_none() && value_text::is_currency_attribute(&a.local))
        .filter(|_| kids.is_empty() && value_text::amount(&leaf_text, None).is_some());
    for a in &e.attrs {
        if a.local == "Id" || a.ns.is_some() {
            continue;
        }
        if currency.is_some_and(|c| std::ptr::eq(c, a)) {
            continue;
        }
        let label = match labels.get(&format!("{plain}/@{}", a.local)) {
            Some(own) => own.clone(),
            None => format!(
                "{} (атрибут {})",
                labels
                    .get(plain)
                    .cloned()
                    .unwrap_or_else(|| e.local.to_string()),
                a.local
            ),
        };
        let shape = legend.shapes.get(&format!("{plain}/@{}", a.local));
        push(
            rows,
            group,
            label,
            format!("{shown}/@{}", a.local),
            a.value.clone(),
            value_text::readable(&a.value, shape),
        );
    }
    if kids.is_empty() {
        if !shown.is_empty() {
            let label = labels
                .get(plain)
                .cloned()
                .unwrap_or_else(|| e.local.to_string());
            let text = match currency {
                Some(c) => value_text::amount(&leaf_text, Some(&c.value))
                    .unwrap_or_else(|| leaf_text.clone()),
                None => value_text::readable(&leaf_text, legend.shapes.get(plain)),
            };
            let value = match currency {
                Some(c) => format!("{leaf_text} {}", c.value),
                None => leaf_text,
            };
            push(rows, group, label, shown.to_string(), value, text);
        }
        return;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for k in &kids {
        if let Some(c) = doc.element(*k) {
            *counts.entry(c.local.as_str()).or_insert(0) += 1;
        }
    }
    // A lone currency element beside one amount (`<Amount>…</Amount><Currency>RUB</Currency>`)
    // reads as part of that amount; with several amounts it stays a row of its own.
    let is_leaf = |k: &NodeId| doc.child_elements(*k).next().is_none();
    let plain_of = |local: &str| {
        if plain.is_empty() {
            local.to_string()
        } else {
            format!("{plain}/{local}")
        }
    };
    let amounts: Vec<NodeId> = kids
        .iter()
        .copied()
        .filter(|k| {
            is_leaf(k)
                && doc.element(*k).is_some_and(|c| {
                    legend.shapes.get(&plain_of(&c.local)) == Some(&value_text::Shape::Decimal)
                })
        })
        .collect();
    let currency_sibling = kids
        .iter()
        .copied()
        .find(|k| {
            is_leaf(k)
                && doc.element(*k).is_some_and(|c| {
                    value_text::is_currency_attribute(&c.local)
                        && counts.get(c.local.as_str()) == Some(&1)
                })
        })
        .filter(|_| amounts.len() == 1)
        .map(|k| (k, doc.text(k).trim().to_string()));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for k in &kids {
        let Some(c) = doc.element(*k) else { continue };
        if currency_sibling.as_ref().is_some_and(|(cur, _)| cur == k) {
            continue;
        }
        let repeated = counts.get(c.local.as_str()).copied().unwrap_or(0) > 1;
        let idx = {
            let i = seen.entry(c.local.to_string()).or_insert(0);
            *i += 1;
            *i
        };
        let child_plain = if plain.is_empty() {
            c.local.to_string()
        } else {
            format!("{plain}/{}", c.local)
        };
        let step = if repeated {
            format!("{}[{idx}]", c.local)
        } else {
            c.local.to_string()
        };
        let child_shown = if shown.is_empty() {
            step
        } else {
            format!("{shown}/{step}")
        };
        let has_kids = doc.child_elements(*k).next().is_some();
        if has_kids {
            let base = labels
                .get(&child_plain)
                .cloned()
                .unwrap_or_else(|| c.local.to_string());
            group.push(if repeated {
                format!("{base} № {idx}")
            } else {
                base
            });
            walk(doc, *k, &child_shown, &child_plain, group, legend, rows);
            group.pop();
        } else {
            let before = rows.len();
            walk(doc, *k, &child_shown, &child_plain, group, legend, rows);
            if let (Some((_, cur)), true) = (&currency_sibling, amounts.contains(k)) {
                if let Some(row) = rows[before..].iter_mut().find(|r| r.path == child_shown) {
                    if let Some(t) = value_text::amount(&row.value, Some(cur)) {
                        row.text = t;
                        row.value = format!("{} {cur}", row.value);
                    }
                }
            }
        }
    }
}

/// The rows of a business XML document.
pub fn flatten(xml: &str, legend: &Legend) -> Result<Vec<Row>, String> {
    let doc = Document::parse_str(xml).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let root = doc.root();
    if doc.child_elements(root).next().is_none() {
        if let Some(e) = doc.element(root) {
            let value = doc.text(root).trim().to_string();
            push(
                &mut rows,
                &[],
                legend
                    .labels
                    .get("")
                    .cloned()
                    .unwrap_or_else(|| e.local.to_string()),
                e.local.to_string(),
                value.clone(),
                value_text::readable(&value, legend.shapes.get("")),
            );
        }
        return Ok(rows);
    }
    walk(&doc, root, "", "", &mut Vec::new(), legend, &mut rows);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"<td:TaxDebtResponse xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0" Id="X">
    <td:RequestID>REQ-1</td:RequestID>
    <td:Result>
        <td:INN>7707083893</td:INN>
        <td:HasDebt>true</td:HasDebt>
        <td:Debts>
            <td:Debt><td:KBK>18210102010011000110</td:KBK><td:Amount currency="RUB">15230.50</td:Amount></td:Debt>
            <td:Debt><td:KBK>18210601020041000110</td:KBK><td:Amount>0.99</td:Amount></td:Debt>
        </td:Debts>
        <td:Note>&lt;script&gt; &amp; co</td:Note>
    </td:Result>
</td:TaxDebtResponse>"#;

    fn legend(root: &str) -> Legend {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/kinds");
        let p = crate::xsd::Package::open(&dir, Some(std::path::Path::new("fns-tax-debt-1.0.xsd")))
            .unwrap();
        Legend::from_tree(&p.describe(&p.root(root).unwrap()).unwrap())
    }

    fn labels(root: &str) -> Labels {
        legend(root).labels
    }
    #[test]
    fn short_labels() {
        assert_eq!(
            short_label("  Признак наличия задолженности (true — есть, false — нет). "),
            "Признак наличия задолженности"
        );
        assert_eq!(short_label("ФИО."), "ФИО");
        assert_eq!(
            short_label("Сведения не предоставлены: код."),
            "Сведения не предоставлены"
        );
        assert_eq!(short_label("Без точки"), "Без точки");
    }

    #[test]
    fn labels_follow_paths_in_the_schema() {
        let l = labels("TaxDebtResponse");
        assert_eq!(l["Result"], "Сведения о задолженности");
        assert_eq!(l["Result/INN"], "ИНН налогоплательщика");
        assert_eq!(l["Result/Debts/Debt/Amount"], "Сумма задолженности");
        // The Debt element has no documentation of its own: its type's is used.
        assert!(l["Result/Debts/Debt"].starts_with("Задолженность"));
        let req = labels("TaxDebtRequest");
        assert!(req["Taxpayer/Organization/INN"].starts_with("ИНН организации"));
    }

    #[test]
    fn leaves_become_rows() {
        let rows = flatten(ANSWER, &legend("TaxDebtResponse")).unwrap();
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "RequestID",
                "Result/INN",
                "Result/HasDebt",
                "Result/Debts/Debt[1]/KBK",
                "Result/Debts/Debt[1]/Amount",
                "Result/Debts/Debt[2]/KBK",
                "Result/Debts/Debt[2]/Amount",
                "Result/Note",
            ]
        );
        assert_eq!(rows[1].label, "ИНН налогоплательщика");
        assert_eq!(rows[1].value, "7707083893");
        assert_eq!(rows[1].group, "Сведения о задолженности");
        assert_eq!(rows[4].label, "Сумма задолженности");
        assert!(rows[4].group.ends_with(" 1"), "{}", rows[4].group);
        // Unknown elements keep their name; text is unescaped here (the template escapes it).
        assert_eq!(rows[7].label, "Note");
        assert_eq!(rows[7].value, "<script> & co");
        // Without labels, element names are used.
        let plain = flatten(ANSWER, &Legend::default()).unwrap();
        assert_eq!(plain[0].label, "RequestID");
        assert_eq!(plain[3].group, "Result › Debts › Debt № 1");
    }

    #[test]
    fn values_read_as_the_schema_types_them() {
        let rows = flatten(ANSWER, &legend("TaxDebtResponse")).unwrap();
        let text = |path: &str| {
            rows.iter()
                .find(|r| r.path == path)
                .map(|r| (r.value.as_str(), r.text.as_str()))
                .unwrap()
        };
        assert_eq!(text("Result/HasDebt"), ("true", "Да"));
        // The currency attribute joins its amount; the raw value keeps both.
        assert_eq!(
            text("Result/Debts/Debt[1]/Amount"),
            ("15230.50 RUB", "15\u{202f}230,50 руб.")
        );
        assert_eq!(text("Result/Debts/Debt[2]/Amount"), ("0.99", "0,99"));
        assert_eq!(text("Result/INN"), ("7707083893", "7707083893"));
    }

    #[test]
    fn single_element_and_errors() {
        let rows = flatten("<a:X xmlns:a=\"urn:a\">42</a:X>", &Legend::default()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].value, "42");
        assert!(flatten("<a><b></a>", &Legend::default()).is_err());
    }
}
