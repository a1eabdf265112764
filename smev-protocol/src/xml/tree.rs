//! A namespace-aware XML document tree built on quick-xml, keeping what canonicalization needs
//! (namespace declarations as written, normalized attribute values, comments, PIs) and where each
//! element sits in the source bytes (so signed elements can be kept and spliced byte for byte).
//!
//! The parser that builds it is `xml::parser`.

use std::collections::HashMap;
use std::ops::Range;

pub use super::name::Name;
use super::XmlError;

/// Index of a node inside its [`Document`].
pub type NodeId = usize;

pub use super::parser::{
    MAX_ATTRIBUTES, MAX_DEPTH, MAX_NS_DECLS_IN_SCOPE, MAX_NS_DECLS_PER_ELEMENT,
};

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    source: Vec<u8>,
    nodes: Vec<Node>,
    top: Vec<NodeId>,
    root: NodeId,
    ids: HashMap<String, IdEntry>,
    /// The children of every element, element after element ([`Element::children`] ranges).
    child_ids: Vec<NodeId>,
    /// Offsets where lines start, for [`Document::line_column`].
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

#[derive(Debug, Clone, Copy)]
enum IdEntry {
    Unique(NodeId),
    Duplicated,
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Parent element; `None` for top-level nodes.
    pub parent: Option<NodeId>,
    /// What the node is.
    pub kind: NodeKind,
}

/// Node kinds kept by the tree (whitespace outside the root element is not kept).
#[derive(Debug, Clone)]
pub enum NodeKind {
    Element(Element),
    /// Character data after entity resolution and line-end normalization (CDATA merged in).
    Text(String),
    Comment(String),
    Pi {
        target: String,
        data: String,
    },
}

/// A namespace declaration as written on an element. `prefix == None` is the default namespace;
/// an empty `uri` with `prefix == None` is `xmlns=""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsDecl {
    pub prefix: Option<String>,
    pub uri: String,
}

/// An attribute (not a namespace declaration) with its resolved namespace and normalized value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub prefix: Option<Name>,
    pub local: Name,
    /// Namespace URI; `None` for unprefixed attributes.
    pub ns: Option<Name>,
    pub value: String,
}

impl Attribute {
    /// The name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> String {
        qname(self.prefix.as_deref(), &self.local)
    }
}

/// An element.
#[derive(Debug, Clone)]
pub struct Element {
    pub prefix: Option<Name>,
    pub local: Name,
    /// Namespace URI; `None` when the element is in no namespace.
    pub ns: Option<Name>,
    pub ns_decls: Vec<NsDecl>,
    pub attrs: Vec<Attribute>,
    /// Where the element's children sit in the document's list of children (all of them in one
    /// array, in document order): read them with [`Document::children`].
    pub(super) children: Range<usize>,
    /// Source bytes from the `<` of the start tag to the `>` of the end tag.
    pub span: Range<usize>,
    /// Source offset just after the start tag's `>` (where content begins).
    pub content_start: usize,
    /// Source offset of the end tag's `<` (equal to `span.end` for `<empty/>`).
    pub content_end: usize,
    /// Written as `<a/>` in the source.
    pub self_closing: bool,
}

impl Element {
    /// The name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> String {
        qname(self.prefix.as_deref(), &self.local)
    }

    /// Value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.prefix.is_none() && a.local == name)
            .map(|a| a.value.as_str())
    }

    /// Whether the element has namespace `uri` and local name `local`.
    pub fn is(&self, uri: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(uri)
    }
}

fn qname(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    }
}

impl Document {
    /// Parses `input` (UTF-8, optional BOM).
    pub fn parse(input: &[u8]) -> Result<Document, XmlError> {
        super::parser::parse(input)
    }

    /// Parses a string.
    pub fn parse_str(input: &str) -> Result<Document, XmlError> {
        Self::parse(input.as_bytes())
    }

    /// The source bytes the document was parsed from (BOM removed).
    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// The root element.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// Top-level nodes in document order (comments, PIs and the root element).
    pub fn top_level(&self) -> &[NodeId] {
        &self.top
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The element at `id`, if that node is an element.
    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match &self.nodes.get(id)?.kind {
            NodeKind::Element(e) => Some(e),
            _ => None,
        }
    }

