//! GOST XML signatures as SMEV 3 profiles them: one `ds:Reference` to an element by `Id`,
//! transforms exclusive c14n then the SMEV transform, SignedInfo canonicalized with exclusive c14n,
//! GOST R 34.11-2012 digests and GOST R 34.10-2012 signatures (256 and 512 bit), the signer's
//! certificate in `KeyInfo`. Verification also accepts legacy GOST R 34.10-2001 signatures.
//!
//! [`sign`] produces signatures (ЭП-ОВ into `CallerInformationSystemSignature`, ЭП-СП into
//! `PersonalSignature`, or enveloped), [`verify`] checks them and explains failures.

pub mod algorithm;
pub mod certificate;
mod certificate_cache;
pub mod cms_parts;
pub mod engine;
mod file_bio;
pub mod operations;
pub mod pkcs7;
pub mod reference;
mod reference_check;
pub mod sign;
pub mod signer;
pub mod verify;

pub use algorithm::{Algorithm, DigestAlgorithm};
pub use certificate::{CertificateInfo, TrustStore};
pub use signer::{OpenSslSigner, Signer};

use crate::xml::XmlError;

/// Namespace of XML Signature.
pub const DSIG_NS: &str = crate::xml::ns::DSIG;
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Errors of the signature layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("GOST cryptography unavailable: {0}")]
    EngineUnavailable(String),
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("key not usable: {0}")]
    KeyNotUsable(String),
    #[error("cannot place the signature: {0}")]
    Placement(String),
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    #[error("OpenSSL error: {0}")]
    OpenSsl(String),
    #[error("{0}")]
    Io(String),
    /// A signature that verifies, made by another certificate than the one it must be.
    #[error("the signature was made by another certificate ({0})")]
    WrongSigner(String),
}

impl DsigError {
    fn openssl(e: openssl::error::ErrorStack) -> Self {
        DsigError::OpenSsl(e.to_string())
    }
}
