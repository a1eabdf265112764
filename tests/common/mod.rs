//! Test harness: the gateway and the mock SMEV as real processes (the mock runs as
//! `smev-gateway mock-smev`, the same code as the `mock-smev` binary), configuration files
//! written per test into a temporary directory, and a small HTTP client for the API.

#![allow(dead_code)]

pub mod openssl_cli;
pub mod storage_env;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_smev-gateway")
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
    pub addr: String,
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        unsafe_sigterm(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn lines(&self) -> Vec<String> {
        self.output.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn unsafe_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

/// Spawns `cmd`, collects its stdout+stderr lines, and waits until a line contains `marker`;
/// returns the text after the marker on that line.
pub fn spawn_until(
    mut cmd: Command,
    marker: &str,
) -> (Child, String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if std::env::var("TEST_VERBOSE").is_ok() {
                    eprintln!("  | {line}");
                }
                if let Ok(mut l) = lines.lock() {
                    l.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(pos) = line.find(marker) {
                    return (child, line[pos + marker.len()..].trim().to_string(), lines);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "process did not print {marker:?}; output:\n{}",
                    lines.lock().map(|l| l.join("\n")).unwrap_or_default()
                );
            }
        }
    }
}

/// `smev-gateway dev` on free ports with a temporary data directory and `extra` arguments,
/// once it printed its `DEV-READY` line; returns it with that line's JSON.
pub fn start_dev<S: AsRef<std::ffi::OsStr>>(extra: &[S]) -> (Proc, serde_json::Value) {
    let mut cmd = Command::new(bin());
    cmd.args([
        "dev",
        "--ephemeral",
        "--listen",
        "127.0.0.1:0",
        "--mock-listen",
        "127.0.0.1:0",
    ])
    .args(extra)
    .current_dir(std::env::temp_dir());
    let (child, ready, output) = spawn_until(cmd, "DEV-READY ");
    let dev = Proc {
        child,
        addr: String::new(),
        output,
    };
    let ready = serde_json::from_str(&ready).expect("DEV-READY carries JSON");
    (dev, ready)
}

/// Starts the mock SMEV with an optional TOML configuration.
pub fn start_mock(dir: &Path, config: Option<&str>) -> Proc {
    let mut cmd = Command::new(bin());
    cmd.arg("mock-smev")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .current_dir(root());
    if let Some(c) = config {
        let p = dir.join("mock.toml");
        std::fs::write(&p, c).unwrap();
        cmd.arg("--config").arg(p);
    }
    let (child, rest, output) = spawn_until(cmd, "mock-smev listening on ");
    // "HOST:PORT" (stdout) or "http://HOST:PORT/ws …" (the log line): keep host and port.
    let addr = rest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Proc {
        child,
        addr,
        output,
    }
}

/// The tokens of the two test systems.
pub const TOKEN_A: &str = "token-system-a-0123456789";
pub const TOKEN_B: &str = "token-system-b-0123456789";