    /// Children of `id` (empty for non-elements).
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        self.element(id)
            .and_then(|e| self.child_ids.get(e.children.clone()))
            .unwrap_or(&[])
    }

    /// Child elements of `id`.
    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.children(id)
            .iter()
            .copied()
            .filter(|c| self.element(*c).is_some())
    }

    /// First child element with namespace `uri` and local name `local`.
    pub fn child(&self, id: NodeId, uri: &str, local: &str) -> Option<NodeId> {
        self.child_elements(id)
            .find(|c| self.element(*c).is_some_and(|e| e.is(uri, local)))
    }

    /// First child element with local name `local`, in any namespace.
    pub fn child_by_local(&self, id: NodeId, local: &str) -> Option<NodeId> {
        self.child_elements(id)
            .find(|c| self.element(*c).is_some_and(|e| e.local == local))
    }

    /// All descendant elements of `id` (not `id` itself) in document order.
    pub fn descendants(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.children(id).iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            if self.element(n).is_some() {
                out.push(n);
                stack.extend(self.children(n).iter().rev().copied());
            }
        }
        out
    }

    /// The concatenated text content of `id` and its descendants.
    pub fn text(&self, id: NodeId) -> String {
        let mut s = String::new();
        self.collect_text(id, &mut s);
        s
    }

    fn collect_text(&self, id: NodeId, out: &mut String) {
        match &self.nodes[id].kind {
            NodeKind::Text(t) => out.push_str(t),
            NodeKind::Element(e) => {
                for c in &self.child_ids[e.children.clone()] {
                    self.collect_text(*c, out);
                }
            }
            _ => {}
        }
    }

    /// The element whose `Id` (or `ID`, `id`) attribute equals `id`.
    pub fn find_by_id(&self, id: &str) -> Result<NodeId, XmlError> {
        match self.ids.get(id) {
            Some(IdEntry::Unique(n)) => Ok(*n),
            Some(IdEntry::Duplicated) => Err(XmlError::DuplicateId(id.to_string())),
            None => Err(XmlError::IdNotFound(id.to_string())),
        }
    }

    /// The source bytes of element `id`, from its start tag to its end tag.
    pub fn raw(&self, id: NodeId) -> &[u8] {
        match self.element(id) {
            Some(e) => &self.source[e.span.clone()],
            None => &[],
        }
    }

    /// The source bytes of element `id` as a standalone document fragment: the namespace
    /// declarations it inherits from its ancestors are added to its start tag, so the bytes
    /// parse (and canonicalize) on their own exactly as they did in place.
    pub fn standalone(&self, id: NodeId) -> Vec<u8> {
        let Some(e) = self.element(id) else {
            return Vec::new();
        };
        let raw = &self.source[e.span.clone()];
        let name_len = 1 + e.qname().len();
        let used = self.used_prefixes(id);
        let mut extra = String::new();
        for (prefix, uri) in self.in_scope_namespaces(id) {
            if e.ns_decls.iter().any(|d| d.prefix == prefix) || !used.contains(&prefix) {
                continue;
            }
            match prefix {
                Some(p) => {
                    extra.push_str(&format!(" xmlns:{p}=\"{}\"", super::escape::attr(&uri)));
                }
                None if !uri.is_empty() => {
                    extra.push_str(&format!(" xmlns=\"{}\"", super::escape::attr(&uri)));
                }
                None => {}
            }
        }
        let mut out = Vec::with_capacity(raw.len() + extra.len());
        out.extend_from_slice(&raw[..name_len.min(raw.len())]);
        out.extend_from_slice(extra.as_bytes());
        out.extend_from_slice(&raw[name_len.min(raw.len())..]);
        out
    }

    /// Prefixes the subtree of `id` uses: in element and attribute names, and as the prefix of
    /// QName-looking attribute values (`xsi:type="p:T"`). `None` is the default namespace.
    fn used_prefixes(&self, id: NodeId) -> Vec<Option<String>> {
        let mut used: Vec<Option<String>> = Vec::new();
        let mut add = |p: Option<String>| {
            if !used.contains(&p) {
                used.push(p);
            }
        };
        for n in std::iter::once(id).chain(self.descendants(id)) {
            let Some(e) = self.element(n) else { continue };
            add(e.prefix.as_deref().map(str::to_string));
            for a in &e.attrs {
                if let Some(p) = &a.prefix {
                    add(Some(p.to_string()));
                }
                if let Some((p, local)) = a.value.split_once(':') {
                    if is_ncname(p) && is_ncname(local) {
                        add(Some(p.to_string()));
                    }
                }
            }
        }
        used
    }

    /// Namespace prefixes in scope at element `id`: (prefix, uri), nearest declaration wins,
    /// `None` prefix = default namespace (an empty uri means "no default namespace").
    pub fn in_scope_namespaces(&self, id: NodeId) -> Vec<(Option<String>, String)> {
        let mut chain = Vec::new();
        let mut cur = Some(id);
        while let Some(n) = cur {
            chain.push(n);
            cur = self.nodes[n].parent;
        }
        let mut map: Vec<(Option<String>, String)> = Vec::new();
        // Position of each prefix in `map`: linear in the declarations in scope, which the
        // parser caps, however many prefixes there are.
        let mut index: HashMap<&Option<String>, usize> = HashMap::new();
        for n in chain.iter().rev() {
            if let Some(e) = self.element(*n) {
                for d in &e.ns_decls {
                    match index.get(&d.prefix) {
                        Some(&i) => map[i].1 = d.uri.clone(),
                        None => {
                            index.insert(&d.prefix, map.len());
                            map.push((d.prefix.clone(), d.uri.clone()));
                        }
                    }
                }
            }
        }
        map
    }

    /// Ancestors of `id` from the parent up to the root.
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut cur = self.nodes.get(id).and_then(|n| n.parent);
        while let Some(n) = cur {
            out.push(n);
            cur = self.nodes[n].parent;
        }
        out
    }

    /// 1-based line and column (in characters) of a source offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        // Counted on first use (a schema check reports up to a hundred positions), not by
        // every parse.
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', &self.source).map(|i| i + 1))
                .collect()
        });
        let offset = offset.min(self.source.len());
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts[line - 1];
        let col = String::from_utf8_lossy(&self.source[start..offset])
            .chars()
            .count();
        (line, col + 1)
    }
}

