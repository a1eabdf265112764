//! Exclusive XML Canonicalization 1.0 (`http://www.w3.org/2001/10/xml-exc-c14n#`), with or
//! without comments and with an InclusiveNamespaces PrefixList, over a whole document or over the
//! subtree of one element (as a same-document XMLDSig reference selects it).
//!
//! Written from the W3C Recommendations "Exclusive XML Canonicalization 1.0" and "Canonical XML
//! 1.0": a namespace declaration is output on an element only when the element or one of its
//! attributes visibly utilizes it (or its prefix is in the PrefixList) and the nearest output
//! ancestor did not already output the same binding; `xml:*` attributes are not inherited.

use std::collections::{HashMap, HashSet};

use super::escape;
use super::tree::{Document, Element, NodeId, NodeKind};

/// Algorithm URI of exclusive canonicalization without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Algorithm URI of exclusive canonicalization with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// Options of one canonicalization.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep comments (the `#WithComments` variant).
    pub with_comments: bool,
    /// InclusiveNamespaces PrefixList; `#default` stands for the default namespace.
    pub inclusive_prefixes: Vec<String>,
}

impl Options {
    /// Exclusive c14n without comments and without inclusive prefixes.
    pub fn exclusive() -> Self {
        Self::default()
    }
}

/// Canonicalizes the whole document.
pub fn canonicalize_document(doc: &Document, opts: &Options) -> Vec<u8> {
    let mut c = Canonicalizer::new(doc, opts, None);
    let top = doc.top_level();
    let root = doc.root();
    let root_pos = top.iter().position(|n| *n == root).unwrap_or(0);
    for (i, n) in top.iter().enumerate() {
        let before = i < root_pos;
        match &doc.node(*n).kind {
            NodeKind::Element(_) => c.element(*n),
            NodeKind::Comment(_) | NodeKind::Pi { .. } => {
                if matches!(doc.node(*n).kind, NodeKind::Comment(_)) && !opts.with_comments {
                    continue;
                }
                if !before {
                    c.out.push(b'\n');
                }
                c.leaf(*n);
                if before {
                    c.out.push(b'\n');
                }
            }
            NodeKind::Text(_) => {}
        }
    }
    c.out
}

/// Canonicalizes the subtree rooted at element `apex` in its document context, leaving out the
/// subtree `exclude` (used for the enveloped-signature transform).
pub fn canonicalize_subtree(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
    opts: &Options,
) -> Vec<u8> {
    let mut c = Canonicalizer::new(doc, opts, exclude);
    if doc.element(apex).is_some() {
        // The subtree sees the namespaces its ancestors declare: gathered once here, then kept
        // incrementally while descending.
        if let Some(parent) = doc.node(apex).parent {
            for (prefix, uri) in doc.in_scope_namespaces(parent) {
                c.scope.entry(prefix).or_default().push(uri);
            }
        }
        c.element(apex);
    } else {
        c.leaf(apex);
    }
    c.out
}

/// Prefix → bindings, innermost last: O(1) lookups however deep or wide the document is.
type Bindings = HashMap<Option<String>, Vec<String>>;

struct Canonicalizer<'d> {
    doc: &'d Document,
    opts: &'d Options,
    exclude: Option<NodeId>,
    out: Vec<u8>,
    /// The namespaces in scope at the current element.
    scope: Bindings,
    /// The bindings output on the open output ancestors.
    rendered: Bindings,
}

fn push(b: &mut Bindings, prefix: &Option<String>, uri: &str) {
    b.entry(prefix.clone()).or_default().push(uri.to_string());
}

fn pop(b: &mut Bindings, prefix: &Option<String>) {
    if let Some(v) = b.get_mut(prefix) {
        v.pop();
        if v.is_empty() {
            b.remove(prefix);
        }
    }
}

impl<'d> Canonicalizer<'d> {
    fn new(doc: &'d Document, opts: &'d Options, exclude: Option<NodeId>) -> Self {
        Canonicalizer {
            doc,
            opts,
            exclude,
            out: Vec::with_capacity(doc.source().len()),
            scope: HashMap::new(),
            rendered: HashMap::new(),
        }
    }

    fn leaf(&mut self, n: NodeId) {
        match &self.doc.node(n).kind {
            NodeKind::Text(t) => escape::c14n_text(&mut self.out, t),
            NodeKind::Comment(t) => {
                if self.opts.with_comments {
                    self.out.extend_from_slice(b"<!--");
                    self.out.extend_from_slice(t.as_bytes());
                    self.out.extend_from_slice(b"-->");
                }
            }
            NodeKind::Pi { target, data } => {
                self.out.extend_from_slice(b"<?");
                self.out.extend_from_slice(target.as_bytes());
                if !data.is_empty() {
                    self.out.push(b' ');
                    self.out.extend_from_slice(data.as_bytes());
                }
                self.out.extend_from_slice(b"?>");
            }
            NodeKind::Element(_) => {}
        }
    }

