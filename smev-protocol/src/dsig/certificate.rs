//! What a person needs to know about a certificate: subject and issuer with the Russian
//! qualified-certificate fields (ОГРН, ИНН, ИНН ЮЛ, СНИЛС), serial, validity, key algorithm, and
//! whether it chains to a trusted CA.

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509NameRef, X509StoreContext, X509};
use serde::Serialize;

use super::algorithm::Algorithm;
use super::engine::ensure_gost_engine;
use super::DsigError;

/// SHA-1 thumbprint of the certificate's DER encoding, upper-case hex — the identifier CryptoPro
/// and Windows show, and one that carries no personal data (unlike an official's subject with
/// name and СНИЛС), so it may appear in metric labels and logs.
pub fn thumbprint(cert: &X509) -> String {
    cert.digest(openssl::hash::MessageDigest::sha1())
        .map(|d| hex::encode_upper(&*d))
        .unwrap_or_default()
}

/// A readable summary of a certificate.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// Serial number in upper-case hex.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Key algorithm, e.g. "GOST R 34.10-2012 (256 bit)".
    pub key_algorithm: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub ogrn: Option<String>,
    pub inn: Option<String>,
    pub inn_le: Option<String>,
    pub snils: Option<String>,
    /// SHA-1 thumbprint in upper-case hex, as Russian CA tools show it.
    pub thumbprint_sha1: String,
}

/// Validity of a certificate at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    NotYetValid,
    Valid,
    Expired,
}

const OID_OGRN: &str = "1.2.643.100.1";
const OID_OGRNIP: &str = "1.2.643.100.5";
const OID_SNILS: &str = "1.2.643.100.3";
const OID_INN: &str = "1.2.643.3.131.1.1";
const OID_INN_LE: &str = "1.2.643.100.4";

impl CertificateInfo {
    /// Summarizes `cert`.
    pub fn of(cert: &X509) -> CertificateInfo {
        // Without the engine a GOST key's algorithm shows as unknown; nothing else depends on it.
        if let Err(e) = ensure_gost_engine() {
            tracing::debug!(error = %e, "GOST engine unavailable");
        }
        let subject_entries = name_entries(cert.subject_name());
        let get = |oid: &str| {
            subject_entries
                .iter()
                .find(|(o, _, _)| o == oid)
                .map(|(_, _, v)| v.clone())
        };
        let key_algorithm = cert
            .public_key()
            .ok()
            .map(|k| match Algorithm::from_key_id(k.id().as_raw()) {
                Some(a) => a.name().to_string(),
                None => openssl::nid::Nid::from_raw(k.id().as_raw())
                    .long_name()
                    .unwrap_or("unknown")
                    .to_string(),
            })
            .unwrap_or_else(|| "unreadable public key".into());
        let serial = cert
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|b| b.to_hex_str().ok().map(|s| s.to_string()))
            .unwrap_or_default();
        let thumbprint_sha1 = cert
            .digest(openssl::hash::MessageDigest::sha1())
            .map(|d| hex::encode_upper(d.as_ref()))
            .unwrap_or_default();
        CertificateInfo {
            subject: format_name(cert.subject_name()),
            issuer: format_name(cert.issuer_name()),
            serial,
            not_before: asn1_to_chrono(cert.not_before()),
            not_after: asn1_to_chrono(cert.not_after()),
            key_algorithm,
            common_name: get("2.5.4.3"),
            organization: get("2.5.4.10"),
            ogrn: get(OID_OGRN).or_else(|| get(OID_OGRNIP)),
            inn: get(OID_INN),
            inn_le: get(OID_INN_LE),
            snils: get(OID_SNILS),
            thumbprint_sha1,
        }
    }

    /// Validity at `at`.
    pub fn validity_at(&self, at: DateTime<Utc>) -> Validity {
        if at < self.not_before {
            Validity::NotYetValid
        } else if at > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
}

/// (OID, short name, value) of each entry of a name.
fn name_entries(name: &X509NameRef) -> Vec<(String, String, String)> {
    name.entries()
        .map(|e| {
            let obj = e.object();
            let oid = obj.to_string();
            let oid = oid_numeric(obj).unwrap_or(oid);
            let short = match oid.as_str() {
                OID_OGRN => "ОГРН".to_string(),
                OID_OGRNIP => "ОГРНИП".to_string(),
                OID_SNILS => "СНИЛС".to_string(),
                OID_INN => "ИНН".to_string(),
                OID_INN_LE => "ИНН ЮЛ".to_string(),
                _ => obj
                    .nid()
                    .short_name()
                    .map(str::to_string)
                    .unwrap_or_else(|_| oid.clone()),
            };
            let value = e
                .data()
                .to_string()
                .unwrap_or_else(|_| String::from_utf8_lossy(e.data().as_slice()).to_string());
            (oid, short, value)
        })
        .collect()
}

