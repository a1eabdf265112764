//! Verifies XML signatures and, when one fails, says why — the "signature doctor".
//!
//! For each `ds:Signature` the report gives the signer's certificate, each reference's digest
//! check, the SignatureValue check, the certificate's validity and trust, and for a failure the
//! most likely cause: content changed after signing, transforms applied differently than
//! declared, whitespace inserted into SignedInfo after signing, a reversed signature byte order,
//! an expired or untrusted certificate, an unsupported algorithm.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::xml::c14n::{self, Options, EXC_C14N, EXC_C14N_WITH_COMMENTS};
use crate::xml::{Document, NodeId};

use super::algorithm::Algorithm;
use super::certificate::{CertificateInfo, TrustStore, Validity};
use super::certificate_cache::{self, ParsedCertificate};
use super::reference_check::{
    check_reference, location, parse_references, strip_inter_element_whitespace,
};
use super::{DsigError, DSIG_NS};

pub(super) const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;
pub(super) const XOP_NS: &str = "http://www.w3.org/2004/08/xop/include";

/// How strictly to verify.
#[derive(Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Trusted CAs: when given, the signer's certificate must chain to one of them and be valid
    /// at `at`.
    pub trust: Option<&'a TrustStore>,
    /// Fail signatures whose certificate is not valid at `at` even without a trust store.
    pub require_valid_certificate: bool,
    /// The moment certificate validity is checked at (default: now).
    pub at: Option<DateTime<Utc>>,
}

/// Why a signature failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Cause {
    /// The digest of the referenced content does not match: it changed after signing.
    ContentChanged { reference: String },
    /// The digest matches only with other transforms than declared.
    TransformsDiffer { reference: String, matching: String },
    /// Whitespace-only text was inserted into SignedInfo after signing (pretty-printing).
    SignedInfoWhitespace,
    /// The signature value is byte-reversed (as some CryptoAPI tools write it).
    SignatureByteOrderReversed,
    /// SignatureValue does not verify over SignedInfo although the digests match.
    SignatureValueMismatch,
    /// Neither the digest nor the SignatureValue verifies: SignedInfo (e.g. its DigestValue) was
    /// changed after signing.
    SignedInfoAltered,
    /// The signed content contains MTOM `xop:Include` elements that must be resolved first.
    XopIncludeUnresolved { reference: String },
    /// The reference points to no element.
    ReferenceNotFound { reference: String },
    /// An algorithm we do not implement.
    UnsupportedAlgorithm { uri: String },
    /// The SignatureMethod does not fit the certificate's key.
    AlgorithmKeyMismatch {
        signature_method: String,
        key: String,
    },
    /// No certificate in KeyInfo.
    MissingCertificate,
    /// The certificate is expired at the check time.
    CertificateExpired { not_after: DateTime<Utc> },
    /// The certificate is not yet valid at the check time.
    CertificateNotYetValid { not_before: DateTime<Utc> },
    /// The certificate does not chain to a trusted CA.
    CertificateUntrusted { reason: String },
    /// The signature element is not well-formed XMLDSig.
    Malformed { reason: String },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::ContentChanged { reference } => write!(f, "content changed after signing: the digest of {reference} does not match"),
            Cause::TransformsDiffer { reference, matching } => write!(f, "wrong transform order: the digest of {reference} matches only with transforms {matching}, not the declared ones"),
            Cause::SignedInfoWhitespace => write!(f, "whitespace inserted into SignedInfo after signing (the message was re-formatted); the digests match, the signature itself is intact"),
            Cause::SignatureByteOrderReversed => write!(f, "SignatureValue is byte-reversed (little-endian, as some CryptoAPI tools write it); SMEV expects OpenSSL's byte order"),
            Cause::SignatureValueMismatch => write!(f, "SignatureValue does not verify over SignedInfo although the digests match: the SignatureValue was changed after signing, or it was made with another key than the certificate's"),
            Cause::SignedInfoAltered => write!(f, "SignedInfo was changed after signing: neither its DigestValue nor the SignatureValue matches"),
            Cause::XopIncludeUnresolved { reference } => write!(f, "{reference} contains MTOM xop:Include elements: the MIME parts are needed to recompute the digest"),
            Cause::ReferenceNotFound { reference } => write!(f, "no element for reference {reference}"),
            Cause::UnsupportedAlgorithm { uri } => write!(f, "unsupported algorithm {uri}"),
            Cause::AlgorithmKeyMismatch { signature_method, key } => write!(f, "SignatureMethod {signature_method} does not fit the certificate's {key} key"),
            Cause::MissingCertificate => write!(f, "no X509Certificate in KeyInfo"),
            Cause::CertificateExpired { not_after } => write!(f, "certificate expired on {}", not_after.format("%Y-%m-%d %H:%M:%S UTC")),
            Cause::CertificateNotYetValid { not_before } => write!(f, "certificate not valid before {}", not_before.format("%Y-%m-%d %H:%M:%S UTC")),
            Cause::CertificateUntrusted { reason } => write!(f, "certificate is not trusted: {reason}"),
            Cause::Malformed { reason } => write!(f, "malformed signature: {reason}"),
        }
    }
}

