//! The HTTP API against a real gateway process (SMEV unreachable here, so requests stay queued):
//! every endpoint's happy path, the auth boundary between systems, each error code,
//! idempotency by client_id, cursor pagination and filters, and the two-phase ЭП-СП flow with
//! the official's signature made independently by the openssl CLI.

mod common;

use std::process::Command;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

struct Env {
    _dir: tempfile::TempDir,
    gw: Proc,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gw.addr)
    }
}

fn start(extra: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback is closed: every send fails with a connection error.
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", extra);
    let gw = start_gateway(&cfg);
    Env { _dir: dir, gw }
}

fn create(env: &Env, token: &str, body: Value) -> (u16, Value) {
    call(
        "POST",
        &env.url("/api/v1/requests"),
        Some(token),
        Some(&body),
    )
}

fn tax(request_id: &str) -> Value {
    json!({"kind": "fns-tax-debt", "business_xml": tax_request(request_id, "7701000121")})
}

#[test]
fn requests_idempotency_auth_and_errors() {
    let env = start("[api]\nmax_body_bytes = 200000\nmax_xml_bytes = 50000");

    // Auth.
    let (s, b) = call("GET", &env.url("/api/v1/requests"), None, None);
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(
        "GET",
        &env.url("/api/v1/requests"),
        Some("wrong-token"),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));

    // Create, then the same client_id again: the same request, 200 instead of 202.
    let mut body = tax("REQ-1");
    body["client_id"] = json!("client-1");
    body["case"] =
        json!({"reference": "ЗАЯВ-1", "applicant": "ООО «Ромашка»", "inn": "7701000121"});
    let (s, first) = create(&env, TOKEN_A, body.clone());
    assert_eq!(s, 202, "{first}");
    assert!(matches!(
        first["status"].as_str(),
        Some("queued" | "sending")
    ));
    let (s, again) = create(&env, TOKEN_A, body.clone());
    assert_eq!(s, 200);
    assert_eq!(again["id"], first["id"]);
    // The same client_id with different content is a conflict, not a silent replay.
    let mut changed = body.clone();
    changed["business_xml"] = json!(tax_request("REQ-1-CHANGED", "7701000121"));
    let (s, b) = create(&env, TOKEN_A, changed);
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")), "{b}");
    // An unsupported method is a problem+json 405.
    let (s, b) = call("DELETE", &env.url("/api/v1/requests"), Some(TOKEN_A), None);
    assert_eq!((s, b["code"].as_str()), (405, Some("method_not_allowed")));
    // The same client_id of another system is another request.
    let (s, other) = create(&env, TOKEN_B, body.clone());
    assert_eq!(s, 202);
    assert_ne!(other["id"], first["id"]);

    // System B cannot read system A's request, and does not see it in lists.
    let id = first["id"].as_str().unwrap();
    let (s, b) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}")),
        Some(TOKEN_B),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    let (_, list) = call("GET", &env.url("/api/v1/requests"), Some(TOKEN_B), None);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["system"] == "sys-b"));
    let (s, mine) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(mine["case"]["reference"], "ЗАЯВ-1");
    assert!(!mine["history"].as_array().unwrap().is_empty());

    // Error codes.
    let cases: Vec<(Value, &str, u16, &str)> = vec![
        (
            json!({"kind": "fns-tax-debt", "business_xml": "<td:TaxDebtRequest xmlns:td=\"urn://smev-gateway/example/fns-tax-debt/1.0\">\n<td:RequestID>x</td:RequestID>\n</td:Tax>"}),
            TOKEN_A,
            422,
            "invalid_xml",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "12345")}),
            TOKEN_A,
            422,
            "schema_violation",
        ),
        (
            json!({"kind": "no-such-kind", "business_xml": tax_request("R", "7701000121")}),
            TOKEN_A,
            422,
            "unknown_kind",
        ),
        (
            json!({"kind": "zags-marriage", "business_xml": "<zm:MarriageRecordRequest xmlns:zm=\"urn://smev-gateway/example/zags-marriage/1.0\"/>"}),
            TOKEN_B,
            403,
            "kind_not_allowed",
        ),
        (
            json!({"kind": "zags-marriage", "business_xml": tax_request("R", "7701000121")}),
            TOKEN_A,
            422,
            "wrong_root_element",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": "<TaxDebtRequest/>"}),
            TOKEN_A,
            422,
            "invalid_content",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": format!("<!DOCTYPE x [<!ENTITY e \"x\">]>{}", tax_request("R", "7701000121"))}),
            TOKEN_A,
            422,
            "invalid_xml",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": format!("<!-- {} -->{}", "x".repeat(60000), tax_request("R", "7701000121"))}),
            TOKEN_A,
            413,
            "payload_too_large",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "7701000121"), "attachments": [{"name": "a.pdf", "mime_type": "application/pdf", "content_base64": "!!!"}]}),
            TOKEN_A,
            400,
            "invalid_parameter",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "7701000121"), "attachments": [{"name": "a.pdf", "mime_type": "pdf", "content_base64": "AAAA"}]}),
            TOKEN_A,
            400,
            "invalid_parameter",
        ),
        (
            json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "7701000121"), "unexpected": 1}),
            TOKEN_A,
            400,
            "invalid_json",
        ),
        (json!({"business_xml": "x"}), TOKEN_A, 400, "invalid_json"),
    ];
    for (body, token, status, code) in cases {
        let (s, b) = create(&env, token, body.clone());
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{body:.200}: {b}"
        );
        assert!(b["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // Schema violations and malformed XML carry positions.
    let (_, b) = create(
        &env,
        TOKEN_A,
        json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "12345")}),
    );
    let e = &b["errors"][0];
    assert_eq!(e["line"], 1);
    assert!(e["column"].as_u64().unwrap() > 1);
    assert!(e["message"].as_str().unwrap().contains("INN"), "{e}");
    let (_, b) = create(
        &env,
        TOKEN_A,
        json!({"kind": "fns-tax-debt", "business_xml": "<a xmlns=\"urn:x\">\n  <b>\n</a>"}),
    );
    assert_eq!(b["errors"][0]["line"], 3);

    // A body over api.max_body_bytes.
    let big = json!({"kind": "fns-tax-debt", "business_xml": tax_request("R", "7701000121"), "attachments": [{"name": "a.bin", "mime_type": "application/octet-stream", "content_base64": B64.encode(vec![0u8; 300_000])}]});
    let (s, b) = create(&env, TOKEN_A, big);
    assert_eq!((s, b["code"].as_str()), (413, Some("payload_too_large")));

    // Not JSON.
    let resp = ureq::post(&env.url("/api/v1/requests"))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .set("Content-Type", "text/plain")
        .send_string("hello");
    let r = match resp {
        Err(ureq::Error::Status(_, r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status(), 415);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));

    // Unknown ids, answers not there yet, state conflicts, bad parameters.
    let (s, b) = call(
        "GET",
        &env.url("/api/v1/requests/0190d7a0-0000-7000-8000-000000000000"),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    let (s, b) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}/answer")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("answer_not_available")));
    let (s, b) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}/attachments/0")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    let (s, b) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}/attachments/x")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_parameter")));
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/retry")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));
    let (s, b) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}/signing-payload")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));
    let (s, b) = call(
        "GET",
        &env.url("/api/v1/requests?status=nonsense"),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_parameter")));
    let (s, b) = call(
        "GET",
        &env.url("/api/v1/requests?limit=0"),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_parameter")));
    let (s, b) = call("GET", &env.url("/api/v1/nothing-here"), Some(TOKEN_A), None);
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));

    // Cancel, then cancelling again is a conflict; the retry count and next due are visible.
    let c = wait_for(
        std::time::Duration::from_secs(10),
        "a cancel outside a send attempt",
        || {
            let (s, c) = call(
                "POST",
                &env.url(&format!("/api/v1/requests/{id}/cancel")),
                Some(TOKEN_A),
                None,
            );
            (s == 200).then_some(c)
        },
    );
    assert_eq!(c["status"], "cancelled");
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/cancel")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));
}

