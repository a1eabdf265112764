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
    /// Hex of the GOST R 34.11-2012 hash of the SignedInfo the plug-in signs (256-bit key)…
    hash_256: String,
    /// …and of the 512-bit key's SignedInfo.
    hash_512: String,
    /// Whether CryptoPro's plug-in script is configured (`ui.cadesplugin_script`).
    plugin_script: bool,
    /// Files the official signs too, each with its own detached CMS (the plug-in button signs
    /// only the XML, so it is not offered then).
    files: Vec<intake::FileToSign>,
    error: Option<String>,
}

/// Hex of the hash an official's key signs over the SignedInfo of `payload` (made for `alg`):
/// the CryptoPro plug-in signs a hash (`RawSignature.SignHash`), not the bytes.
fn signed_info_hash(
    payload: &intake::SigningPayload,
    alg: crate::dsig::Algorithm,
) -> Option<String> {
    let bytes = B64.decode(&payload.signed_info).ok()?;
    alg.digest().hash(&bytes).ok().map(hex::encode)
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
    // The payload above is the 256-bit key's; a 512-bit key signs its own SignedInfo.
    let hash_256 =
        signed_info_hash(&payload, crate::dsig::Algorithm::Gost2012_256).unwrap_or_default();
    let hash_512 = intake::signing_payload(&ui.ctx, &r.id, Some("gost2012-512"))
        .ok()
        .and_then(|p| signed_info_hash(&p, crate::dsig::Algorithm::Gost2012_512))
        .unwrap_or_default();
    let page = SignPage {
        title: "Подпись ЭП-СП",
        nav: "new",
        r: RequestRow::of(ui, r),
        xml: payload.business_xml,
        digest: payload.digest,
        signed_info_b64: payload.signed_info,
        reference_id: payload.reference_id,
        command: SIGN_COMMAND,
        hash_256,
        hash_512,
        plugin_script: ui.ctx.config.ui.cadesplugin_script.is_some(),
        files: payload.files,
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

/// The signature from an uploaded file or pasted text: a bare value (binary, base64, or hex as
/// the CryptoPro plug-in gives it; either byte order) or a detached CMS/PKCS#7 file (`.sig`,
/// `.p7s`), with the certificates such a file carries.
pub fn decode_signature(bytes: &[u8]) -> Result<intake::HandedBack, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(
            "Приложите файл подписи (signature.bin, .sig или .p7s) или вставьте подпись в base64."
                .into(),
        );
    }
    intake::handed_back(bytes).map_err(|e| messages::intake_error(&e).message)
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
    // The certificate given, or the one a CMS signature file carries.
    let given = pick("certificate", "certificate_text");
    let cert = if given.iter().all(u8::is_ascii_whitespace) && !sig.certificates.is_empty() {
        sig.certificates[0].clone()
    } else {
        match decode_certificate(&given) {
            Ok(c) => c,
            Err(m) => return Ok(refuse(m)),
        }
    };
    let account = ui.ctx.config.ui.user(&user.s.login);
    if let Err(m) = super::super::signer_binding::check(account, &cert) {
        return Ok(refuse(m));
    }
    // One detached CMS per file the official signs, in the payload's order.
    let mut files = Vec::new();
    for f in intake::signing_payload(&ui.ctx, &id, None)
        .map(|p| p.files)
        .unwrap_or_default()
    {
        match filled(&format!("file_signature_{}", f.index)) {
            Some(bytes) => files.push(bytes),
            None => {
                return Ok(refuse(format!(
                    "Приложите файл подписи ЭП-СП для вложения «{}».",
                    f.name
                )))
            }
        }
    }
    Ok(
        match intake::accept_personal_signature(
            &ui.ctx,
            &id,
            &sig.value,
            &files,
            &cert,
            &user.actor(),
        )
        .await
        {
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
