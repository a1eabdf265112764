//! Two-phase ЭП-СП over files: for a kind with `personal_sign_attachments`, the official signs
//! the XML and every file of the request (the openssl CLI stands in for КриптоАРМ), the gateway
//! checks each file's CMS over the stored bytes and against the XML ЭП-СП's certificate, and
//! mock-smev — which checks every `SignaturePKCS7` over the file it names, inline or in its FTP
//! storage — accepts the request.

mod common;

use base64::Engine as _;
use common::openssl_cli::{cms_sign, dgst_sign, streebog_256, subject_cn_and_o};
use common::storage_env::Env;
use common::*;
use serde_json::{json, Value};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Bytes that do not compress or repeat.
fn file_bytes(len: u32, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The gateway with the two-phase zags-marriage kind asking the official to sign its files.
fn start() -> Env {
    let mut env = Env::start(false, "");
    env.restart_with_config(|c| {
        c.replacen(
            "personal_signature = \"two_phase\"",
            "personal_signature = \"two_phase\"\npersonal_sign_attachments = true",
            1,
        )
    });
    env
}

/// A zags-marriage request with `files` (name, bytes) as multipart parts, awaiting ЭП-СП;
/// returns its id. A file above the inline limit is kept in the file area, on disk.
fn post_with_files(env: &Env, files: &[(&str, &[u8])]) -> String {
    let xml = std::fs::read_to_string(
        root().join("tests/fixtures/schemas/kinds/zags-marriage/request.valid.xml"),
    )
    .unwrap();
    let request = json!({"kind": "zags-marriage", "business_xml": xml});
    let boundary = "----smev-gateway-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{request}\r\n"
    )
    .into_bytes();
    for (name, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r: Value = ureq::post(&env.api("/api/v1/requests"))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(&body)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_json()
        .unwrap();
    assert_eq!(r["status"], "awaiting_personal_signature", "{r}");
    r["id"].as_str().unwrap().to_string()
}

fn payload(env: &Env, id: &str) -> Value {
    let (s, p) = call(
        "GET",
        &env.api(&format!("/api/v1/requests/{id}/signing-payload")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "{p}");
    p
}

/// POSTs the official's XML signature (made with the `sp` key) and `file_signatures`.
fn hand_back(env: &Env, id: &str, file_signatures: &[Vec<u8>]) -> (u16, Value) {
    let p = payload(env, id);
    let signed_info = B64.decode(p["signed_info"].as_str().unwrap()).unwrap();
    let xml_signature = dgst_sign(&signed_info, "sp", "-md_gost12_256");
    let cert = std::fs::read_to_string(root().join("certs-example/sp.cert.pem")).unwrap();
    let files: Vec<String> = file_signatures.iter().map(|s| B64.encode(s)).collect();
    call(
        "POST",
        &env.api(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(
            &json!({"signature_base64": B64.encode(&xml_signature), "certificate": cert,
            "file_signatures_base64": files}),
        ),
    )
}

#[test]
fn the_signing_payload_lists_each_file_with_its_gost_hash() {
    let env = start();
    let (a, b) = (file_bytes(20_000, 1), file_bytes(30_000, 2));
    let id = post_with_files(&env, &[("Заявление.pdf", &a), ("Паспорт.pdf", &b)]);
    let files = payload(&env, &id)["files"].clone();
    let listed: Vec<(u64, &str, u64, String)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["index"].as_u64().unwrap(),
                f["name"].as_str().unwrap(),
                f["size"].as_u64().unwrap(),
                f["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (0, "Заявление.pdf", 20_000, B64.encode(streebog_256(&a))),
            (1, "Паспорт.pdf", 30_000, B64.encode(streebog_256(&b))),
        ]
    );
}

#[test]
fn file_signatures_that_are_missing_foreign_or_out_of_order_are_refused_and_nothing_is_queued() {
    let env = start();
    let (a, b) = (file_bytes(20_000, 3), file_bytes(30_000, 4));
    let id = post_with_files(&env, &[("Заявление.pdf", &a), ("Паспорт.pdf", &b)]);
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        ("none given", vec![], "2 file(s)"),
        ("one missing", vec![cms_sign(&a, "sp")], "2 file(s)"),
        (
            "signed with another certificate (ЭП-ОВ)",
            vec![cms_sign(&a, "ov"), cms_sign(&b, "ov")],
            "another certificate",
        ),
        (
            "in the wrong order",
            vec![cms_sign(&b, "sp"), cms_sign(&a, "sp")],
            "does not match the file",
        ),
        (
            "not a CMS",
            vec![b"not a signature".to_vec(), cms_sign(&b, "sp")],
            "not a CMS",
        ),
    ];
    for (what, signatures, detail) in cases {
        let (s, body) = hand_back(&env, &id, &signatures);
        assert_eq!(
            (s, body["code"].as_str()),
            (422, Some("bad_signature")),
            "{what}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap_or("").contains(detail),
            "{what}: {body}"
        );
    }
    assert_eq!(env.request(&id)["status"], "awaiting_personal_signature");
}

#[test]
fn an_officials_file_signatures_travel_as_signature_pkcs7_inline_and_through_the_file_storage() {
    let env = start();
    // A small file goes inside the message; one above the 5 MB limit through the FTP storage,
    // whose signature the gateway checks streaming the file from disk.
    let small = file_bytes(40_000, 5);
    let large = file_bytes(6 * 1024 * 1024, 6);
    let id = post_with_files(&env, &[("Заявление.pdf", &small), ("Скан.pdf", &large)]);
    let (s, v) = hand_back(&env, &id, &[cms_sign(&small, "sp"), cms_sign(&large, "sp")]);
    assert_eq!(s, 200, "{v}");
    // Answered: mock-smev verified both SignaturePKCS7 over the bytes it received.
    let v = env.answered_after_one_send(&id);
    let mid = v["message_id"].as_str().unwrap();
    // Both files carried the official's signature, by the certificate's subject as the
    // openssl CLI reads it: one inside the message, one in the storage's UUID directory.
    let (_, log) = call(
        "GET",
        &env.admin(&format!(
            "/messages?operation=SendRequest&outcome=accepted&message_id={mid}"
        )),
        None,
        None,
    );
    let (cn, o) = subject_cn_and_o("sp");
    let official = format!("{cn}, {o}");
    let signed: Vec<(bool, Option<&str>)> = log[0]["verification"]["file_signatures"]
        .as_array()
        .unwrap_or_else(|| panic!("no file signatures in {log}"))
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().ends_with("/Скан.pdf"),
                f["signer"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        signed,
        vec![
            (false, Some(official.as_str())),
            (true, Some(official.as_str()))
        ],
        "{log}"
    );
}
