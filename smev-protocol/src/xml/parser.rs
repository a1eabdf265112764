//! The XML parser behind [`Document`]: quick-xml events turned into the tree, with the rules a
//! hostile peer must meet. UTF-8 only (a BOM is skipped), XML 1.0 line-end and attribute-value
//! normalization, the five predefined entities and character references only, DOCTYPE refused,
//! namespace prefixes must be declared, attribute names unique (checked by hashing), one root
//! element, and every count capped — depth, attributes and namespace declarations — so that the
//! work is linear in the input and every later pass over the tree is bounded per element.

use std::borrow::Cow;
use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::intern::NameTable;
use super::name::Name;
use super::seen_names::SeenNames;
use super::text_rules;
use super::tree::{
    assemble, is_name, is_ncname, line_column, normalize_line_ends, Attribute, Document, Element,
    Node, NodeId, NodeKind, NsDecl,
};
use super::{ns, XmlError};

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

/// Most nodes reserved before parsing; a larger tree grows as it is read.
const MAX_RESERVED_NODES: usize = 1 << 16;

/// Parses `input` into a [`Document`].
pub(super) fn parse(input: &[u8]) -> Result<Document, XmlError> {
    let src = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    // The vectorized check is several times faster on Cyrillic text; it says only "invalid",
    // so the standard one then finds where, for the message.
    let text = match simdutf8::basic::from_utf8(src) {
        Ok(text) => text,
        Err(_) => match std::str::from_utf8(src) {
            Ok(text) => text,
            Err(e) => {
                let (line, column) = line_column(src, e.valid_up_to());
                return Err(XmlError::Malformed {
                    line,
                    column,
                    message: "invalid UTF-8 byte sequence".into(),
                });
            }
        },
    };
    Parser::new(src, text).run()
}

struct OpenElement<'a> {
    node: NodeId,
    raw_name: Cow<'a, [u8]>,
}

