//! Detached CMS (PKCS#7) signatures of attachment files, as SMEV carries them in
//! `AttachmentHeader/SignaturePKCS7` (GOST R 34.10-2012 through OpenSSL's GOST engine). Only the
//! cryptography over the file bytes is checked here: the signer is an agency's ЭП-ОВ or an
//! official's ЭП-СП, whose chains SMEV itself checks.

use std::path::Path;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::error::ErrorStack;
use openssl::stack::{Stack, StackRef};
use openssl::x509::{X509Ref, X509};

use super::file_bio::FileBio;

use super::engine::ensure_gost_engine;
use super::DsigError;

/// Largest `SignaturePKCS7` accepted (real ones are 2–8 KB: the signature and a certificate or
/// two).
pub const MAX_PKCS7_BYTES: usize = 64 * 1024;

extern "C" {
    // libcrypto's `STACK_OF(X509) *CMS_get0_signers(CMS_ContentInfo *cms)`: the certificates of
    // the signers whose signatures CMS_verify just checked (not declared by openssl-sys).
    fn CMS_get0_signers(cms: *mut openssl_sys::CMS_ContentInfo) -> *mut openssl_sys::stack_st_X509;
}

/// What a detached signature signs: bytes in memory, or a file on disk streamed through
/// OpenSSL's digest in small pieces (memory stays flat for a file of any size).
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Checks that `signature_der`, a detached CMS SignedData, signs exactly `content`; returns
/// who signed it (see [`signer_name`]) when the signature carries the signer's certificate.
pub fn verify_detached(signature_der: &[u8], content: &[u8]) -> Result<Option<String>, DsigError> {
    verify(signature_der, Content::Bytes(content), None)
        .map(|signer| signer.map(|c| signer_name(&super::CertificateInfo::of(&c))))
}

/// Checks that `signature_der` signs `content` and was made with `cert`'s key — an official's
/// ЭП-СП of a file, handed back with the XML ЭП-СП of the same certificate. A signature that
/// carries no certificate is checked against `cert`; one whose signer is another certificate
/// is refused even when it verifies.
pub fn verify_detached_by(
    signature_der: &[u8],
    content: Content<'_>,
    cert: &X509Ref,
) -> Result<(), DsigError> {
    let mut given = Stack::new().map_err(DsigError::openssl)?;
    given.push(cert.to_owned()).map_err(DsigError::openssl)?;
    let signer = verify(signature_der, content, Some(&given))?;
    let der = |c: &X509Ref| c.to_der().map_err(DsigError::openssl);
    match signer {
        Some(s) if der(&s)? == der(cert)? => Ok(()),
        Some(s) => Err(DsigError::WrongSigner(signer_name(
            &super::CertificateInfo::of(&s),
        ))),
        None => Err(DsigError::WrongSigner("unknown".into())),
    }
}

/// How a file's signer is shown: the certificate's common name, with its organization when the
/// certificate names one ("Иванова Анна Сергеевна, Тестовое ведомство").
pub fn signer_name(info: &super::CertificateInfo) -> String {
    let name = info
        .common_name
        .clone()
        .unwrap_or_else(|| info.subject.clone());
    match &info.organization {
        Some(o) if !name.contains(o.as_str()) => format!("{name}, {o}"),
        _ => name,
    }
}

/// The certificate of the first signer of a CMS that has just verified.
fn signer_of_verified(cms: &CmsContentInfo) -> Option<X509> {
    // SAFETY: called only after a successful CMS_verify on `cms`, as OpenSSL requires; the
    // stack is OpenSSL's new allocation (freed here, once) holding pointers owned by `cms`,
    // which outlives this function; the certificate is copied (up-referenced) before the free.
    unsafe {
        let signers = CMS_get0_signers(cms.as_ptr());
        if signers.is_null() {
            return None;
        }
        let stack = signers as *mut openssl_sys::OPENSSL_STACK;
        let first = if openssl_sys::OPENSSL_sk_num(stack) > 0 {
            let cert = openssl_sys::OPENSSL_sk_value(stack, 0) as *mut openssl_sys::X509;
            (!cert.is_null()).then(|| X509Ref::from_ptr(cert).to_owned())
        } else {
            None
        };
        openssl_sys::OPENSSL_sk_free(stack);
        first
    }
}

