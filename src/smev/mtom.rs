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

/// A parameter of a header value such as `boundary="x"`.
pub fn header_param(value: &str, name: &str) -> Option<String> {
    for piece in value.split(';').skip(1) {
        let (k, v) = piece.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..].iter().position(|b| *b == first) {
            None => return None,
            Some(off) => {
                i += off;
                if i + needle.len() <= hay.len() && &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// Parses a `multipart/related` body into its root part and the other parts.
pub fn parse(content_type: &str, body: &[u8]) -> Result<(Vec<u8>, Vec<MimePart>), SmevError> {
    let err = |m: &str| SmevError::Mtom(m.to_string());
    let boundary =
        header_param(content_type, "boundary").ok_or_else(|| err("no boundary in Content-Type"))?;
    let start = header_param(content_type, "start").map(|s| s.trim_matches(['<', '>']).to_string());
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut pos = find(body, delim, 0).ok_or_else(|| err("boundary not found in the body"))?;
    let mut parts: Vec<MimePart> = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        // Skip the line end after the boundary.
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        } else if body[pos..].starts_with(b"\n") {
            pos += 1;
        }
        let (header_end, sep) = match (find(body, b"\r\n\r\n", pos), find(body, b"\n\n", pos)) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return Err(err("part without a header end")),
        };
        let headers = String::from_utf8_lossy(&body[pos..header_end]).to_string();
        let content_start = header_end + sep;
        let next = find(body, delim, content_start)
            .ok_or_else(|| err("unterminated part (no closing boundary)"))?;
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

/// Replaces every `<xop:Include href="cid:…"/>` by the base64 of its part.
pub fn resolve_xop(xml: &[u8], parts: &[MimePart]) -> Result<Vec<u8>, SmevError> {
    if find(xml, ns::XOP.as_bytes(), 0).is_none() {
        return Ok(xml.to_vec());
    }
    let doc = Document::parse(xml)?;
    let root = doc.root();
    let mut includes: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for n in std::iter::once(root).chain(doc.descendants(root)) {
        let Some(e) = doc.element(n) else { continue };
        if e.is(ns::XOP, "Include") {
            let href = e.attr("href").unwrap_or("");
            let cid = href.strip_prefix("cid:").unwrap_or(href);
            let cid = percent_decode(cid);
            let part = parts.iter().find(|p| p.content_id == cid).ok_or_else(|| {
                SmevError::Mtom(format!("xop:Include refers to a missing part cid:{cid}"))
            })?;
            includes.push((e.span.clone(), B64.encode(&part.body)));
        }
    }
    let mut out = Vec::with_capacity(xml.len() + includes.iter().map(|i| i.1.len()).sum::<usize>());
    let mut last = 0;
    for (span, text) in includes {
        if span.start < last {
            return Err(SmevError::Mtom(
                "xop:Include nested inside another xop:Include".into(),
            ));
        }
        out.extend_from_slice(&doc.source()[last..span.start]);
        out.extend_from_slice(text.as_bytes());
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
            "<a xmlns:xop=\"{}\"><c><xop:Include href=\"cid:f%401\"/></c></a>",
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
                "<a xmlns:xop=\"{}\"><c>{}</c></a>",
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
