//! The gateway against a hostile SMEV side, all as real processes: a small proxy in front of
//! mock-smev passes normal traffic through and answers chosen GetResponse polls with hostile
//! bodies (XOP amplification, a many-attribute element, 60,000 MIME parts, an over-size body, a
//! broken envelope), or alters genuine answers in transit (an attachment added outside the signed
//! header list); a second mock signs as SMEV with a self-signed key. Throughout, the gateway must
//! stay up, answer `/health/live` within a second, keep answering normal requests, store each
//! hostile message as a dead letter, and store nothing forged as a valid answer.

mod common;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const MOCK: &str = r#"
[smev]
redelivery_timeout_ms = 1500
seed = 11

[[participants]]
mnemonic = "SYSTEM2"
name = "Система Б"
subject_cn = "Тестовая ИС ведомства ГОСТ 2012-512 (ТОЛЬКО ДЛЯ ТЕСТОВ)"

[[kinds]]
name = "fns-tax-debt"
namespace = "urn://smev-gateway/example/fns-tax-debt/1.0"
request = "TaxDebtRequest"
response = "TaxDebtResponse"
schema = "builtin:schemas/kinds/fns-tax-debt-1.0.xsd"
provider = "FNS01"
[[kinds.rules]]
template_file = "builtin:templates/fns-tax-debt-response.xml"
attachments = [{ file = "builtin:samples/sample.pdf", mime_type = "application/pdf", content_id = "spravka.pdf" }]
"#;

/// A hostile answer: Content-Type and body.
type Answer = (String, Vec<u8>);

/// What the proxy does to genuine GetResponse answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tamper {
    None,
    /// Adds an attachment that the signed header list does not declare.
    AddUndeclaredAttachment,
}

struct Proxy {
    addr: String,
    hostile: Arc<Mutex<VecDeque<Answer>>>,
    served: Arc<AtomicUsize>,
    tampered: Arc<AtomicUsize>,
    /// Acks the gateway sent: (MessageId, accepted).
    acks: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Proxy {
    fn start(upstream: String, tamper: Tamper) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let hostile: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let served = Arc::new(AtomicUsize::new(0));
        let tampered = Arc::new(AtomicUsize::new(0));
        let acks: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let (h, s, t, a) = (
            hostile.clone(),
            served.clone(),
            tampered.clone(),
            acks.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (h, s, t, a, up) =
                    (h.clone(), s.clone(), t.clone(), a.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &up, &h, &s, &t, &a, tamper);
                });
            }
        });
        Proxy {
            addr,
            hostile,
            served,
            tampered,
            acks,
        }
    }

    /// Waits until the gateway acknowledged `message_id` with accepted=false.
    fn wait_refused_ack(&self, message_id: &str) {
        let wanted = (message_id.to_string(), false);
        wait_for(
            Duration::from_secs(30),
            "an Ack with accepted=false",
            || self.acks.lock().unwrap().contains(&wanted).then_some(()),
        );
    }

    fn push(&self, a: Answer) {
        self.hostile.lock().unwrap().push_back(a);
    }
}

/// Lower-cased header names with their values.
type Headers = Vec<(String, String)>;

fn read_request(stream: &mut TcpStream) -> std::io::Result<(Headers, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((headers, body))
}

