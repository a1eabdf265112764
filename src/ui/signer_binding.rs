//! Whose ЭП-СП a UI user may hand in: only a certificate issued to that user — one whose
//! subject СНИЛС is the user's configured `snils`, or whose SHA-256 thumbprint is among the
//! user's `certificates`. An official signing for a colleague, or a certificate left on a shared
//! token, is refused before the signature is even checked.

use openssl::x509::X509;

use crate::config::UiUser;
use crate::dsig::CertificateInfo;

/// Why the certificate is not the user's, in Russian; Ok when it is.
pub(crate) fn check(user: Option<&UiUser>, cert: &X509) -> Result<(), String> {
    let Some(user) = user else {
        return Err("Подпись ЭП-СП не принята: учётная запись не найдена в настройках.".into());
    };
    let snils = user.snils_digits();
    if snils.is_none() && user.certificates.is_empty() {
        return Err(format!(
            "Подпись ЭП-СП не принята: для учётной записи «{}» не указан СНИЛС или сертификат \
             должностного лица (ui.users: snils, certificates). Обратитесь к администратору.",
            user.login
        ));
    }
    let info = CertificateInfo::of(cert);
    let thumbprint = cert
        .digest(openssl::hash::MessageDigest::sha256())
        .map(|d| hex::encode(d.as_ref()))
        .unwrap_or_default();
    if user
        .certificates
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&thumbprint))
    {
        return Ok(());
    }
    let cert_snils: Option<String> = info
        .snils
        .as_deref()
        .map(|s| s.chars().filter(char::is_ascii_digit).collect());
    if snils.is_some() && cert_snils == snils {
        return Ok(());
    }
    let owner = info.common_name.clone().unwrap_or(info.subject.clone());
    Err(format!(
        "Подпись ЭП-СП не принята: сертификат выдан другому лицу ({owner}{}), а подписать запрос \
         может только вошедший пользователь «{}». Выберите свой сертификат.",
        cert_snils
            .map(|s| format!(", СНИЛС {}", super::forms::format_snils(&s)))
            .unwrap_or_default(),
        user.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    fn cert(name: &str) -> X509 {
        crate::dsig::engine::ensure_gost_engine().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        X509::from_pem(&std::fs::read(root.join("certs-example").join(name)).unwrap()).unwrap()
    }

    fn user(snils: Option<&str>, certificates: Vec<String>) -> UiUser {
        UiUser {
            login: "ivanova".into(),
            name: "Иванова А. А.".into(),
            password_hash: String::new(),
            role: Role::Operator,
            systems: vec![],
            snils: snils.map(str::to_string),
            certificates,
        }
    }

    #[test]
    fn the_certificate_must_be_the_users() {
        let sp = cert("sp.cert.pem");
        let sp_thumb = hex::encode(
            sp.digest(openssl::hash::MessageDigest::sha256())
                .unwrap()
                .as_ref(),
        );
        // (user, certificate, accepted?, text of the refusal)
        let cases = [
            (
                user(Some("112-233-445 95"), vec![]),
                "sp.cert.pem",
                true,
                "",
            ),
            (user(Some("11223344595"), vec![]), "sp.cert.pem", true, ""),
            (
                user(None, vec![sp_thumb.to_uppercase()]),
                "sp.cert.pem",
                true,
                "",
            ),
            (
                user(Some("00000000000"), vec![]),
                "sp.cert.pem",
                false,
                "СНИЛС 112-233-445 95",
            ),
            (
                user(Some("11223344595"), vec![]),
                "ov.cert.pem",
                false,
                "другому лицу",
            ),
            (user(None, vec![]), "sp.cert.pem", false, "не указан СНИЛС"),
        ];
        for (u, file, accepted, text) in cases {
            let r = check(Some(&u), &cert(file));
            assert_eq!(r.is_ok(), accepted, "{file} for {:?}: {r:?}", u.snils);
            if let Err(m) = r {
                assert!(m.contains(text), "{m}");
            }
        }
        assert!(check(None, &sp).is_err());
    }
}
