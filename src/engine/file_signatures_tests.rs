//! PKCS#7 signatures of the files we send, checked by an independent verifier: the openssl CLI
//! with Debian's GOST engine verifies the detached CMS the gateway made over the file, refuses it
//! over a changed file, and the inline attachment header carries exactly that signature.

use crate::config::Config;
use crate::domain::Actor;

use crate::engine::intake::{self, NewAttachment, NewRequest};
use crate::engine::Context;

fn context(dir: &std::path::Path) -> std::sync::Arc<Context> {
    context_with(dir, |k| k.sign_attachments = true)
}

/// The example configuration with its fns-tax-debt kind changed by `edit`.
fn context_with(
    dir: &std::path::Path,
    edit: impl Fn(&mut crate::config::KindConfig),
) -> std::sync::Arc<Context> {
    let mut cfg = Config::example();
    cfg.storage.path = dir.join("db");
    for k in cfg.kinds.iter_mut().filter(|k| k.id == "fns-tax-debt") {
        edit(k);
    }
    cfg.validate().unwrap();
    Context::build(cfg).unwrap()
}

const TAX_XML: &str = r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>SIG-1</td:RequestID><td:Taxpayer><td:Organization><td:INN>7707083893</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#;

/// A fns-tax-debt request with one file, accepted.
async fn submit_with_file(ctx: &Context, file: &[u8]) -> crate::domain::RequestRecord {
    intake::submit(
        ctx,
        NewRequest {
            system: "is-main".into(),
            kind: "fns-tax-debt".into(),
            business_xml: TAX_XML.into(),
            client_id: None,
            case: None,
            attachments: vec![NewAttachment::in_memory(
                "Заявление.pdf".into(),
                "application/pdf".into(),
                file.to_vec(),
            )],
            test_message: None,
            actor: Actor::Engine,
        },
    )
    .await
    .unwrap()
    .0
}

use crate::openssl_cli;

/// `openssl cms -verify` of `signature` (DER) over `content`: whether it verifies.
fn openssl_verifies(dir: &std::path::Path, signature: &[u8], content: &[u8]) -> bool {
    let file = dir.join("file.bin");
    std::fs::write(&file, content).unwrap();
    openssl_cli::cms_verifies(signature, &file)
}

#[tokio::test]
async fn files_of_a_kind_with_sign_attachments_carry_a_pkcs7_signature_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let file = b"%PDF-1.4 \x00\xff scan of an application \r\n".repeat(500);
    let rec = submit_with_file(&ctx, &file).await;
    let key = rec.attachments[0]
        .signature_pkcs7
        .clone()
        .expect("a signature");
    let signature = ctx.store.blob(&key).unwrap();
    assert!(openssl_verifies(dir.path(), &signature, &file));
    let mut changed = file.clone();
    changed[7] ^= 1;
    assert!(!openssl_verifies(dir.path(), &signature, &changed));
    let headers = crate::engine::signed_once::attachment_headers(&ctx, &rec.attachments).unwrap();
    assert_eq!(
        headers[0].signature_pkcs7.as_deref(),
        Some(signature.as_slice())
    );
}

#[tokio::test]
async fn with_a_configured_personal_key_the_files_carry_the_ep_sp_signature() {
    use crate::config::PersonalSignatureMode;
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_with(dir.path(), |k| {
        k.personal_signature = PersonalSignatureMode::Configured;
        k.personal_sign_attachments = true;
    });
    let file = b"%PDF-1.4 an official's signed scan".repeat(300);
    let rec = submit_with_file(&ctx, &file).await;
    let key = rec.attachments[0]
        .signature_pkcs7
        .clone()
        .expect("a signature");
    let signature = ctx.store.blob(&key).unwrap();
    assert!(openssl_verifies(dir.path(), &signature, &file));
    // Made with the ЭП-СП key, not the ЭП-ОВ one: its signer is the official's certificate.
    let (cn, o) = openssl_cli::subject_cn_and_o("sp");
    assert_eq!(
        crate::dsig::pkcs7::verify_detached(&signature, &file),
        Ok(Some(format!("{cn}, {o}")))
    );
}

#[test]
fn a_kind_cannot_ask_for_both_file_signatures_or_for_ep_sp_files_without_ep_sp() {
    use crate::config::PersonalSignatureMode;
    let cases: [(PersonalSignatureMode, bool, &str); 2] = [
        (
            PersonalSignatureMode::None,
            false,
            "needs personal_signature",
        ),
        (PersonalSignatureMode::TwoPhase, true, "not both"),
    ];
    for (mode, ov_too, error) in cases {
        let mut cfg = Config::example();
        let k = cfg
            .kinds
            .iter_mut()
            .find(|k| k.id == "fns-tax-debt")
            .unwrap();
        k.personal_signature = mode;
        k.personal_sign_attachments = true;
        k.sign_attachments = ov_too;
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(error), "{mode:?}: {e}");
    }
}
