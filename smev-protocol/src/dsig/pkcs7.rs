//! Detached CMS (PKCS#7) signatures of attachment files, as SMEV carries them in
//! `AttachmentHeader/SignaturePKCS7` (GOST R 34.10-2012 through OpenSSL's GOST engine). Only the
//! cryptography over the file bytes is checked here: the signer is an agency's ЭП-ОВ or an
//! official's ЭП-СП, whose chains SMEV itself checks.

use openssl::cms::{CMSOptions, CmsContentInfo};

use super::engine::ensure_gost_engine;
use super::DsigError;

/// Largest `SignaturePKCS7` accepted (real ones are 2–8 KB: the signature and a certificate or
/// two).
pub const MAX_PKCS7_BYTES: usize = 64 * 1024;

/// Checks that `signature_der`, a detached CMS SignedData, signs exactly `content`.
pub fn verify_detached(signature_der: &[u8], content: &[u8]) -> Result<(), DsigError> {
    ensure_gost_engine()?;
    if signature_der.len() > MAX_PKCS7_BYTES {
        return Err(DsigError::MalformedSignature(format!(
            "PKCS#7 signature of {} bytes exceeds {MAX_PKCS7_BYTES}",
            signature_der.len()
        )));
    }
    let mut cms = CmsContentInfo::from_der(signature_der)
        .map_err(|e| DsigError::MalformedSignature(format!("not a DER CMS structure: {e}")))?;
    // BINARY: the file is compared byte for byte (no MIME canonicalization of line ends).
    let flags = CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY;
    cms.verify(None, None, Some(content), None, flags)
        .map_err(|e| {
            DsigError::OpenSsl(format!("the PKCS#7 signature does not match the file: {e}"))
        })
}