/// Assembles a parsed document (the parser's result) and indexes its `Id`s.
pub(super) fn assemble(
    source: Vec<u8>,
    mut nodes: Vec<Node>,
    top: Vec<NodeId>,
    root: NodeId,
) -> Document {
    let ids = build_id_index(&nodes);
    let child_ids = index_children(&mut nodes);
    Document {
        source,
        nodes,
        top,
        root,
        ids,
        child_ids,
        line_starts: std::sync::OnceLock::new(),
    }
}

/// Lists the children of every element in one array and sets each element's range in it: a
/// counting sort by parent, which keeps document order (node ids are in document order) and
/// costs two passes instead of a growing vector per element.
fn index_children(nodes: &mut [Node]) -> Vec<NodeId> {
    let mut count = vec![0usize; nodes.len()];
    for n in nodes.iter() {
        if let Some(p) = n.parent {
            count[p] += 1;
        }
    }
    let mut next = vec![0usize; nodes.len()];
    let mut start = 0;
    for (i, n) in nodes.iter_mut().enumerate() {
        next[i] = start;
        if let NodeKind::Element(e) = &mut n.kind {
            e.children = start..start + count[i];
        }
        start += count[i];
    }
    let mut child_ids = vec![0; start];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            child_ids[next[p]] = i;
            next[p] += 1;
        }
    }
    child_ids
}

/// 1-based line and column (in characters) of `offset` in `src`. Found by counting, on the
/// error path only: a parse keeps no table of line starts.
pub(super) fn line_column(src: &[u8], offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = memchr::memchr_iter(b'\n', before).count();
    let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count();
    (line + 1, col + 1)
}

fn build_id_index(nodes: &[Node]) -> HashMap<String, IdEntry> {
    let mut ids: HashMap<String, IdEntry> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if let NodeKind::Element(e) = &n.kind {
            for a in &e.attrs {
                if a.prefix.is_none() && matches!(a.local.as_str(), "Id" | "ID" | "id") {
                    ids.entry(a.value.clone())
                        .and_modify(|v| *v = IdEntry::Duplicated)
                        .or_insert(IdEntry::Unique(i));
                }
            }
        }
    }
    ids
}