#[test]
fn retries_are_visible_while_smev_is_unreachable() {
    let env = start("");
    let (_, r) = create(&env, TOKEN_A, tax("REQ-R"));
    let id = r["id"].as_str().unwrap().to_string();
    let view = wait_for(std::time::Duration::from_secs(20), "three attempts", || {
        let (_, v) = call(
            "GET",
            &env.url(&format!("/api/v1/requests/{id}")),
            Some(TOKEN_A),
            None,
        );
        (v["attempts"].as_u64().unwrap_or(0) >= 3 && v["status"] == "queued").then_some(v)
    });
    assert!(view["retry_count"].as_u64().unwrap() >= 2);
    assert!(view["next_due"].is_string());
    assert_eq!(view["last_error"]["code"], "transport.connect");
    assert_eq!(view["last_error"]["class"], "temporary");
    assert!(
        view["message_id"].as_str().is_some(),
        "the MessageID is assigned before the first send"
    );
    // The MessageID does not change between retries.
    let mid = view["message_id"].clone();
    let later = wait_for(
        std::time::Duration::from_secs(20),
        "another attempt",
        || {
            let (_, v) = call(
                "GET",
                &env.url(&format!("/api/v1/requests/{id}")),
                Some(TOKEN_A),
                None,
            );
            (v["attempts"].as_u64().unwrap_or(0) > view["attempts"].as_u64().unwrap()).then_some(v)
        },
    );
    assert_eq!(later["message_id"], mid);
}