    fn element(&mut self, n: NodeId) {
        if Some(n) == self.exclude {
            return;
        }
        let doc = self.doc;
        let Some(e) = doc.element(n) else {
            return;
        };
        for d in &e.ns_decls {
            push(&mut self.scope, &d.prefix, &d.uri);
        }
        let scope = &self.scope;
        let lookup = |p: &Option<String>| -> Option<&str> {
            scope.get(p).and_then(|v| v.last()).map(String::as_str)
        };
        let already = |p: &Option<String>, rendered: &Bindings| -> Option<String> {
            rendered.get(p).and_then(|v| v.last()).cloned()
        };
        let rendered = &self.rendered;

        // Prefixes this element must consider: visibly utilized ones plus the PrefixList.
        // Deduplicated by hashing: linear in attributes plus PrefixList entries.
        let mut candidates: Vec<Option<String>> = Vec::new();
        let mut seen: HashSet<Option<String>> = HashSet::new();
        let mut consider = |p: Option<&str>, candidates: &mut Vec<Option<String>>| {
            let p = p.map(str::to_string);
            if seen.insert(p.clone()) {
                candidates.push(p);
            }
        };
        consider(e.prefix.as_deref(), &mut candidates);
        for a in &e.attrs {
            if let Some(p) = a.prefix.as_deref().filter(|p| *p != "xml") {
                consider(Some(p), &mut candidates);
            }
        }
        for p in &self.opts.inclusive_prefixes {
            consider((p != "#default").then_some(p.as_str()), &mut candidates);
        }

        let mut decls: Vec<(Option<String>, String)> = Vec::new();
        for p in candidates {
            if p.as_deref() == Some("xml") {
                continue;
            }
            let uri = lookup(&p).unwrap_or("").to_string();
            let prev = already(&p, rendered);
            match &p {
                None => {
                    // The default namespace: output it when it differs from what the output
                    // ancestors have in effect; "no default namespace" is `xmlns=""` and only
                    // needed to undo a non-empty default output above.
                    let prev = prev.unwrap_or_default();
                    if uri != prev {
                        decls.push((None, uri));
                    }
                }
                Some(_) => {
                    if uri.is_empty() {
                        continue; // not in scope: only possible for PrefixList entries
                    }
                    if prev.as_deref() != Some(uri.as_str()) {
                        decls.push((p, uri));
                    }
                }
            }
        }
        decls.sort_by(|a, b| {
            a.0.as_deref()
                .unwrap_or("")
                .cmp(b.0.as_deref().unwrap_or(""))
        });

        let mut attrs: Vec<&super::tree::Attribute> = e.attrs.iter().collect();
        attrs.sort_by(|a, b| {
            (a.ns.as_deref().unwrap_or(""), a.local.as_str())
                .cmp(&(b.ns.as_deref().unwrap_or(""), b.local.as_str()))
        });

        self.out.push(b'<');
        self.name(e);
        for (p, uri) in &decls {
            match p {
                Some(p) => {
                    self.out.extend_from_slice(b" xmlns:");
                    self.out.extend_from_slice(p.as_bytes());
                }
                None => self.out.extend_from_slice(b" xmlns"),
            }
            self.out.extend_from_slice(b"=\"");
            escape::c14n_attr(&mut self.out, uri);
            self.out.push(b'"');
        }
        for a in attrs {
            self.out.push(b' ');
            if let Some(p) = &a.prefix {
                self.out.extend_from_slice(p.as_bytes());
                self.out.push(b':');
            }
            self.out.extend_from_slice(a.local.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape::c14n_attr(&mut self.out, &a.value);
            self.out.push(b'"');
        }
        self.out.push(b'>');

        for (p, uri) in &decls {
            push(&mut self.rendered, p, uri);
        }
        for c in doc.children(n) {
            if doc.element(*c).is_some() {
                self.element(*c);
            } else {
                self.leaf(*c);
            }
        }
        for (p, _) in &decls {
            pop(&mut self.rendered, p);
        }
        for d in &e.ns_decls {
            pop(&mut self.scope, &d.prefix);
        }

        self.out.extend_from_slice(b"</");
        self.name(e);
        self.out.push(b'>');
    }

    fn name(&mut self, e: &Element) {
        if let Some(p) = &e.prefix {
            self.out.extend_from_slice(p.as_bytes());
            self.out.push(b':');
        }
        self.out.extend_from_slice(e.local.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(s: &str) -> String {
        let doc = Document::parse_str(s).unwrap();
        String::from_utf8(canonicalize_document(&doc, &Options::exclusive())).unwrap()
    }

    #[test]
    fn drops_unused_namespaces_and_sorts_attributes() {
        assert_eq!(
            c14n(r#"<a:r xmlns:a="urn:a" xmlns:u="urn:u" z="1" a:y="2" b="3"/>"#),
            r#"<a:r xmlns:a="urn:a" b="3" z="1" a:y="2"></a:r>"#
        );
    }

    #[test]
    fn subtree_pulls_used_ancestor_namespaces() {
        let doc = Document::parse_str(
            r#"<e:Envelope xmlns:e="urn:e" xmlns:n="urn:n" xmlns="urn:d"><n:Data Id="x"><v>1</v></n:Data></e:Envelope>"#,
        )
        .unwrap();
        let id = doc.find_by_id("x").unwrap();
        let out = canonicalize_subtree(&doc, id, None, &Options::exclusive());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<n:Data xmlns:n="urn:n" Id="x"><v xmlns="urn:d">1</v></n:Data>"#
        );
    }

    #[test]
    fn default_namespace_undeclaration() {
        assert_eq!(
            c14n(r#"<a xmlns="urn:a"><b xmlns=""><c/></b></a>"#),
            r#"<a xmlns="urn:a"><b xmlns=""><c></c></b></a>"#
        );
    }
}
