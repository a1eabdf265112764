//! The [`Signer`] boundary: something that holds a private key and its certificate and signs
//! bytes. The OpenSSL GOST backend reads keys from PEM (PKCS#8) or PKCS#12 files; ЭП-ОВ keys of
//! information systems and ЭП-СП keys of officials are two roles of the same mechanism. Hardware
//! tokens (PKCS#11) or a remote signing service would be further implementations.

use std::path::Path;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::algorithm::Algorithm;
use super::engine::ensure_gost_engine;
use super::DsigError;

/// Signs data with one key; the certificate goes into `KeyInfo`.
pub trait Signer: Send + Sync {
    /// The algorithm of the key.
    fn algorithm(&self) -> Algorithm;
    /// The signer's certificate.
    fn certificate(&self) -> &X509;
    /// Hashes and signs `data`; returns the raw GOST signature as OpenSSL produces it (the
    /// bytes that go, base64-encoded, into `SignatureValue`).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DsigError>;
    /// A detached CMS (PKCS#7) SignedData over `content`, DER — the `SignaturePKCS7` of a file
    /// (signed attributes contentType, signingTime and messageDigest; the certificate included).
    /// A signer that cannot make one says so.
    fn pkcs7_detached(&self, _content: &[u8]) -> Result<Vec<u8>, DsigError> {
        Err(DsigError::KeyNotUsable(
            "this signer cannot make PKCS#7 file signatures".into(),
        ))
    }
    /// The same over the file at `path`, read as a stream (a file of up to 1 GB is never held
    /// in memory).
    fn pkcs7_detached_file(&self, _path: &Path) -> Result<Vec<u8>, DsigError> {
        Err(DsigError::KeyNotUsable(
            "this signer cannot make PKCS#7 file signatures".into(),
        ))
    }
}

/// A GOST key held in memory by OpenSSL.
pub struct OpenSslSigner {
    key: PKey<Private>,
    cert: X509,
    algorithm: Algorithm,
}

impl std::fmt::Debug for OpenSslSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSslSigner")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl OpenSslSigner {
    /// Builds a signer from a key and its certificate, checking that the key is a GOST 2012 key
    /// and that it matches the certificate.
    pub fn new(key: PKey<Private>, cert: X509) -> Result<Self, DsigError> {
        ensure_gost_engine()?;
        let algorithm = match Algorithm::from_key_id(key.id().as_raw()) {
            Some(Algorithm::Gost2001) => {
                return Err(DsigError::KeyNotUsable(
                    "GOST R 34.10-2001 keys are accepted for verification only; sign with a GOST R 34.10-2012 key".into(),
                ))
            }
            Some(a) => a,
            None => {
                return Err(DsigError::KeyNotUsable(format!(
                    "the key is not a GOST R 34.10-2012 key (OpenSSL key type {})",
                    key_type_name(key.id().as_raw())
                )))
            }
        };
        let public = cert.public_key().map_err(DsigError::openssl)?;
        if !key.public_eq(&public) {
            return Err(DsigError::KeyNotUsable(
                "the private key does not match the certificate's public key".into(),
            ));
        }
        Ok(OpenSslSigner {
            key,
            cert,
            algorithm,
        })
    }

    /// Loads a PEM private key (PKCS#8, optionally encrypted with `password`) and a PEM
    /// certificate.
    pub fn from_pem_files(
        key_path: &Path,
        cert_path: &Path,
        password: Option<&str>,
    ) -> Result<Self, DsigError> {
        ensure_gost_engine()?;
        let key_pem = read(key_path)?;
        let cert_pem = read(cert_path)?;
        let key = match password {
            Some(p) => PKey::private_key_from_pem_passphrase(&key_pem, p.as_bytes()),
            None => PKey::private_key_from_pem(&key_pem),
        }
        .map_err(|e| {
            DsigError::KeyNotUsable(format!(
                "cannot read the private key {}: {}",
                key_path.display(),
                key_error_hint(&e, password.is_some())
            ))
        })?;
        let cert = X509::from_pem(&cert_pem).map_err(|e| {
            DsigError::KeyNotUsable(format!(
                "cannot read the certificate {}: {}",
                cert_path.display(),
                first_error(&e)
            ))
        })?;
        Self::new(key, cert)
    }

    /// Loads a PKCS#12 file with `password`.
    pub fn from_pkcs12_file(path: &Path, password: &str) -> Result<Self, DsigError> {
        ensure_gost_engine()?;
        let der = read(path)?;
        let p12 = Pkcs12::from_der(&der).map_err(|e| {
            DsigError::KeyNotUsable(format!(
                "{} is not a PKCS#12 file: {}",
                path.display(),
                first_error(&e)
            ))
        })?;
        let parsed = p12.parse2(password).map_err(|_| {
            DsigError::KeyNotUsable(format!(
                "cannot open PKCS#12 {}: wrong password or unsupported protection",
                path.display()
            ))
        })?;
        let key = parsed.pkey.ok_or_else(|| {
            DsigError::KeyNotUsable(format!("{} holds no private key", path.display()))
        })?;
        let cert = parsed.cert.ok_or_else(|| {
            DsigError::KeyNotUsable(format!("{} holds no certificate", path.display()))
        })?;
        Self::new(key, cert)
    }

    /// Loads a key by file type: `.p12`/`.pfx` as PKCS#12 (the certificate comes from it),
    /// anything else as a PEM key with the PEM certificate `cert_path`.
    pub fn from_files(
        key_path: &Path,
        cert_path: Option<&Path>,
        password: Option<&str>,
    ) -> Result<Self, DsigError> {
        let ext = key_path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "p12" || ext == "pfx" {
            return Self::from_pkcs12_file(key_path, password.unwrap_or(""));
        }
        let cert_path = cert_path.ok_or_else(|| {
            DsigError::KeyNotUsable("a PEM key needs its certificate (--cert)".into())
        })?;
        Self::from_pem_files(key_path, cert_path, password)
    }
}

