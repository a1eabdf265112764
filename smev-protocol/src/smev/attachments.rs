//! Integrity of the attachments of a received message. Attachment bytes travel outside the
//! signed element (`AttachmentContentList`, or MTOM parts), so they are only as trustworthy as
//! their link to the signed `AttachmentHeaderList`: every content must be declared there, every
//! declared one must arrive, once, and a `SignaturePKCS7` in the header must verify over the
//! bytes. Anything else is a substitution or an addition in transit.

use serde::{Deserialize, Serialize};

use crate::dsig::pkcs7;

use super::model::{AttachmentContent, AttachmentHeader};

/// How far an attachment's bytes are vouched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Integrity {
    /// A detached PKCS#7 signature in the signed header verified over the bytes.
    Verified,
    /// Listed in the signed header list, without a PKCS#7 signature: the link is the content id
    /// only.
    Declared,
    /// A file-storage file whose GOST R 34.11-2012 hash matches its signed
    /// `RefAttachmentHeader`.
    Hashed,
}

/// Why the attachments of a message cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    #[error("attachment {0:?} is not declared in the signed AttachmentHeaderList")]
    Undeclared(String),
    #[error("attachment {0:?} is declared in the signed AttachmentHeaderList but did not arrive")]
    Missing(String),
    #[error("attachment {0:?} arrived more than once")]
    Duplicated(String),
    #[error("attachment {id:?}: its PKCS#7 signature does not verify: {reason}")]
    BadSignature { id: String, reason: String },
    #[error("attachment {0:?} has no PKCS#7 signature, which the data kind requires")]
    SignatureRequired(String),
}

/// What the check found of one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub integrity: Integrity,
    /// Who signed the file (its PKCS#7 signer's certificate), when it is signed.
    pub signer: Option<String>,
}

/// Checks `contents` against the signed `headers`; returns what was found of each content, in
/// order. `require_pkcs7`: every attachment must carry a verifying `SignaturePKCS7`.
pub fn check(
    headers: &[AttachmentHeader],
    contents: &[AttachmentContent],
    require_pkcs7: bool,
) -> Result<Vec<Checked>, IntegrityError> {
    let by_id: std::collections::HashMap<&str, &AttachmentHeader> =
        headers.iter().map(|h| (h.content_id.as_str(), h)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(contents.len());
    for c in contents {
        if !seen.insert(c.id.as_str()) {
            return Err(IntegrityError::Duplicated(bounded(&c.id)));
        }
        let header = by_id
            .get(c.id.as_str())
            .ok_or_else(|| IntegrityError::Undeclared(bounded(&c.id)))?;
        out.push(match &header.signature_pkcs7 {
            Some(sig) => {
                let signer = pkcs7::verify_detached(sig, &c.content).map_err(|e| {
                    IntegrityError::BadSignature {
                        id: bounded(&c.id),
                        reason: e.to_string(),
                    }
                })?;
                Checked {
                    integrity: Integrity::Verified,
                    signer,
                }
            }
            None if require_pkcs7 => {
                return Err(IntegrityError::SignatureRequired(bounded(&c.id)));
            }
            None => Checked {
                integrity: Integrity::Declared,
                signer: None,
            },
        });
    }
    if let Some(h) = headers
        .iter()
        .find(|h| !seen.contains(h.content_id.as_str()))
    {
        return Err(IntegrityError::Missing(bounded(&h.content_id)));
    }
    Ok(out)
}

fn bounded(id: &str) -> String {
    id.chars().take(100).collect()
}

/// A received MIME type as it may be served back as `Content-Type`: `type/subtype` made of
/// RFC 6838 name characters (parameters dropped), otherwise `application/octet-stream`.
pub fn safe_mime(mime: &str) -> String {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, st)) if token(t) && token(st) => essence.to_ascii_lowercase(),
        _ => "application/octet-stream".into(),
    }
}

