//! Test harness: starts the `mock-smev` binary as a separate process on a free loopback port,
//! talks SOAP to it with the gateway's own protocol client and JSON to its admin API.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smev_protocol::dsig::verify::{verify_document, SignatureReport, VerifyOptions};
use smev_protocol::dsig::{OpenSslSigner, Signer, TrustStore};
use smev_protocol::smev::build::{self, AttachmentMode, Outgoing};
use smev_protocol::smev::client::{sign_envelope, SmevClient};
use smev_protocol::smev::model::*;
use smev_protocol::smev::schema::Schema;
use smev_protocol::smev::transport::{SoapClient, TransportConfig};
use smev_protocol::smev::{MessageId, SmevError, SmevFault};

pub const TAX_NS: &str = "urn://smev-gateway/example/fns-tax-debt/1.0";
pub const ZAGS_NS: &str = "urn://smev-gateway/example/zags-marriage/1.0";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The test configuration: fast redelivery, a simulated tax-debt provider (answer with a PDF;
/// NO_DATA for INN 0100000000; a status first for INN 0200000000), the marriage kind provided
/// by the real participant PROV02 (certificate ov512), and consumer MFC01 (off).
pub fn test_config() -> String {
    let ov512 = workspace().join("certs-example/ov512.cert.pem");
    format!(
        r#"
[smev]
redelivery_timeout_ms = 1000
seed = 7

[[participants]]
mnemonic = "PROV02"
name = "Тестовый поставщик ЗАГС"
certificate = "{ov512}"

[[kinds]]
name = "fns-tax-debt"
namespace = "{TAX_NS}"
request = "TaxDebtRequest"
response = "TaxDebtResponse"
schema = "builtin:schemas/kinds/fns-tax-debt-1.0.xsd"
provider = "FNS01"
provider_name = "ФНС (тест)"
sample_request = "builtin:templates/fns-tax-debt-request.xml"

[[kinds.rules]]
when = {{ INN = "0100000000" }}
reply = "reject"
reject_code = "NO_DATA"
reject_description = "Нет сведений по ИНН {{{{ INN }}}}"

[[kinds.rules]]
when = {{ INN = "0200000000" }}
template_file = "builtin:templates/fns-tax-debt-response.xml"
delay_ms = 300
[[kinds.rules.statuses]]
code = 1
description = "Запрос принят к обработке"

[[kinds.rules]]
template_file = "builtin:templates/fns-tax-debt-response.xml"
attachments = [{{ file = "builtin:samples/sample.pdf", mime_type = "application/pdf", content_id = "debt.pdf" }}]

[[kinds]]
name = "zags-marriage"
namespace = "{ZAGS_NS}"
request = "MarriageRecordRequest"
response = "MarriageRecordResponse"
schema = "builtin:schemas/kinds/zags-marriage-1.0.xsd"
provider = "PROV02"
simulated = false
sample_request = "builtin:templates/zags-marriage-request.xml"

[[consumers]]
mnemonic = "MFC01"
name = "МФЦ (тест)"
kind = "zags-marriage"
to = "SYSTEM1"
every_secs = 1
"#,
        ov512 = ov512.display()
    )
}

/// A running mock-smev process; killed on drop.
pub struct Mock {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
    pub addr: SocketAddr,
}

impl Mock {
    pub fn start() -> Mock {
        Self::start_with(&test_config())
    }

    pub fn start_with(config: &str) -> Mock {
        Self::spawn(Some(config))
    }

    /// Without `--config`: the demo scenario.
    pub fn start_demo() -> Mock {
        Self::spawn(None)
    }

    fn spawn(config: Option<&str>) -> Mock {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mock-smev"));
        cmd.args(["--listen", "127.0.0.1:0"]);
        if let Some(config) = config {
            let path = dir.path().join("mock.toml");
            std::fs::write(&path, config).expect("write config");
            cmd.arg("--config").arg(&path);
        }
        let mut child = cmd
            .env("MOCK_SMEV_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mock-smev");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the address line");
        let addr = line
            .trim()
            .strip_prefix("mock-smev listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line {line:?}")
            });
        Mock {
            child,
            _stdout: stdout,
            _dir: dir,
            addr,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/ws", self.addr)
    }

    /// A protocol client signing with `certs-example/<key>.key.pem`.
    pub fn client_as(&self, key: &str, timeout: Duration) -> SmevClient {
        SmevClient::new(self.soap(timeout), signer(key), None)
    }

    pub fn client(&self) -> SmevClient {
        self.client_as("ov", Duration::from_secs(10))
    }

    pub fn soap(&self, timeout: Duration) -> SoapClient {
        SoapClient::new(TransportConfig {
            endpoint: self.endpoint(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: timeout,
            ..Default::default()
        })
        .expect("soap client")
    }

    /// A JSON call to the admin API: (HTTP status, body).
    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        let (status, text) = http(self.addr, method, &format!("/admin{path}"), body);
        let json = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, json)
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        let (status, v) = self.admin("GET", path, None);
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    pub fn post(&self, path: &str, body: &str) -> serde_json::Value {
        let (status, v) = self.admin("POST", path, Some(body));
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }

    /// Counters of one MessageID.
    pub fn count(&self, id: &str) -> serde_json::Value {
        self.get(&format!("/messages/count?message_id={id}"))
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 exchange (Connection: close).
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_string()
    };
    (status, body)
}

