//! Certificates of recent signatures, parsed once: SMEV's own certificate and a provider's come
//! with every message, and reading one (DER, its names and dates, its public key) costs as much
//! as a tenth of a verification. Keyed by the exact DER bytes, so a hit is the same certificate;
//! small and bounded, so a peer sending a new certificate each time only costs the parse it
//! would have cost anyway. Trust and validity are still checked for every signature.

use std::sync::{Arc, Mutex};

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;

use super::certificate::CertificateInfo;

/// A certificate and what verification reads from it.
pub(super) struct ParsedCertificate {
    pub(super) cert: X509,
    pub(super) info: CertificateInfo,
    /// The public key, or why OpenSSL could not read it (the report still names the signer).
    pub(super) public: Result<PKey<Public>, String>,
}

/// Certificates kept, most recently used first.
const KEPT: usize = 16;

static RECENT: Mutex<Vec<(Vec<u8>, Arc<ParsedCertificate>)>> = Mutex::new(Vec::new());

/// The certificate encoded as `der`, parsed now or earlier.
pub(super) fn parse(der: &[u8]) -> Result<Arc<ParsedCertificate>, String> {
    if let Some(found) = lookup(der) {
        return Ok(found);
    }
    let cert = X509::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
    let public = cert.public_key().map_err(|e| e.to_string());
    let parsed = Arc::new(ParsedCertificate {
        info: CertificateInfo::of(&cert),
        cert,
        public,
    });
    // A poisoned lock only means another thread panicked mid-update; the list is still whole.
    let mut recent = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    // Another thread may have parsed the same certificate meanwhile: one entry per certificate.
    recent.retain(|(d, _)| d.as_slice() != der);
    recent.insert(0, (der.to_vec(), parsed.clone()));
    recent.truncate(KEPT);
    Ok(parsed)
}

fn lookup(der: &[u8]) -> Option<Arc<ParsedCertificate>> {
    let mut recent = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    let at = recent.iter().position(|(d, _)| d.as_slice() == der)?;
    let entry = recent.remove(at);
    let found = entry.1.clone();
    recent.insert(0, entry);
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_der(name: &str) -> Vec<u8> {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../certs-example/{name}.cert.pem")),
        )
        .expect("example certificate");
        X509::from_pem(&pem).unwrap().to_der().unwrap()
    }

    #[test]
    fn the_same_der_gives_the_same_parsed_certificate() {
        super::super::engine::ensure_gost_engine().unwrap();
        let der = example_der("ov");
        let first = parse(&der).unwrap();
        let again = parse(&der).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.cert.to_der().unwrap(), der);
    }

    #[test]
    fn different_certificates_are_not_confused() {
        super::super::engine::ensure_gost_engine().unwrap();
        let (ov, smev) = (example_der("ov"), example_der("ov512"));
        let a = parse(&ov).unwrap();
        let b = parse(&smev).unwrap();
        assert_ne!(a.info.thumbprint_sha1, b.info.thumbprint_sha1);
        assert_eq!(b.cert.to_der().unwrap(), smev);
    }

    #[test]
    fn garbage_is_refused_and_not_kept() {
        assert!(parse(b"not a certificate").is_err());
        assert!(lookup(b"not a certificate").is_none());
    }
}
