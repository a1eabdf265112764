//! The GOST signature and digest algorithms SMEV uses, with their XMLDSig URIs and OpenSSL NIDs.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;

use super::engine::ensure_gost_engine;
use super::DsigError;

/// NIDs of the GOST engine's objects (stable in OpenSSL's object table).
mod nid {
    pub const MD_GOST94: i32 = 809;
    pub const MD_GOST12_256: i32 = 982;
    pub const MD_GOST12_512: i32 = 983;
    pub const GOST2001: i32 = 811;
    pub const GOST2012_256: i32 = 979;
    pub const GOST2012_512: i32 = 980;
}

/// A signature algorithm (SignatureMethod together with its DigestMethod).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// GOST R 34.10-2012 with a 256-bit key and GOST R 34.11-2012 (Streebog-256).
    Gost2012_256,
    /// GOST R 34.10-2012 with a 512-bit key and GOST R 34.11-2012 (Streebog-512).
    Gost2012_512,
    /// Legacy GOST R 34.10-2001 with GOST R 34.11-94: verification of archived messages only.
    Gost2001,
}

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Streebog256,
    Streebog512,
    Gost94,
}

pub const SIG_GOST2012_256: &str =
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256";
pub const SIG_GOST2012_512: &str =
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512";
pub const SIG_GOST2001: &str = "http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411";
pub const SIG_GOST2001_CRYPTOPRO: &str =
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411";
pub const DIGEST_GOST2012_256: &str =
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256";
pub const DIGEST_GOST2012_512: &str =
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-512";
pub const DIGEST_GOST94: &str = "http://www.w3.org/2001/04/xmldsig-more#gostr3411";
pub const DIGEST_GOST94_CRYPTOPRO: &str = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr3411";

impl Algorithm {
    /// The SignatureMethod URI we write.
    pub fn signature_uri(self) -> &'static str {
        match self {
            Algorithm::Gost2012_256 => SIG_GOST2012_256,
            Algorithm::Gost2012_512 => SIG_GOST2012_512,
            Algorithm::Gost2001 => SIG_GOST2001,
        }
    }

    /// The digest that goes with this signature algorithm.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Algorithm::Gost2012_256 => DigestAlgorithm::Streebog256,
            Algorithm::Gost2012_512 => DigestAlgorithm::Streebog512,
            Algorithm::Gost2001 => DigestAlgorithm::Gost94,
        }
    }

    /// Parses a SignatureMethod URI.
    pub fn from_signature_uri(uri: &str) -> Result<Self, DsigError> {
        match uri {
            SIG_GOST2012_256 => Ok(Algorithm::Gost2012_256),
            SIG_GOST2012_512 => Ok(Algorithm::Gost2012_512),
            SIG_GOST2001 | SIG_GOST2001_CRYPTOPRO => Ok(Algorithm::Gost2001),
            other => Err(DsigError::UnsupportedAlgorithm(other.to_string())),
        }
    }

    /// The algorithm of an OpenSSL key, if it is a GOST key.
    pub fn from_key_id(id: i32) -> Option<Self> {
        match id {
            nid::GOST2012_256 => Some(Algorithm::Gost2012_256),
            nid::GOST2012_512 => Some(Algorithm::Gost2012_512),
            nid::GOST2001 => Some(Algorithm::Gost2001),
            _ => None,
        }
    }

    /// Human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Gost2012_256 => "GOST R 34.10-2012 (256 bit)",
            Algorithm::Gost2012_512 => "GOST R 34.10-2012 (512 bit)",
            Algorithm::Gost2001 => "GOST R 34.10-2001",
        }
    }
}

impl DigestAlgorithm {
    /// The DigestMethod URI we write.
    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Streebog256 => DIGEST_GOST2012_256,
            DigestAlgorithm::Streebog512 => DIGEST_GOST2012_512,
            DigestAlgorithm::Gost94 => DIGEST_GOST94,
        }
    }

    /// Parses a DigestMethod URI.
    pub fn from_uri(uri: &str) -> Result<Self, DsigError> {
        match uri {
            DIGEST_GOST2012_256 => Ok(DigestAlgorithm::Streebog256),
            DIGEST_GOST2012_512 => Ok(DigestAlgorithm::Streebog512),
            DIGEST_GOST94 | DIGEST_GOST94_CRYPTOPRO => Ok(DigestAlgorithm::Gost94),
            other => Err(DsigError::UnsupportedAlgorithm(other.to_string())),
        }
    }

    /// The OpenSSL digest (loads the GOST engine on first use).
    pub fn message_digest(self) -> Result<MessageDigest, DsigError> {
        ensure_gost_engine()?;
        let n = match self {
            DigestAlgorithm::Streebog256 => nid::MD_GOST12_256,
            DigestAlgorithm::Streebog512 => nid::MD_GOST12_512,
            DigestAlgorithm::Gost94 => nid::MD_GOST94,
        };
        MessageDigest::from_nid(Nid::from_raw(n)).ok_or_else(|| {
            DsigError::EngineUnavailable(format!("digest {self:?} is not available"))
        })
    }

    /// An incremental hasher, for data that arrives in pieces (files streamed to disk).
    pub fn hasher(self) -> Result<openssl::hash::Hasher, DsigError> {
        openssl::hash::Hasher::new(self.message_digest()?).map_err(DsigError::openssl)
    }

    /// Hashes what `reader` yields, in 1 MiB pieces; returns the digest and the byte count.
    /// More than `limit` bytes is an error (a file larger than allowed is not read to its end).
    pub fn hash_reader(
        self,
        mut reader: impl std::io::Read,
        limit: u64,
    ) -> Result<(Vec<u8>, u64), DsigError> {
        let mut hasher = self.hasher()?;
        let mut buf = vec![0u8; 1024 * 1024];
        let mut size = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| DsigError::OpenSsl(format!("reading the data to hash: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(DsigError::OpenSsl(format!(
                    "more than {limit} bytes to hash"
                )));
            }
            hasher.update(&buf[..n]).map_err(DsigError::openssl)?;
        }
        Ok((hasher.finish().map_err(DsigError::openssl)?.to_vec(), size))
    }

    /// Hashes `data`.
    pub fn hash(self, data: &[u8]) -> Result<Vec<u8>, DsigError> {
        let md = self.message_digest()?;
        let out = openssl::hash::hash(md, data).map_err(DsigError::openssl)?;
        Ok(out.to_vec())
    }
}
