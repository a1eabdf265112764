//! Business XML as a readable table: every leaf element (and attribute) of a document becomes a
//! «поле — значение» row. Field names come from the kind's field tree (its schema's
//! documentation, in Russian where the schema has both languages), resolved along the
//! element's path from the root, so that `INN` under the request and `INN` under the answer get
//! their own labels — imports and named types included.

use std::collections::HashMap;

use crate::xml::tree::{Document, NodeId};
use crate::xsd::{Content, Field, Group, Particle};

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
    pub value: String,
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
    field_labels(root, "", &mut out, 0);
    out
}

fn field_labels(f: &Field, path: &str, out: &mut Labels, depth: usize) {
    if let Some(doc) = f.documentation.as_deref() {
        out.insert(path.to_string(), short_label(doc));
    }
    let Content::Complex {
        attributes,
        children,
        ..
    } = &f.content
    else {
        return;
    };
    for a in attributes {
        if let Some(doc) = a.documentation.as_deref() {
            out.insert(format!("{path}/@{}", a.name), short_label(doc));
        }
    }
    if let (Some(g), true) = (children, depth < MAX_LABEL_DEPTH) {
        group_labels(g, path, out, depth);
    }
}

fn group_labels(g: &Group, path: &str, out: &mut Labels, depth: usize) {
    for item in &g.items {
        match item {
            Particle::Element(f) => {
                let child = if path.is_empty() {
                    f.name.clone()
                } else {
                    format!("{path}/{}", f.name)
                };
                field_labels(f, &child, out, depth + 1);
            }
            Particle::Group(sub) => group_labels(sub, path, out, depth),
            Particle::Any { .. } => {}
        }
    }
}

fn push(rows: &mut Vec<Row>, group: &[String], label: String, path: String, value: String) {
    if rows.len() < MAX_ROWS {
        rows.push(Row {
            group: group.join(" › "),
            label,
            path,
            value,
        });
    }
}

fn walk(
    doc: &Document,
    n: NodeId,
    shown: &str,
    plain: &str,
    group: &mut Vec<String>,
    labels: &Labels,
    rows: &mut Vec<Row>,
) {
    let Some(e) = doc.element(n) else { return };
    for a in &e.attrs {
        if a.local == "Id" || a.ns.is_some() {
            continue;
        }
        let label = match labels.get(&format!("{plain}/@{}", a.local)) {
            Some(own) => own.clone(),
            None => format!(
                "{} (атрибут {})",
                labels
                    .get(plain)
                    .cloned()
                    .unwrap_or_else(|| e.local.clone()),
                a.local
            ),
        };
        push(
            rows,
            group,
            label,
            format!("{shown}/@{}", a.local),
            a.value.clone(),
        );
    }
    let kids: Vec<NodeId> = doc.child_elements(n).collect();
    if kids.is_empty() {
        if !shown.is_empty() {
            let label = labels
                .get(plain)
                .cloned()
                .unwrap_or_else(|| e.local.clone());
            push(
                rows,
                group,
                label,
                shown.to_string(),
                doc.text(n).trim().to_string(),
            );
        }
        return;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for k in &kids {
        if let Some(c) = doc.element(*k) {
            *counts.entry(c.local.as_str()).or_insert(0) += 1;
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for k in &kids {
        let Some(c) = doc.element(*k) else { continue };
        let repeated = counts.get(c.local.as_str()).copied().unwrap_or(0) > 1;
        let idx = {
            let i = seen.entry(c.local.clone()).or_insert(0);
            *i += 1;
            *i
        };
        let child_plain = if plain.is_empty() {
            c.local.clone()
        } else {
            format!("{plain}/{}", c.local)
        };
        let step = if repeated {
            format!("{}[{idx}]", c.local)
        } else {
            c.local.clone()
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
                .unwrap_or_else(|| c.local.clone());
            group.push(if repeated {
                format!("{base} № {idx}")
            } else {
                base
            });
            walk(doc, *k, &child_shown, &child_plain, group, labels, rows);
            group.pop();
        } else {
            walk(doc, *k, &child_shown, &child_plain, group, labels, rows);
        }
    }
}

/// The rows of a business XML document.
pub fn flatten(xml: &str, labels: &Labels) -> Result<Vec<Row>, String> {
    let doc = Document::parse_str(xml).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let root = doc.root();
    if doc.child_elements(root).next().is_none() {
        if let Some(e) = doc.element(root) {
            push(
                &mut rows,
                &[],
                labels.get("").cloned().unwrap_or_else(|| e.local.clone()),
                e.local.clone(),
                doc.text(root).trim().to_string(),
            );
        }
        return Ok(rows);
    }
    walk(&doc, root, "", "", &mut Vec::new(), labels, &mut rows);
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

    fn labels(root: &str) -> Labels {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/kinds");
        let p = crate::xsd::Package::open(&dir, Some(std::path::Path::new("fns-tax-debt-1.0.xsd")))
            .unwrap();
        labels_from_tree(&p.describe(&p.root(root).unwrap()).unwrap())
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
        let labels = labels("TaxDebtResponse");
        let rows = flatten(ANSWER, &labels).unwrap();
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "RequestID",
                "Result/INN",
                "Result/HasDebt",
                "Result/Debts/Debt[1]/KBK",
                "Result/Debts/Debt[1]/Amount/@currency",
                "Result/Debts/Debt[1]/Amount",
                "Result/Debts/Debt[2]/KBK",
                "Result/Debts/Debt[2]/Amount",
                "Result/Note",
            ]
        );
        assert_eq!(rows[1].label, "ИНН налогоплательщика");
        assert_eq!(rows[1].value, "7707083893");
        assert_eq!(rows[1].group, "Сведения о задолженности");
        assert_eq!(rows[5].label, "Сумма задолженности");
        assert!(rows[5].group.ends_with(" 1"), "{}", rows[5].group);
        assert_eq!(rows[4].value, "RUB");
        // Unknown elements keep their name; text is unescaped here (the template escapes it).
        assert_eq!(rows[8].label, "Note");
        assert_eq!(rows[8].value, "<script> & co");
        // Without labels, element names are used.
        let plain = flatten(ANSWER, &Labels::new()).unwrap();
        assert_eq!(plain[0].label, "RequestID");
        assert_eq!(plain[3].group, "Result › Debts › Debt № 1");
    }

    #[test]
    fn single_element_and_errors() {
        let rows = flatten("<a:X xmlns:a=\"urn:a\">42</a:X>", &Labels::new()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].value, "42");
        assert!(flatten("<a><b></a>", &Labels::new()).is_err());
    }
}
