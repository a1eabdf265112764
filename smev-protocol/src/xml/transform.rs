//! The SMEV 3 transform `urn://smev-gov-ru/xmldsig/transform` (methodological recommendations,
//! Appendix 1 rules 1–8, and the serializer behaviour the MR 3.5 writes down as step 9).
//!
//! Rules: drop the XML declaration, PIs and comments (1) and whitespace-only text (2); never
//! write empty-element tags (3); declare only the namespaces an element or its attributes use
//! (4, 5); rename every prefix to `ns1…nsN` in document order, a prefix living only in the subtree
//! where it was minted (6); sort attributes, qualified ones by (namespace URI, local name) first,
//! then unqualified ones by local name (7); write the element's own declaration first, then those
//! of its attributes in attribute order, then the attributes (8); escape text and attribute values
//! exactly as the reference implementation's Woodstox writer does (9).
//!
//! In the signing pipeline the transform runs on exclusive-c14n output.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::escape;
use super::tree::{Attribute, Document, NodeId, NodeKind};
use super::XmlError;

/// Algorithm URI of the transform.
pub const SMEV_TRANSFORM: &str = "urn://smev-gov-ru/xmldsig/transform";

/// Transforms the subtree rooted at element `apex` of `doc`.
pub fn transform_subtree(doc: &Document, apex: NodeId) -> Result<Vec<u8>, XmlError> {
    let mut t = Transformer::new(doc, None, false);
    t.element(apex)?;
    Ok(t.out)
}

/// The SMEV transform of the exclusive canonical form (without comments) of the subtree at
/// `apex`, the element `exclude` left out (an enveloped signature) — the bytes every SMEV
/// signature digests — computed from the tree in one pass, without writing the canonical form
/// and parsing it again. Equal byte for byte to [`transform_bytes`] of
/// `c14n::canonicalize_subtree(doc, apex, exclude, &Options::exclusive())`: the transform
/// reads only resolved names, attribute values and text from its input, which the canonical
/// form keeps; what canonicalization changes is mirrored here — comments go, and the text on
/// either side of one (or of the excluded element) becomes one text node, kept or dropped as
/// a whole (a processing instruction stays in the canonical form and still separates texts).
pub fn transform_canonical_subtree(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
) -> Result<Vec<u8>, XmlError> {
    let mut t = Transformer::new(doc, exclude, true);
    t.element(apex)?;
    Ok(t.out)
}

/// Parses `input` and transforms its root element (the usual case: `input` is c14n output).
pub fn transform_bytes(input: &[u8]) -> Result<Vec<u8>, XmlError> {
    let doc = Document::parse(input)?;
    transform_subtree(&doc, doc.root())
}

struct Transformer<'d> {
    doc: &'d Document,
    /// An element left out, as if absent from the input.
    exclude: Option<NodeId>,
    /// Text separated only by comments or the excluded element is one text node (the input
    /// is taken as its canonical form without comments would read).
    join_text: bool,
    out: Vec<u8>,
    /// One frame per open element: the (prefix number, uri) mappings minted on it, in minting
    /// order (prefix `ns7` is number 7).
    stack: Vec<Vec<(usize, String)>>,
    /// For each namespace URI, the prefixes minted for it by the open elements, outermost first:
    /// the lookup is O(1) however deep or wide the document is.
    minted: HashMap<String, Vec<usize>>,
    counter: usize,
}

impl<'d> Transformer<'d> {
    fn new(doc: &'d Document, exclude: Option<NodeId>, join_text: bool) -> Self {
        Transformer {
            doc,
            exclude,
            join_text,
            out: Vec::with_capacity(doc.source().len()),
            stack: Vec::new(),
            minted: HashMap::new(),
            counter: 1,
        }
    }

    /// Writes one text node made of `pieces` (rule 2: dropped when whitespace only), escaped
    /// as a whole — Woodstox's escaping depends on the characters before — and empties it.
    fn flush_text(&mut self, pieces: &mut Pieces<'d>) {
        // Java's String.trim() treats every char <= U+0020 as whitespace (all ASCII bytes).
        let blank = |t: &str| t.bytes().all(|b| b <= 0x20);
        match std::mem::take(pieces) {
            Pieces::None => {}
            Pieces::One(one) if blank(one) => {}
            Pieces::One(one) => escape::woodstox_text(&mut self.out, one),
            Pieces::Many(many) if many.iter().all(|t| blank(t)) => {}
            Pieces::Many(many) => escape::woodstox_text(&mut self.out, &many.concat()),
        }
    }

    /// The prefix already mapped to `uri`, searching from the outermost element inwards, as the
    /// reference implementation does.
    fn find(&self, uri: &str) -> Option<usize> {
        self.minted.get(uri).and_then(|p| p.first()).copied()
    }

    fn mint(&mut self, uri: &str) -> usize {
        let p = self.counter;
        self.counter += 1;
        if let Some(frame) = self.stack.last_mut() {
            frame.push((p, uri.to_string()));
            self.minted.entry(uri.to_string()).or_default().push(p);
        }
        p
    }

    /// Closes the innermost element: its minted prefixes go out of scope.
    fn pop_frame(&mut self) {
        for (_, uri) in self.stack.pop().unwrap_or_default() {
            if let Some(prefixes) = self.minted.get_mut(&uri) {
                prefixes.pop();
                if prefixes.is_empty() {
                    self.minted.remove(&uri);
                }
            }
        }
    }