/// The check of one `ds:Reference`.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceCheck {
    pub uri: String,
    /// Qualified name of the referenced element.
    pub target: Option<String>,
    pub transforms: Vec<String>,
    pub digest_method: String,
    pub expected_digest: String,
    pub computed_digest: Option<String>,
    pub digest_ok: bool,
}

/// Everything known about one signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// Path of the `ds:Signature` element by local names.
    pub location: String,
    pub signature_method: String,
    pub references: Vec<ReferenceCheck>,
    pub signature_value_ok: bool,
    pub certificate: Option<CertificateInfo>,
    pub certificate_validity: Option<Validity>,
    /// `Some(Ok)` trusted, `Some(Err)` untrusted, `None` not checked.
    pub certificate_trusted: Option<Result<(), String>>,
    /// Problems that make the signature invalid, most likely cause first.
    pub causes: Vec<Cause>,
    /// Observations that do not fail the signature (e.g. an expired certificate when validity is
    /// not enforced).
    pub warnings: Vec<String>,
    pub valid: bool,
    /// The signature's element in the document (not serialized).
    #[serde(skip)]
    pub node: NodeId,
}

impl SignatureReport {
    /// The referenced Ids (without `#`).
    pub fn referenced_ids(&self) -> Vec<&str> {
        self.references
            .iter()
            .map(|r| r.uri.trim_start_matches('#'))
            .collect()
    }
}

/// Most signatures verified in one document: an SMEV envelope carries ЭП-СМЭВ, ЭП-ОВ and
/// perhaps ЭП-СП; each signature costs a canonicalization of what it references, so a document
/// stuffed with signatures must not multiply the work.
pub const MAX_SIGNATURES: usize = 6;
/// Most references in one SignedInfo (SMEV's signatures have one).
pub const MAX_REFERENCES: usize = 4;
/// Most transforms in one reference (SMEV's chain has two or three).
pub const MAX_TRANSFORMS: usize = 6;
/// Most prefixes in an InclusiveNamespaces PrefixList.
pub const MAX_PREFIX_LIST: usize = 64;
/// Referenced content up to this size is re-digested with the usual wrong transform orders to
/// name the cause of a mismatch; larger content is only reported as changed.
pub(super) const DIAGNOSE_UP_TO_BYTES: usize = 1024 * 1024;

/// Finds every `ds:Signature` in the document (in document order).
pub fn find_signatures(doc: &Document) -> Vec<NodeId> {
    let root = doc.root();
    let mut all = vec![root];
    all.extend(doc.descendants(root));
    all.into_iter()
        .filter(|n| doc.element(*n).is_some_and(|e| e.is(DSIG_NS, "Signature")))
        .collect()
}

/// Verifies every signature in `source`.
pub fn verify_document(
    source: &[u8],
    opts: &VerifyOptions<'_>,
) -> Result<Vec<SignatureReport>, DsigError> {
    let doc = Document::parse(source)?;
    let signatures = find_signatures(&doc);
    if signatures.len() > MAX_SIGNATURES {
        return Err(DsigError::MalformedSignature(format!(
            "{} signatures in one document (at most {MAX_SIGNATURES} are verified)",
            signatures.len()
        )));
    }
    Ok(signatures
        .into_iter()
        .map(|s| verify_signature(&doc, s, opts))
        .collect())
}

