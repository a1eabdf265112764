//! Produces SMEV-profile XML signatures and splices them into the document without touching any
//! other byte of it.
//!
//! Signing is split in two so that ЭП-СП can be made by an official's own tool (two-phase):
//! [`prepare`] computes the reference digest and the canonical SignedInfo (the exact bytes that
//! get signed), [`Prepared::assemble`] inserts a signature value made elsewhere. [`sign`] does both
//! with a [`Signer`].

use std::ops::Range;

use base64::Engine as _;
use openssl::x509::X509;

use crate::xml::c14n::EXC_C14N;
use crate::xml::escape;
use crate::xml::{Document, NodeId};

use super::algorithm::Algorithm;
use super::reference::{transformed_octets, Transform};
use super::signer::Signer;
use super::{DsigError, DSIG_NS};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Where the `ds:Signature` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Into the empty `PersonalSignature` (for the business root under `MessagePrimaryContent`)
    /// or `CallerInformationSystemSignature` (a following sibling of the signed element) when the
    /// document has one; otherwise enveloped.
    Auto,
    /// As the last child of the signed element, with the enveloped-signature transform first.
    Enveloped,
}

/// A signature prepared up to the point of signing.
#[derive(Debug, Clone)]
pub struct Prepared {
    source: Vec<u8>,
    replace: Range<usize>,
    open_tag: String,
    close_tag: String,
    /// The signature algorithm.
    pub algorithm: Algorithm,
    /// The `Id` the reference points to.
    pub reference_id: String,
    /// The reference's digest value.
    pub digest: Vec<u8>,
    /// Exclusive-c14n form of `ds:SignedInfo`: the bytes the signature value is computed over.
    pub signed_info: Vec<u8>,
    /// The transformed bytes the digest was computed over (for diagnostics and independent checks).
    pub digested: Vec<u8>,
    /// Whether the signature will be enveloped in the signed element.
    pub enveloped: bool,
}

/// A detached signature of the element `Id = id` (transforms: exc-c14n, SMEV transform), as
/// `ds:Signature` XML to be placed elsewhere — how ЭП-СП over a business document is made
/// before the document goes into `MessagePrimaryContent`.
pub fn detached_signature(
    source: &[u8],
    id: &str,
    signer: &dyn Signer,
) -> Result<String, DsigError> {
    let prepared = prepare_detached(source, id, signer.algorithm())?;
    let value = signer.sign(&prepared.signed_info)?;
    let der = signer
        .certificate()
        .to_der()
        .map_err(|e| DsigError::OpenSsl(e.to_string()))?;
    Ok(signature_element(&prepared.signed_info, &value, &der))
}

/// Digest and canonical SignedInfo of a detached signature of the element `Id = id`.
pub fn prepare_detached(
    source: &[u8],
    id: &str,
    algorithm: Algorithm,
) -> Result<Prepared, DsigError> {
    if algorithm == Algorithm::Gost2001 {
        return Err(DsigError::UnsupportedAlgorithm(
            "GOST R 34.10-2001 is accepted for verification only".into(),
        ));
    }
    let doc = Document::parse(source)?;
    let target = doc.find_by_id(id)?;
    let transforms = Transform::smev_chain();
    let digested = transformed_octets(&doc, target, None, &transforms)?;
    let digest = algorithm.digest().hash(&digested)?;
    let signed_info = signed_info_c14n(algorithm, id, &transforms, &digest);
    Ok(Prepared {
        source: doc.source().to_vec(),
        replace: 0..0,
        open_tag: String::new(),
        close_tag: String::new(),
        algorithm,
        reference_id: id.to_string(),
        digest,
        signed_info,
        digested,
        enveloped: false,
    })
}

/// Signs the element with `Id = id` in `source` and returns the signed document.
pub fn sign(
    source: &[u8],
    id: &str,
    signer: &dyn Signer,
    placement: Placement,
) -> Result<Vec<u8>, DsigError> {
    let prepared = prepare(source, id, signer.algorithm(), placement)?;
    let value = signer.sign(&prepared.signed_info)?;
    prepared.assemble(&value, signer.certificate())
}

/// Computes the digest and the canonical SignedInfo for the element with `Id = id`.
pub fn prepare(
    source: &[u8],
    id: &str,
    algorithm: Algorithm,
    placement: Placement,
) -> Result<Prepared, DsigError> {
    if algorithm == Algorithm::Gost2001 {
        return Err(DsigError::UnsupportedAlgorithm(
            "GOST R 34.10-2001 is accepted for verification only".into(),
        ));
    }
    let doc = Document::parse(source)?;
    let target = doc.find_by_id(id)?;
    let container = match placement {
        Placement::Auto => find_container(&doc, target),
        Placement::Enveloped => None,
    };
    let (host, enveloped) = match container {
        Some(c) => (c, false),
        None => (target, true),
    };
    let mut transforms = Vec::new();
    if enveloped {
        transforms.push(Transform::Enveloped);
    }
    transforms.extend(Transform::smev_chain());
    // No signature exists yet, so the enveloped-signature transform has nothing to remove.
    let digested = transformed_octets(&doc, target, None, &transforms)?;
    let digest = algorithm.digest().hash(&digested)?;
    let signed_info = signed_info_c14n(algorithm, id, &transforms, &digest);
    let (replace, open_tag, close_tag) = insertion(&doc, host, enveloped)?;
    Ok(Prepared {
        source: doc.source().to_vec(),
        replace,
        open_tag,
        close_tag,
        algorithm,
        reference_id: id.to_string(),
        digest,
        signed_info,
        digested,
        enveloped,
    })
}

