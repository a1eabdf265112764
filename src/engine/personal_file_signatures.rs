//! Two-phase ЭП-СП over files: for a kind with `personal_sign_attachments`, the official signs
//! each file of the request (a detached CMS, as КриптоАРМ, `cryptcp` or the CryptoPro plug-in
//! make it) and hands the signatures back with the XML ЭП-СП. Each is checked over the stored
//! file's bytes — streamed from disk for a large one — and must be made with the same
//! certificate as the XML ЭП-СП; the signatures become the files' `SignaturePKCS7`.

use base64::Engine as _;
use openssl::x509::X509;

use super::intake::IntakeError;
use super::Context;
use crate::domain::{AttachmentRef, RequestRecord};
use crate::dsig::cms_parts;
use crate::dsig::pkcs7::{self, Content};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// A file the official signs, as the signing payload lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileToSign {
    /// Position among the request's attachments: the order signatures are handed back in.
    pub index: usize,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// Base64 of the GOST R 34.11-2012-256 digest of the bytes, as the attachment header's
    /// `Hash` carries it.
    pub hash: String,
}

/// Whether the official signs the files of `r` too.
pub(crate) fn files_signed_by_official(ctx: &Context, r: &RequestRecord) -> bool {
    ctx.kinds
        .get(&r.kind)
        .is_some_and(|k| k.config.personal_sign_attachments)
}

/// The files of `r` its official signs (none when the kind does not ask for it).
pub(crate) fn files_to_sign(ctx: &Context, r: &RequestRecord) -> Vec<FileToSign> {
    if !files_signed_by_official(ctx, r) {
        return Vec::new();
    }
    r.attachments
        .iter()
        .enumerate()
        .map(|(index, a)| FileToSign {
            index,
            name: a.name.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            hash: hex::decode(&a.hash)
                .map(|raw| B64.encode(raw))
                .unwrap_or_default(),
        })
        .collect()
}

/// Checks the handed-back file signatures of `r` (in the order of its attachments; each DER,
/// PEM or base64) against the files' bytes and `cert`, and stores them; returns their blob
/// keys (empty for a kind whose files the official does not sign).
pub(crate) async fn check_and_store(
    ctx: &Context,
    r: &RequestRecord,
    signatures: &[Vec<u8>],
    cert: &X509,
) -> Result<Vec<String>, IntakeError> {
    let expected = if files_signed_by_official(ctx, r) {
        r.attachments.len()
    } else {
        0
    };
    if signatures.len() != expected {
        return Err(IntakeError::BadSignature(if expected == 0 {
            format!(
                "{} file signature(s) given, but this request's files are not signed by the official",
                signatures.len()
            )
        } else {
            format!(
                "the request has {expected} file(s) the official signs; {} file signature(s) given, one per file in order is needed",
                signatures.len()
            )
        }));
    }
    let mut ders = Vec::with_capacity(signatures.len());
    for (a, given) in r.attachments.iter().zip(signatures) {
        let der = cms_parts::der_of_file(given).ok_or_else(|| {
            IntakeError::BadSignature(format!(
                "the signature of «{}» is not a CMS/PKCS#7 file (DER, PEM or base64)",
                a.name
            ))
        })?;
        // The whole file goes through the digest: CPU work on the bounded pool.
        crate::cpu::offload(|| verify_one(ctx, a, &der, cert)).await?;
        ders.push(der);
    }
    ders.iter()
        .map(|der| ctx.store.put_blob(der).map_err(IntakeError::from))
        .collect()
}

/// One file's signature over its stored bytes, made with `cert`.
fn verify_one(
    ctx: &Context,
    a: &AttachmentRef,
    der: &[u8],
    cert: &X509,
) -> Result<(), IntakeError> {
    let refused = |e: &dyn std::fmt::Display| {
        IntakeError::BadSignature(format!("the signature of «{}»: {e}", a.name))
    };
    let checked = match ctx.files.path(&a.hash).filter(|_| a.in_file_area) {
        Some(path) => pkcs7::verify_detached_by(der, Content::File(&path), cert),
        None => {
            let bytes = ctx.store.blob(&a.hash)?;
            pkcs7::verify_detached_by(der, Content::Bytes(&bytes), cert)
        }
    };
    checked.map_err(|e| refused(&e))
}
