//! The durable engine against mock-smev, both as real processes: answers stored and only then
//! acknowledged, attachments, rejections, SMEV's faults by class (retry, already sent, stale id,
//! permanent), operator retry, SMEV unavailable for 30 s, a crash between receiving and
//! acknowledging, dead letters, the provider role, and webhooks that fail first.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const MOCK_BASE: &str = r#"
[smev]
redelivery_timeout_ms = 1500
seed = 7

[[participants]]
mnemonic = "SYSTEM2"
name = "Система Б"
subject_cn = "Тестовая ИС ведомства ГОСТ 2012-512 (ТОЛЬКО ДЛЯ ТЕСТОВ)"

"#;

const MOCK_KINDS: &str = r#"
[[kinds]]
name = "fns-tax-debt"
namespace = "urn://smev-gateway/example/fns-tax-debt/1.0"
request = "TaxDebtRequest"
response = "TaxDebtResponse"
schema = "builtin:schemas/kinds/fns-tax-debt-1.0.xsd"
provider = "FNS01"
[[kinds.rules]]
when = { INN = "7701000130" }
reply = "ignore"
[[kinds.rules]]
when = { INN = "0100000000" }
reply = "reject"
reject_code = "NO_DATA"
reject_description = "Сведения по ИНН {{ INN }} отсутствуют"
[[kinds.rules]]
template_file = "builtin:templates/fns-tax-debt-response.xml"

[[kinds]]
name = "zags-marriage"
namespace = "urn://smev-gateway/example/zags-marriage/1.0"
request = "MarriageRecordRequest"
response = "MarriageRecordResponse"
schema = "builtin:schemas/kinds/zags-marriage-1.0.xsd"
provider = "ZAGS01"
sample_request = "builtin:templates/zags-marriage-request.xml"
[[kinds.rules]]
template_file = "builtin:templates/zags-marriage-response.xml"
"#;

struct Env {
    _dir: tempfile::TempDir,
    mock: Proc,
    gw: Proc,
    config: std::path::PathBuf,
}

impl Env {
    fn start(extra: &str) -> Env {
        Self::start_with_mock(&format!("{MOCK_BASE}\n{MOCK_KINDS}"), extra)
    }

    fn start_with_mock(mock_config: &str, extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mock = start_mock(dir.path(), Some(mock_config));
        let config = gateway_config(dir.path(), &format!("http://{}/ws", mock.addr), extra);
        let gw = start_gateway(&config);
        Env {
            _dir: dir,
            mock,
            gw,
            config,
        }
    }

    fn api(&self, path: &str) -> String {
        format!("http://{}{path}", self.gw.addr)
    }

    fn admin(&self, path: &str) -> String {
        format!("http://{}/admin{path}", self.mock.addr)
    }

    fn post(&self, body: Value) -> Value {
        let (s, r) = call(
            "POST",
            &self.api("/api/v1/requests"),
            Some(TOKEN_A),
            Some(&body),
        );
        assert!(s == 202 || s == 200, "{s}: {r}");
        r
    }

    fn get(&self, id: &str) -> Value {
        call(
            "GET",
            &self.api(&format!("/api/v1/requests/{id}")),
            Some(TOKEN_A),
            None,
        )
        .1
    }

    fn wait_status(&self, id: &str, status: &str, secs: u64) -> Value {
        wait_for(
            Duration::from_secs(secs),
            &format!("request {id} to become {status}"),
            || {
                let v = self.get(id);
                (v["status"] == status).then_some(v)
            },
        )
    }

    fn fault(&self, spec: Value) {
        let (s, b) = call("POST", &self.admin("/faults"), None, Some(&spec));
        assert!(s == 200 || s == 201, "{s}: {b}");
    }

    fn count(&self, message_id: &str) -> Value {
        call(
            "GET",
            &self.admin(&format!("/messages/count?message_id={message_id}")),
            None,
            None,
        )
        .1
    }

    fn restart(&mut self) {
        self.gw = start_gateway(&self.config);
    }
}

