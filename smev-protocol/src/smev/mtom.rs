//! MTOM/XOP (`multipart/related; type="application/xop+xml"`): building messages whose
//! attachment bytes travel as MIME parts, parsing such messages (SMEV's Apache CXF answers may be
//! multipart even when empty) and resolving `xop:Include` back to base64 text, which is what
//! signatures over MTOM-optimized content are computed on.

use base64::Engine as _;

use crate::xml::Document;

use super::ns;
use super::SmevError;

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// SMEV's inline attachment limit (5 MB per message); configurable in the gateway.
pub const DEFAULT_INLINE_LIMIT: usize = 5 * 1024 * 1024;

/// A binary MIME part referenced by `cid:content_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimePart {
    pub content_id: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

const ROOT_ID: &str = "root.message@smev-gateway";

/// Checks the total inline attachment size against `limit`.
pub fn check_inline_limit(
    sizes: impl IntoIterator<Item = usize>,
    limit: usize,
) -> Result<(), SmevError> {
    let total: usize = sizes.into_iter().sum();
    if total > limit {
        return Err(SmevError::AttachmentTooLarge { total, limit });
    }
    Ok(())
}

/// Builds a `multipart/related` body; returns (Content-Type header value, body).
pub fn build(root_xml: &[u8], parts: &[MimePart], boundary: &str) -> (String, Vec<u8>) {
    let content_type = format!(
        "multipart/related; type=\"application/xop+xml\"; start=\"<{ROOT_ID}>\"; start-info=\"text/xml\"; boundary=\"{boundary}\""
    );
    let size = root_xml.len() + parts.iter().map(|p| p.body.len() + 200).sum::<usize>() + 400;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <{ROOT_ID}>\r\n\r\n").as_bytes());
    body.extend_from_slice(root_xml);
    for p in parts {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{}>\r\n\r\n",
                p.content_type, p.content_id
            )
            .as_bytes(),
        );
        body.extend_from_slice(&p.body);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (content_type, body)
}

/// Most MIME parts accepted in one message: the root plus SMEV's limit of 100 attachments.
pub const MAX_MIME_PARTS: usize = 101;
/// Longest header block of one MIME part: real ones are a few hundred bytes.
pub const MAX_PART_HEADER_BYTES: usize = 8 * 1024;

/// A parameter of a header value such as `boundary="x"`.
pub fn header_param(value: &str, name: &str) -> Option<String> {
    for piece in value.split(';').skip(1) {
        let Some((k, v)) = piece.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// Linear-time substring search (two-way / SIMD, no backtracking on hostile input).
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|i| i + from)
}

/// The end of a part's header block within `max` bytes of `pos`: (offset of the blank line,
/// its length). The scan never goes past the bound, so hostile bodies cost O(body) in all.
fn header_end(body: &[u8], pos: usize, max: usize) -> Option<(usize, usize)> {
    let window = &body[pos..body.len().min(pos.saturating_add(max))];
    // A part without headers: the blank line comes first.
    if window.starts_with(b"\r\n") {
        return Some((pos, 2));
    }
    if window.starts_with(b"\n") {
        return Some((pos, 1));
    }
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'\n', &window[i..]) {
        let nl = i + off;
        match window.get(nl + 1) {
            Some(b'\n') => return Some((pos + nl, 2)),
            Some(b'\r') if window.get(nl + 2) == Some(&b'\n') => {
                // "\r\n\r\n": the blank line starts at the preceding CR.
                let at = if nl > 0 && window[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                return Some((pos + at, pos + nl + 3 - (pos + at)));
            }
            _ => i = nl + 1,
        }
    }
    None
}