/// Checks that `signature_der` signs exactly the bytes of the file at `path`, reading the file
/// through OpenSSL's digest in small pieces (memory stays flat for a file of any size; the work
/// is one pass over it); returns the signer as [`verify_detached`] does.
pub fn verify_detached_file(
    signature_der: &[u8],
    path: &Path,
) -> Result<Option<String>, DsigError> {
    verify(signature_der, Content::File(path), None)
        .map(|signer| signer.map(|c| signer_name(&super::CertificateInfo::of(&c))))
}

/// CMS_verify of the detached `signature_der` over `content`, with `certs` as candidates for
/// the signer besides those the signature carries; the signer's certificate when known.
fn verify(
    signature_der: &[u8],
    content: Content<'_>,
    certs: Option<&StackRef<X509>>,
) -> Result<Option<X509>, DsigError> {
    ensure_gost_engine()?;
    let mut cms = parse(signature_der)?;
    let mismatch = |e: &dyn std::fmt::Display| {
        DsigError::OpenSsl(format!("the PKCS#7 signature does not match the file: {e}"))
    };
    match content {
        Content::Bytes(bytes) => {
            cms.verify(certs, None, Some(bytes), None, verify_flags())
                .map_err(|e| mismatch(&e))?;
        }
        Content::File(path) => {
            let bio = FileBio::open(path)?;
            let certs = certs.map_or(std::ptr::null_mut(), |c| c.as_ptr());
            // SAFETY: `cms`, `bio` and the optional stack are valid for the call and stay
            // owned by their wrappers (CMS_verify only reads the stack); no store (NULL), no
            // output (NULL); it frees only the BIOs it pushes onto `bio`.
            let rc = unsafe {
                openssl_sys::CMS_verify(
                    cms.as_ptr(),
                    certs,
                    std::ptr::null_mut(),
                    bio.as_ptr(),
                    std::ptr::null_mut(),
                    verify_flags().bits(),
                )
            };
            if rc != 1 {
                return Err(mismatch(&ErrorStack::get()));
            }
        }
    }
    Ok(signer_of_verified(&cms))
}

/// A detached CMS SignedData over the file at `path` made with `key` and `cert`, DER, the file
/// streamed through OpenSSL's digest; `flags` as for [`CmsContentInfo::sign`].
pub(crate) fn sign_detached_file(
    cert: &openssl::x509::X509Ref,
    key: &openssl::pkey::PKeyRef<openssl::pkey::Private>,
    path: &Path,
    flags: CMSOptions,
) -> Result<Vec<u8>, DsigError> {
    let content = FileBio::open(path)?;
    // SAFETY: the certificate, key and BIO are valid for the call and stay owned by their
    // wrappers (CMS_sign takes references of the certificate and key); the result is checked
    // for NULL and then owned by CmsContentInfo, which frees it.
    let cms = unsafe {
        let raw = openssl_sys::CMS_sign(
            cert.as_ptr(),
            key.as_ptr(),
            std::ptr::null_mut(),
            content.as_ptr(),
            flags.bits(),
        );
        if raw.is_null() {
            return Err(DsigError::OpenSsl(ErrorStack::get().to_string()));
        }
        CmsContentInfo::from_ptr(raw)
    };
    // OpenSSL's binary copy stops at a failed read without an error: make sure the signature
    // covers the whole file, not a prefix of it.
    let read = content.position();
    let size = std::fs::metadata(path)
        .map_err(|e| DsigError::Io(format!("{}: {e}", path.display())))?
        .len();
    if read != Some(size) {
        return Err(DsigError::Io(format!(
            "{}: only part of the file was read for its signature ({read:?} of {size} bytes)",
            path.display()
        )));
    }
    cms.to_der().map_err(|e| DsigError::OpenSsl(e.to_string()))
}

/// BINARY: the file is compared byte for byte (no MIME canonicalization of line ends);
/// NO_SIGNER_CERT_VERIFY: the signer's chain is SMEV's to check, the file's bytes are ours.
fn verify_flags() -> CMSOptions {
    CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY
}

fn parse(signature_der: &[u8]) -> Result<CmsContentInfo, DsigError> {
    if signature_der.len() > MAX_PKCS7_BYTES {
        return Err(DsigError::MalformedSignature(format!(
            "PKCS#7 signature of {} bytes exceeds {MAX_PKCS7_BYTES}",
            signature_der.len()
        )));
    }
    CmsContentInfo::from_der(signature_der)
        .map_err(|e| DsigError::MalformedSignature(format!("not a DER CMS structure: {e}")))
}
