//! A certificate as the request card and the settings page show it: who it names, who
//! issued it, and whether it is valid now (in Russian).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dsig::certificate::Validity;
use crate::dsig::CertificateInfo;

/// Certificate facts for display.
#[derive(Debug, Serialize)]
pub(crate) struct CertView {
    pub subject: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub valid: bool,
    /// «действителен», «срок действия истёк» or «срок действия не начался».
    pub validity: &'static str,
    pub key_algorithm: String,
    pub snils: Option<String>,
    pub inn: Option<String>,
}

impl CertView {
    pub(crate) fn of(info: &CertificateInfo) -> CertView {
        let validity = info.validity_at(Utc::now());
        CertView {
            subject: info.subject.clone(),
            common_name: info.common_name.clone(),
            organization: info.organization.clone(),
            issuer: info.issuer.clone(),
            serial: info.serial.clone(),
            not_before: info.not_before,
            not_after: info.not_after,
            valid: validity == Validity::Valid,
            validity: match validity {
                Validity::Valid => "действителен",
                Validity::Expired => "срок действия истёк",
                Validity::NotYetValid => "срок действия не начался",
            },
            key_algorithm: info.key_algorithm.clone(),
            snils: info.snils.clone(),
            inn: info.inn.clone(),
        }
    }
}