    fn element(&mut self, n: NodeId) -> Result<(), XmlError> {
        let Some(e) = self.doc.element(n) else {
            return Ok(());
        };
        let Some(uri) = e.ns.as_deref() else {
            return Err(XmlError::UnqualifiedElement(e.qname()));
        };
        if let Some(a) = e
            .attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(super::ns::XML))
        {
            return Err(XmlError::XmlNamespaceAttribute(a.local.to_string()));
        }
        self.stack.push(Vec::new());
        let prefix = match self.find(uri) {
            Some(p) => p,
            None => self.mint(uri),
        };

        let mut attrs: Vec<&Attribute> = e.attrs.iter().collect();
        attrs.sort_by(|a, b| compare_attributes(a, b));
        let mut written: Vec<(Option<usize>, &Attribute)> = Vec::with_capacity(attrs.len());
        for a in attrs {
            let p =
                a.ns.as_deref()
                    .map(|u| self.find(u).unwrap_or_else(|| self.mint(u)));
            written.push((p, a));
        }

        self.out.push(b'<');
        write_prefix(&mut self.out, prefix);
        self.out.push(b':');
        self.out.extend_from_slice(e.local.as_bytes());
        for (p, u) in self.stack.last().into_iter().flatten() {
            self.out.extend_from_slice(b" xmlns:");
            write_prefix(&mut self.out, *p);
            self.out.extend_from_slice(b"=\"");
            escape::woodstox_attr(&mut self.out, u);
            self.out.push(b'"');
        }
        for (p, a) in &written {
            self.out.push(b' ');
            if let Some(p) = p {
                write_prefix(&mut self.out, *p);
                self.out.push(b':');
            }
            self.out.extend_from_slice(a.local.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape::woodstox_attr(&mut self.out, &a.value);
            self.out.push(b'"');
        }
        self.out.push(b'>');

        let doc = self.doc;
        let mut text = Pieces::None;
        for c in doc.children(n) {
            if Some(*c) == self.exclude {
                continue;
            }
            match &doc.node(*c).kind {
                NodeKind::Element(_) => {
                    self.flush_text(&mut text);
                    self.element(*c)?;
                }
                NodeKind::Text(t) => {
                    text.push(t);
                    if !self.join_text {
                        self.flush_text(&mut text);
                    }
                }
                // Canonicalization without comments drops comments and keeps PIs, so only a
                // PI still separates two texts; the transform itself writes neither.
                NodeKind::Comment(_) if self.join_text => {}
                NodeKind::Comment(_) | NodeKind::Pi { .. } => self.flush_text(&mut text),
            }
        }
        self.flush_text(&mut text);

        self.out.extend_from_slice(b"</");
        write_prefix(&mut self.out, prefix);
        self.out.push(b':');
        self.out.extend_from_slice(e.local.as_bytes());
        self.out.push(b'>');
        self.pop_frame();
        Ok(())
    }
}

/// The text nodes met since the last child element: one text node to write (usually a single
/// piece; several when comments or the excluded element split it).
#[derive(Default)]
enum Pieces<'d> {
    #[default]
    None,
    One(&'d str),
    Many(Vec<&'d str>),
}

impl<'d> Pieces<'d> {
    fn push(&mut self, piece: &'d str) {
        *self = match std::mem::take(self) {
            Pieces::None => Pieces::One(piece),
            Pieces::One(first) => Pieces::Many(vec![first, piece]),
            Pieces::Many(mut all) => {
                all.push(piece);
                Pieces::Many(all)
            }
        };
    }
}

/// Writes the prefix numbered `n`: `ns1`, `ns2`…
fn write_prefix(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(b"ns");
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Rule 7: qualified attributes first, by namespace URI then local name; then unqualified ones by
/// local name. Strings compare by UTF-16 code units, as Java's `String.compareTo` does.
fn compare_attributes(a: &Attribute, b: &Attribute) -> Ordering {
    match (a.ns.as_deref(), b.ns.as_deref()) {
        (Some(ua), Some(ub)) => utf16_cmp(ua, ub).then_with(|| utf16_cmp(&a.local, &b.local)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => utf16_cmp(&a.local, &b.local),
    }
}

fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        String::from_utf8(transform_bytes(s.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn siblings_mint_new_prefixes() {
        assert_eq!(
            t(r#"<a xmlns="urn:1" xmlns:q="urn:2"><q:b/><q:c>x</q:c></a>"#),
            r#"<ns1:a xmlns:ns1="urn:1"><ns2:b xmlns:ns2="urn:2"></ns2:b><ns3:c xmlns:ns3="urn:2">x</ns3:c></ns1:a>"#
        );
    }

    #[test]
    fn xml_namespace_attributes_are_refused() {
        for attr in ["xml:lang=\"ru\"", "xml:space=\"preserve\""] {
            let doc = format!("<a xmlns=\"urn:1\"><b {attr}>x</b></a>");
            assert!(
                matches!(
                    transform_bytes(doc.as_bytes()),
                    Err(XmlError::XmlNamespaceAttribute(_))
                ),
                "{attr}"
            );
        }
    }

    #[test]
    fn c1_controls_in_text_become_references() {
        assert_eq!(
            t("<a xmlns=\"urn:1\">x\u{85}y</a>"),
            "<ns1:a xmlns:ns1=\"urn:1\">x&#x85;y</ns1:a>"
        );
    }

    #[test]
    fn unqualified_elements_are_refused() {
        assert!(matches!(
            transform_bytes(b"<a xmlns=\"urn:1\"><b xmlns=\"\"/></a>"),
            Err(XmlError::UnqualifiedElement(_))
        ));
    }
}
