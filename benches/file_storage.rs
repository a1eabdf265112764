//! `cargo bench --bench file_storage`: files through SMEV's file storage, the gateway and
//! mock-smev (with its FTP server) as real processes on loopback. Prints, measured in one run:
//! the floor — GOST R 34.11-2012 (Streebog-256) hashing on one core, which every byte of a
//! transfer passes through — then the download of an answer file (default 1024 MB;
//! `FS_BENCH_MB=n`) from the request's acceptance to its stored, checked answer, and the upload of a
//! request file of the same size posted as a streamed multipart part, from the first byte posted
//! to the whole file in SMEV's storage (intake and FTP transfer apart), each as MB/s and as a
//! share of the floor, with the gateway's idle and peak RSS; and how long SMEV's side (mock-smev
//! hashing the stored file before it accepts the SendRequest) took after that.
//! Prints figures; asserts only that the transfers completed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use smev_gateway::dsig::DigestAlgorithm;

const TOKEN: &str = "fs-bench-token-0123456789";
const MB: u64 = 1024 * 1024;

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        if let Err(e) = self.0.kill() {
            eprintln!("kill: {e}");
        }
        if let Err(e) = self.0.wait() {
            eprintln!("wait: {e}");
        }
    }
}

/// Starts `cmd`; returns it and the rest of its first stdout line after each of `markers`.
fn spawn(mut cmd: Command, markers: &[&str]) -> (Killer, Vec<String>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = Killer(cmd.spawn().expect("spawn"));
    let out = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut found = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while found.len() < markers.len() && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                let m = markers[found.len()];
                if let Some(p) = l.find(m) {
                    found.push(l[p + m.len()..].trim().to_string());
                }
            }
            _ => break,
        }
    }
    assert_eq!(found.len(), markers.len(), "{markers:?} not printed");
    std::thread::spawn(move || for _ in lines {});
    (child, found)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        })
        .unwrap_or(0)
}

