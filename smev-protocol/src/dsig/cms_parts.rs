//! The parts of a detached CMS SignedData (PKCS#7, RFC 5652) that an XMLDSig ЭП-СП can use: an
//! official often signs with КриптоАРМ or `cryptcp`, which write a `.sig`/`.p7s` file rather than
//! a bare signature value. When the signer signed the data itself (no signed attributes), the
//! SignerInfo's signature *is* the XMLDSig SignatureValue of those bytes; with signed attributes
//! (CAdES: signing time, message digest …) it signs the attributes instead and cannot be used.
//!
//! A small bounded DER reader (definite lengths only, low tag numbers, at most
//! [`MAX_CMS_BYTES`]) rather than OpenSSL's structures, because OpenSSL's Rust API does not expose
//! a SignerInfo's signature value or attributes; the signature itself is verified by the caller
//! with OpenSSL over the prepared bytes.

use base64::Engine as _;

/// Largest CMS file taken (a signature with a certificate chain is 2–10 KB).
pub const MAX_CMS_BYTES: usize = 64 * 1024;
/// Most certificates taken from one file.
const MAX_CERTIFICATES: usize = 16;
/// Deepest nesting followed while reading.
const MAX_DEPTH: usize = 8;

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";

/// Why a file is not a usable detached CMS signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("the file is larger than {MAX_CMS_BYTES} bytes")]
    TooLarge,
    #[error("not a DER-encoded CMS structure: {0}")]
    Malformed(&'static str),
    #[error("a CMS structure, but not SignedData")]
    NotSignedData,
    #[error("the CMS has {0} signers; exactly one is expected")]
    SignerCount(usize),
}

/// What a detached CMS SignedData holds for one signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmsParts {
    /// The SignerInfo's signature value, as OpenSSL writes it.
    pub signature: Vec<u8>,
    /// Whether the signer signed attributes (CAdES) rather than the data itself.
    pub signed_attributes: bool,
    /// Whether the signed content is inside the file (an attached signature).
    pub attached: bool,
    /// OID of the signer's digest algorithm.
    pub digest_oid: String,
    /// Certificates carried in the file, DER.
    pub certificates: Vec<Vec<u8>>,
}

/// The DER of a CMS file given as DER, PEM (`-----BEGIN PKCS7-----`, `CMS`, `SIGNED MESSAGE`…)
/// or bare base64; None when it is none of them.
pub fn der_of_file(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let body: String = if text.trim_start().starts_with("-----BEGIN") {
        text.lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.chars())
            .filter(|c| !c.is_whitespace())
            .collect()
    } else {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    (der.first() == Some(&0x30)).then_some(der)
}