fn respond(stream: &mut TcpStream, status: u16, ctype: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn handle(
    mut stream: TcpStream,
    upstream: &str,
    hostile: &Mutex<VecDeque<Answer>>,
    served: &AtomicUsize,
    tampered: &AtomicUsize,
    acks: &Mutex<Vec<(String, bool)>>,
    tamper: Tamper,
) -> std::io::Result<()> {
    let (headers, body) = read_request(&mut stream)?;
    let text = String::from_utf8_lossy(&body).to_string();
    let get_response = text.contains("GetResponseRequest");
    if let Some(ack) = ack_of(&text) {
        acks.lock().unwrap().push(ack);
    }
    if get_response {
        let next = hostile.lock().unwrap().pop_front();
        if let Some((ctype, answer)) = next {
            served.fetch_add(1, Ordering::SeqCst);
            return respond(&mut stream, 200, &ctype, &answer);
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let resp = ureq::post(&format!("http://{upstream}/ws"))
        .set("Content-Type", &header("content-type"))
        .set("SOAPAction", &header("soapaction"))
        .timeout(Duration::from_secs(30))
        .send_bytes(&body);
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return respond(&mut stream, 502, "text/plain", b"upstream down"),
    };
    let status = resp.status();
    let ctype = resp
        .header("content-type")
        .unwrap_or("text/xml")
        .to_string();
    let mut answer = Vec::new();
    resp.into_reader().read_to_end(&mut answer)?;
    if get_response && tamper == Tamper::AddUndeclaredAttachment {
        if let Some(changed) = add_undeclared_attachment(&ctype, &answer) {
            tampered.fetch_add(1, Ordering::SeqCst);
            answer = changed;
        }
    }
    respond(&mut stream, status, &ctype, &answer)
}

/// (MessageId, accepted) of an AckRequest.
fn ack_of(xml: &str) -> Option<(String, bool)> {
    let start = xml.find("AckTargetMessage ")?;
    let rest = &xml[start..];
    let accepted = rest[..rest.find('>')?].contains("accepted=\"true\"");
    let text = &rest[rest.find('>')? + 1..];
    Some((text[..text.find('<')?].trim().to_string(), accepted))
}

/// Adds `evil.exe` to the AttachmentContentList of a genuine MTOM answer, outside the signed
/// element (so every signature still verifies).
fn add_undeclared_attachment(ctype: &str, body: &[u8]) -> Option<Vec<u8>> {
    let boundary = ctype
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"')
        .to_string();
    let close = "</basic:AttachmentContentList>";
    let at = body
        .windows(close.len())
        .position(|w| w == close.as_bytes())?;
    let extra = "<basic:AttachmentContent><basic:Id>evil.exe</basic:Id><basic:Content><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:evil.exe\"/></basic:Content></basic:AttachmentContent>";
    let mut out = body[..at].to_vec();
    out.extend_from_slice(extra.as_bytes());
    let end = format!("\r\n--{boundary}--");
    let tail = &body[at..];
    let end_at = tail.windows(end.len()).position(|w| w == end.as_bytes())?;
    out.extend_from_slice(&tail[..end_at]);
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <evil.exe>\r\n\r\nMZ evil").as_bytes(),
    );
    out.extend_from_slice(&tail[end_at..]);
    Some(out)
}

const MESSAGE_ID: &str = "5f7b9c2e-1a2b-11ef-8000-0242ac12000";
/// A MessageId the sender planted inside its own data: never the one acknowledged.
const PLANTED: &str = "11111111-1a2b-11ef-8000-0242ac120000";

/// A GetResponseResponse prefix whose MessageMetadata names `MESSAGE_ID` + `n`.
fn envelope_head(n: usize) -> String {
    envelope_head_with(n, "")
}

/// The same, with `sender` inside the sender's own data.
fn envelope_head_with(n: usize, sender: &str) -> String {
    format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><ns2:GetResponseResponse xmlns:ns2=\"urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3\" xmlns:basic=\"urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3\"><ns2:ResponseMessage><ns2:Response Id=\"SIGNED_BY_SMEV\"><ns2:SenderProvidedResponseData Id=\"SIGNED_BY_PROVIDER\">{sender}</ns2:SenderProvidedResponseData><ns2:MessageMetadata><ns2:MessageId>{MESSAGE_ID}{n}</ns2:MessageId></ns2:MessageMetadata>"
    )
}

const ENVELOPE_TAIL: &str =
    "</ns2:Response></ns2:ResponseMessage></ns2:GetResponseResponse></soap:Body></soap:Envelope>";

fn multipart(root: &str, parts: &[(&str, &[u8])]) -> Answer {
    let boundary = "uuid:hostile";
    let mut body = format!("--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-ID: <root>\r\n\r\n{root}").into_bytes();
    for (id, bytes) in parts {
        body.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-ID: <{id}>\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/related; type=\"application/xop+xml\"; start=\"<root>\"; boundary=\"{boundary}\""),
        body,
    )
}