/// Streebog-256 over `size` bytes in 1 MiB pieces on this core: MB/s.
fn streebog_floor(size: u64) -> f64 {
    let piece: Vec<u8> = (0..MB as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let mut h = DigestAlgorithm::Streebog256.hasher().expect("GOST engine");
    let started = Instant::now();
    for _ in 0..size / MB {
        h.update(&piece).expect("hash");
    }
    h.finish().expect("hash");
    (size / MB) as f64 / started.elapsed().as_secs_f64()
}

/// Waits until the request at `url` has one of the statuses `want`.
fn wait_status(agent: &ureq::Agent, url: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(1800);
    while Instant::now() < deadline {
        if let Ok(r) = agent
            .get(url)
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .call()
        {
            let v: serde_json::Value = r.into_json().unwrap_or_default();
            if want.iter().any(|w| v["status"] == *w) {
                return;
            }
            assert!(v["status"] != "failed", "the request failed: {v}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{url} never became {want:?}");
}

fn main() {
    let size_mb: u64 = std::env::var("FS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let bin = env!("CARGO_BIN_EXE_smev-gateway");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();

    let floor = streebog_floor(512 * MB);
    println!("file storage: floor — Streebog-256 on one core: {floor:.0} MB/s");

    let mock_cfg = dir.path().join("mock.toml");
    std::fs::write(
        &mock_cfg,
        format!(
            r#"
[smev]
message_log_limit = 1000
max_attachment_bytes = 134217728
[file_storage]
listen = "127.0.0.1:0"
dir = "{ftp}"
max_file_bytes = 4294967296
[[kinds]]
name = "fns-tax-debt"
namespace = "urn://smev-gateway/example/fns-tax-debt/1.0"
request = "TaxDebtRequest"
response = "TaxDebtResponse"
schema = "builtin:schemas/kinds/fns-tax-debt-1.0.xsd"
provider = "FNS01"
[[kinds.rules]]
when = {{ INN = "7707083893" }}
template_file = "builtin:templates/fns-tax-debt-response.xml"
storage_files = [ {{ name = "big.bin", mime_type = "application/octet-stream", generated_bytes = {bytes} }} ]
[[kinds.rules]]
template_file = "builtin:templates/fns-tax-debt-response.xml"
"#,
            ftp = dir.path().join("ftp").display(),
            bytes = size_mb * MB
        ),
    )
    .unwrap();
    let (_mock, found) = spawn(
        {
            let mut c = Command::new(bin);
            c.args(["mock-smev", "--listen", "127.0.0.1:0", "--config"])
                .arg(&mock_cfg);
            c
        },
        &["mock-smev listening on ", "mock-smev file storage on "],
    );
    let (mock_addr, ftp_addr) = (&found[0], &found[1]);
    let hash = String::from_utf8(
        Command::new(bin)
            .args(["hash-token", TOKEN])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let defaults = std::fs::read_to_string(root.join("config/default.toml")).unwrap();
    let kinds = &defaults[defaults.find("[[kinds]]").unwrap()..];
    let kinds = kinds.replace("../schemas/", &format!("{}/schemas/", root.display()));
    let certs = root.join("certs-example");
    let config = format!(
        r#"
[storage]
path = "{db}"
[smev]
endpoint = "http://{mock_addr}/ws"
trust = "{certs}/ca.cert.pem"
[engine]
poll_min_interval_ms = 0
poll_max_interval_ms = 100
poll_status = false
[api]
listen = "127.0.0.1:0"
max_upload_bytes = 4294967296
[file_storage]
address = "{ftp_addr}"
password = "smev-ftp"
max_file_bytes = 4294967296
[log]
level = "warn"
[ui]
enabled = false
[[systems]]
id = "bench"
name = "bench"
mnemonic = "SYSTEM1"
kinds = ["fns-tax-debt"]
[systems.signing]
key = "{certs}/ov.key.pem"
cert = "{certs}/ov.cert.pem"
[[systems.tokens]]
name = "bench"
sha256 = "{hash}"
{kinds}
"#,
        db = dir.path().join("db").display(),
        certs = certs.display(),
        hash = hash.trim(),
    );
    let cfg_path = dir.path().join("gateway.toml");
    std::fs::write(&cfg_path, config).unwrap();
    let (gw, found) = spawn(
        {
            let mut c = Command::new(bin);
            c.arg("run").arg("--config").arg(&cfg_path);
            c
        },
        &["smev-gateway listening on http://"],
    );
    let base = format!("http://{}", found[0].split_whitespace().next().unwrap());
    let pid = gw.0.id();
    std::thread::sleep(Duration::from_secs(1));
    let idle = status_kib(pid, "VmRSS:");
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(600))
        .build();
    let post = |body: serde_json::Value| -> String {
        let r = agent
            .post(&format!("{base}/api/v1/requests"))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .send_json(body)
            .expect("post");
        let v: serde_json::Value = r.into_json().expect("json");
        v["id"].as_str().expect("id").to_string()
    };
    let xml = |inn: &str| {
        format!(
            r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>FS-BENCH</td:RequestID><td:Taxpayer><td:Organization><td:INN>{inn}</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#
        )
    };

    // Download: the answer's file, fetched, hashed and checked before the Ack.
    let started = Instant::now();
    let id = post(serde_json::json!({"kind": "fns-tax-debt", "business_xml": xml("7707083893")}));
    wait_status(
        &agent,
        &format!("{base}/api/v1/requests/{id}"),
        &["answered"],
    );
    let down = size_mb as f64 / started.elapsed().as_secs_f64();
    let peak_down = status_kib(pid, "VmHWM:");
    println!(
        "  download {size_mb} MB: {down:.0} MB/s = {:.0} % of the floor; gateway RSS idle {} MiB, peak {} MiB (+{} MiB)",
        100.0 * down / floor,
        idle / 1024,
        peak_down / 1024,
        peak_down.saturating_sub(idle) / 1024
    );

    // Upload: a request file posted as a streamed multipart part, then sent to the storage
    // before SendRequest.
    let file = dir.path().join("upload.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut piece: Vec<u8> = (0..MB as u32).map(|i| (i % 251) as u8).collect();
        for n in 0..size_mb as u32 {
            piece[..4].copy_from_slice(&n.to_le_bytes());
            f.write_all(&piece).unwrap();
        }
        f.flush().unwrap();
    }
    let boundary = "----fs-bench";
    let request = serde_json::json!({"kind": "fns-tax-debt", "business_xml": xml("7701000122")});
    let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{request}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    let tail = format!("\r\n--{boundary}--\r\n");
    use std::io::Read as _;
    let body = std::io::Cursor::new(head.into_bytes())
        .chain(std::fs::File::open(&file).unwrap())
        .chain(std::io::Cursor::new(tail.into_bytes()));
    let started = Instant::now();
    let r = agent
        .post(&format!("{base}/api/v1/requests"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(body)
        .expect("multipart post");
    let accepted = started.elapsed();
    let v: serde_json::Value = r.into_json().expect("json");
    let id = v["id"].as_str().expect("id").to_string();
    // The file is in SMEV's storage when the mock has received all of it.
    let stats = format!("http://{mock_addr}/admin/file-storage/stats");
    let deadline = Instant::now() + Duration::from_secs(1800);
    while Instant::now() < deadline {
        let v: serde_json::Value = agent
            .get(&stats)
            .call()
            .ok()
            .and_then(|r| r.into_json().ok())
            .unwrap_or_default();
        if v["received_bytes"].as_u64() >= Some(size_mb * MB) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stored = started.elapsed();
    // SMEV accepted it (the mock's provider may already have answered).
    wait_status(
        &agent,
        &format!("{base}/api/v1/requests/{id}"),
        &["sent", "answered"],
    );
    let sent = started.elapsed();
    let peak = status_kib(pid, "VmHWM:");
    let mb_s = |d: Duration| size_mb as f64 / d.as_secs_f64();
    let gateway = mb_s(stored);
    println!(
        "  upload {size_mb} MB (streamed multipart): {gateway:.0} MB/s from the first byte posted to the whole file in SMEV's storage = {:.0} % of the floor — intake {:.1} s ({:.0} MB/s: receive, GOST hash, disk, and the FTP upload that starts as the file arrives), the rest of the FTP transfer after it {:.1} s; gateway peak RSS {} MiB",
        100.0 * gateway / floor,
        accepted.as_secs_f64(),
        mb_s(accepted),
        (stored - accepted).as_secs_f64(),
        peak / 1024
    );
    println!(
        "  then SMEV (here mock-smev, hashing the stored file on its side) accepted the SendRequest after {:.1} s more: {:.0} MB/s end to end",
        (sent - stored).as_secs_f64(),
        mb_s(sent)
    );
}