#[test]
fn pagination_and_filters() {
    let env = start("");
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut b = tax(&format!("REQ-P{i}"));
        b["client_id"] = json!(format!("p-{i}"));
        b["case"] = json!({"reference": if i % 2 == 0 { "ЗАЯВ-ЧЁТ" } else { "ЗАЯВ-НЕЧЁТ" }, "snils": "112-233-445 95"});
        let (s, r) = create(&env, TOKEN_A, b);
        assert_eq!(s, 202);
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => env.url(&format!("/api/v1/requests?limit=3&cursor={c}")),
            None => env.url("/api/v1/requests?limit=3"),
        };
        let (s, page) = call("GET", &url, Some(TOKEN_A), None);
        assert_eq!(s, 200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|r| r["id"].as_str().unwrap().to_string()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each exactly once");

    let get = |q: &str| {
        let (s, p) = call(
            "GET",
            &env.url(&format!("/api/v1/requests?{q}")),
            Some(TOKEN_A),
            None,
        );
        assert_eq!(s, 200, "{q}: {p}");
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("client_id=p-3"), vec![ids[3].clone()]);
    assert_eq!(get(&format!("case={}", urlencode("ЗАЯВ-НЕЧЁТ"))).len(), 3);
    assert_eq!(
        get(&format!("q={}", urlencode("чёт"))).len(),
        7,
        "case-insensitive text search"
    );
    assert_eq!(get("q=445").len(), 7, "search by СНИЛС");
    assert_eq!(get("kind=zags-marriage").len(), 0);
    assert_eq!(get("status=answered").len(), 0);
    assert_eq!(get("status=queued,sending").len(), 7);
    assert_eq!(
        get("created_from=2000-01-01T00:00:00Z&created_to=2100-01-01T00:00:00Z").len(),
        7
    );
    assert_eq!(get("created_from=2100-01-01T00:00:00Z").len(), 0);

    let (s, cases) = call("GET", &env.url("/api/v1/cases"), Some(TOKEN_A), None);
    assert_eq!(s, 200);
    assert_eq!(cases["items"].as_array().unwrap().len(), 2);
    let (s, case) = call(
        "GET",
        &env.url(&format!("/api/v1/cases/{}", urlencode("ЗАЯВ-ЧЁТ"))),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(case["requests"].as_array().unwrap().len(), 4);
    let (s, _) = call(
        "GET",
        &env.url(&format!("/api/v1/cases/{}", urlencode("ЗАЯВ-ЧЁТ"))),
        Some(TOKEN_B),
        None,
    );
    assert_eq!(s, 404, "cases are per system");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn openssl_sign(key: &str, data: &[u8], md: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let sig = dir.path().join("sig.bin");
    std::fs::write(&input, data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-engine", "gost", md, "-sign", key, "-out"])
        .arg(&sig)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(sig).unwrap()
}

#[test]
fn two_phase_personal_signature() {
    let env = start("");
    let xml = std::fs::read_to_string(
        root().join("tests/fixtures/schemas/kinds/zags-marriage/request.valid.xml"),
    )
    .unwrap();
    let (s, r) = create(
        &env,
        TOKEN_A,
        json!({"kind": "zags-marriage", "business_xml": xml}),
    );
    assert_eq!(s, 202, "{r}");
    assert_eq!(r["status"], "awaiting_personal_signature");
    let id = r["id"].as_str().unwrap();
    let (s, p) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}/signing-payload")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["reference_id"], "MARRIAGE_REQUEST");
    let signed_info = B64.decode(p["signed_info"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&signed_info).contains("#MARRIAGE_REQUEST"));
    let cert = std::fs::read_to_string(root().join("certs-example/sp.cert.pem")).unwrap();
    let sp_key = root().join("certs-example/sp.key.pem");
    let ov_key = root().join("certs-example/ov.key.pem");

    // Signed with another key than the certificate's: refused.
    let wrong = openssl_sign(ov_key.to_str().unwrap(), &signed_info, "-md_gost12_256");
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&wrong), "certificate": cert})),
    );
    assert_eq!((s, b["code"].as_str()), (422, Some("bad_signature")), "{b}");
    // Right key, but over other data: refused.
    let other = openssl_sign(
        sp_key.to_str().unwrap(),
        b"something else",
        "-md_gost12_256",
    );
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&other), "certificate": cert})),
    );
    assert_eq!((s, b["code"].as_str()), (422, Some("bad_signature")));
    // Garbage certificate: refused.
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&other), "certificate": "not a certificate"})),
    );
    assert_eq!((s, b["code"].as_str()), (422, Some("bad_signature")));
    // An expired certificate is refused even with a good signature.
    let expired_sig = openssl_sign(
        root()
            .join("certs-example/expired.key.pem")
            .to_str()
            .unwrap(),
        &signed_info,
        "-md_gost12_256",
    );
    let expired_cert =
        std::fs::read_to_string(root().join("certs-example/expired.cert.pem")).unwrap();
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&expired_sig), "certificate": expired_cert})),
    );
    assert_eq!((s, b["code"].as_str()), (422, Some("bad_signature")));
    assert!(b["detail"].as_str().unwrap().contains("expired"));
    // Still waiting.
    let (_, v) = call(
        "GET",
        &env.url(&format!("/api/v1/requests/{id}")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(v["status"], "awaiting_personal_signature");

    // The official's own tool (here: the openssl CLI) signs the SignedInfo bytes: accepted.
    let good = openssl_sign(sp_key.to_str().unwrap(), &signed_info, "-md_gost12_256");
    let (s, v) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&good), "certificate": cert})),
    );
    assert_eq!(s, 200, "{v}");
    assert!(matches!(v["status"].as_str(), Some("queued" | "sending")));
    assert_eq!(v["personal_signature"]["signed"], true);
    assert!(v["personal_signature"]["signer"]
        .as_str()
        .unwrap()
        .contains("11223344595"));
    // A second signature is a conflict.
    let (s, b) = call(
        "POST",
        &env.url(&format!("/api/v1/requests/{id}/personal-signature")),
        Some(TOKEN_A),
        Some(&json!({"signature_base64": B64.encode(&good), "certificate": cert})),
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));
}