/// A file name for a received attachment: SMEV does not transmit names for MTOM attachments, so
/// the content id is used, with the extension of its MIME type.
pub fn file_name(content_id: &str, mime: &str, index: usize) -> String {
    let ext = match mime {
        "application/pdf" => "pdf",
        "application/xml" | "text/xml" => "xml",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/rtf" | "text/rtf" => "rtf",
        "image/jpeg" => "jpeg",
        "image/png" => "png",
        "application/zip" => "zip",
        _ => "bin",
    };
    let base: String = content_id
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let base = if base.is_empty() {
        format!("attachment{}", index + 1)
    } else {
        base
    };
    if base.to_lowercase().ends_with(&format!(".{ext}")) {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// Longest content id made from a file name.
const MAX_CONTENT_ID: usize = 100;

/// The Latin spelling of a Cyrillic letter (ICAO Doc 9303, as in Russian passports).
fn latin(c: char) -> Option<&'static str> {
    const TABLE: &[(char, &str)] = &[
        ('а', "a"),
        ('б', "b"),
        ('в', "v"),
        ('г', "g"),
        ('д', "d"),
        ('е', "e"),
        ('ё', "e"),
        ('ж', "zh"),
        ('з', "z"),
        ('и', "i"),
        ('й', "i"),
        ('к', "k"),
        ('л', "l"),
        ('м', "m"),
        ('н', "n"),
        ('о', "o"),
        ('п', "p"),
        ('р', "r"),
        ('с', "s"),
        ('т', "t"),
        ('у', "u"),
        ('ф', "f"),
        ('х', "kh"),
        ('ц', "ts"),
        ('ч', "ch"),
        ('ш', "sh"),
        ('щ', "shch"),
        ('ъ', "ie"),
        ('ы', "y"),
        ('ь', ""),
        ('э', "e"),
        ('ю', "iu"),
        ('я', "ia"),
    ];
    let lower = c.to_lowercase().next()?;
    TABLE.iter().find(|(k, _)| *k == lower).map(|(_, v)| *v)
}

/// The MTOM content id of an attachment we send, made from its file name: SMEV carries no
/// names for MTOM attachments, so the receiver names the file after the content id, and
/// «Справка о доходах.pdf» should arrive as `Spravka_o_dokhodakh.pdf`, not `attachment1`. The
/// id is an NCName (Cyrillic spelt in Latin letters, anything else outside `[A-Za-z0-9._-]`
/// becomes `_`, a leading digit, dot or dash gets `f_`), at most 100 characters, and unique
/// among `taken` (a `-2`, `-3` … before the extension).
pub fn content_id_for(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let mut id = String::new();
    for c in name.chars() {
        match latin(c) {
            Some(l) if c.is_uppercase() => {
                let mut cs = l.chars();
                if let Some(first) = cs.next() {
                    id.push(first.to_ascii_uppercase());
                    id.extend(cs);
                }
            }
            Some(l) => id.push_str(l),
            None if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') => id.push(c),
            None => id.push('_'),
        }
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert_str(0, "f_");
    }
    let id: String = id.chars().take(MAX_CONTENT_ID).collect();
    let (stem, ext) = match id.rfind('.') {
        Some(i) if i > 0 => (id[..i].to_string(), id[i..].to_string()),
        _ => (id.clone(), String::new()),
    };
    let mut candidate = id;
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{stem}-{n}{ext}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_made_from_file_names() {
        let mut taken = std::collections::HashSet::new();
        let cases = [
            ("Справка о доходах.pdf", "Spravka_o_dokhodakh.pdf"),
            ("Справка о доходах.pdf", "Spravka_o_dokhodakh-2.pdf"),
            ("2026 акт.pdf", "f_2026_akt.pdf"),
            ("scan-01.png", "scan-01.png"),
            ("Щука & Ёж", "Shchuka___Ezh"),
        ];
        for (name, id) in cases {
            assert_eq!(content_id_for(name, &mut taken), id, "{name}");
        }
        let long = "я".repeat(300);
        assert!(content_id_for(&long, &mut taken).len() <= MAX_CONTENT_ID);
    }

    fn header(id: &str) -> AttachmentHeader {
        AttachmentHeader {
            content_id: id.into(),
            mime_type: "application/pdf".into(),
            signature_pkcs7: None,
        }
    }

    fn content(id: &str) -> AttachmentContent {
        AttachmentContent {
            id: id.into(),
            content: b"%PDF".to_vec(),
        }
    }

    #[test]
    fn declared_attachments_pass() {
        let r = check(
            &[header("a"), header("b")],
            &[content("b"), content("a")],
            false,
        );
        let declared = Checked {
            integrity: Integrity::Declared,
            signer: None,
        };
        assert_eq!(r, Ok(vec![declared.clone(), declared]));
    }

    #[test]
    fn mismatches_are_refused() {
        let cases: Vec<(
            Vec<AttachmentHeader>,
            Vec<AttachmentContent>,
            bool,
            IntegrityError,
        )> = vec![
            (
                vec![header("a")],
                vec![content("a"), content("x")],
                false,
                IntegrityError::Undeclared("x".into()),
            ),
            (
                vec![header("a"), header("b")],
                vec![content("a")],
                false,
                IntegrityError::Missing("b".into()),
            ),
            (
                vec![header("a")],
                vec![content("a"), content("a")],
                false,
                IntegrityError::Duplicated("a".into()),
            ),
            (
                vec![header("a")],
                vec![content("a")],
                true,
                IntegrityError::SignatureRequired("a".into()),
            ),
        ];
        for (h, c, require, expected) in cases {
            assert_eq!(check(&h, &c, require), Err(expected));
        }
    }

    #[test]
    fn a_garbage_pkcs7_is_refused() {
        let mut h = header("a");
        h.signature_pkcs7 = Some(b"\x30\x03\x02\x01\x01".to_vec());
        assert!(matches!(
            check(&[h], &[content("a")], false),
            Err(IntegrityError::BadSignature { .. })
        ));
    }

    #[test]
    fn received_mime_types_are_sanitized() {
        let cases = [
            ("application/pdf", "application/pdf"),
            ("Application/PDF; name=x", "application/pdf"),
            ("text/html\r\nSet-Cookie: a=b", "application/octet-stream"),
            ("", "application/octet-stream"),
            ("pdf", "application/octet-stream"),
            ("a/b/c", "application/octet-stream"),
        ];
        for (input, expected) in cases {
            assert_eq!(safe_mime(input), expected, "{input:?}");
        }
    }
}
