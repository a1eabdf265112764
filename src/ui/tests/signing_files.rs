//! The ЭП-СП step for a kind whose files the official signs too: the page lists each file with
//! its download and its own signature field (the plug-in button, which signs only the XML, is not
//! offered), a missing or foreign file signature is refused in Russian with nothing queued, and
//! the official's signatures (made by the openssl CLI) are taken and queue the request.

use super::flows::multipart;
use super::*;
use crate::domain::{Actor, RequestState};
use crate::engine::intake::{self, NewAttachment, NewRequest};

use crate::openssl_cli;

const FILE: &[u8] = b"%PDF-1.4 scan of the marriage certificate, page 1\n";

/// A zags-marriage request with one file, awaiting ЭП-СП of the XML and the file.
async fn awaiting(env: &Env) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read_to_string(
        root.join("tests/fixtures/schemas/kinds/zags-marriage/request.valid.xml"),
    )
    .unwrap();
    let (r, _) = intake::submit(
        &env.ctx,
        NewRequest {
            system: "is-main".into(),
            kind: "zags-marriage".into(),
            business_xml: xml,
            client_id: None,
            case: None,
            attachments: vec![NewAttachment::in_memory(
                "Свидетельство.pdf".into(),
                "application/pdf".into(),
                FILE.repeat(40),
            )],
            test_message: None,
            actor: Actor::Engine,
        },
    )
    .await
    .unwrap();
    assert_eq!(r.state, RequestState::AwaitingPersonalSignature);
    r.id
}

#[tokio::test]
async fn an_officials_file_signatures_are_uploaded_beside_the_xml_one() {
    let env = start_with(|c| {
        for k in c.kinds.iter_mut().filter(|k| k.id == "zags-marriage") {
            k.personal_sign_attachments = true;
        }
    })
    .await;
    let (sid, csrf) = login(&env, "operator").await;
    let id = awaiting(&env).await;
    let sign_path = format!("/ui/requests/{id}/sign");
    let page = send(&env, Method::GET, &sign_path, &sid, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Подпись вложения «Свидетельство.pdf»"));
    assert!(
        !page.body.contains("data-plugin-sign"),
        "the plug-in signs only the XML"
    );
    // The official downloads the file the page links to and signs it.
    let file_path = format!("/ui/requests/{id}/files/0");
    assert!(page.body.contains(&file_path));
    let file = send(&env, Method::GET, &file_path, &sid, None).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_bytes(), FILE.repeat(40).as_slice());
    let info_path = format!("/ui/requests/{id}/signed-info.bin");
    let info = send(&env, Method::GET, &info_path, &sid, None).await.body;
    let xml_signature = openssl_cli::dgst_sign(info.as_bytes(), "sp", "-md_gost12_256");
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example");
    let cert = std::fs::read(certs.join("sp.cert.pem")).unwrap();
    // (what, the file's signature, the Russian refusal; "" accepted)
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "none",
            Vec::new(),
            "Приложите файл подписи ЭП-СП для вложения «Свидетельство.pdf»",
        ),
        (
            "a colleague's",
            openssl_cli::cms_sign(file.body.as_bytes(), "ov"),
            "сделана другим сертификатом",
        ),
        (
            "the official's",
            openssl_cli::cms_sign(file.body.as_bytes(), "sp"),
            "",
        ),
    ];
    for (what, file_signature, refusal) in cases {
        let r = send(
            &env,
            Method::POST,
            &sign_path,
            &sid,
            multipart(&[
                ("csrf", None, csrf.as_bytes()),
                ("signature", Some("signature.bin"), &xml_signature),
                ("certificate", Some("cert.pem"), &cert),
                (
                    "file_signature_0",
                    Some("Свидетельство.pdf.sig"),
                    &file_signature,
                ),
            ]),
        )
        .await;
        let state = env.ctx.store.get_request(&id).unwrap().state;
        if refusal.is_empty() {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}: {}", r.body);
            assert_eq!(state, RequestState::Queued, "{what}");
        } else {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
            assert!(r.body.contains(refusal), "{what}: {}", r.body);
            assert_eq!(state, RequestState::AwaitingPersonalSignature, "{what}");
        }
    }
    // What the request carries is the official's signature of the file, by openssl's check.
    let rec = env.ctx.store.get_request(&id).unwrap();
    let key = rec.attachments[0]
        .signature_pkcs7
        .clone()
        .expect("the file's signature");
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("file.pdf");
    std::fs::write(&content, FILE.repeat(40)).unwrap();
    assert!(openssl_cli::cms_verifies(
        &env.ctx.store.blob(&key).unwrap(),
        &content
    ));
    let card = send(&env, Method::GET, &format!("/ui/requests/{id}"), &sid, None).await;
    assert!(card.body.contains("подписан ЭП-СП"), "{}", card.body);
}