impl Prepared {
    /// Inserts the `ds:Signature` built from `signature_value` (raw GOST signature bytes) and the
    /// signer's certificate; returns the signed document.
    pub fn assemble(&self, signature_value: &[u8], cert: &X509) -> Result<Vec<u8>, DsigError> {
        let der = cert
            .to_der()
            .map_err(|e| DsigError::OpenSsl(e.to_string()))?;
        let sig = signature_element(&self.signed_info, signature_value, &der);
        let mut out = Vec::with_capacity(self.source.len() + sig.len() + 64);
        out.extend_from_slice(&self.source[..self.replace.start]);
        out.extend_from_slice(self.open_tag.as_bytes());
        out.extend_from_slice(sig.as_bytes());
        out.extend_from_slice(self.close_tag.as_bytes());
        out.extend_from_slice(&self.source[self.replace.end..]);
        Ok(out)
    }
}

/// The container a SMEV document provides for a signature of `target`, if empty and present.
fn find_container(doc: &Document, target: NodeId) -> Option<NodeId> {
    let parent = doc.node(target).parent?;
    let parent_el = doc.element(parent)?;
    let (scope, names, after): (NodeId, &[&str], NodeId) =
        if parent_el.local == "MessagePrimaryContent" {
            // ЭП-СП: PersonalSignature is a sibling of MessagePrimaryContent.
            (doc.node(parent).parent?, &["PersonalSignature"], parent)
        } else {
            // ЭП-ОВ of a caller, or SMEV's own signature of what it delivers.
            (
                parent,
                &["CallerInformationSystemSignature", "SMEVSignature"],
                target,
            )
        };
    let siblings = doc.children(scope);
    let pos = siblings.iter().position(|n| *n == after)?;
    siblings[pos + 1..]
        .iter()
        .copied()
        .find(|n| {
            doc.element(*n)
                .is_some_and(|e| names.contains(&e.local.as_str()))
        })
        .filter(|n| is_empty(doc, *n))
}

fn is_empty(doc: &Document, n: NodeId) -> bool {
    doc.children(n).iter().all(|c| match &doc.node(*c).kind {
        crate::xml::tree::NodeKind::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// The byte range to replace and the tags around the signature, for inserting into `host`.
fn insertion(
    doc: &Document,
    host: NodeId,
    append: bool,
) -> Result<(Range<usize>, String, String), DsigError> {
    let e = doc
        .element(host)
        .ok_or_else(|| DsigError::Placement("not an element".into()))?;
    if e.self_closing {
        // `<X a="b"/>` becomes `<X a="b">SIG</X>`.
        let raw = &doc.source()[e.span.clone()];
        let raw =
            std::str::from_utf8(raw).map_err(|_| DsigError::Placement("invalid UTF-8".into()))?;
        let open = raw
            .strip_suffix("/>")
            .map(str::trim_end)
            .ok_or_else(|| DsigError::Placement("unexpected empty-element syntax".into()))?;
        return Ok((
            e.span.clone(),
            format!("{open}>"),
            format!("</{}>", e.qname()),
        ));
    }
    if append {
        Ok((e.content_end..e.content_end, String::new(), String::new()))
    } else {
        // Replace the whitespace-only content of the container.
        Ok((e.content_start..e.content_end, String::new(), String::new()))
    }
}

/// The canonical (exclusive c14n) form of a SMEV SignedInfo, with `xmlns:ds` as c14n puts it.
pub fn signed_info_c14n(
    algorithm: Algorithm,
    id: &str,
    transforms: &[Transform],
    digest: &[u8],
) -> Vec<u8> {
    let mut s = String::with_capacity(900);
    s.push_str("<ds:SignedInfo xmlns:ds=\"");
    s.push_str(DSIG_NS);
    s.push_str("\"><ds:CanonicalizationMethod Algorithm=\"");
    s.push_str(EXC_C14N);
    s.push_str("\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"");
    s.push_str(algorithm.signature_uri());
    s.push_str("\"></ds:SignatureMethod><ds:Reference URI=\"#");
    s.push_str(&escape::attr(id));
    s.push_str("\"><ds:Transforms>");
    for t in transforms {
        s.push_str("<ds:Transform Algorithm=\"");
        s.push_str(t.uri());
        s.push_str("\"></ds:Transform>");
    }
    s.push_str("</ds:Transforms><ds:DigestMethod Algorithm=\"");
    s.push_str(algorithm.digest().uri());
    s.push_str("\"></ds:DigestMethod><ds:DigestValue>");
    s.push_str(&B64.encode(digest));
    s.push_str("</ds:DigestValue></ds:Reference></ds:SignedInfo>");
    s.into_bytes()
}

/// The `ds:Signature` element, without any whitespace between its elements (SMEV forbids text
/// nodes there).
pub fn signature_element(
    signed_info_c14n: &[u8],
    signature_value: &[u8],
    cert_der: &[u8],
) -> String {
    let si = String::from_utf8_lossy(signed_info_c14n);
    // The namespace is declared on ds:Signature; SignedInfo canonicalizes to the same bytes.
    let si = si.replacen(&format!(" xmlns:ds=\"{DSIG_NS}\""), "", 1);
    format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{si}<ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        B64.encode(signature_value),
        B64.encode(cert_der)
    )
}
