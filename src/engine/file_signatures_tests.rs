//! PKCS#7 signatures of the files we send, checked by an independent verifier: the openssl CLI
//! with Debian's GOST engine verifies the detached CMS the gateway made over the file, refuses it
//! over a changed file, and the inline attachment header carries exactly that signature.

use crate::config::Config;
use crate::domain::Actor;

use crate::engine::intake::{self, NewAttachment, NewRequest};
use crate::engine::Context;

fn context(dir: &std::path::Path) -> std::sync::Arc<Context> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/default.toml")).unwrap();
    let mut cfg = Config::from_toml(&text, &root.join("config")).unwrap();
    cfg.storage.path = dir.join("db");
    for k in cfg.kinds.iter_mut().filter(|k| k.id == "fns-tax-debt") {
        k.sign_attachments = true;
    }
    Context::build(cfg).unwrap()
}

#[path = "../../tests/common/openssl_cli.rs"]
#[allow(dead_code)]
mod openssl_cli;

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
    let xml = r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>SIG-1</td:RequestID><td:Taxpayer><td:Organization><td:INN>7707083893</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#;
    let (rec, _) = intake::submit(
        &ctx,
        NewRequest {
            system: "is-main".into(),
            kind: "fns-tax-debt".into(),
            business_xml: xml.into(),
            client_id: None,
            case: None,
            attachments: vec![NewAttachment::in_memory(
                "Заявление.pdf".into(),
                "application/pdf".into(),
                file.clone(),
            )],
            test_message: None,
            actor: Actor::Engine,
        },
    )
    .await
    .unwrap();
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
