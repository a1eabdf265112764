//! Outgoing requests (межведомственные запросы): the list, the card with its live panel, the
//! «Создать запрос» form with its preview, the ЭП-СП step, retry and cancel, downloads, and
//! the small JSON status endpoint the pages poll.

mod card;
mod card_view;
mod cert_view;
mod create;
mod create_view;
mod files;
mod list;
mod row_view;
mod sign;

pub use card::*;
pub(crate) use card_view::RequestCard;
pub(crate) use cert_view::CertView;
pub use create::*;
pub use files::*;
pub use list::*;
pub(crate) use row_view::RequestRow;
pub use sign::*;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{KindConfig, PersonalSignatureMode};
use crate::domain::{RequestRecord, RequestState};
use crate::dsig::CertificateInfo;
use crate::engine::intake::{self, NewAttachment, NewRequest};
use crate::read::download::file_response;
use crate::store::RequestFilter;

use super::access::Action;
use super::choice::Choice;
use super::forms::{self, FormData};
use super::messages;
use super::posted::{PostedForm, PostedMultipart};
use super::render::url_encode;
use super::{html_response, secure_headers, see_other, Ui, UiResult, UiState, User};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Page size of the request list.
const PAGE: usize = 25;

/// The exact command an official runs to sign the SignedInfo bytes.
pub const SIGN_COMMAND: &str =
    "openssl dgst -engine gost -md_gost12_256 -sign key.pem -out signature.bin signed-info.bin";

/// The case page of a request's case.
pub fn case_href(system: &str, reference: &str) -> String {
    format!("/ui/cases/{}/{}", url_encode(system), url_encode(reference))
}

/// The certificate inside a `ds:Signature` XML (the ЭП-СП kept with the request).
fn certificate_of_signature(sig_xml: &str) -> Option<CertificateInfo> {
    let doc = crate::xml::tree::Document::parse_str(sig_xml).ok()?;
    let node = doc.descendants(doc.root()).into_iter().find(|n| {
        doc.element(*n)
            .is_some_and(|e| e.local == "X509Certificate")
    })?;
    let b64: String = doc
        .text(node)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = B64.decode(b64).ok()?;
    let cert = openssl::x509::X509::from_der(&der).ok()?;
    Some(CertificateInfo::of(&cert))
}

/// Loads a request the user may see, or the 404 page.
pub(super) fn load(ui: &Ui, user: &User, id: &str) -> Result<RequestRecord, Response> {
    match ui.ctx.store.get_request(id) {
        Ok(r) if ui.sees(user, &r.system) => Ok(r),
        _ => Err(ui.error(
            Some(user),
            StatusCode::NOT_FOUND,
            "Запрос не найден или недоступен вам.",
        )),
    }
}

pub(super) fn refusal_page(ui: &Ui, user: &User, e: &intake::IntakeError) -> Response {
    let r = messages::intake_error(e);
    ui.error_details(Some(user), r.status, &r.message, &r.details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decode_from_binary_or_base64() {
        let raw: Vec<u8> = (0u8..64).collect();
        let value = |b: &[u8]| decode_signature(b).unwrap().value;
        assert_eq!(value(&raw), raw);
        let b64 = B64.encode(&raw);
        assert_eq!(value(b64.as_bytes()), raw);
        let wrapped = format!("{}\n{}\n", &b64[..40], &b64[40..]);
        assert_eq!(value(wrapped.as_bytes()), raw);
        // The CryptoPro plug-in's SignHash gives hex.
        assert_eq!(value(hex::encode_upper(&raw).as_bytes()), raw);
        assert!(decode_signature(b"").unwrap_err().contains("Приложите"));
        assert!(decode_signature("не подпись".as_bytes())
            .unwrap_err()
            .contains("не распознан"));
    }

    #[test]
    fn certificates_decode_from_pem_der_or_refuse() {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example/sp.cert.pem"),
        )
        .unwrap();
        let c = decode_certificate(&pem).unwrap();
        let der = c.to_der().unwrap();
        assert!(decode_certificate(&der).is_ok());
        assert!(decode_certificate(b"").unwrap_err().contains("Приложите"));
        let junk = decode_certificate(b"hello").unwrap_err();
        assert!(junk.starts_with("Подпись ЭП-СП не принята"), "{junk}");
        assert!(decode_certificate(&[0x30, 0x82, 0xff, 0x00, 0x01])
            .unwrap_err()
            .contains("X.509"));
    }

    #[test]
    fn case_links_are_encoded() {
        assert_eq!(
            case_href("is-main", "2026/1 а"),
            "/ui/cases/is-main/2026%2F1%20%D0%B0"
        );
    }

    #[test]
    fn done_messages() {
        assert!(done_message(Some("retried")).unwrap().contains("повторную"));
        assert!(done_message(Some("<script>")).is_none());
        assert!(done_message(None).is_none());
    }
}