/// Parses a `multipart/related` body into its root part and the other parts. Work is linear in
/// the body: delimiters are found by a linear search, header blocks are bounded, and at most
/// [`MAX_MIME_PARTS`] parts are accepted.
pub fn parse(content_type: &str, body: &[u8]) -> Result<(Vec<u8>, Vec<MimePart>), SmevError> {
    let err = |m: &str| SmevError::Mtom(m.to_string());
    let boundary =
        header_param(content_type, "boundary").ok_or_else(|| err("no boundary in Content-Type"))?;
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(err("the MIME boundary must have 1 to 200 characters"));
    }
    let start = header_param(content_type, "start").map(|s| s.trim_matches(['<', '>']).to_string());
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let truncated = |m: &str| SmevError::MtomTruncated(m.to_string());
    let mut pos =
        find(body, delim, 0).ok_or_else(|| truncated("boundary not found in the body"))?;
    let mut parts: Vec<MimePart> = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        if parts.len() >= MAX_MIME_PARTS {
            return Err(SmevError::Mtom(format!(
                "more than {MAX_MIME_PARTS} MIME parts (SMEV allows at most 100 attachments)"
            )));
        }
        // Skip the line end after the boundary.
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        } else if body[pos..].starts_with(b"\n") {
            pos += 1;
        }
        let (header_end, sep) = header_end(body, pos, MAX_PART_HEADER_BYTES).ok_or_else(|| {
            SmevError::Mtom(format!(
                "a part without a header end within {MAX_PART_HEADER_BYTES} bytes"
            ))
        })?;
        let headers = String::from_utf8_lossy(&body[pos..header_end]).to_string();
        let content_start = header_end + sep;
        let next = find(body, delim, content_start)
            .ok_or_else(|| truncated("unterminated part (no closing boundary)"))?;
        let mut content_end = next;
        if content_end >= 2 && &body[content_end - 2..content_end] == b"\r\n" {
            content_end -= 2;
        } else if content_end >= 1 && body[content_end - 1] == b'\n' {
            content_end -= 1;
        }
        let mut content_id = String::new();
        let mut ctype = String::new();
        let mut encoding = String::new();
        for line in headers.lines() {
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-id" => content_id = v.trim_matches(['<', '>']).to_string(),
                    "content-type" => ctype = v.to_string(),
                    "content-transfer-encoding" => encoding = v.to_ascii_lowercase(),
                    _ => {}
                }
            }
        }
        let raw = &body[content_start..content_end.max(content_start)];
        let data = if encoding == "base64" {
            let compact: Vec<u8> = raw
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            B64.decode(compact)
                .map_err(|_| err("a base64 part does not decode"))?
        } else {
            raw.to_vec()
        };
        if parts.iter().any(|p| p.content_id == content_id) {
            return Err(SmevError::Mtom(format!(
                "two MIME parts with Content-ID <{}>",
                escape_for_message(&content_id)
            )));
        }
        parts.push(MimePart {
            content_id,
            content_type: ctype,
            body: data,
        });
        pos = next;
    }
    if parts.is_empty() {
        return Err(err("no parts"));
    }
    let root_index = start
        .and_then(|s| parts.iter().position(|p| p.content_id == s))
        .unwrap_or(0);
    let root = parts.remove(root_index);
    Ok((root.body, parts))
}

/// Peer text put into an error message: bounded and with control characters escaped.
fn escape_for_message(s: &str) -> String {
    s.chars().take(100).flat_map(char::escape_default).collect()
}