/// `POST /api/v1/requests` as multipart/form-data: the JSON `request` part and one PDF file part,
/// the body sent whole with its Content-Length.
fn post_multipart(env: &Env, request: &Value, file_name: &str, file: &[u8]) -> (u16, Value) {
    let boundary = "XBOUNDARY";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{request}\r\n").as_bytes());
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = ureq::post(&env.url("/api/v1/requests"))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(&body);
    match resp {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

/// A multipart `POST /api/v1/requests` with `file_bytes` in its file part, sent with a
/// Content-Length (as curl and most clients send it): the status and the problem code.
fn post_multipart_with_length(env: &Env, file_bytes: usize) -> (u16, Option<String>) {
    let file = vec![b'%'; file_bytes];
    let (status, body) = post_multipart(env, &tax("REQ-LEN"), "scan.pdf", &file);
    (status, body["code"].as_str().map(str::to_string))
}

#[test]
fn a_declared_multipart_length_is_held_to_the_upload_limit_not_the_json_one() {
    let env = start("[api]\nmax_body_bytes = 100000\nmax_upload_bytes = 3000000");
    for (file_bytes, want) in [
        (50_000, (202, None)),
        // Above max_body_bytes, within max_upload_bytes: a file upload, accepted.
        (2_000_000, (202, None)),
        (3_500_000, (413, Some("payload_too_large".to_string()))),
    ] {
        assert_eq!(
            post_multipart_with_length(&env, file_bytes),
            want,
            "{file_bytes} bytes"
        );
    }
}

#[test]
fn multipart_attachments_openapi_health_metrics() {
    let env = start("");
    // multipart/form-data: the JSON in a "request" part and a file part.
    let pdf = b"%PDF-1.4\n% test\n";
    let (status, v) = post_multipart(&env, &tax("REQ-M"), "справка.pdf", pdf);
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["attachments"][0]["name"], "справка.pdf");
    assert_eq!(v["attachments"][0]["size"], pdf.len());

    let (s, doc) = call("GET", &env.url("/api/openapi.json"), None, None);
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/requests",
        "/api/v1/requests/{id}",
        "/api/v1/requests/{id}/answer",
        "/api/v1/requests/{id}/attachments/{n}",
        "/api/v1/requests/{id}/retry",
        "/api/v1/requests/{id}/cancel",
        "/api/v1/requests/{id}/signing-payload",
        "/api/v1/requests/{id}/personal-signature",
        "/api/v1/incoming",
        "/api/v1/incoming/{id}",
        "/api/v1/incoming/{id}/response",
        "/api/v1/incoming/{id}/reject",
        "/api/v1/dead-letters",
        "/api/v1/dead-letters/{id}/ack-and-close",
        "/api/v1/dead-letters/{id}/reprocess",
        "/api/v1/cases",
        "/api/v1/cases/{reference}",
        "/api/v1/webhooks/dead-letters",
        "/health/live",
        "/health/ready",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }

    let (s, live) = call("GET", &env.url("/health/live"), None, None);
    assert_eq!((s, live["status"].as_str()), (200, Some("ok")));
    // Without a token readiness says only ready or not: system names stay private.
    let (_, anonymous) = call("GET", &env.url("/health/ready"), None, None);
    assert!(anonymous["status"].is_string(), "{anonymous}");
    assert!(anonymous.get("checks").is_none(), "{anonymous}");
    let (_, ready) = call("GET", &env.url("/health/ready"), Some(TOKEN_A), None);
    assert!(ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "storage" && c["ok"] == true));
    let metrics = ureq::get(&env.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("smev_gateway_requests{status=\"queued\"}")
            || metrics.contains("smev_gateway_requests{status=\"sending\"}")
    );
}
