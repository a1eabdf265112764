//! A namespace-aware XML document tree built on quick-xml, keeping what canonicalization needs
//! (namespace declarations as written, normalized attribute values, comments, PIs) and where each
//! element sits in the source bytes (so signed elements can be kept and spliced byte for byte).
//!
//! Parsing rules: UTF-8 only (a BOM is skipped), XML 1.0 line-end and attribute-value
//! normalization, the five predefined entities and character references only, DOCTYPE refused,
//! namespace prefixes must be declared, attribute names unique, one root element, depth bounded.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{ns, XmlError};

/// Index of a node inside its [`Document`].
pub type NodeId = usize;

/// Deepest element nesting accepted from a peer.
pub const MAX_DEPTH: usize = 256;
/// Most attributes (namespace declarations included) on one element. Real SMEV and VS documents
/// carry a few dozen at most; the cap keeps every per-element pass cheap.
pub const MAX_ATTRIBUTES: usize = 256;
/// Most namespace declarations on one element.
pub const MAX_NS_DECLS_PER_ELEMENT: usize = 64;
/// Most namespace declarations in scope at once (on an element and its ancestors): bounds the
/// work of canonicalization's namespace rendering per element.
pub const MAX_NS_DECLS_IN_SCOPE: usize = 512;

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    source: Vec<u8>,
    nodes: Vec<Node>,
    top: Vec<NodeId>,
    root: NodeId,
    ids: HashMap<String, IdEntry>,
    line_starts: Vec<usize>,
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
    pub prefix: Option<String>,
    pub local: String,
    /// Namespace URI; `None` for unprefixed attributes.
    pub ns: Option<String>,
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
    pub prefix: Option<String>,
    pub local: String,
    /// Namespace URI; `None` when the element is in no namespace.
    pub ns: Option<String>,
    pub ns_decls: Vec<NsDecl>,
    pub attrs: Vec<Attribute>,
    pub children: Vec<NodeId>,
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
        Parser::new(input).run()
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
            .map(|e| e.children.as_slice())
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
                for c in &e.children {
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
            add(e.prefix.clone());
            for a in &e.attrs {
                if a.prefix.is_some() {
                    add(a.prefix.clone());
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
        line_column(&self.source, &self.line_starts, offset)
    }
}

fn line_starts(src: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    for (i, b) in src.iter().enumerate() {
        if *b == b'\n' {
            v.push(i + 1);
        }
    }
    v
}

fn line_column(src: &[u8], starts: &[usize], offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let line = match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    let start = starts.get(line).copied().unwrap_or(0);
    let col = String::from_utf8_lossy(&src[start..offset]).chars().count();
    (line + 1, col + 1)
}

struct OpenElement {
    node: NodeId,
    raw_name: Vec<u8>,
}

struct Parser<'a> {
    src: &'a [u8],
    line_starts: Vec<usize>,
    nodes: Vec<Node>,
    top: Vec<NodeId>,
    root: Option<NodeId>,
    open: Vec<OpenElement>,
    /// Namespace scopes: one frame per open element, the prefixes it declares.
    scopes: Vec<Vec<Option<String>>>,
    /// The namespace bound to each prefix now, innermost last (O(1) lookups at any depth).
    bindings: HashMap<Option<String>, Vec<String>>,
    /// Declarations in the open scopes, for [`MAX_NS_DECLS_IN_SCOPE`].
    decls_in_scope: usize,
    pending_text: Option<(String, usize)>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        let src = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        Parser {
            src,
            line_starts: line_starts(src),
            nodes: Vec::new(),
            top: Vec::new(),
            root: None,
            open: Vec::new(),
            scopes: Vec::new(),
            bindings: HashMap::new(),
            decls_in_scope: 0,
            pending_text: None,
        }
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> XmlError {
        let (line, column) = line_column(self.src, &self.line_starts, offset);
        XmlError::Malformed {
            line,
            column,
            // Messages quote names from the input: bounded and escaped.
            message: super::escape::printable(&message.into(), 300),
        }
    }

    fn run(mut self) -> Result<Document, XmlError> {
        if let Err(e) = std::str::from_utf8(self.src) {
            return Err(self.err(e.valid_up_to(), "invalid UTF-8 byte sequence"));
        }
        let mut reader = Reader::from_reader(self.src);
        {
            let cfg = reader.config_mut();
            cfg.trim_text(false);
            cfg.expand_empty_elements = false;
            cfg.check_end_names = true;
            cfg.check_comments = true;
            cfg.allow_unmatched_ends = false;
            cfg.allow_dangling_amp = false;
        }
        let mut seen_decl_slot = true;
        loop {
            let start = pos(&reader);
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = reader.error_position() as usize;
                    return Err(self.err(at, e.to_string()));
                }
            };
            let end = pos(&reader);
            let first = seen_decl_slot;
            seen_decl_slot = false;
            match event {
                Event::Decl(d) => {
                    if !first {
                        return Err(
                            self.err(start, "XML declaration is only allowed at the very start")
                        );
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.err(start, e.to_string()))?;
                        let enc = String::from_utf8_lossy(&enc).to_string();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(XmlError::UnsupportedEncoding(enc));
                        }
                    }
                }
                Event::DocType(_) => {
                    let (line, column) = line_column(self.src, &self.line_starts, start);
                    return Err(XmlError::DoctypeRefused { line, column });
                }
                Event::Start(e) => {
                    self.flush_text()?;
                    let id = self.start_element(&e, start, end, false)?;
                    self.open.push(OpenElement {
                        node: id,
                        raw_name: e.name().as_ref().to_vec(),
                    });
                    if self.open.len() > MAX_DEPTH {
                        return Err(XmlError::TooDeep(MAX_DEPTH));
                    }
                }
                Event::Empty(e) => {
                    self.flush_text()?;
                    let id = self.start_element(&e, start, end, true)?;
                    self.pop_scope();
                    if let NodeKind::Element(el) = &mut self.nodes[id].kind {
                        el.span = start..end;
                        el.content_start = end;
                        el.content_end = end;
                    }
                }
                Event::End(e) => {
                    self.flush_text()?;
                    let Some(open) = self.open.pop() else {
                        return Err(self.err(start, "end tag without a start tag"));
                    };
                    if open.raw_name != e.name().as_ref() {
                        return Err(self.err(start, "end tag does not match the start tag"));
                    }
                    self.pop_scope();
                    if let NodeKind::Element(el) = &mut self.nodes[open.node].kind {
                        el.span = el.span.start..end;
                        el.content_end = start;
                    }
                }
                Event::Text(t) => {
                    let raw = t.into_inner();
                    if self.open.is_empty() {
                        if raw
                            .iter()
                            .any(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                        {
                            return Err(
                                self.err(start, "text is not allowed outside the root element")
                            );
                        }
                        continue;
                    }
                    let text = self.normalize_text(&raw, start)?;
                    self.push_text(&text, start);
                }
                Event::GeneralRef(r) => {
                    if self.open.is_empty() {
                        return Err(self.err(start, "entity reference outside the root element"));
                    }
                    let name = String::from_utf8_lossy(&r.into_inner()).to_string();
                    let ch = self.resolve_reference(&name, start)?;
                    self.push_text(&ch, start);
                }
                Event::CData(c) => {
                    if self.open.is_empty() {
                        return Err(
                            self.err(start, "CDATA is not allowed outside the root element")
                        );
                    }
                    let raw = c.into_inner();
                    let text = normalize_line_ends(&String::from_utf8_lossy(&raw));
                    self.check_chars(&text, start)?;
                    self.push_text(&text, start);
                }
                Event::Comment(c) => {
                    self.flush_text()?;
                    let raw = c.into_inner();
                    let text = normalize_line_ends(&String::from_utf8_lossy(&raw));
                    self.check_chars(&text, start)?;
                    self.push_node(NodeKind::Comment(text));
                }
                Event::PI(p) => {
                    self.flush_text()?;
                    let target = String::from_utf8_lossy(p.target()).to_string();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(
                            self.err(start, "processing instruction target \"xml\" is reserved")
                        );
                    }
                    if !is_name(&target) || target.contains(':') {
                        return Err(self.err(start, "invalid processing instruction target"));
                    }
                    let data = normalize_line_ends(&String::from_utf8_lossy(p.content()));
                    let data = data.trim_start_matches([' ', '\t', '\n', '\r']).to_string();
                    self.push_node(NodeKind::Pi { target, data });
                }
                Event::Eof => break,
            }
        }
        if let Some(open) = self.open.last() {
            let name = String::from_utf8_lossy(&open.raw_name).to_string();
            return Err(self.err(
                self.src.len(),
                format!("unexpected end of input: <{name}> is not closed"),
            ));
        }
        let Some(root) = self.root else {
            return Err(self.err(self.src.len(), "no root element"));
        };
        let ids = build_id_index(&self.nodes);
        Ok(Document {
            source: self.src.to_vec(),
            nodes: self.nodes,
            top: self.top,
            root,
            ids,
            line_starts: self.line_starts,
        })
    }

    fn push_node(&mut self, kind: NodeKind) -> NodeId {
        let id = self.nodes.len();
        let parent = self.open.last().map(|o| o.node);
        self.nodes.push(Node { parent, kind });
        match parent {
            Some(p) => {
                if let NodeKind::Element(e) = &mut self.nodes[p].kind {
                    e.children.push(id);
                }
            }
            None => self.top.push(id),
        }
        id
    }

    fn push_text(&mut self, text: &str, at: usize) {
        match &mut self.pending_text {
            Some((t, _)) => t.push_str(text),
            None => self.pending_text = Some((text.to_string(), at)),
        }
    }

    fn flush_text(&mut self) -> Result<(), XmlError> {
        if let Some((t, _)) = self.pending_text.take() {
            if !t.is_empty() {
                self.push_node(NodeKind::Text(t));
            }
        }
        Ok(())
    }

    fn check_chars(&self, s: &str, at: usize) -> Result<(), XmlError> {
        if let Some(c) = s.chars().find(|c| !is_xml_char(*c)) {
            return Err(self.err(
                at,
                format!("character U+{:04X} is not allowed in XML", c as u32),
            ));
        }
        Ok(())
    }

    fn normalize_text(&self, raw: &[u8], at: usize) -> Result<String, XmlError> {
        let s = String::from_utf8_lossy(raw);
        if s.contains('&') {
            // quick-xml reports references as separate events; a bare '&' here is malformed.
            return Err(self.err(at, "unescaped '&' in text"));
        }
        if s.contains("]]>") {
            return Err(self.err(at, "\"]]>\" is not allowed in text"));
        }
        let text = normalize_line_ends(&s);
        self.check_chars(&text, at)?;
        Ok(text)
    }

    fn resolve_reference(&self, name: &str, at: usize) -> Result<String, XmlError> {
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ if name.starts_with('#') => {
                let num = if let Some(hex) = name.strip_prefix("#x") {
                    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        None
                    } else {
                        u32::from_str_radix(hex, 16).ok()
                    }
                } else {
                    let dec = &name[1..];
                    if dec.is_empty() || !dec.bytes().all(|b| b.is_ascii_digit()) {
                        None
                    } else {
                        dec.parse::<u32>().ok()
                    }
                };
                match num.and_then(char::from_u32) {
                    Some(c) if is_xml_char(c) => c,
                    _ => return Err(self.err(at, format!("invalid character reference &{name};"))),
                }
            }
            _ => {
                return Err(self.err(
                    at,
                    format!("undefined entity &{name}; (only the predefined entities are allowed)"),
                ))
            }
        };
        Ok(c.to_string())
    }

    fn start_element(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        start: usize,
        end: usize,
        self_closing: bool,
    ) -> Result<NodeId, XmlError> {
        if self.open.is_empty() && self.root.is_some() {
            return Err(self.err(start, "only one root element is allowed"));
        }
        let raw_name = String::from_utf8_lossy(e.name().as_ref()).to_string();
        let (prefix, local) = split_qname(&raw_name)
            .ok_or_else(|| self.err(start, format!("invalid element name <{raw_name}>")))?;
        let mut decls: Vec<NsDecl> = Vec::new();
        let mut raw_attrs: Vec<(Option<String>, String, String)> = Vec::new();
        // quick-xml's own duplicate check compares every pair (quadratic on hostile input):
        // uniqueness is checked here by hashing instead, with the count capped.
        let mut seen_names: HashSet<String> = HashSet::new();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| self.err(start, err.to_string()))?;
            if seen_names.len() >= MAX_ATTRIBUTES {
                return Err(XmlError::TooManyAttributes {
                    element: raw_name.chars().take(100).collect(),
                    limit: MAX_ATTRIBUTES,
                });
            }
            let key = String::from_utf8_lossy(attr.key.as_ref()).to_string();
            if !seen_names.insert(key.clone()) {
                return Err(self.err(start, format!("duplicate attribute {key}")));
            }
            let value = self.normalize_attr_value(&attr.value, start)?;
            if key == "xmlns" {
                if value == ns::XML || value == ns::XMLNS {
                    return Err(
                        self.err(start, "reserved namespace cannot be the default namespace")
                    );
                }
                decls.push(NsDecl {
                    prefix: None,
                    uri: value,
                });
                continue;
            }
            if let Some(p) = key.strip_prefix("xmlns:") {
                if !is_ncname(p) {
                    return Err(self.err(start, format!("invalid namespace prefix {p:?}")));
                }
                if value.is_empty() {
                    return Err(self.err(
                        start,
                        format!("prefix {p} cannot be bound to an empty namespace"),
                    ));
                }
                if p == "xmlns" || (p == "xml") != (value == ns::XML) || value == ns::XMLNS {
                    return Err(self.err(
                        start,
                        format!("reserved prefix or namespace misuse: xmlns:{p}"),
                    ));
                }
                if p != "xml" {
                    decls.push(NsDecl {
                        prefix: Some(p.to_string()),
                        uri: value,
                    });
                }
                continue;
            }
            let (ap, al) = split_qname(&key)
                .ok_or_else(|| self.err(start, format!("invalid attribute name {key}")))?;
            raw_attrs.push((ap, al, value));
        }
        self.push_scope(&decls)?;
        let element_ns =
            match &prefix {
                Some(p) => Some(self.lookup(Some(p)).ok_or_else(|| {
                    self.err(start, format!("namespace prefix {p} is not declared"))
                })?),
                None => self.lookup(None).filter(|u| !u.is_empty()),
            };
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        let mut expanded: HashSet<(String, String)> = HashSet::new();
        for (ap, al, value) in raw_attrs {
            let ns = match &ap {
                Some(p) => Some(self.lookup(Some(p)).ok_or_else(|| {
                    self.err(start, format!("namespace prefix {p} is not declared"))
                })?),
                None => None,
            };
            if ns
                .as_ref()
                .is_some_and(|u| !expanded.insert((u.clone(), al.clone())))
            {
                return Err(self.err(
                    start,
                    format!("attribute {{{}}}{al} appears twice", ns.unwrap_or_default()),
                ));
            }
            attrs.push(Attribute {
                prefix: ap,
                local: al,
                ns,
                value,
            });
        }
        let element = Element {
            prefix,
            local,
            ns: element_ns,
            ns_decls: decls,
            attrs,
            children: Vec::new(),
            span: start..end,
            content_start: end,
            content_end: end,
            self_closing,
        };
        let id = self.push_node(NodeKind::Element(element));
        if self.open.is_empty() {
            self.root = Some(id);
        }
        Ok(id)
    }

    fn lookup(&self, prefix: Option<&str>) -> Option<String> {
        if prefix == Some("xml") {
            return Some(ns::XML.to_string());
        }
        self.bindings
            .get(&prefix.map(str::to_string))
            .and_then(|uris| uris.last())
            .cloned()
    }

    /// Opens the namespace scope of an element with its declarations.
    fn push_scope(&mut self, decls: &[NsDecl]) -> Result<(), XmlError> {
        if decls.len() > MAX_NS_DECLS_PER_ELEMENT {
            return Err(XmlError::TooManyNamespaces {
                scope: "on one element",
                limit: MAX_NS_DECLS_PER_ELEMENT,
            });
        }
        self.decls_in_scope += decls.len();
        if self.decls_in_scope > MAX_NS_DECLS_IN_SCOPE {
            return Err(XmlError::TooManyNamespaces {
                scope: "in scope at once",
                limit: MAX_NS_DECLS_IN_SCOPE,
            });
        }
        let mut frame = Vec::with_capacity(decls.len());
        for d in decls {
            self.bindings
                .entry(d.prefix.clone())
                .or_default()
                .push(d.uri.clone());
            frame.push(d.prefix.clone());
        }
        self.scopes.push(frame);
        Ok(())
    }

    /// Closes the innermost namespace scope.
    fn pop_scope(&mut self) {
        let frame = self.scopes.pop().unwrap_or_default();
        self.decls_in_scope = self.decls_in_scope.saturating_sub(frame.len());
        for prefix in frame {
            if let Some(uris) = self.bindings.get_mut(&prefix) {
                uris.pop();
                if uris.is_empty() {
                    self.bindings.remove(&prefix);
                }
            }
        }
    }

    fn normalize_attr_value(&self, raw: &[u8], at: usize) -> Result<String, XmlError> {
        let s = String::from_utf8_lossy(raw);
        let mut out = String::with_capacity(s.len());
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '<' => return Err(self.err(at, "'<' is not allowed in an attribute value")),
                '\r' => {
                    if let Some((_, '\n')) = chars.peek() {
                        chars.next();
                    }
                    out.push(' ');
                }
                '\n' | '\t' => out.push(' '),
                '&' => {
                    let rest = &s[i + 1..];
                    let Some(semi) = rest.find(';') else {
                        return Err(self.err(at, "unterminated reference in an attribute value"));
                    };
                    let name = &rest[..semi];
                    out.push_str(&self.resolve_reference(name, at)?);
                    for _ in 0..=semi {
                        chars.next();
                    }
                }
                c if !is_xml_char(c) => {
                    return Err(self.err(
                        at,
                        format!("character U+{:04X} is not allowed in XML", c as u32),
                    ))
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }
}

fn pos(reader: &Reader<&[u8]>) -> usize {
    reader.buffer_position() as usize
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
pub fn normalize_line_ends(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_string();
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
    out
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

fn is_name(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if is_name_start(c)) && it.all(is_name_char)
}

/// Whether `s` is an XML NCName (a name without a colon).
pub fn is_ncname(s: &str) -> bool {
    !s.contains(':') && is_name(s)
}

fn split_qname(name: &str) -> Option<(Option<String>, String)> {
    match name.split_once(':') {
        Some((p, l)) if is_ncname(p) && is_ncname(l) => Some((Some(p.to_string()), l.to_string())),
        Some(_) => None,
        None if is_ncname(name) => Some((None, name.to_string())),
        None => None,
    }
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
    fn duplicate_ids_are_reported() {
        let doc = Document::parse_str(r#"<a><b Id="x"/><c Id="x"/></a>"#).unwrap();
        assert_eq!(doc.find_by_id("x"), Err(XmlError::DuplicateId("x".into())));
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