/// One 8 MiB part referenced by 600 `xop:Include`s (≈6.7 GB if resolved naively).
fn amplification() -> Answer {
    let include = "<basic:AttachmentContent><basic:Id>a</basic:Id><basic:Content><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:big\"/></basic:Content></basic:AttachmentContent>";
    let root = format!(
        "{}</ns2:Response><basic:AttachmentContentList>{}</basic:AttachmentContentList></ns2:ResponseMessage></ns2:GetResponseResponse></soap:Body></soap:Envelope>",
        envelope_head(1),
        include.repeat(600)
    );
    let big = vec![b'A'; 8 * 1024 * 1024];
    multipart(&root, &[("big", &big)])
}

/// ~1 MB: one element with 100,000 attributes (quadratic uniqueness checks take minutes).
fn many_attributes() -> Answer {
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = format!("{}<ns2:X{attrs}/>{ENVELOPE_TAIL}", envelope_head(2));
    ("text/xml; charset=UTF-8".into(), xml.into_bytes())
}

/// An unparsable answer whose sender planted a MessageMetadata of its own: the id to
/// acknowledge is ambiguous, so none is acknowledged (never the planted one).
fn planted_message_id() -> Answer {
    let planted = format!(
        "<ns2:MessageMetadata><ns2:MessageId>{PLANTED}</ns2:MessageId></ns2:MessageMetadata>"
    );
    let xml = format!(
        "{}<ns2:X a=\"1\" a=\"2\"/>{ENVELOPE_TAIL}",
        envelope_head_with(PLANTED_N, &planted)
    );
    ("text/xml; charset=UTF-8".into(), xml.into_bytes())
}

const PLANTED_N: usize = 6;

/// 60,000 MIME parts.
fn many_parts() -> Answer {
    let root = format!("{}{ENVELOPE_TAIL}", envelope_head(3));
    let ids: Vec<String> = (0..60_000).map(|i| format!("p{i}")).collect();
    let parts: Vec<(&str, &[u8])> = ids.iter().map(|i| (i.as_str(), &b"x"[..])).collect();
    multipart(&root, &parts)
}

/// Over `smev.max_answer_bytes` (set to 12 MiB for this test).
fn oversize() -> Answer {
    let mut xml = envelope_head(4).into_bytes();
    xml.extend(std::iter::repeat_n(b' ', 13 * 1024 * 1024));
    xml.extend_from_slice(ENVELOPE_TAIL.as_bytes());
    ("text/xml; charset=UTF-8".into(), xml)
}

const FORGED_LOG_LINE: &str = "2026-01-01T00:00:00.000000Z  INFO smev_gateway: forged";

/// An HTML error page whose body would start a new, forged log line if written raw.
fn log_injection() -> Answer {
    (
        "text/html".into(),
        format!("<html>proxy error\n{FORGED_LOG_LINE}\u{1b}[2J</html>").into_bytes(),
    )
}

/// A SOAP envelope of the wrong shape (no SMEVSignature, no sender data).
fn broken_envelope() -> Answer {
    let xml = format!("{}<ns2:Unexpected/>{ENVELOPE_TAIL}", envelope_head(5));
    ("text/xml; charset=UTF-8".into(), xml.into_bytes())
}