fn oid_numeric(obj: &openssl::asn1::Asn1ObjectRef) -> Option<String> {
    // The crate does not expose OBJ_obj2txt(no_name = 1); map the attributes we read by short
    // name (unknown objects already print as numeric OIDs).
    let known = [
        ("CN", "2.5.4.3"),
        ("O", "2.5.4.10"),
        ("OU", "2.5.4.11"),
        ("C", "2.5.4.6"),
        ("L", "2.5.4.7"),
        ("ST", "2.5.4.8"),
        ("SN", "2.5.4.4"),
        ("GN", "2.5.4.42"),
        ("title", "2.5.4.12"),
        ("OGRN", OID_OGRN),
        ("SNILS", OID_SNILS),
        ("INN", OID_INN),
        ("OGRNIP", OID_OGRNIP),
        ("INNLE", OID_INN_LE),
    ];
    let sn = obj.nid().short_name().ok()?;
    known
        .iter()
        .find(|(s, _)| *s == sn)
        .map(|(_, o)| o.to_string())
}

/// A name as `CN=…, O=…, ОГРН=…` in the order written in the certificate.
pub fn format_name(name: &X509NameRef) -> String {
    name_entries(name)
        .into_iter()
        .map(|(_, k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Converts an ASN.1 time to UTC.
pub fn asn1_to_chrono(t: &Asn1TimeRef) -> DateTime<Utc> {
    let epoch = match Asn1Time::from_unix(0) {
        Ok(e) => e,
        Err(_) => return DateTime::<Utc>::MIN_UTC,
    };
    match epoch.diff(t) {
        Ok(d) => {
            let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
            DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
        Err(_) => DateTime::<Utc>::MIN_UTC,
    }
}

/// A set of trusted CA certificates.
pub struct TrustStore {
    store: X509Store,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrustStore")
    }
}

impl TrustStore {
    /// Builds a store from PEM data holding one or more CA certificates.
    pub fn from_pem(pem: &[u8]) -> Result<Self, DsigError> {
        ensure_gost_engine()?;
        let certs = X509::stack_from_pem(pem).map_err(DsigError::openssl)?;
        if certs.is_empty() {
            return Err(DsigError::KeyNotUsable(
                "no certificate in the trust file".into(),
            ));
        }
        let mut b = X509StoreBuilder::new().map_err(DsigError::openssl)?;
        for c in certs {
            b.add_cert(c).map_err(DsigError::openssl)?;
        }
        Ok(TrustStore { store: b.build() })
    }

    /// Reads a PEM file of CA certificates.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self, DsigError> {
        let pem =
            std::fs::read(path).map_err(|e| DsigError::Io(format!("{}: {e}", path.display())))?;
        Self::from_pem(&pem)
    }

    /// Checks that `cert` chains to a trusted CA (validity times included); returns OpenSSL's
    /// reason on failure.
    pub fn verify(&self, cert: &X509) -> Result<(), String> {
        let chain = Stack::new().map_err(|e| e.to_string())?;
        // The certificate's signature by its issuer (the trust anchor's own is not checked).
        super::operations::verified();
        let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
        let result = ctx
            .init(&self.store, cert, &chain, |c| {
                let ok = c.verify_cert()?;
                Ok((ok, c.error()))
            })
            .map_err(|e| e.to_string())?;
        match result {
            (true, _) => Ok(()),
            (false, err) => Err(err.error_string().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_name_organization_and_russian_fields() {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../certs-example/ov.cert.pem"
        ))
        .unwrap();
        ensure_gost_engine().unwrap();
        let info = CertificateInfo::of(&X509::from_pem(&pem).unwrap());
        assert!(info
            .common_name
            .as_deref()
            .unwrap()
            .contains("Тестовая ИС ведомства"));
        assert_eq!(info.organization.as_deref(), Some("Тестовое ведомство"));
        assert_eq!(info.ogrn.as_deref(), Some("1027700000008"));
        assert_eq!(info.inn_le.as_deref(), Some("7700000009"));
        assert!(info.subject.contains("CN="));
    }
}