fn tax(request_id: &str) -> Value {
    json!({"kind": "fns-tax-debt", "business_xml": tax_request(request_id, "7701000122"), "client_id": request_id})
}

#[test]
fn answer_with_attachment_is_stored_verified_and_acknowledged() {
    // The final answer comes 0.5 s after the status: concurrent pollers could otherwise take
    // both at once and store the answer first (SMEV does not order a provider's messages).
    let env = Env::start_with_mock(
        &format!(
            "{MOCK_BASE}\n[[kinds]]\nname = \"fns-tax-debt\"\nnamespace = \"urn://smev-gateway/example/fns-tax-debt/1.0\"\nrequest = \"TaxDebtRequest\"\nresponse = \"TaxDebtResponse\"\nschema = \"builtin:schemas/kinds/fns-tax-debt-1.0.xsd\"\nprovider = \"FNS01\"\n[[kinds.rules]]\ntemplate_file = \"builtin:templates/fns-tax-debt-response.xml\"\ndelay_ms = 500\nattachments = [{{ file = \"builtin:samples/sample.pdf\", mime_type = \"application/pdf\", content_id = \"spravka.pdf\" }}]\n[[kinds.rules.statuses]]\ncode = 1\ndescription = \"Запрос принят к обработке\"\nafter_ms = 0\n"
        ),
        "",
    );
    let r = env.post(tax("E2E-1"));
    let id = r["id"].as_str().unwrap();
    let v = env.wait_status(id, "answered", 30);
    let mid = v["message_id"].as_str().unwrap();
    assert!(v["sent_at"].is_string() && v["deadline"].is_string());
    assert_eq!(
        v["statuses"][0]["code"], 1,
        "the provider's RequestStatus came first: {v}"
    );
    // The answer as received, and its verified signatures.
    let (s, a) = call(
        "GET",
        &env.api(&format!("/api/v1/requests/{id}/answer")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200);
    assert!(a["business_xml"]
        .as_str()
        .unwrap()
        .contains("TaxDebtResponse"));
    assert!(a["business_xml"].as_str().unwrap().contains("7701000122"));
    let sigs = a["signatures"].as_array().unwrap();
    assert!(sigs.len() >= 2, "ЭП-СМЭВ and the provider's ЭП-ОВ: {a}");
    assert!(sigs.iter().all(|s| s["valid"] == true));
    // The PDF, with its type and name.
    let att = &a["attachments"][0];
    assert_eq!(att["mime_type"], "application/pdf");
    let resp = ureq::get(&env.api(att["href"].as_str().unwrap()))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .call()
        .unwrap();
    assert_eq!(resp.header("content-type"), Some("application/pdf"));
    assert!(resp
        .header("content-disposition")
        .unwrap()
        .contains("spravka.pdf"));
    let mut bytes = Vec::new();
    resp.into_reader().read_to_end(&mut bytes).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    // SMEV side: accepted once, delivered and acknowledged.
    let c = env.count(mid);
    assert_eq!(c["accepted"], 1, "{c}");
    let answers = call(
        "GET",
        &env.admin("/messages?operation=Ack&limit=50"),
        None,
        None,
    )
    .1;
    assert!(
        answers.as_array().map(|a| !a.is_empty()).unwrap_or(false)
            || answers["items"]
                .as_array()
                .map(|a| !a.is_empty())
                .unwrap_or(false),
        "Acks were sent: {answers}"
    );
}

#[test]
fn faults_by_class_and_operator_retry() {
    let env = Env::start("");
    // Temporary: SMEVFailure twice, then it goes through.
    env.fault(json!({"fault": "SMEVFailure", "operations": ["SendRequest"], "count": 2}));
    let r = env.post(tax("F-TEMP"));
    let v = env.wait_status(r["id"].as_str().unwrap(), "answered", 30);
    assert_eq!(v["attempts"], 3, "{v}");
    assert_eq!(v["replaced_message_ids"].as_array().unwrap().len(), 0);

    // The answer to the send is lost (slow beyond our 5 s timeout): the resend with the same
    // MessageID gets MessageIsAlreadySent, which counts as sent.
    env.fault(
        json!({"fault": "slow", "operations": ["SendRequest"], "count": 1, "delay_ms": 8000}),
    );
    // (The provider of INN 7701000130 never answers, so only the resend can settle it.)
    let r = env
        .post(json!({"kind": "fns-tax-debt", "business_xml": tax_request("F-LOST", "7701000130")}));
    let v = env.wait_status(r["id"].as_str().unwrap(), "sent", 60);
    assert_eq!(env.count(v["message_id"].as_str().unwrap())["accepted"], 1);
    assert_eq!(v["attempts"], 2, "{v}");
    assert!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["reason"]["text"]
                .as_str()
                .unwrap_or("")
                .contains("MessageIsAlreadySent")),
        "{v}"
    );

    // The answer arrives before the lost HTTP answer is retried: it settles the request.
    env.fault(
        json!({"fault": "slow", "operations": ["SendRequest"], "count": 1, "delay_ms": 8000}),
    );
    let r = env.post(tax("F-RACE"));
    let v = env.wait_status(r["id"].as_str().unwrap(), "answered", 60);
    assert_eq!(env.count(v["message_id"].as_str().unwrap())["accepted"], 1);
    assert!(v["replaced_message_ids"].as_array().unwrap().is_empty());

    // StaleMessageId: resent under a new MessageID, the old one recorded.
    env.fault(json!({"fault": "StaleMessageId", "operations": ["SendRequest"], "count": 1}));
    let r = env.post(tax("F-STALE"));
    let v = env.wait_status(r["id"].as_str().unwrap(), "answered", 30);
    let replaced = v["replaced_message_ids"].as_array().unwrap();
    assert_eq!(replaced.len(), 1, "{v}");
    assert_ne!(replaced[0], v["message_id"]);

    // Permanent: failed with the fault code; the operator's retry then succeeds.
    env.fault(json!({"fault": "SignatureVerificationFault", "sub_code": "CertificateIsExpired", "operations": ["SendRequest"], "count": 1}));
    let r = env.post(tax("F-PERM"));
    let id = r["id"].as_str().unwrap();
    let v = env.wait_status(id, "failed", 30);
    assert_eq!(
        v["fault"]["code"], "SignatureVerificationFault.CertificateIsExpired",
        "{v}"
    );
    assert_eq!(v["fault"]["class"], "permanent");
    let old_mid = v["message_id"].clone();
    let (s, _) = call(
        "POST",
        &env.api(&format!("/api/v1/requests/{id}/retry")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200);
    let v = env.wait_status(id, "answered", 30);
    assert_ne!(
        v["message_id"], old_mid,
        "operator retry uses a new MessageID"
    );

    // Rejected by the provider (NO_DATA).
    let r = env
        .post(json!({"kind": "fns-tax-debt", "business_xml": tax_request("F-REJ", "0100000000")}));
    let v = env.wait_status(r["id"].as_str().unwrap(), "rejected", 30);
    assert_eq!(v["answer"]["rejections"][0]["code"], "NO_DATA");

    // SMEV's asynchronous rejection through the response queue.
    env.fault(json!({"fault": "async_rejection", "operations": ["SendRequest"], "count": 1}));
    let r = env.post(tax("F-ASYNC"));
    let v = env.wait_status(r["id"].as_str().unwrap(), "rejected", 30);
    assert_eq!(v["answer"]["kind"], "smev_rejected");
    assert!(
        v["fault"]["code"]
            .as_str()
            .unwrap()
            .starts_with("InvalidContent"),
        "{v}"
    );
}

