//! Business XML as a readable table: every leaf element (and attribute) of a document becomes a
//! «поле — значение» row. Field names come from the kind's XSD where it documents the element
//! in Russian (`xs:documentation xml:lang="ru"`), resolved along the element's path from the
//! root, so that `INN` under the request and `INN` under the answer get their own labels.

use std::collections::{BTreeMap, HashMap};

use crate::xml::tree::{Document, NodeId};

const XS: &str = "http://www.w3.org/2001/XMLSchema";
/// Deepest nesting followed in an XSD (types may be recursive).
const MAX_XSD_DEPTH: usize = 24;
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

struct Xsd<'a> {
    doc: &'a Document,
    elements: BTreeMap<String, NodeId>,
    types: BTreeMap<String, NodeId>,
}

fn local_of(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

impl<'a> Xsd<'a> {
    fn new(doc: &'a Document) -> Xsd<'a> {
        let mut elements = BTreeMap::new();
        let mut types = BTreeMap::new();
        for c in doc.child_elements(doc.root()) {
            let Some(e) = doc.element(c) else { continue };
            if e.ns.as_deref() != Some(XS) {
                continue;
            }
            if let Some(name) = e.attr("name") {
                match e.local.as_str() {
                    "element" => {
                        elements.insert(name.to_string(), c);
                    }
                    "complexType" => {
                        types.insert(name.to_string(), c);
                    }
                    _ => {}
                }
            }
        }
        Xsd {
            doc,
            elements,
            types,
        }
    }

    fn is_xs(&self, n: NodeId, local: &str) -> bool {
        self.doc.element(n).is_some_and(|e| e.is(XS, local))
    }

    /// The Russian documentation directly under `n`'s annotation.
    fn doc_of(&self, n: NodeId) -> Option<String> {
        let ann = self
            .doc
            .child_elements(n)
            .find(|c| self.is_xs(*c, "annotation"))?;
        let docs: Vec<NodeId> = self
            .doc
            .child_elements(ann)
            .filter(|c| self.is_xs(*c, "documentation"))
            .collect();
        let ru = docs.iter().copied().find(|d| {
            self.doc.element(*d).is_some_and(|e| {
                e.attrs
                    .iter()
                    .any(|a| a.local == "lang" && a.value.starts_with("ru"))
            })
        });
        let text = self.doc.text(ru?);
        let l = short_label(&text);
        (!l.is_empty()).then_some(l)
    }

    fn walk_element(&self, decl: NodeId, prefix: &str, depth: usize, out: &mut Labels) {
        if depth > MAX_XSD_DEPTH {
            return;
        }
        let Some(e) = self.doc.element(decl) else {
            return;
        };
        let (decl, e) = match e.attr("ref") {
            Some(r) => match self.elements.get(local_of(r)) {
                Some(d) => match self.doc.element(*d) {
                    Some(x) => (*d, x),
                    None => return,
                },
                None => return,
            },
            None => (decl, e),
        };
        let Some(name) = e.attr("name") else { return };
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let named_type = e
            .attr("type")
            .and_then(|t| self.types.get(local_of(t)).copied());
        let label = self
            .doc_of(decl)
            .or_else(|| named_type.and_then(|t| self.doc_of(t)));
        if let Some(l) = label {
            out.entry(path.clone()).or_insert(l);
        }
        if let Some(ct) = self
            .doc
            .child_elements(decl)
            .find(|c| self.is_xs(*c, "complexType"))
        {
            self.walk_content(ct, &path, depth + 1, out);
        } else if let Some(t) = named_type {
            self.walk_content(t, &path, depth + 1, out);
        }
    }

    /// Walks a complexType (or a model group inside one) for element declarations.
    fn walk_content(&self, n: NodeId, path: &str, depth: usize, out: &mut Labels) {
        if depth > MAX_XSD_DEPTH {
            return;
        }
        for c in self.doc.child_elements(n) {
            let Some(e) = self.doc.element(c) else {
                continue;
            };
            if e.ns.as_deref() != Some(XS) {
                continue;
            }
            match e.local.as_str() {
                "element" => self.walk_element(c, path, depth + 1, out),
                "sequence" | "choice" | "all" | "complexContent" => {
                    self.walk_content(c, path, depth + 1, out)
                }
                "extension" | "restriction" => {
                    if let Some(base) = e.attr("base").and_then(|b| self.types.get(local_of(b))) {
                        self.walk_content(*base, path, depth + 1, out);
                    }
                    self.walk_content(c, path, depth + 1, out);
                }
                _ => {}
            }
        }
    }
}

/// Labels of the elements under the global element `root` of an XSD (paths relative to the
/// root; the root itself under "").
pub fn labels_from_xsd(xsd: &str, root: &str) -> Labels {
    let mut out = Labels::new();
    let Ok(doc) = Document::parse_str(xsd) else {
        return out;
    };
    let x = Xsd::new(&doc);
    let Some(decl) = x.elements.get(root).copied() else {
        return out;
    };
    let mut inner = Labels::new();
    x.walk_element(decl, "", 0, &mut inner);
    for (k, v) in inner {
        let rel = match k.split_once('/') {
            Some((_, rest)) => rest.to_string(),
            None => String::new(),
        };
        out.insert(rel, v);
    }
    out
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
        let label = format!(
            "{} (атрибут {})",
            labels
                .get(plain)
                .cloned()
                .unwrap_or_else(|| e.local.clone()),
            a.local
        );
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

    fn schema() -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas/kinds/fns-tax-debt-1.0.xsd");
        std::fs::read_to_string(p).unwrap()
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
        let l = labels_from_xsd(&schema(), "TaxDebtResponse");
        assert_eq!(l["Result"], "Сведения о задолженности");
        assert_eq!(l["Result/INN"], "ИНН налогоплательщика");
        assert_eq!(l["Result/Debts/Debt/Amount"], "Сумма задолженности");
        // The Debt element has no documentation of its own: its type's is used.
        assert!(l["Result/Debts/Debt"].starts_with("Задолженность"));
        let req = labels_from_xsd(&schema(), "TaxDebtRequest");
        assert!(req["Taxpayer/Organization/INN"].starts_with("ИНН организации"));
        assert!(labels_from_xsd("not xml", "X").is_empty());
        assert!(labels_from_xsd(&schema(), "Nope").is_empty());
    }

    #[test]
    fn leaves_become_rows() {
        let labels = labels_from_xsd(&schema(), "TaxDebtResponse");
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
