//! The ЭП-СП step of two-phase signing: what the official signs, and taking the signature.

use super::super::posted::PostedMultipart;
use super::*;

#[derive(Debug, Deserialize, Default)]
pub struct AlgQuery {
    #[serde(default)]
    algorithm: Option<String>,
}

/// `GET /ui/requests/{id}/signed-info.bin`: the exact bytes the official signs.
pub async fn signed_info(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    q: super::super::Q<AlgQuery>,
) -> UiResult {
    load(&ui, &user, &id)?;
    let alg = super::super::query(q).algorithm;
    Ok(
        match intake::signing_payload(&ui.ctx, &id, alg.as_deref()) {
            Ok(p) => match B64.decode(&p.signed_info) {
                Ok(bytes) => download(bytes, "application/octet-stream", "signed-info.bin"),
                Err(_) => ui.error(
                    Some(&user),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Данные для подписи повреждены.",
                ),
            },
            Err(e) => refusal_page(&ui, &user, &e),
        },
    )
}

/// `sign.html`: what the official signs and the form to upload the signature.
#[derive(Debug, Serialize)]
struct SignPage {
    title: &'static str,
    nav: &'static str,
    r: RequestRow,
    xml: String,
    digest: String,
    signed_info_b64: String,
    reference_id: String,
    command: &'static str,
    error: Option<String>,
}

// ----- retry, cancel -----

pub(super) fn sign_page(
    ui: &Ui,
    user: &User,
    r: &RequestRecord,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let payload = match intake::signing_payload(&ui.ctx, &r.id, None) {
        Ok(p) => p,
        Err(e) => return refusal_page(ui, user, &e),
    };
    let page = SignPage {
        title: "Подпись ЭП-СП",
        nav: "new",
        r: RequestRow::of(ui, r),
        xml: payload.business_xml,
        digest: payload.digest,
        signed_info_b64: payload.signed_info,
        reference_id: payload.reference_id,
        command: SIGN_COMMAND,
        error,
    };
    ui.page(status, Some(user), "sign.html", &page)
}

/// `GET /ui/requests/{id}/sign`: the ЭП-СП step.
pub async fn sign_form(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> UiResult {
    ui.require(&user, Action::Create)?;
    let r = load(&ui, &user, &id)?;
    if r.state != RequestState::AwaitingPersonalSignature {
        return Ok(see_other(&format!("/ui/requests/{}", url_encode(&r.id))));
    }
    Ok(sign_page(&ui, &user, &r, StatusCode::OK, None))
}

/// The signature value from an uploaded file or pasted text: raw binary (64 or 128 bytes for
/// GOST R 34.10-2012) or base64.
pub fn decode_signature(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.is_empty() {
        return Err("Приложите файл подписи (signature.bin) или вставьте её в base64.".into());
    }
    if matches!(bytes.len(), 64 | 128) && !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Ok(bytes.to_vec());
    }
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match B64.decode(text.as_bytes()) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ if matches!(bytes.len(), 64 | 128) => Ok(bytes.to_vec()),
        _ => Err(
            "Файл подписи не распознан: нужна подпись в двоичном виде (результат openssl dgst -sign) или в base64."
                .into(),
        ),
    }
}

/// The certificate from an uploaded file (PEM or DER) or pasted text (PEM or base64 DER).
pub fn decode_certificate(bytes: &[u8]) -> Result<openssl::x509::X509, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("Приложите сертификат должностного лица (PEM или DER).".into());
    }
    let r = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") || text.is_ascii() => {
            intake::parse_certificate(text)
        }
        _ => {
            // Without the engine a GOST certificate does not parse, which is reported below.
            if let Err(e) = crate::dsig::engine::ensure_gost_engine() {
                tracing::debug!(error = %e, "GOST engine unavailable");
            }
            openssl::x509::X509::from_der(bytes).map_err(|_| {
                intake::IntakeError::BadSignature(
                    "the certificate is not a valid X.509 certificate".into(),
                )
            })
        }
    };
    r.map_err(|e| messages::intake_error(&e).message)
}

/// `POST /ui/requests/{id}/sign` (multipart): verify the uploaded ЭП-СП and queue the request.
pub async fn sign_submit(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    posted: PostedMultipart,
) -> UiResult {
    let _text = |k: &str| posted.text(k);
    let user = posted.user.clone();
    ui.require(&user, Action::Create)?;
    let r = load(&ui, &user, &id)?;
    if r.state != RequestState::AwaitingPersonalSignature {
        return Ok(see_other(&format!("/ui/requests/{}", url_encode(&r.id))));
    }
    // The uploaded file when there is one, else the pasted text.
    let filled = |name: &str| {
        posted
            .parts
            .iter()
            .find(|p| p.name == name && !p.bytes.is_empty())
            .map(|p| p.bytes.to_vec())
    };
    let pick = |file: &str, pasted: &str| -> Vec<u8> {
        filled(file).or_else(|| filled(pasted)).unwrap_or_default()
    };
    let refuse = |m: String| sign_page(&ui, &user, &r, StatusCode::UNPROCESSABLE_ENTITY, Some(m));
    let sig = match decode_signature(&pick("signature", "signature_text")) {
        Ok(s) => s,
        Err(m) => return Ok(refuse(m)),
    };
    let cert = match decode_certificate(&pick("certificate", "certificate_text")) {
        Ok(c) => c,
        Err(m) => return Ok(refuse(m)),
    };
    Ok(
        match intake::accept_personal_signature(&ui.ctx, &id, &sig, &cert, &user.actor()).await {
            Ok(_) => see_other(&format!("/ui/requests/{}?done=signed", url_encode(&id))),
            Err(e) => {
                let m = messages::intake_error(&e);
                if m.status == StatusCode::UNPROCESSABLE_ENTITY {
                    refuse(m.message)
                } else {
                    ui.error_details(Some(&user), m.status, &m.message, &m.details)
                }
            }
        },
    )
}
