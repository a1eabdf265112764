//! Two-phase ЭП-СП: what the official signs (the SignedInfo over the business element, for a
//! 256- or 512-bit key), and taking the signature back — verified against the certificate's key
//! before the request is queued.

use super::intake::IntakeError;
use super::Context;
use crate::domain::*;
use crate::dsig::certificate::Validity;
use crate::dsig::sign::{self, signature_element};
use crate::dsig::{Algorithm, CertificateInfo};
use crate::smev::build;
use base64::Engine as _;
use chrono::Utc;
use openssl::x509::X509;

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// What an official must sign for ЭП-СП (two-phase).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SigningPayload {
    pub request_id: String,
    /// The `Id` of the business root the signature references.
    pub reference_id: String,
    pub signature_algorithm: String,
    pub digest_algorithm: String,
    /// Base64 of the exclusive-c14n SignedInfo: sign exactly these bytes.
    pub signed_info: String,
    /// Base64 of the reference digest inside SignedInfo.
    pub digest: String,
    /// The business XML as it will be sent (with its `Id`).
    pub business_xml: String,
    /// Files the official signs too (kinds with `personal_sign_attachments`), each with a
    /// detached CMS over its bytes; empty otherwise.
    pub files: Vec<super::personal_file_signatures::FileToSign>,
}

fn algorithm_of(name: Option<&str>) -> Result<Algorithm, IntakeError> {
    match name.unwrap_or("gost2012-256") {
        "gost2012-256" | "256" => Ok(Algorithm::Gost2012_256),
        "gost2012-512" | "512" => Ok(Algorithm::Gost2012_512),
        other => Err(IntakeError::Invalid(format!(
            "unknown algorithm {other:?} (gost2012-256 or gost2012-512)"
        ))),
    }
}

/// The signing payload of a request awaiting ЭП-СП, for a 256- or 512-bit key.
pub fn signing_payload(
    ctx: &Context,
    id: &str,
    algorithm: Option<&str>,
) -> Result<SigningPayload, IntakeError> {
    let r = awaiting(ctx, id)?;
    let alg = algorithm_of(algorithm)?;
    let (xml, reference_id, p) = prepare(ctx, &r, alg)?;
    let files = super::personal_file_signatures::files_to_sign(ctx, &r);
    Ok(SigningPayload {
        request_id: r.id,
        reference_id,
        signature_algorithm: alg.signature_uri().into(),
        digest_algorithm: alg.digest().uri().into(),
        signed_info: B64.encode(&p.signed_info),
        digest: B64.encode(&p.digest),
        business_xml: xml,
        files,
    })
}

/// The request, if it is awaiting ЭП-СП.
fn awaiting(ctx: &Context, id: &str) -> Result<RequestRecord, IntakeError> {
    let r = ctx.store.get_request(id)?;
    if r.state != RequestState::AwaitingPersonalSignature {
        return Err(IntakeError::Conflict(format!(
            "the request is {}, not awaiting a personal signature",
            r.state.as_str()
        )));
    }
    Ok(r)
}

/// The business XML, the Id its ЭП-СП references and the SignedInfo prepared over it for
/// `alg`: the same bytes when the payload is handed out and when the signature comes back.
fn prepare(
    ctx: &Context,
    r: &RequestRecord,
    alg: Algorithm,
) -> Result<(String, String, sign::Prepared), IntakeError> {
    let xml = ctx.store.blob_text(&r.business_xml)?;
    let reference_id = r
        .personal
        .reference_id
        .clone()
        .unwrap_or_else(|| build::ID_PERSONAL.into());
    let p = sign::prepare_detached(xml.as_bytes(), &reference_id, alg)
        .map_err(|e| IntakeError::Signing(e.to_string()))?;
    Ok((xml, reference_id, p))
}

/// Parses a certificate given as PEM or base64 DER.
pub fn parse_certificate(text: &str) -> Result<X509, IntakeError> {
    // A missing engine shows as the parse error below.
    if let Err(e) = crate::dsig::engine::ensure_gost_engine() {
        tracing::warn!(error = %e, "GOST engine unavailable");
    }
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return X509::from_pem(t.as_bytes())
            .map_err(|_| IntakeError::BadSignature("the certificate is not valid PEM".into()));
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let der = B64.decode(compact).map_err(|_| {
        IntakeError::BadSignature("the certificate is neither PEM nor base64 DER".into())
    })?;
    X509::from_der(&der).map_err(|_| {
        IntakeError::BadSignature("the certificate is not a valid X.509 certificate".into())
    })
}

/// What an official handed back: the signature value, and the certificates a CMS file carried.
#[derive(Debug)]
pub struct HandedBack {
    /// The signature value as given; [`accept_personal_signature`] takes it in either byte
    /// order (OpenSSL's, or CryptoPro's reversed one).
    pub value: Vec<u8>,
    /// Certificates inside a CMS file (empty for a bare value).
    pub certificates: Vec<X509>,
}

/// Sizes of a GOST R 34.10-2012 signature value: 256- and 512-bit keys.
fn is_signature_size(n: usize) -> bool {
    matches!(n, 64 | 128)
}