#[test]
fn smev_unavailable_for_30_seconds() {
    let env = Env::start("");
    env.fault(json!({"fault": "http_503", "for_ms": 30000}));
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            env.post(tax(&format!("OUT-{i}")))["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // While SMEV is down: queued, retried, with the next due time visible.
    let v = wait_for(Duration::from_secs(25), "retries during the outage", || {
        let v = env.get(&ids[0]);
        (v["attempts"].as_u64().unwrap_or(0) >= 2 && v["status"] == "queued").then_some(v)
    });
    assert_eq!(v["last_error"]["code"], "transport.http_503");
    assert!(v["next_due"].is_string());
    // After it comes back, every request goes out and is answered.
    for id in &ids {
        env.wait_status(id, "answered", 90);
    }
    let mids: HashSet<String> = ids
        .iter()
        .map(|id| env.get(id)["message_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mids.len(), ids.len());
}

#[test]
fn crash_between_receive_and_ack_stores_once() {
    let mut env = Env::start("");
    // Acks are dropped: the gateway stores the answer, its Ack never lands.
    env.fault(json!({"fault": "reset", "operations": ["Ack"]}));
    let r = env.post(tax("ACK-1"));
    let id = r["id"].as_str().unwrap().to_string();
    let v = env.wait_status(&id, "answered", 30);
    let answer_mid = v["answer"]["message_id"].as_str().unwrap().to_string();
    // Kill the gateway while its Acks fail, bring SMEV back to normal, restart.
    env.gw.kill();
    let (s, _) = call("DELETE", &env.admin("/faults"), None, None);
    assert!(s < 300);
    env.restart();
    // SMEV redelivers the unacknowledged answer; the gateway recognises it and acknowledges.
    wait_for(
        Duration::from_secs(30),
        "the redelivered answer to be acknowledged",
        || {
            let c = env.count(&answer_mid);
            (c["acks"].as_u64().unwrap_or(0) >= 1).then_some(())
        },
    );
    let c = env.count(&answer_mid);
    assert!(
        c["deliveries"].as_u64().unwrap() >= 2,
        "it was delivered again: {c}"
    );
    let v = env.get(&id);
    assert_eq!(v["status"], "answered");
    let answered = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["to"] == "answered")
        .count();
    assert_eq!(answered, 1, "stored once: {v}");
}

#[test]
fn dead_letters_duplicates_and_ack_and_close() {
    let env = Env::start("");
    // A corrupted ЭП-СМЭВ: kept as a dead letter, acknowledged with accepted=false.
    env.fault(json!({"fault": "corrupt_signature", "operations": ["GetResponse"], "count": 1}));
    let r = env.post(tax("DL-1"));
    let id = r["id"].as_str().unwrap().to_string();
    let dl = wait_for(
        Duration::from_secs(30),
        "an acknowledged dead letter",
        || {
            let (_, l) = call("GET", &env.api("/api/v1/dead-letters"), Some(TOKEN_A), None);
            l["items"]
                .as_array()
                .and_then(|a| a.first().cloned())
                .filter(|d| d["acked"] == true)
        },
    );
    assert!(dl["reason"].as_str().unwrap().contains("signature"), "{dl}");
    assert_eq!(dl["acked"], true);
    assert_eq!(
        env.get(&id)["status"],
        "sent",
        "the request still waits for a valid answer"
    );
    // System B does not see it.
    let (_, l) = call("GET", &env.api("/api/v1/dead-letters"), Some(TOKEN_B), None);
    assert!(l["items"].as_array().unwrap().is_empty());
    let dl_id = dl["id"].as_str().unwrap();
    let (s, closed) = call(
        "POST",
        &env.api(&format!("/api/v1/dead-letters/{dl_id}/ack-and-close")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    let (s, b) = call(
        "POST",
        &env.api(&format!("/api/v1/dead-letters/{dl_id}/reprocess")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));

    // Duplicate delivery of a good answer: stored once.
    env.fault(json!({"fault": "duplicate_delivery", "operations": ["GetResponse"], "count": 1}));
    let r = env.post(tax("DUP-1"));
    let v = env.wait_status(r["id"].as_str().unwrap(), "answered", 30);
    let amid = v["answer"]["message_id"].as_str().unwrap();
    wait_for(
        Duration::from_secs(20),
        "the duplicate to be delivered and acknowledged",
        || {
            // Both copies are delivered; in the end nothing is waiting or pending.
            let c = env.count(amid);
            let stats = call("GET", &env.admin("/stats"), None, None).1;
            let q = &stats["queues"]["SYSTEM1"]["responses"];
            let idle = q["ready"].as_u64() == Some(0) && q["pending"].as_u64() == Some(0);
            (c["deliveries"].as_u64().unwrap_or(0) >= 2
                && c["acks"].as_u64().unwrap_or(0) >= 1
                && idle)
                .then_some(())
        },
    );
    let v = env.get(r["id"].as_str().unwrap());
    assert_eq!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["to"] == "answered")
            .count(),
        1
    );
}

#[test]
fn provider_role_incoming_request_answer_and_reject() {
    let env = Env::start("");
    for _ in 0..2 {
        let (s, b) = call(
            "POST",
            &env.admin("/requests"),
            None,
            Some(&json!({"kind": "zags-marriage", "to": "SYSTEM1", "from": "MFC01"})),
        );
        assert_eq!(s, 201, "{b}");
    }
    let items = wait_for(Duration::from_secs(30), "two incoming requests", || {
        let (_, l) = call("GET", &env.api("/api/v1/incoming"), Some(TOKEN_A), None);
        let items = l["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 2).then_some(items)
    });
    let (_, other) = call("GET", &env.api("/api/v1/incoming"), Some(TOKEN_B), None);
    assert!(other["items"].as_array().unwrap().is_empty());
    let first = items[0]["id"].as_str().unwrap();
    let second = items[1]["id"].as_str().unwrap();
    let (_, inc) = call(
        "GET",
        &env.api(&format!("/api/v1/incoming/{first}")),
        Some(TOKEN_A),
        None,
    );
    assert!(inc["business_xml"]
        .as_str()
        .unwrap()
        .contains("MarriageRecordRequest"));
    assert_eq!(inc["kind"], "zags-marriage");
    assert!(inc["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["valid"] == true));
    let answer = std::fs::read_to_string(
        root().join("tests/fixtures/schemas/kinds/zags-marriage/response.valid.xml"),
    )
    .unwrap();
    let (s, r) = call(
        "POST",
        &env.api(&format!("/api/v1/incoming/{first}/response")),
        Some(TOKEN_A),
        Some(&json!({"business_xml": answer})),
    );
    assert_eq!(s, 200, "{r}");
    let (s, r) = call(
        "POST",
        &env.api(&format!("/api/v1/incoming/{second}/reject")),
        Some(TOKEN_A),
        Some(&json!({"code": "NO_DATA", "description": "Запись акта не найдена"})),
    );
    assert_eq!(s, 200, "{r}");
    let (s, b) = call(
        "POST",
        &env.api(&format!("/api/v1/incoming/{second}/reject")),
        Some(TOKEN_A),
        Some(&json!({"code": "NO_DATA", "description": "again"})),
    );
    assert_eq!((s, b["code"].as_str()), (409, Some("conflict")));
    let (s, b) = call(
        "POST",
        &env.api(&format!("/api/v1/incoming/{second}/reject")),
        Some(TOKEN_A),
        Some(&json!({"code": "MAYBE", "description": "x"})),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_parameter")));
    for id in [first, second] {
        wait_for(
            Duration::from_secs(30),
            "the response to be accepted",
            || {
                let (_, v) = call(
                    "GET",
                    &env.api(&format!("/api/v1/incoming/{id}")),
                    Some(TOKEN_A),
                    None,
                );
                (v["status"] == "responded").then_some(())
            },
        );
    }
    // The simulated consumer got both: the data and the rejection.
    let inbox = wait_for(Duration::from_secs(10), "the consumer's inbox", || {
        let (_, i) = call("GET", &env.admin("/inbox"), None, None);
        let n = i
            .as_array()
            .map(|a| a.len())
            .or_else(|| i["items"].as_array().map(|a| a.len()))
            .unwrap_or(0);
        (n >= 2).then_some(i)
    });
    let text = inbox.to_string();
    assert!(
        text.contains("MarriageRecordResponse") && text.contains("NO_DATA"),
        "{text}"
    );
}

/// One received webhook: delivery id, timestamp header, signature header, body.
type Delivery = (String, String, String, Vec<u8>);

/// A webhook receiver that fails the first `fail_first` deliveries.
struct Receiver {
    addr: String,
    events: Arc<Mutex<Vec<Delivery>>>,
}

fn webhook_receiver(fail_first: usize) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    std::thread::spawn(move || {
        let mut n = 0usize;
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut tmp = [0u8; 65536];
            let (headers, body) = loop {
                let k = match s.read(&mut tmp) {
                    Ok(0) | Err(_) => break (String::new(), Vec::new()),
                    Ok(k) => k,
                };
                buf.extend_from_slice(&tmp[..k]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    while buf.len() < p + 4 + len {
                        match s.read(&mut tmp) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => buf.extend_from_slice(&tmp[..k]),
                        }
                    }
                    break (head, buf[p + 4..].to_vec());
                }
            };
            n += 1;
            let header = |name: &str| {
                headers
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.trim().to_string())
                    })
                    .unwrap_or_default()
            };
            if n <= fail_first {
                let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                continue;
            }
            ev.lock().unwrap().push((
                header("x-smev-gateway-delivery"),
                header("x-smev-gateway-timestamp"),
                header("x-smev-gateway-signature"),
                body,
            ));
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    Receiver { addr, events }
}

fn hmac_hex(secret: &str, ts: &str, body: &[u8]) -> String {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    let key = PKey::hmac(secret.as_bytes()).unwrap();
    let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &key).unwrap();
    s.update(format!("{ts}.").as_bytes()).unwrap();
    s.update(body).unwrap();
    hex::encode(s.sign_to_vec().unwrap())
}

#[test]
fn webhooks_fail_first_then_arrive_with_valid_hmac_across_a_restart() {
    let recv = webhook_receiver(4);
    let secret = "webhook-secret-Ж";
    let dir = tempfile::tempdir().unwrap();
    let mock = start_mock(dir.path(), Some(&format!("{MOCK_BASE}\n{MOCK_KINDS}")));
    // The webhook goes into sys-a's table: rebuild the config with a [systems.webhook] for sys-a.
    let config = gateway_config(
        dir.path(),
        &format!("http://{}/ws", mock.addr),
        "[webhooks]\nretry_base_ms = 200\nretry_max_ms = 1000\nmax_attempts = 50",
    );
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[[systems.tokens]]\nname = \"test-a\"",
        &format!("[systems.webhook]\nurl = \"http://{}/events\"\nsecret = \"{secret}\"\n\n[[systems.tokens]]\nname = \"test-a\"", recv.addr),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let mut gw = start_gateway(&config);
    let url = |p: &str| format!("http://{}{p}", gw.addr);
    let (s, r) = call(
        "POST",
        &url("/api/v1/requests"),
        Some(TOKEN_A),
        Some(&tax("WH-1")),
    );
    assert_eq!(s, 202);
    let id = r["id"].as_str().unwrap().to_string();
    wait_for(Duration::from_secs(30), "answered", || {
        let (_, v) = call(
            "GET",
            &url(&format!("/api/v1/requests/{id}")),
            Some(TOKEN_A),
            None,
        );
        (v["status"] == "answered").then_some(())
    });
    // Restart while some events may still be in the outbox.
    gw.kill();
    gw = start_gateway(&config);
    // Every event arrives in the end, the failed first deliveries included.
    let events = wait_for(Duration::from_secs(60), "all events", || {
        let e = recv.events.lock().unwrap().clone();
        let kinds: Vec<String> = e
            .iter()
            .filter_map(|(_, _, _, b)| serde_json::from_slice::<Value>(b).ok())
            .map(|v| {
                format!(
                    "{}:{}",
                    v["event"].as_str().unwrap_or(""),
                    v["data"]["status"].as_str().unwrap_or("")
                )
            })
            .collect();
        let want = [
            "request.status_changed:queued",
            "request.status_changed:sending",
            "request.status_changed:sent",
            "request.status_changed:answered",
            "request.answered:answered",
        ];
        want.iter()
            .all(|w| kinds.iter().any(|k| k == w))
            .then_some(e)
    });
    let mut ids = HashSet::new();
    let mut statuses = Vec::new();
    for (delivery, ts, sig, body) in &events {
        assert_eq!(
            sig,
            &format!("sha256={}", hmac_hex(secret, ts, body)),
            "HMAC verifies"
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["id"].as_str().unwrap(), delivery);
        ids.insert(delivery.clone());
        if v["event"] == "request.status_changed" && v["data"]["request_id"] == id.as_str() {
            statuses.push(v["data"]["status"].as_str().unwrap().to_string());
        }
    }
    for s in ["queued", "sending", "sent", "answered"] {
        assert!(
            statuses.contains(&s.to_string()),
            "status_changed to {s} delivered: {statuses:?}"
        );
    }
    drop(gw);
    drop(mock);
}

#[test]
fn thousand_requests_through_three_crashes() {
    let mut env = Env::start("[engine]\nsend_concurrency = 8\npoll_min_interval_ms = 0\npoll_max_interval_ms = 200\npoll_batch = 200\nretry_base_ms = 200\nretry_max_ms = 2000\nshutdown_grace_ms = 5000\nexpiry_check_interval_ms = 60000");
    let total = 1000;
    let posted = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let addr = Arc::new(Mutex::new(env.gw.addr.clone()));
    let post_all = |env_addr: Arc<Mutex<String>>,
                    next: Arc<std::sync::atomic::AtomicUsize>,
                    posted: Arc<Mutex<Vec<String>>>| {
        std::thread::spawn(move || loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if i >= total {
                break;
            }
            let body = json!({"kind": "fns-tax-debt", "business_xml": tax_request(&format!("CRASH-{i}"), "7701000122"), "client_id": format!("crash-{i}")});
            // Retry the post while the gateway is down: client_id makes it idempotent.
            loop {
                let a = env_addr.lock().unwrap().clone();
                let r = ureq::post(&format!("http://{a}/api/v1/requests"))
                    .set("Authorization", &format!("Bearer {TOKEN_A}"))
                    .timeout(Duration::from_secs(10))
                    .send_json(body.clone());
                match r {
                    Ok(resp) => {
                        let v: Value = resp.into_json().unwrap();
                        posted
                            .lock()
                            .unwrap()
                            .push(v["id"].as_str().unwrap().to_string());
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        })
    };
    let workers: Vec<_> = (0..4)
        .map(|_| post_all(addr.clone(), next.clone(), posted.clone()))
        .collect();
    // Three SIGKILLs at pseudo-random moments while requests flow.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for crash in 0..3 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(400 + seed % 1500));
        eprintln!(
            "crash {crash}: SIGKILL after {} posts",
            posted.lock().unwrap().len()
        );
        env.gw.kill();
        env.restart();
        *addr.lock().unwrap() = env.gw.addr.clone();
    }
    for w in workers {
        w.join().unwrap();
    }
    let mut ids: Vec<String> = posted.lock().unwrap().clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "every client_id maps to one request");
    // Everything ends answered.
    let mut answered = HashSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while answered.len() < total {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {total} answered",
            answered.len()
        );
        let mut cursor: Option<String> = None;
        loop {
            let mut u = env.api("/api/v1/requests?status=answered&limit=500");
            if let Some(c) = &cursor {
                u.push_str(&format!("&cursor={c}"));
            }
            let (_, page) = call("GET", &u, Some(TOKEN_A), None);
            for r in page["items"].as_array().unwrap() {
                answered.insert(r["id"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The mock accepted exactly one MessageID per request, and it is the request's own.
    let stats = call("GET", &env.admin("/stats"), None, None).1;
    assert_eq!(
        stats["accepted_message_ids"].as_u64().unwrap() as usize,
        total,
        "no business request went out under two MessageIDs: {stats}"
    );
    for id in ids.iter().step_by(7) {
        let v = env.get(id);
        let mid = v["message_id"].as_str().unwrap();
        assert_eq!(env.count(mid)["accepted"], 1, "{v}");
        assert!(v["replaced_message_ids"].as_array().unwrap().is_empty());
    }
}