/// Calls `/health/live` every 20 ms with a one-second timeout; counts the calls that failed.
struct Watch {
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    calls: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    fn start(url: String) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let failures: Arc<Mutex<Vec<String>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (s, f, c) = (stop.clone(), failures.clone(), calls.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = ureq::get(&format!("{url}/health/live"))
                    .timeout(Duration::from_secs(1))
                    .call();
                c.fetch_add(1, Ordering::SeqCst);
                if let Err(e) = r {
                    f.lock()
                        .unwrap()
                        .push(format!("after {:?}: {e}", started.elapsed()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Watch {
            stop,
            failures,
            calls,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        (
            self.calls.load(Ordering::SeqCst),
            self.failures.lock().unwrap().clone(),
        )
    }
}

fn gateway(dir: &std::path::Path, endpoint: &str, env: &[(&str, &str)]) -> Proc {
    let config = gateway_config(dir, endpoint, "");
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg("--config")
        .arg(&config)
        .current_dir(root())
        .env("SMEV_GATEWAY__API__LISTEN", "127.0.0.1:0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    gateway_from(cmd)
}

fn post_tax(url: &str, n: usize) -> String {
    post_tax_request(url, &format!("HOSTILE-{n}"))
}

/// Waits for the first dead letter of either system.
fn first_dead_letters(url: &str, what: &str) -> Vec<Value> {
    wait_for(Duration::from_secs(60), what, || {
        let d = dead_letters(url);
        (!d.is_empty()).then_some(d)
    })
}

fn status(url: &str, id: &str) -> Value {
    call(
        "GET",
        &format!("{url}/api/v1/requests/{id}"),
        Some(TOKEN_A),
        None,
    )
    .1
}

/// Dead letters of both configured systems (both poll through the proxy).
fn dead_letters(url: &str) -> Vec<Value> {
    [TOKEN_A, TOKEN_B]
        .iter()
        .flat_map(|t| {
            let (_, v) = call("GET", &format!("{url}/api/v1/dead-letters"), Some(t), None);
            v["items"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

#[test]
fn hostile_answers_become_dead_letters_while_normal_traffic_flows() {
    let dir = tempfile::tempdir().unwrap();
    let mock = start_mock(dir.path(), Some(MOCK));
    let proxy = Proxy::start(mock.addr.clone(), Tamper::None);
    let mut gw = gateway(
        dir.path(),
        &format!("http://{}/ws", proxy.addr),
        &[("SMEV_GATEWAY__SMEV__MAX_ANSWER_BYTES", "12582912")],
    );
    let url = format!("http://{}", gw.addr);
    let watch = Watch::start(url.clone());
    let hostile = [
        ("XOP amplification", amplification()),
        ("100,000 attributes", many_attributes()),
        ("60,000 MIME parts", many_parts()),
        ("over max_answer_bytes", oversize()),
        ("broken envelope", broken_envelope()),
    ];
    let count = hostile.len();
    // A non-SOAP answer that tries to forge a log line (a transport failure, not a message).
    proxy.push(log_injection());
    proxy.push(planted_message_id());
    // Each is delivered three times, as SMEV redelivers what it has not seen acknowledged.
    for _ in 0..3 {
        for (_, a) in &hostile {
            proxy.push(a.clone());
        }
    }
    let ids: Vec<String> = (0..4).map(|n| post_tax(&url, n)).collect();
    wait_for(
        Duration::from_secs(60),
        "every hostile answer to be served",
        || (proxy.served.load(Ordering::SeqCst) == 3 * count + 2).then_some(()),
    );
    for id in &ids {
        wait_for(
            Duration::from_secs(60),
            "normal requests to be answered",
            || (status(&url, id)["status"] == "answered").then_some(()),
        );
    }
    let dead = wait_for(
        Duration::from_secs(30),
        "a dead letter per hostile answer",
        || {
            let d = dead_letters(&url);
            (d.len() > count).then_some(d)
        },
    );
    // Each was recognised by its MessageId and acknowledged with accepted=false, so SMEV
    // would not deliver it again and again.
    for n in 1..=count {
        let mid = format!("{MESSAGE_ID}{n}");
        assert!(
            dead.iter().any(|d| d["smev_message_id"] == mid.as_str()),
            "no dead letter for {mid}: {dead:?}"
        );
        proxy.wait_refused_ack(&mid);
    }
    let ambiguous = format!("{MESSAGE_ID}{PLANTED_N}");
    assert!(
        !proxy
            .acks
            .lock()
            .unwrap()
            .iter()
            .any(|(m, _)| m == PLANTED || *m == ambiguous),
        "a MessageId was acknowledged though a planted one made it ambiguous"
    );
    let reasons: Vec<&str> = dead.iter().filter_map(|d| d["reason"].as_str()).collect();
    for needle in [
        "more than once",
        "more than 256 attributes",
        "MIME parts",
        "exceeds",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle}: {reasons:?}"
        );
    }
    assert!(gw.child.try_wait().unwrap().is_none(), "the gateway exited");
    // The peer's bytes reached the log escaped: no forged line, no raw escape sequence.
    let lines = gw.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with(FORGED_LOG_LINE) || l.contains('\u{1b}')),
        "peer bytes reached the log raw"
    );
    let (calls, failures) = watch.finish();
    assert!(calls >= 3, "the health watcher ran {calls} times");
    assert!(failures.is_empty(), "/health/live failed: {failures:?}");
    gw.kill();
}

#[test]
fn a_configuration_without_smev_trust_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let trust = format!(
        "trust = \"{}/ca.cert.pem\"",
        root().join("certs-example").display()
    );
    assert!(text.contains(&trust));
    std::fs::write(&cfg, text.replacen(&trust, "", 1)).unwrap();
    let child = Command::new(bin())
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .env("SMEV_GATEWAY__API__LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed on drop, should it (wrongly) start serving.
    let mut gw = Proc {
        child,
        addr: String::new(),
        output: Default::default(),
    };
    let status = wait_for(
        Duration::from_secs(20),
        "run to refuse the configuration",
        || gw.child.try_wait().unwrap(),
    );
    let mut stderr = String::new();
    gw.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success());
    assert!(stderr.contains("smev.trust"), "{stderr}");
}

#[test]
fn answers_signed_by_an_untrusted_smev_key_are_never_valid() {
    let dir = tempfile::tempdir().unwrap();
    let certs = root().join("certs-example");
    let forger = format!(
        "[smev]\nkey = \"{c}/untrusted.key.pem\"\ncert = \"{c}/untrusted.cert.pem\"\n{}",
        MOCK.replacen("[smev]\n", "", 1),
        c = certs.display()
    );
    let mock = start_mock(dir.path(), Some(&forger));
    let gw = gateway(dir.path(), &format!("http://{}/ws", mock.addr), &[]);
    let url = format!("http://{}", gw.addr);
    let id = post_tax(&url, 100);
    let dead = first_dead_letters(&url, "the forged answer to be refused");
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("signature check failed"),
        "{dead:?}"
    );
    let v = status(&url, &id);
    assert_eq!(
        v["status"], "sent",
        "a forged answer must not answer the request: {v}"
    );
    let (s, _) = call(
        "GET",
        &format!("{url}/api/v1/requests/{id}/answer"),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 404);
}

#[test]
fn an_attachment_added_in_transit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mock = start_mock(dir.path(), Some(MOCK));
    let proxy = Proxy::start(mock.addr.clone(), Tamper::AddUndeclaredAttachment);
    let gw = gateway(dir.path(), &format!("http://{}/ws", proxy.addr), &[]);
    let url = format!("http://{}", gw.addr);
    let id = post_tax(&url, 200);
    let dead = first_dead_letters(&url, "the altered answer to be refused");
    assert!(proxy.tampered.load(Ordering::SeqCst) >= 1);
    let reason = dead[0]["reason"].as_str().unwrap();
    assert!(reason.contains("not declared"), "{reason}");
    let mid = dead[0]["smev_message_id"].as_str().unwrap().to_string();
    proxy.wait_refused_ack(&mid);
    let v = status(&url, &id);
    assert_ne!(v["status"], "answered", "{v}");
}

#[test]
fn a_genuine_answer_reports_trusted_signatures_and_declared_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let mock = start_mock(dir.path(), Some(MOCK));
    let gw = gateway(dir.path(), &format!("http://{}/ws", mock.addr), &[]);
    let url = format!("http://{}", gw.addr);
    let id = post_tax(&url, 300);
    wait_for(Duration::from_secs(60), "the answer", || {
        (status(&url, &id)["status"] == "answered").then_some(())
    });
    let (_, a) = call(
        "GET",
        &format!("{url}/api/v1/requests/{id}/answer"),
        Some(TOKEN_A),
        None,
    );
    let sigs = a["signatures"].as_array().unwrap();
    let smev = sigs
        .iter()
        .find(|s| s["location"].as_str().unwrap().contains("SMEVSignature"))
        .unwrap();
    assert_eq!(
        (smev["valid"].clone(), smev["trusted"].clone()),
        (json!(true), json!(true))
    );
    // The provider's ЭП-ОВ: valid, but its chain is not the gateway's to check.
    assert!(
        sigs.iter()
            .any(|s| s["valid"] == true && s["trusted"] == false),
        "{a}"
    );
    assert_eq!(a["attachments"][0]["integrity"], "declared", "{a}");
    // The file is served as what it is, and never as an active page of the gateway.
    let href = a["attachments"][0]["href"].as_str().unwrap();
    let r = ureq::get(&format!("{url}{href}"))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .call()
        .unwrap();
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r
        .header("content-security-policy")
        .is_some_and(|v| v.starts_with("sandbox")));
}
