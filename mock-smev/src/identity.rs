//! Who is who: SMEV's own signing key, the simulator's key, the trust list, and the mapping from a
//! caller's ЭП-ОВ certificate to a participant mnemonic (SMEV identifies the caller — and so the
//! queues it reads — by the certificate, never by a field of the message).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use openssl::pkey::PKey;
use openssl::x509::X509;
use smev_protocol::dsig::{CertificateInfo, OpenSslSigner, Signer, TrustStore};

use super::config::{KeyPair, MockConfig, ParticipantConfig};
use super::resources;

/// A participant as SMEV knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Participant {
    pub mnemonic: String,
    pub name: String,
}

/// A participant mapping with its certificate thumbprint resolved.
#[derive(Debug, Clone)]
struct Mapping {
    config: ParticipantConfig,
    thumbprint: Option<String>,
}

/// Keys, trust and participant mapping.
pub struct Identities {
    pub smev: Arc<dyn Signer>,
    pub simulator: Arc<dyn Signer>,
    pub trust: TrustStore,
    mappings: Vec<Mapping>,
    strict: bool,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("participants", &self.mappings.len())
            .finish_non_exhaustive()
    }
}

fn normalize_thumbprint(t: &str) -> String {
    t.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn signer(pair: &KeyPair, base: &Path) -> anyhow::Result<Arc<dyn Signer>> {
    smev_protocol::dsig::engine::ensure_gost_engine()?;
    let key_pem = resources::read(&pair.key, base)?;
    let cert_pem = resources::read(&pair.cert, base)?;
    let key = PKey::private_key_from_pem(&key_pem)
        .with_context(|| format!("cannot read the private key {}", pair.key))?;
    let cert = X509::from_pem(&cert_pem)
        .with_context(|| format!("cannot read the certificate {}", pair.cert))?;
    let s = OpenSslSigner::new(key, cert)
        .with_context(|| format!("key {} / certificate {}", pair.key, pair.cert))?;
    Ok(Arc::new(s))
}

/// The value of the first `name` entry (e.g. "OU") of a formatted subject `A=x, B=y`.
pub fn subject_entry(subject: &str, name: &str) -> Option<String> {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_string)
}

impl Identities {
    pub fn load(config: &MockConfig) -> anyhow::Result<Self> {
        let base = &config.base_dir;
        let smev = signer(
            &KeyPair {
                key: config.smev.key.clone(),
                cert: config.smev.cert.clone(),
            },
            base,
        )
        .context("ЭП-СМЭВ key")?;
        let simulator = signer(&config.simulator, base).context("simulator key")?;
        let mut pem = Vec::new();
        for t in &config.smev.trust {
            pem.extend(resources::read(t, base)?);
            pem.push(b'\n');
        }
        let trust = TrustStore::from_pem(&pem).context("trust list")?;
        let mut mappings = Vec::new();
        for p in &config.participants {
            let thumbprint = match (&p.certificate, &p.thumbprint) {
                (Some(c), _) => {
                    let cert = X509::from_pem(&resources::read(c, base)?)
                        .with_context(|| format!("participant {}: certificate {c}", p.mnemonic))?;
                    Some(CertificateInfo::of(&cert).thumbprint_sha1)
                }
                (None, Some(t)) => Some(normalize_thumbprint(t)),
                (None, None) => None,
            };
            mappings.push(Mapping {
                config: p.clone(),
                thumbprint,
            });
        }
        Ok(Identities {
            smev,
            simulator,
            trust,
            mappings,
            strict: config.smev.strict_participants,
        })
    }

    /// The participant a certificate belongs to; `None` when participants are strict and none
    /// matches.
    pub fn participant(&self, cert: &CertificateInfo) -> Option<Participant> {
        let ou = subject_entry(&cert.subject, "OU");
        let cn = cert.common_name.clone();
        for m in &self.mappings {
            let c = &m.config;
            let ok = m
                .thumbprint
                .as_ref()
                .is_none_or(|t| *t == normalize_thumbprint(&cert.thumbprint_sha1))
                && c.subject_ou.as_ref().is_none_or(|v| ou.as_ref() == Some(v))
                && c.subject_cn.as_ref().is_none_or(|v| cn.as_ref() == Some(v));
            let has_criteria =
                m.thumbprint.is_some() || c.subject_ou.is_some() || c.subject_cn.is_some();
            if ok && has_criteria {
                return Some(Participant {
                    mnemonic: c.mnemonic.clone(),
                    name: c
                        .name
                        .clone()
                        .or_else(|| cn.clone())
                        .unwrap_or_else(|| c.mnemonic.clone()),
                });
            }
        }
        if self.strict {
            return None;
        }
        let mnemonic = ou
            .or_else(|| cn.clone())
            .unwrap_or_else(|| cert.thumbprint_sha1.clone());
        Some(Participant {
            name: cn.unwrap_or_else(|| mnemonic.clone()),
            mnemonic,
        })
    }

    /// The configured name of a participant, if any.
    pub fn configured_name(&self, mnemonic: &str) -> Option<String> {
        self.mappings
            .iter()
            .find(|m| m.config.mnemonic == mnemonic)
            .and_then(|m| m.config.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_entries() {
        let s = "C=RU, O=Тест, OU=SYSTEM1, CN=Тестовая ИС";
        assert_eq!(subject_entry(s, "OU").as_deref(), Some("SYSTEM1"));
        assert_eq!(subject_entry(s, "CN").as_deref(), Some("Тестовая ИС"));
        assert_eq!(subject_entry(s, "L"), None);
        assert_eq!(normalize_thumbprint("ab:cd ef"), "ABCDEF");
    }

    #[test]
    fn default_identities_load_and_map() {
        let ids = Identities::load(&MockConfig::default()).unwrap();
        let info = CertificateInfo::of(ids.simulator.certificate());
        let p = ids.participant(&info).unwrap();
        assert_eq!(p.mnemonic, "FNS01");
        assert!(ids.trust.verify(ids.smev.certificate()).is_ok());
    }
}