impl Signer for OpenSslSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn certificate(&self) -> &X509 {
        &self.cert
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DsigError> {
        let md = self.algorithm.digest().message_digest()?;
        let mut s = openssl::sign::Signer::new(md, &self.key).map_err(DsigError::openssl)?;
        s.update(data).map_err(DsigError::openssl)?;
        super::operations::signed();
        s.sign_to_vec().map_err(DsigError::openssl)
    }

    fn pkcs7_detached(&self, content: &[u8]) -> Result<Vec<u8>, DsigError> {
        use openssl::cms::CmsContentInfo;
        let flags = pkcs7_flags();
        let cms = CmsContentInfo::sign(
            Some(&self.cert),
            Some(&self.key),
            None,
            Some(content),
            flags,
        )
        .map_err(DsigError::openssl)?;
        cms.to_der().map_err(DsigError::openssl)
    }

    fn pkcs7_detached_file(&self, path: &Path) -> Result<Vec<u8>, DsigError> {
        super::pkcs7::sign_detached_file(&self.cert, &self.key, path, pkcs7_flags())
    }
}

/// BINARY: the file's bytes as they are; NOSMIMECAP: no S/MIME capabilities attribute (SMEV's
/// profile lists contentType, signingTime and messageDigest).
fn pkcs7_flags() -> openssl::cms::CMSOptions {
    use openssl::cms::CMSOptions;
    CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP
}

fn read(path: &Path) -> Result<Vec<u8>, DsigError> {
    std::fs::read(path).map_err(|e| DsigError::Io(format!("{}: {e}", path.display())))
}

fn first_error(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|x| x.reason().map(str::to_string))
        .unwrap_or_else(|| "not a valid PEM/DER object".into())
}

fn key_error_hint(e: &openssl::error::ErrorStack, had_password: bool) -> String {
    let reason = first_error(e);
    if reason.contains("bad decrypt") || reason.contains("decrypt") {
        "wrong password".into()
    } else if reason.contains("bad password") || (!had_password && reason.contains("password")) {
        "the key is encrypted: give its password".into()
    } else {
        reason
    }
}

fn key_type_name(id: i32) -> String {
    openssl::nid::Nid::from_raw(id)
        .short_name()
        .map(str::to_string)
        .unwrap_or_else(|_| id.to_string())
}