/// XML 1.0 line-end normalization: CRLF and lone CR become LF.
pub fn normalize_line_ends(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\r') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `c` is allowed in an XML 1.0 document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn is_name_start(c: char) -> bool {
    c == '_'
        || c == ':'
        || c.is_ascii_alphabetic()
        || matches!(c, '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || c == '-'
        || c == '.'
        || c.is_ascii_digit()
        || matches!(c, '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

pub(super) fn is_name(s: &str) -> bool {
    // The usual ASCII name, without walking the Unicode tables.
    let b = s.as_bytes();
    if !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.'))
    {
        return b[0].is_ascii_alphabetic() || matches!(b[0], b'_' | b':');
    }
    let mut it = s.chars();
    matches!(it.next(), Some(c) if is_name_start(c)) && it.all(is_name_char)
}

/// Whether `s` is an XML NCName (a name without a colon).
pub fn is_ncname(s: &str) -> bool {
    !s.contains(':') && is_name(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_and_ids() {
        let doc = Document::parse_str(
            r#"<?xml version="1.0" encoding="UTF-8"?><a:r xmlns:a="urn:a" xmlns="urn:d"><b Id="x" a:k="v&amp;&#x41;"/></a:r>"#,
        )
        .unwrap();
        let b = doc.find_by_id("x").unwrap();
        let e = doc.element(b).unwrap();
        assert_eq!(e.ns.as_deref(), Some("urn:d"));
        assert_eq!(e.attrs[1].ns.as_deref(), Some("urn:a"));
        assert_eq!(e.attrs[1].value, "v&A");
        assert_eq!(doc.raw(b), br#"<b Id="x" a:k="v&amp;&#x41;"/>"#);
    }

    #[test]
    fn refuses_doctype_and_unknown_entities() {
        assert!(matches!(
            Document::parse_str("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>"),
            Err(XmlError::DoctypeRefused { .. })
        ));
        assert!(Document::parse_str("<a>&e;</a>").is_err());
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "<a/><b/>",
            "text<a/>",
            "<p:a/>",
            "<a x='1' x='2'/>",
            "<a x='<'/>",
            "<a>\u{1}</a>",
            "",
            "<a>]]></a>",
        ] {
            assert!(
                Document::parse_str(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn namespace_bindings_follow_their_scopes() {
        let doc = Document::parse_str(
            r#"<a:r xmlns:a="urn:1" xmlns="urn:d"><a:x xmlns:a="urn:2"><a:y/><y2 xmlns=""/></a:x><a:z/><d/></a:r>"#,
        )
        .unwrap();
        let root = doc.root();
        let names: Vec<(String, Option<String>)> = std::iter::once(root)
            .chain(doc.descendants(root))
            .filter_map(|n| doc.element(n))
            .map(|e| (e.qname(), e.ns.as_deref().map(str::to_string)))
            .collect();
        let expected = [
            ("a:r", Some("urn:1")),
            ("a:x", Some("urn:2")),
            ("a:y", Some("urn:2")),
            ("y2", None),
            ("a:z", Some("urn:1")),
            ("d", Some("urn:d")),
        ];
        let expected: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(q, u)| (q.to_string(), u.map(str::to_string)))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn duplicate_ids_are_reported() {
        let doc = Document::parse_str(r#"<a><b Id="x"/><c Id="x"/></a>"#).unwrap();
        assert_eq!(doc.find_by_id("x"), Err(XmlError::DuplicateId("x".into())));
    }

    #[test]
    fn invalid_utf8_is_reported_where_it_is() {
        let mut input = "<a>\n  <b>Задолженность ".as_bytes().to_vec();
        input.extend_from_slice(b"\xFF</b></a>");
        let err = Document::parse(&input).unwrap_err();
        match err {
            XmlError::Malformed {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (2, 20));
                assert_eq!(message, "invalid UTF-8 byte sequence");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn line_and_column_of_offsets_in_a_document() {
        let source = "<a>\n  <б>x</б>\n<c/></a>";
        let doc = Document::parse_str(source).unwrap();
        let at = |needle: &str| source.find(needle).unwrap();
        let cases = [
            (0, (1, 1)),
            (at("\n  <б>"), (1, 4)),
            (at("  <б>"), (2, 1)),
            (at("x"), (2, 6)),
            (at("<c/>"), (3, 1)),
            (source.len() + 10, (3, 9)),
        ];
        for (offset, expected) in cases {
            assert_eq!(doc.line_column(offset), expected, "offset {offset}");
            assert_eq!(
                line_column(doc.source(), offset),
                expected,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn line_and_column_of_errors() {
        let err = Document::parse_str("<a>\n  <b>\n</a>").unwrap_err();
        match err {
            XmlError::Malformed { line, .. } => assert_eq!(line, 3),
            other => panic!("unexpected {other:?}"),
        }
    }
}