pub fn signer(name: &str) -> Arc<dyn Signer> {
    let c = workspace().join("certs-example");
    Arc::new(
        OpenSslSigner::from_pem_files(
            &c.join(format!("{name}.key.pem")),
            &c.join(format!("{name}.cert.pem")),
            None,
        )
        .expect("test key"),
    )
}

pub fn fixture(kind: &str, name: &str) -> String {
    let text = std::fs::read_to_string(
        workspace()
            .join("tests/fixtures/schemas/kinds")
            .join(kind)
            .join(name),
    )
    .expect("fixture");
    build::business_content(&text).expect("business content").0
}

/// A tax-debt request for an organization with `inn`.
pub fn tax_request(inn: &str) -> String {
    format!(
        "<td:TaxDebtRequest xmlns:td=\"{TAX_NS}\"><td:RequestID>R-{inn}</td:RequestID><td:Taxpayer><td:Organization><td:INN>{inn}</td:INN><td:KPP>770101001</td:KPP></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"
    )
}

pub fn request_data(content: &str) -> SenderProvidedRequestData {
    SenderProvidedRequestData {
        id: build::ID_CONSUMER.into(),
        message_id: MessageId::new().to_string(),
        reference_message_id: None,
        transaction_code: None,
        node_id: None,
        eol: None,
        content: content.into(),
        personal_signature: None,
        attachment_headers: vec![],
        ref_attachment_headers: vec![],
        test_message: true,
    }
}

/// A SendRequest signed with ЭП-ОВ `key`.
pub fn signed_request(data: &SenderProvidedRequestData, key: &str) -> Outgoing {
    sign_envelope(
        build::send_request(data, &[], AttachmentMode::Inline, false),
        signer(key).as_ref(),
        build::ID_CONSUMER,
    )
    .expect("sign")
}

pub fn trust() -> TrustStore {
    TrustStore::from_pem_file(&workspace().join("certs-example/ca.cert.pem")).expect("trust")
}

/// Every signature of a document, verified against the test CA.
pub fn signatures(xml: &[u8]) -> Vec<SignatureReport> {
    let t = trust();
    verify_document(
        xml,
        &VerifyOptions {
            trust: Some(&t),
            ..Default::default()
        },
    )
    .expect("parse")
}

/// The strict driver schema with the example kinds (validates business content too).
pub fn driver() -> Schema {
    Schema::load(&workspace().join("schemas/kinds/smev-envelope-1.3-example-kinds.xsd"))
        .expect("driver schema")
}

/// The fault of a failed call.
pub fn fault<T: std::fmt::Debug>(r: Result<T, SmevError>) -> SmevFault {
    match r {
        Err(SmevError::Fault(f)) => *f,
        other => panic!("expected a SOAP fault, got {other:?}"),
    }
}

/// Polls GetResponse until a message arrives (at most `limit`).
pub async fn poll_response(
    client: &SmevClient,
    kind: Option<QualifiedName>,
    limit: Duration,
) -> Received<Option<ResponseMessage>> {
    let start = Instant::now();
    loop {
        let r = client
            .get_response(kind.clone())
            .await
            .expect("GetResponse");
        if r.value.is_some() || start.elapsed() > limit {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn poll_request(
    client: &SmevClient,
    limit: Duration,
) -> Received<Option<RequestMessage>> {
    let start = Instant::now();
    loop {
        let r = client.get_request(None).await.expect("GetRequest");
        if r.value.is_some() || start.elapsed() > limit {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn qn(ns: &str, local: &str) -> QualifiedName {
    QualifiedName {
        namespace: ns.into(),
        local_name: local.into(),
    }
}