struct Parser<'a> {
    src: &'a [u8],
    /// Shared names, and `src` as text once its UTF-8 is checked.
    table: NameTable<'a>,
    nodes: Vec<Node>,
    top: Vec<NodeId>,
    root: Option<NodeId>,
    open: Vec<OpenElement<'a>>,
    /// Namespace scopes: one frame per open element, the prefixes it declares ("" for the
    /// default namespace, which no prefix can be).
    scopes: Vec<Vec<Name>>,
    /// The namespace bound to each prefix now ("": the default one), innermost last (O(1)
    /// lookups at any depth).
    bindings: HashMap<Name, Vec<Name>>,
    /// Namespaces looked up since the bindings last changed, by prefix (a handful: elements
    /// rarely declare namespaces, and a document uses few prefixes).
    recent_ns: Vec<(Option<Name>, Option<Name>)>,
    /// The attribute names of the element being read (kept to reuse its memory).
    seen_names: SeenNames<'a>,
    /// Declarations in the open scopes, for [`MAX_NS_DECLS_IN_SCOPE`].
    decls_in_scope: usize,
    pending_text: Option<(String, usize)>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a [u8], text: &'a str) -> Self {
        // Every element and comment starts with its own '<': the tree holds about as many
        // nodes, so a usual document's is allocated once. Capped, because '<' inside CDATA or a
        // comment counts too: a hostile document must not reserve gigabytes for one node.
        let tags = memchr::memchr_iter(b'<', src)
            .count()
            .min(MAX_RESERVED_NODES);
        Parser {
            src,
            table: NameTable::new(text),
            nodes: Vec::with_capacity(tags + 1),
            top: Vec::new(),
            root: None,
            open: Vec::new(),
            scopes: Vec::new(),
            bindings: HashMap::new(),
            recent_ns: Vec::new(),
            seen_names: SeenNames::default(),
            decls_in_scope: 0,
            pending_text: None,
        }
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> XmlError {
        let (line, column) = line_column(self.src, offset);
        XmlError::Malformed {
            line,
            column,
            // Messages quote names from the input: bounded and escaped.
            message: super::escape::printable(&message.into(), 300),
        }
    }

    fn run(mut self) -> Result<Document, XmlError> {
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
                    let (line, column) = line_column(self.src, start);
                    return Err(XmlError::DoctypeRefused { line, column });
                }
                Event::Start(e) => {
                    self.flush_text()?;
                    let id = self.start_element(&e, start, end, false)?;
                    let raw_name = match self.table.source_str(e.name().as_ref()) {
                        Some(name) => Cow::Borrowed(name.as_bytes()),
                        None => Cow::Owned(e.name().as_ref().to_vec()),
                    };
                    self.open.push(OpenElement { node: id, raw_name });
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
                    if *open.raw_name != *e.name().as_ref() {
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
                    let raw = self.text_of(&raw, start)?;
                    let text = text_rules::normalize_text(&raw).map_err(|m| self.err(start, m))?;
                    self.push_text(&text, start);
                }
                Event::GeneralRef(r) => {
                    if self.open.is_empty() {
                        return Err(self.err(start, "entity reference outside the root element"));
                    }
                    let name = r.into_inner();
                    let ch = text_rules::resolve_reference(&String::from_utf8_lossy(&name))
                        .map_err(|m| self.err(start, m))?;
                    self.push_text(ch.encode_utf8(&mut [0u8; 4]), start);
                }
                Event::CData(c) => {
                    if self.open.is_empty() {
                        return Err(
                            self.err(start, "CDATA is not allowed outside the root element")
                        );
                    }
                    let raw = c.into_inner();
                    let raw = self.text_of(&raw, start)?;
                    let text = normalize_line_ends(&raw);
                    text_rules::check_chars(&text).map_err(|m| self.err(start, m))?;
                    self.push_text(&text, start);
                }
                Event::Comment(c) => {
                    self.flush_text()?;
                    let raw = c.into_inner();
                    let raw = String::from_utf8_lossy(&raw);
                    let text = normalize_line_ends(&raw);
                    text_rules::check_chars(&text).map_err(|m| self.err(start, m))?;
                    self.push_node(NodeKind::Comment(text.into_owned()));
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
                    let content = String::from_utf8_lossy(p.content());
                    let data = normalize_line_ends(&content);
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
        Ok(assemble(self.src.to_vec(), self.nodes, self.top, root))
    }

    /// Bytes of the source as text (checked as UTF-8 already, with the whole input).
    fn text_of<'b>(&self, bytes: &'b [u8], at: usize) -> Result<Cow<'b, str>, XmlError>
    where
        'a: 'b,
    {
        self.table
            .str_of(bytes)
            .ok_or_else(|| self.err(at, "invalid UTF-8 byte sequence"))
    }

    fn push_node(&mut self, kind: NodeKind) -> NodeId {
        let id = self.nodes.len();
        let parent = self.open.last().map(|o| o.node);
        self.nodes.push(Node { parent, kind });
        // Children are listed once the whole tree is read (`tree::assemble`).
        if parent.is_none() {
            self.top.push(id);
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
        let qname = e.name();
        let raw_name = self.text_of(qname.as_ref(), start)?;
        let (prefix, local) = self
            .table
            .split(&raw_name)
            .ok_or_else(|| self.err(start, format!("invalid element name <{raw_name}>")))?;
        let mut decls: Vec<NsDecl> = Vec::new();
        // Attributes get their namespace once this element's own declarations are in scope.
        let mut attrs: Vec<Attribute> = Vec::new();
        // quick-xml's own duplicate check compares every pair (quadratic on hostile input):
        // uniqueness is checked here by hashing instead, with the count capped.
        let mut seen_names = std::mem::take(&mut self.seen_names);
        seen_names.clear();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| self.err(start, err.to_string()))?;
            if seen_names.len() >= MAX_ATTRIBUTES {
                return Err(XmlError::TooManyAttributes {
                    element: raw_name.chars().take(100).collect(),
                    limit: MAX_ATTRIBUTES,
                });
            }
            let key_bytes = attr.key.into_inner();
            let key = self.text_of(key_bytes, start)?;
            let seen_key = match self.table.source_str(key_bytes) {
                Some(k) => Cow::Borrowed(k.as_bytes()),
                None => Cow::Owned(key_bytes.to_vec()),
            };
            if !seen_names.insert(seen_key) {
                return Err(self.err(start, format!("duplicate attribute {key}")));
            }
            let raw_value = self.text_of(&attr.value, start)?;
            let value =
                text_rules::normalize_attr_value(&raw_value).map_err(|m| self.err(start, m))?;
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
            let (ap, al) = self
                .table
                .split(&key)
                .ok_or_else(|| self.err(start, format!("invalid attribute name {key}")))?;
            attrs.push(Attribute {
                prefix: ap,
                local: al,
                ns: None,
                value,
            });
        }
        self.seen_names = seen_names;
        self.push_scope(&decls)?;
        let element_ns =
            match &prefix {
                Some(p) => Some(self.lookup(Some(p)).ok_or_else(|| {
                    self.err(start, format!("namespace prefix {p} is not declared"))
                })?),
                None => self.lookup(None).filter(|u| !u.is_empty()),
            };
        let mut expanded = SeenNames::default();
        for a in attrs.iter_mut() {
            let Some(p) = &a.prefix else { continue };
            let uri = self
                .lookup(Some(p))
                .ok_or_else(|| self.err(start, format!("namespace prefix {p} is not declared")))?;
            if !expanded.insert(Cow::Owned(format!("{{{uri}}}{}", a.local).into_bytes())) {
                return Err(self.err(
                    start,
                    format!("attribute {{{uri}}}{} appears twice", a.local),
                ));
            }
            a.ns = Some(uri);
        }
        let element = Element {
            prefix,
            local,
            ns: element_ns,
            ns_decls: decls,
            attrs,
            children: 0..0,
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

    fn lookup(&mut self, prefix: Option<&Name>) -> Option<Name> {
        if let Some((_, uri)) = self.recent_ns.iter().find(|(p, _)| p.as_ref() == prefix) {
            return uri.clone();
        }
        let uri = if prefix.is_some_and(|p| p == "xml") {
            Some(self.table.name(ns::XML))
        } else {
            self.bindings
                .get(prefix.map_or("", |p| p.as_str()))
                .and_then(|uris| uris.last())
                .cloned()
        };
        if self.recent_ns.len() < 8 {
            self.recent_ns.push((prefix.cloned(), uri.clone()));
        }
        uri
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
        if !decls.is_empty() {
            self.recent_ns.clear();
        }
        let mut frame = Vec::with_capacity(decls.len());
        for d in decls {
            let key = self.table.name(d.prefix.as_deref().unwrap_or(""));
            let uri = self.table.name(&d.uri);
            self.bindings.entry(key.clone()).or_default().push(uri);
            frame.push(key);
        }
        self.scopes.push(frame);
        Ok(())
    }

    /// Closes the innermost namespace scope.
    fn pop_scope(&mut self) {
        let frame = self.scopes.pop().unwrap_or_default();
        if !frame.is_empty() {
            self.recent_ns.clear();
        }
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
}

fn pos(reader: &Reader<&[u8]>) -> usize {
    reader.buffer_position() as usize
}