/// Replaces every `<xop:Include href="cid:…"/>` by the base64 of its part. Each part may be
/// referenced once, and only from `AttachmentContent/Content` (where the 1.3 schemas allow
/// optimized binary content): so the resolved document is at most the root plus the base64 of
/// the parts, computed before anything is allocated.
pub fn resolve_xop(xml: &[u8], parts: &[MimePart]) -> Result<Vec<u8>, SmevError> {
    if find(xml, ns::XOP.as_bytes(), 0).is_none() {
        return Ok(xml.to_vec());
    }
    let doc = Document::parse(xml)?;
    let root = doc.root();
    let mut used = vec![false; parts.len()];
    let mut includes: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    for n in std::iter::once(root).chain(doc.descendants(root)) {
        let Some(e) = doc.element(n) else { continue };
        if e.is(ns::XOP, "Include") {
            let parent = doc
                .node(n)
                .parent
                .and_then(|p| doc.element(p).map(|e| (p, e)));
            let in_content = parent.is_some_and(|(p, e)| {
                e.local == "Content"
                    && doc
                        .node(p)
                        .parent
                        .and_then(|g| doc.element(g))
                        .is_some_and(|g| g.local == "AttachmentContent")
            });
            if !in_content {
                return Err(SmevError::Mtom(
                    "xop:Include outside AttachmentContent/Content".into(),
                ));
            }
            let href = e.attr("href").unwrap_or("");
            let cid = href.strip_prefix("cid:").unwrap_or(href);
            let cid = percent_decode(cid);
            let index = parts
                .iter()
                .position(|p| p.content_id == cid)
                .ok_or_else(|| {
                    SmevError::Mtom(format!(
                        "xop:Include refers to a missing part cid:{}",
                        escape_for_message(&cid)
                    ))
                })?;
            if std::mem::replace(&mut used[index], true) {
                return Err(SmevError::Mtom(format!(
                    "MIME part cid:{} is referenced more than once",
                    escape_for_message(&cid)
                )));
            }
            includes.push((e.span.clone(), index));
        }
    }
    let size = includes.iter().try_fold(xml.len(), |acc, (_, i)| {
        acc.checked_add(base64::encoded_len(parts[*i].body.len(), true)?)
    });
    let size = size.ok_or_else(|| SmevError::Mtom("resolved size overflows".into()))?;
    let mut out = Vec::with_capacity(size);
    let mut last = 0;
    for (span, index) in includes {
        if span.start < last {
            return Err(SmevError::Mtom(
                "xop:Include nested inside another xop:Include".into(),
            ));
        }
        out.extend_from_slice(&doc.source()[last..span.start]);
        out.extend_from_slice(B64.encode(&parts[index].body).as_bytes());
        last = span.end;
    }
    out.extend_from_slice(&doc.source()[last..]);
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The XML of an HTTP body: multipart bodies are parsed and their XOP includes resolved.
pub fn xml_of_body(content_type: &str, body: &[u8]) -> Result<Vec<u8>, SmevError> {
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let (root, parts) = parse(content_type, body)?;
        resolve_xop(&root, &parts)
    } else {
        Ok(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_resolution() {
        let xml = format!(
            "<a xmlns:xop=\"{}\"><AttachmentContent><Content><xop:Include href=\"cid:f%401\"/></Content></AttachmentContent></a>",
            ns::XOP
        );
        let part = MimePart {
            content_id: "f@1".into(),
            content_type: "application/pdf".into(),
            body: b"%PDF-1.4 \r\n--not-a-boundary\r\n binary \x00\xff".to_vec(),
        };
        let (ct, body) = build(xml.as_bytes(), std::slice::from_ref(&part), "uuid:b1");
        let (root, parts) = parse(&ct, &body).unwrap();
        assert_eq!(root, xml.as_bytes());
        assert_eq!(parts, vec![part.clone()]);
        let resolved = String::from_utf8(xml_of_body(&ct, &body).unwrap()).unwrap();
        assert_eq!(
            resolved,
            format!(
                "<a xmlns:xop=\"{}\"><AttachmentContent><Content>{}</Content></AttachmentContent></a>",
                ns::XOP,
                B64.encode(&part.body)
            )
        );
    }

    #[test]
    fn nested_includes_are_an_error() {
        let xml = format!(
            "<a xmlns:xop=\"{x}\"><xop:Include href=\"cid:p\"><xop:Include href=\"cid:p\"/></xop:Include></a>",
            x = ns::XOP
        );
        let part = MimePart {
            content_id: "p".into(),
            content_type: "application/octet-stream".into(),
            body: b"x".to_vec(),
        };
        assert!(resolve_xop(xml.as_bytes(), &[part]).is_err());
    }

    fn content(includes: &str) -> String {
        format!("<a xmlns:xop=\"{}\">{includes}</a>", ns::XOP)
    }

    fn include(cid: &str) -> String {
        format!("<AttachmentContent><Content><xop:Include href=\"cid:{cid}\"/></Content></AttachmentContent>")
    }

    #[test]
    fn a_part_referenced_twice_is_refused_before_resolution() {
        let part = MimePart {
            content_id: "p".into(),
            content_type: "application/octet-stream".into(),
            body: vec![7u8; 1024],
        };
        let xml = content(&include("p").repeat(600));
        let e = resolve_xop(xml.as_bytes(), &[part]).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
    }

    #[test]
    fn include_outside_attachment_content_is_refused() {
        let part = MimePart {
            content_id: "p".into(),
            content_type: "application/octet-stream".into(),
            body: b"x".to_vec(),
        };
        let xml = content("<Other><xop:Include href=\"cid:p\"/></Other>");
        let e = resolve_xop(xml.as_bytes(), &[part]).unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }

    #[test]
    fn part_count_is_capped() {
        let parts: Vec<MimePart> = (0..=MAX_MIME_PARTS)
            .map(|i| MimePart {
                content_id: format!("p{i}"),
                content_type: "application/octet-stream".into(),
                body: vec![b'a'],
            })
            .collect();
        let (ct, body) = build(b"<a/>", &parts, "b");
        let e = parse(&ct, &body).unwrap_err();
        assert!(e.to_string().contains("MIME parts"), "{e}");
    }

    #[test]
    fn header_blocks_are_bounded() {
        let mut body = b"--b\r\nContent-ID: <a>\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'x', MAX_PART_HEADER_BYTES + 10));
        body.extend_from_slice(b"\r\n\r\nroot\r\n--b--");
        let e = parse("multipart/related; boundary=b", &body).unwrap_err();
        assert!(e.to_string().contains("header end"), "{e}");
    }

    #[test]
    fn duplicate_content_ids_are_refused() {
        let part = MimePart {
            content_id: "p".into(),
            content_type: "application/octet-stream".into(),
            body: b"x".to_vec(),
        };
        let (ct, body) = build(b"<a/>", &[part.clone(), part], "b");
        assert!(parse(&ct, &body).is_err());
    }

    #[test]
    fn a_part_without_headers_is_read() {
        let (root, parts) =
            parse("multipart/related; boundary=b", b"--b\r\n\r\n<a/>\r\n--b--").unwrap();
        assert_eq!(root, b"<a/>");
        assert!(parts.is_empty());
    }

    #[test]
    fn a_body_cut_short_is_truncated_not_malformed() {
        for body in [
            &b"--b\r\nContent-ID: <r>\r\n\r\n<a/>"[..],
            b"no boundary at all",
        ] {
            assert!(matches!(
                parse("multipart/related; boundary=b", body),
                Err(SmevError::MtomTruncated(_))
            ));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b""[..],
            b"--x",
            b"--x\r\nContent-ID: <a>",
            b"--x\r\n\r\nabc",
            b"--x--",
        ] {
            assert!(parse("multipart/related; boundary=x", body).is_err());
        }
        assert!(parse("multipart/related", b"--x").is_err());
    }
}