/// Verifies the `ds:Signature` element `sig` of `doc`.
pub fn verify_signature(doc: &Document, sig: NodeId, opts: &VerifyOptions<'_>) -> SignatureReport {
    let mut report = SignatureReport {
        location: location(doc, sig),
        signature_method: String::new(),
        references: Vec::new(),
        signature_value_ok: false,
        certificate: None,
        certificate_validity: None,
        certificate_trusted: None,
        causes: Vec::new(),
        warnings: Vec::new(),
        valid: false,
        node: sig,
    };
    if let Err(cause) = check(doc, sig, opts, &mut report) {
        report.causes.insert(0, cause);
    }
    report.valid = report.causes.is_empty();
    report
}

pub(super) fn ds_child(doc: &Document, n: NodeId, local: &str) -> Option<NodeId> {
    doc.child(n, DSIG_NS, local)
}

pub(super) fn malformed(reason: impl Into<String>) -> Cause {
    Cause::Malformed {
        reason: reason.into(),
    }
}

pub(super) fn decode_b64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(compact)
}

fn check(
    doc: &Document,
    sig: NodeId,
    opts: &VerifyOptions<'_>,
    report: &mut SignatureReport,
) -> Result<(), Cause> {
    let signed_info =
        ds_child(doc, sig, "SignedInfo").ok_or_else(|| malformed("no ds:SignedInfo"))?;
    let c14n_method = ds_child(doc, signed_info, "CanonicalizationMethod")
        .ok_or_else(|| malformed("no ds:CanonicalizationMethod"))?;
    let c14n_uri = algorithm_attr(doc, c14n_method)?;
    let with_comments = match c14n_uri.as_str() {
        EXC_C14N => false,
        EXC_C14N_WITH_COMMENTS => true,
        other => {
            return Err(Cause::UnsupportedAlgorithm {
                uri: other.to_string(),
            })
        }
    };
    let si_opts = Options {
        with_comments,
        inclusive_prefixes: inclusive_prefixes(doc, c14n_method)?,
    };
    let sig_method = ds_child(doc, signed_info, "SignatureMethod")
        .ok_or_else(|| malformed("no ds:SignatureMethod"))?;
    let sig_uri = algorithm_attr(doc, sig_method)?;
    report.signature_method = sig_uri.clone();

    // Certificate first: a report names the signer even when everything else fails.
    let cert = match certificate(doc, sig) {
        Ok(c) => Some(c),
        Err(cause) => {
            report.causes.push(cause);
            None
        }
    };
    if let Some(parsed) = &cert {
        let cert = &parsed.cert;
        let info = parsed.info.clone();
        let at = opts.at.unwrap_or_else(Utc::now);
        let validity = info.validity_at(at);
        report.certificate_validity = Some(validity);
        let enforce = opts.require_valid_certificate || opts.trust.is_some();
        let time_cause = match validity {
            Validity::Valid => None,
            Validity::Expired => Some(Cause::CertificateExpired {
                not_after: info.not_after,
            }),
            Validity::NotYetValid => Some(Cause::CertificateNotYetValid {
                not_before: info.not_before,
            }),
        };
        if let Some(c) = time_cause {
            if enforce {
                report.causes.push(c);
            } else {
                report.warnings.push(c.to_string());
            }
        }
        if let Some(trust) = opts.trust {
            let t = trust.verify(cert);
            if let Err(reason) = &t {
                // Expiry is reported above on its own.
                if !reason.contains("expired") && !reason.contains("not yet valid") {
                    report.causes.push(Cause::CertificateUntrusted {
                        reason: reason.clone(),
                    });
                }
            }
            report.certificate_trusted = Some(t);
        }
        report.certificate = Some(info);
    }

    let algorithm =
        Algorithm::from_signature_uri(&sig_uri).map_err(|_| Cause::UnsupportedAlgorithm {
            uri: sig_uri.clone(),
        })?;

    let refs = parse_references(doc, signed_info)?;
    if refs.is_empty() {
        return Err(malformed("SignedInfo has no ds:Reference"));
    }
    let mut digests_ok = true;
    for r in refs {
        let (check, cause) = check_reference(doc, sig, &r);
        digests_ok &= check.digest_ok;
        report.references.push(check);
        if let Some(c) = cause {
            report.causes.push(c);
        }
    }

    let Some(parsed) = cert else {
        return Ok(());
    };
    let public = parsed
        .public
        .as_ref()
        .map_err(|e| malformed(format!("unreadable public key: {e}")))?;
    let key_alg = Algorithm::from_key_id(public.id().as_raw());
    if key_alg != Some(algorithm) {
        return Err(Cause::AlgorithmKeyMismatch {
            signature_method: sig_uri,
            key: key_alg
                .map(|a| a.name().to_string())
                .unwrap_or_else(|| "non-GOST".into()),
        });
    }
    let value_node =
        ds_child(doc, sig, "SignatureValue").ok_or_else(|| malformed("no ds:SignatureValue"))?;
    let value = decode_b64(&doc.text(value_node))
        .map_err(|e| malformed(format!("SignatureValue is not base64: {e}")))?;
    let canonical = c14n::canonicalize_subtree(doc, signed_info, None, &si_opts);
    let md = algorithm
        .digest()
        .message_digest()
        .map_err(|e| malformed(e.to_string()))?;
    let verify = |data: &[u8], sig: &[u8]| -> bool {
        super::operations::verified();
        openssl::sign::Verifier::new(md, public)
            .and_then(|mut v| {
                v.update(data)?;
                v.verify(sig)
            })
            .unwrap_or(false)
    };
    if verify(&canonical, &value) {
        report.signature_value_ok = true;
        return Ok(());
    }
    // Diagnose: which change would make it verify?
    let compact = strip_inter_element_whitespace(&canonical);
    if compact != canonical && verify(&compact, &value) {
        report.causes.push(Cause::SignedInfoWhitespace);
        return Ok(());
    }
    let reversed: Vec<u8> = value.iter().rev().copied().collect();
    if verify(&canonical, &reversed) {
        report.causes.push(Cause::SignatureByteOrderReversed);
        return Ok(());
    }
    if digests_ok {
        report.causes.push(Cause::SignatureValueMismatch);
    } else {
        // SignedInfo itself is not what was signed, so its digests say nothing about the content.
        report.causes.retain(|c| {
            !matches!(
                c,
                Cause::ContentChanged { .. } | Cause::TransformsDiffer { .. }
            )
        });
        report.causes.insert(0, Cause::SignedInfoAltered);
    }
    Ok(())
}