/// One TLV: its tag byte, its contents, and the whole encoding.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads the TLV at the start of `input`; returns it and what follows.
fn tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), CmsError> {
    let (&tag, rest) = input
        .split_first()
        .ok_or(CmsError::Malformed("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(CmsError::Malformed("high tag numbers are not used by CMS"));
    }
    let (&first, rest) = rest.split_first().ok_or(CmsError::Malformed("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else if first == 0x80 {
        return Err(CmsError::Malformed(
            "indefinite length (BER); save the signature in DER",
        ));
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 || rest.len() < n {
            return Err(CmsError::Malformed("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(CmsError::Malformed("truncated"));
    }
    let header = input.len() - rest.len();
    Ok((
        Tlv {
            tag,
            content: &rest[..len],
            whole: &input[..header + len],
        },
        &rest[len..],
    ))
}

/// The TLVs inside `content`, at most `max` of them.
fn children(content: &[u8], max: usize) -> Result<Vec<Tlv<'_>>, CmsError> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        if out.len() == max {
            return Err(CmsError::Malformed("too many elements"));
        }
        let (t, r) = tlv(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

fn expect<'a>(t: Tlv<'a>, tag: u8, what: &'static str) -> Result<Tlv<'a>, CmsError> {
    if t.tag == tag {
        Ok(t)
    } else {
        Err(CmsError::Malformed(what))
    }
}

fn oid(content: &[u8]) -> Result<String, CmsError> {
    let (&first, rest) = content
        .split_first()
        .ok_or(CmsError::Malformed("empty OID"))?;
    let mut parts = vec![u64::from(first / 40).min(2), 0];
    parts[1] = u64::from(first) - parts[0] * 40;
    let mut value: u64 = 0;
    for (i, b) in rest.iter().enumerate() {
        if value > (u64::MAX >> 7) {
            return Err(CmsError::Malformed("OID component too large"));
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            parts.push(value);
            value = 0;
        } else if i + 1 == rest.len() {
            return Err(CmsError::Malformed("truncated OID"));
        }
    }
    Ok(parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// Reads a CMS ContentInfo holding SignedData with one signer.
pub fn parse(der: &[u8]) -> Result<CmsParts, CmsError> {
    if der.len() > MAX_CMS_BYTES {
        return Err(CmsError::TooLarge);
    }
    let (info, trailing) = tlv(der)?;
    if !trailing.is_empty() {
        return Err(CmsError::Malformed("bytes after the structure"));
    }
    let info = children(
        expect(info, 0x30, "ContentInfo is not a SEQUENCE")?.content,
        MAX_DEPTH,
    )?;
    let [content_type, explicit, ..] = info.as_slice() else {
        return Err(CmsError::Malformed("ContentInfo has no content"));
    };
    if oid(expect(*content_type, 0x06, "no content type")?.content)? != OID_SIGNED_DATA {
        return Err(CmsError::NotSignedData);
    }
    let (signed, _) = tlv(expect(*explicit, 0xa0, "no [0] content")?.content)?;
    let fields = children(
        expect(signed, 0x30, "SignedData is not a SEQUENCE")?.content,
        8,
    )?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
    let [_version, _digests, encap, rest @ ..] = fields.as_slice() else {
        return Err(CmsError::Malformed("SignedData is incomplete"));
    };
    let encap = children(
        expect(*encap, 0x30, "encapContentInfo is not a SEQUENCE")?.content,
        2,
    )?;
    let attached = encap.len() == 2;
    let mut certificates = Vec::new();
    let mut signer_infos = None;
    for f in rest {
        match f.tag {
            0xa0 => {
                for c in children(f.content, MAX_CERTIFICATES)? {
                    // Only X.509 certificates (a SEQUENCE); other choices are skipped.
                    if c.tag == 0x30 {
                        certificates.push(c.whole.to_vec());
                    }
                }
            }
            0xa1 => {}
            0x31 => signer_infos = Some(children(f.content, MAX_CERTIFICATES)?),
            _ => return Err(CmsError::Malformed("unexpected field in SignedData")),
        }
    }
    let signers = signer_infos.ok_or(CmsError::Malformed("no signerInfos"))?;
    let [signer] = signers.as_slice() else {
        return Err(CmsError::SignerCount(signers.len()));
    };
    let parts = children(
        expect(*signer, 0x30, "SignerInfo is not a SEQUENCE")?.content,
        8,
    )?;
    // version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature, [1]?
    let [_version, _sid, digest_alg, rest @ ..] = parts.as_slice() else {
        return Err(CmsError::Malformed("SignerInfo is incomplete"));
    };
    let digest = children(
        expect(*digest_alg, 0x30, "digestAlgorithm is not a SEQUENCE")?.content,
        2,
    )?;
    let digest_oid = oid(expect(
        *digest
            .first()
            .ok_or(CmsError::Malformed("empty digestAlgorithm"))?,
        0x06,
        "digestAlgorithm has no OID",
    )?
    .content)?;
    let signed_attributes = rest.first().is_some_and(|t| t.tag == 0xa0);
    let rest = if signed_attributes { &rest[1..] } else { rest };
    let [_sig_alg, signature, ..] = rest else {
        return Err(CmsError::Malformed("SignerInfo has no signature"));
    };
    let signature = expect(*signature, 0x04, "the signature is not an OCTET STRING")?;
    Ok(CmsParts {
        signature: signature.content.to_vec(),
        signed_attributes,
        attached,
        digest_oid,
        certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_refused_without_panic() {
        let cases: &[&[u8]] = &[
            b"",
            &[0x30],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x03, 0x06, 0x01, 0x2a],
            &[0x30, 0x05, 0x06, 0x01, 0x2a, 0xa0, 0x00],
            &[0x1f, 0x01, 0x00],
        ];
        for c in cases {
            assert!(parse(c).is_err(), "{c:?}");
        }
        assert_eq!(
            parse(&vec![0x30; MAX_CMS_BYTES + 1]),
            Err(CmsError::TooLarge)
        );
    }

    #[test]
    fn oids_decode() {
        // 1.2.840.113549.1.7.2
        let der = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
        assert_eq!(oid(&der).unwrap(), OID_SIGNED_DATA);
        assert!(oid(&[0x2a, 0x86]).is_err());
    }

    #[test]
    fn files_in_every_armour_give_the_same_der() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!("-----BEGIN PKCS7-----\n{b64}\n-----END PKCS7-----\n");
        assert_eq!(der_of_file(&der), Some(der.clone()));
        assert_eq!(der_of_file(b64.as_bytes()), Some(der.clone()));
        assert_eq!(der_of_file(pem.as_bytes()), Some(der));
        assert_eq!(der_of_file(b"not a signature"), None);
    }
}