pub fn sha256_hex(s: &str) -> String {
    let out = Command::new(bin())
        .arg("hash-token")
        .arg(s)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A gateway configuration for tests: systems `sys-a` and `sys-b`, both example kinds, the SMEV
/// endpoint `endpoint`, short intervals. `extra` is appended (TOML) to override sections.
pub fn gateway_config(dir: &Path, endpoint: &str, extra: &str) -> PathBuf {
    let r = root();
    let certs = r.join("certs-example");
    let schemas = r.join("schemas/kinds");
    let ha = sha256_hex(TOKEN_A);
    let hb = sha256_hex(TOKEN_B);
    let kinds = std::fs::read_to_string(r.join("config/default.toml")).unwrap();
    let kinds_part = &kinds[kinds.find("[[kinds]]").unwrap()..];
    let kinds_part = kinds_part.replace("../schemas/kinds/", &format!("{}/", schemas.display()));
    let text = format!(
        r#"
[storage]
path = "{db}"

[smev]
endpoint = "{endpoint}"
connect_timeout_ms = 1000
request_timeout_ms = 5000
trust = "{certs}/ca.cert.pem"

[engine]
poll_min_interval_ms = 50
poll_max_interval_ms = 500
retry_base_ms = 200
retry_max_ms = 2000
quota_retry_ms = 1000
shutdown_grace_ms = 5000
expiry_check_interval_ms = 1000

[log]
level = "info,smev_gateway=debug"

[retention]
archive_dir = "{archive}"

[[systems]]
id = "sys-a"
name = "Система А"
mnemonic = "SYSTEM1"
kinds = ["fns-tax-debt", "zags-marriage"]
provider_kinds = ["zags-marriage"]
[systems.signing]
key = "{certs}/ov.key.pem"
cert = "{certs}/ov.cert.pem"
[systems.personal_signing]
key = "{certs}/sp.key.pem"
cert = "{certs}/sp.cert.pem"
[[systems.tokens]]
name = "test-a"
sha256 = "{ha}"

[[systems]]
id = "sys-b"
name = "Система Б"
mnemonic = "SYSTEM2"
kinds = ["fns-tax-debt"]
[systems.signing]
key = "{certs}/ov512.key.pem"
cert = "{certs}/ov512.cert.pem"
[[systems.tokens]]
name = "test-b"
sha256 = "{hb}"

{extra}

{kinds_part}
"#,
        db = dir.join("db").display(),
        archive = dir.join("archive").display(),
        certs = certs.display(),
    );
    let p = dir.join("gateway.toml");
    std::fs::write(&p, override_sections(&text, extra)).unwrap();
    p
}

/// Drops from `text` every plain section (`[name]`) that `extra` also defines, except the copy
/// inside `extra` itself, so a test can replace a section of the base configuration.
fn override_sections(text: &str, extra: &str) -> String {
    let redefined: Vec<&str> = extra
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('[') && !l.starts_with("[["))
        .collect();
    let extra_at = if extra.trim().is_empty() {
        usize::MAX
    } else {
        text.find(extra).unwrap_or(usize::MAX)
    };
    let mut out = String::new();
    let mut skipping = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') {
            skipping = !t.starts_with("[[") && redefined.contains(&t) && offset < extra_at;
        }
        if !skipping {
            out.push_str(line);
        }
        offset += line.len();
    }
    out
}

/// Starts the gateway with a configuration file.
pub fn start_gateway(config: &Path) -> Proc {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .current_dir(root());
    // Environment overrides the file (the config crate): every test gets a free port.
    cmd.env("SMEV_GATEWAY__API__LISTEN", "127.0.0.1:0");
    gateway_from(cmd)
}

/// Runs a prepared gateway command until it prints its address.
pub fn gateway_from(cmd: Command) -> Proc {
    let (child, rest, output) = spawn_until(cmd, "smev-gateway listening on http://");
    let addr = rest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Proc {
        child,
        addr,
        output,
    }
}

/// A JSON API call; returns (status, body).
pub fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Polls `f` until it returns Some, or panics after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The example tax-debt request with a request number.
pub fn tax_request(request_id: &str, inn: &str) -> String {
    format!(
        r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>{request_id}</td:RequestID><td:Taxpayer><td:Organization><td:INN>{inn}</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#
    )
}

/// Posts the example tax-debt request with `client_id` as system A; returns the request id.
pub fn post_tax_request(base_url: &str, client_id: &str) -> String {
    let body = serde_json::json!({"kind": "fns-tax-debt", "business_xml": tax_request(client_id, "7701000122"), "client_id": client_id});
    let (s, r) = call(
        "POST",
        &format!("{base_url}/api/v1/requests"),
        Some(TOKEN_A),
        Some(&body),
    );
    assert_eq!(s, 202, "{r}");
    r["id"].as_str().unwrap_or_default().to_string()
}

/// A signer with a key of `certs-example/`.
pub fn example_signer(name: &str) -> smev_gateway::dsig::OpenSslSigner {
    let c = root().join("certs-example");
    smev_gateway::dsig::OpenSslSigner::from_pem_files(
        &c.join(format!("{name}.key.pem")),
        &c.join(format!("{name}.cert.pem")),
        None,
    )
    .unwrap()
}