pub(super) fn algorithm_attr(doc: &Document, n: NodeId) -> Result<String, Cause> {
    doc.element(n)
        .and_then(|e| e.attr("Algorithm"))
        .map(str::to_string)
        .ok_or_else(|| {
            malformed(format!(
                "{} has no Algorithm",
                doc.element(n)
                    .map(|e| e.local.to_string())
                    .unwrap_or_default()
            ))
        })
}

/// The InclusiveNamespaces PrefixList under `n`, at most [`MAX_PREFIX_LIST`] entries (more is
/// malformed: every entry is considered on every canonicalized element).
pub(super) fn inclusive_prefixes(doc: &Document, n: NodeId) -> Result<Vec<String>, Cause> {
    let list: Vec<String> = doc
        .child_elements(n)
        .filter_map(|c| doc.element(c))
        .find(|e| e.local == "InclusiveNamespaces")
        .and_then(|e| e.attr("PrefixList"))
        .map(|l| {
            l.split_whitespace()
                .take(MAX_PREFIX_LIST + 1)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if list.len() > MAX_PREFIX_LIST {
        return Err(malformed(format!(
            "an InclusiveNamespaces PrefixList of more than {MAX_PREFIX_LIST} prefixes"
        )));
    }
    Ok(list)
}

pub(super) fn certificate(
    doc: &Document,
    sig: NodeId,
) -> Result<std::sync::Arc<ParsedCertificate>, Cause> {
    let cert_node = ds_child(doc, sig, "KeyInfo")
        .and_then(|k| ds_child(doc, k, "X509Data"))
        .and_then(|x| ds_child(doc, x, "X509Certificate"))
        .ok_or(Cause::MissingCertificate)?;
    let der = decode_b64(&doc.text(cert_node))
        .map_err(|e| malformed(format!("X509Certificate is not base64: {e}")))?;
    // Without the engine a GOST certificate does not parse, which is reported just below.
    if let Err(e) = super::engine::ensure_gost_engine() {
        tracing::debug!(error = %e, "GOST engine unavailable");
    }
    certificate_cache::parse(&der).map_err(|e| malformed(format!("X509Certificate is {e}")))
}