/// Reads what an official hands back: a bare signature value (binary, base64 or hex — the
/// CryptoPro plug-in's `SignHash` gives hex) or a detached CMS/PKCS#7 file (`.sig`, `.p7s`; DER,
/// PEM or base64, from КриптоАРМ, `cryptcp` or `openssl cms`) that signs the data itself.
pub fn handed_back(bytes: &[u8]) -> Result<HandedBack, IntakeError> {
    use crate::dsig::cms_parts;
    let bare = |v: Vec<u8>| HandedBack {
        value: v,
        certificates: Vec::new(),
    };
    let binary = !bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if binary && is_signature_size(bytes.len()) && cms_parts::parse(bytes).is_err() {
        return Ok(bare(bytes.to_vec()));
    }
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !binary && text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(v) = hex::decode(&text) {
            if is_signature_size(v.len()) {
                return Ok(bare(v));
            }
        }
    }
    if !binary && !text.starts_with("-----") {
        if let Ok(v) = B64.decode(text.as_bytes()) {
            if is_signature_size(v.len()) {
                return Ok(bare(v));
            }
        }
    }
    let Some(der) = cms_parts::der_of_file(bytes) else {
        return Err(IntakeError::BadSignature(format!(
            "the signature file is neither a signature value nor a CMS/PKCS#7 signature ({} bytes)",
            bytes.len()
        )));
    };
    let parts = cms_parts::parse(&der)
        .map_err(|e| IntakeError::BadSignature(format!("the CMS signature: {e}")))?;
    if parts.signed_attributes {
        return Err(IntakeError::BadSignature(
            "the CMS signature signs attributes (CAdES), not the data itself".into(),
        ));
    }
    let certificates = parts
        .certificates
        .iter()
        .filter_map(|d| X509::from_der(d).ok())
        .collect();
    Ok(HandedBack {
        value: parts.signature,
        certificates,
    })
}

/// Takes the official's signature value (raw GOST signature over the SignedInfo of
/// [`signing_payload`], in OpenSSL's byte order or CryptoPro's reversed one) and certificate,
/// and the official's detached CMS of each file the payload lists (in its order; none when it
/// lists none), verifies them all, and queues the request.
pub async fn accept_personal_signature(
    ctx: &Context,
    id: &str,
    signature: &[u8],
    file_signatures: &[Vec<u8>],
    cert: &X509,
    actor: &Actor,
) -> Result<RequestRecord, IntakeError> {
    let r = awaiting(ctx, id)?;
    let key = cert
        .public_key()
        .map_err(|_| IntakeError::BadSignature("unreadable public key".into()))?;
    let alg = Algorithm::from_key_id(key.id().as_raw())
        .filter(|a| *a != Algorithm::Gost2001)
        .ok_or_else(|| {
            IntakeError::BadSignature("the certificate's key is not a GOST R 34.10-2012 key".into())
        })?;
    let info = CertificateInfo::of(cert);
    match info.validity_at(Utc::now()) {
        Validity::Valid => {}
        Validity::Expired => {
            return Err(IntakeError::BadSignature(format!(
                "the certificate expired on {}",
                info.not_after.format("%d.%m.%Y")
            )))
        }
        Validity::NotYetValid => {
            return Err(IntakeError::BadSignature(
                "the certificate is not yet valid".into(),
            ))
        }
    }
    let (_, _, p) = crate::cpu::offload(|| prepare(ctx, &r, alg)).await?;
    let md = alg
        .digest()
        .message_digest()
        .map_err(|e| IntakeError::Signing(e.to_string()))?;
    let verifies = |value: &[u8]| {
        openssl::sign::Verifier::new(md, &key)
            .and_then(|mut v| {
                v.update(&p.signed_info)?;
                v.verify(value)
            })
            .unwrap_or(false)
    };
    // CryptoAPI (CryptoPro) writes the signature value little-endian, the reverse of the
    // XMLDSig order; either is taken, and the XMLDSig order is what the message carries.
    let reversed: Vec<u8> = signature.iter().rev().copied().collect();
    let verified: Option<&[u8]> = if verifies(signature) {
        Some(signature)
    } else if verifies(&reversed) {
        Some(&reversed)
    } else {
        None
    };
    let Some(signature) = verified else {
        ctx.metrics
            .signatures
            .with_label_values(&["verify", "failed"])
            .inc();
        return Err(IntakeError::BadSignature(
            "the signature does not verify over the prepared SignedInfo with this certificate's key (wrong data signed, wrong key, or wrong byte order)".into(),
        ));
    };
    ctx.metrics
        .signatures
        .with_label_values(&["verify", "ok"])
        .inc();
    let file_signatures =
        super::personal_file_signatures::check_and_store(ctx, &r, file_signatures, cert).await?;
    let der = cert
        .to_der()
        .map_err(|e| IntakeError::Signing(e.to_string()))?;
    let sig_xml = signature_element(&p.signed_info, signature, &der);
    let now = Utc::now();
    let evidence = ctx.store.put_blob(sig_xml.as_bytes())?;
    let rec = ctx.store.apply_request(
        id,
        actor,
        &RequestEvent::PersonalSignature {
            signature_xml: sig_xml,
            signer: info.subject.clone(),
            evidence,
            file_signatures,
            due: now,
        },
    )?;
    ctx.store.durable().await?;
    ctx.wake_sender.notify_one();
    Ok(rec)
}
