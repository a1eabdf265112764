//! The XML parser behind [`Document`]: quick-xml events turned into the tree, with the rules a
//! hostile peer must meet. UTF-8 only (a BOM is skipped), XML 1.0 line-end and attribute-value
//! normalization, the five predefined entities and character references only, DOCTYPE refused,
//! namespace prefixes must be declared, attribute names unique (checked by hashing), one root
//! element, and every count capped — depth, attributes and namespace declarations — so that the
//! work is linear in the input and every later pass over the tree is bounded per element.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use quick_xml::events::Event;
use quick_xml::Reader;

use super::tree::{
    assemble, is_name, is_ncname, is_xml_char, line_column, line_starts, normalize_line_ends,
    split_qname, Attribute, Document, Element, Node, NodeId, NodeKind, NsDecl,
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

/// Parses `input` into a [`Document`].
pub(super) fn parse(input: &[u8]) -> Result<Document, XmlError> {
    Parser::new(input).run()
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
    /// Namespace scopes: one frame per open element, the prefixes it declares ("" for the
    /// default namespace, which no prefix can be).
    scopes: Vec<Vec<String>>,
    /// The namespace bound to each prefix now ("": the default one), innermost last (O(1)
    /// lookups at any depth).
    bindings: HashMap<String, Vec<String>>,
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
                    let raw = String::from_utf8_lossy(&raw);
                    let text = self.normalize_text(&raw, start)?;
                    self.push_text(&text, start);
                }
                Event::GeneralRef(r) => {
                    if self.open.is_empty() {
                        return Err(self.err(start, "entity reference outside the root element"));
                    }
                    let name = r.into_inner();
                    let ch = self.resolve_reference(&String::from_utf8_lossy(&name), start)?;
                    self.push_text(ch.encode_utf8(&mut [0u8; 4]), start);
                }
                Event::CData(c) => {
                    if self.open.is_empty() {
                        return Err(
                            self.err(start, "CDATA is not allowed outside the root element")
                        );
                    }
                    let raw = c.into_inner();
                    let raw = String::from_utf8_lossy(&raw);
                    let text = normalize_line_ends(&raw);
                    self.check_chars(&text, start)?;
                    self.push_text(&text, start);
                }
                Event::Comment(c) => {
                    self.flush_text()?;
                    let raw = c.into_inner();
                    let raw = String::from_utf8_lossy(&raw);
                    let text = normalize_line_ends(&raw);
                    self.check_chars(&text, start)?;
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
        Ok(assemble(
            self.src.to_vec(),
            self.nodes,
            self.top,
            root,
            self.line_starts,
        ))
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
        // Most text has no control character and no U+FFFE/U+FFFF (whose UTF-8 starts with
        // 0xEF): one pass over the bytes settles it.
        if s.bytes()
            .all(|b| (b >= 0x20 && b != 0xEF) || matches!(b, b'\t' | b'\n' | b'\r'))
        {
            return Ok(());
        }
        if let Some(c) = s.chars().find(|c| !is_xml_char(*c)) {
            return Err(self.err(
                at,
                format!("character U+{:04X} is not allowed in XML", c as u32),
            ));
        }
        Ok(())
    }

    fn normalize_text<'s>(&self, s: &'s str, at: usize) -> Result<Cow<'s, str>, XmlError> {
        if s.contains('&') {
            // quick-xml reports references as separate events; a bare '&' here is malformed.
            return Err(self.err(at, "unescaped '&' in text"));
        }
        if s.contains("]]>") {
            return Err(self.err(at, "\"]]>\" is not allowed in text"));
        }
        let text = normalize_line_ends(s);
        self.check_chars(&text, at)?;
        Ok(text)
    }

    fn resolve_reference(&self, name: &str, at: usize) -> Result<char, XmlError> {
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
        Ok(c)
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
        let mut seen_names = SeenNames::default();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| self.err(start, err.to_string()))?;
            if seen_names.len() >= MAX_ATTRIBUTES {
                return Err(XmlError::TooManyAttributes {
                    element: raw_name.chars().take(100).collect(),
                    limit: MAX_ATTRIBUTES,
                });
            }
            let key_bytes = attr.key.into_inner();
            let key = String::from_utf8_lossy(key_bytes);
            if !seen_names.insert(Cow::Borrowed(key_bytes)) {
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
        let mut expanded = SeenNames::default();
        for (ap, al, value) in raw_attrs {
            let ns = match &ap {
                Some(p) => Some(self.lookup(Some(p)).ok_or_else(|| {
                    self.err(start, format!("namespace prefix {p} is not declared"))
                })?),
                None => None,
            };
            if ns
                .as_ref()
                .is_some_and(|u| !expanded.insert(Cow::Owned(format!("{{{u}}}{al}").into_bytes())))
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
            .get(prefix.unwrap_or(""))
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
            let key = d.prefix.clone().unwrap_or_default();
            self.bindings
                .entry(key.clone())
                .or_default()
                .push(d.uri.clone());
            frame.push(key);
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
        // Nothing to replace or refuse: the usual value, copied as it is.
        if !s
            .bytes()
            .any(|b| b < 0x20 || matches!(b, b'<' | b'&' | 0xEF))
        {
            return Ok(s.into_owned());
        }
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
                    out.push(self.resolve_reference(name, at)?);
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

/// Names met on one element, to refuse a repeated one: compared one by one while there are few
/// (the usual element), hashed beyond that, so a hostile element with hundreds of attributes
/// costs linear work too.
#[derive(Default)]
struct SeenNames<'a> {
    few: Vec<Cow<'a, [u8]>>,
    many: HashSet<Cow<'a, [u8]>>,
}

impl<'a> SeenNames<'a> {
    /// Names compared one by one before hashing.
    const FEW: usize = 16;

    fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }

    /// Adds `name`; false when it was already there.
    fn insert(&mut self, name: Cow<'a, [u8]>) -> bool {
        if self.few.contains(&name) || self.many.contains(&name) {
            return false;
        }
        if self.few.len() < Self::FEW {
            self.few.push(name);
        } else {
            self.many.insert(name);
        }
        true
    }
}
