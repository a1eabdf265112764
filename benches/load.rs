//! `cargo bench --bench load`: end-to-end load against the mock SMEV (zero-delay providers).
//! Starts `smev-gateway mock-smev` and `smev-gateway run` as real processes, posts N requests
//! (default 10 000; `LOAD_REQUESTS=n`) from several client threads, waits until every one is
//! answered, and prints: requests/s end to end against the crypto floor of this machine (the GOST
//! signs and verifies both processes made per answered request, counted by them, at the raw
//! OpenSSL rates measured in the same run on all cores), the gateway's CPU-ms per request, p50/p99
//! of the API's accept latency under load and of accept→sent and accept→answered, disk bytes per
//! request and the gateway's peak RSS — after the idle figures of a gateway with the default
//! polling and no traffic (share of one core over 20 s, RSS). Prints figures; asserts only
//! completeness.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

const TOKEN: &str = "load-test-token-0123456789";

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(mut cmd: Command, marker: &str) -> (Killer, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(p) = l.find(marker) {
                    let rest = l[p + marker.len()..].trim().to_string();
                    std::thread::spawn(move || for _ in lines {});
                    return (Killer(child), rest);
                }
            }
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{marker:?} not printed");
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

/// CPU time (user + system) the process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|x| x.parse::<f64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

/// A gateway with the default polling (no `[engine]` overrides) and no traffic: the share of one
/// core it uses over `secs` seconds once started, and its RSS.
fn idle_figures(bin: &str, config: &str, dir: &Path, secs: u64) -> (f64, u64) {
    let idle_cfg = dir.join("idle.toml");
    let text: String = config
        .lines()
        .filter(|l| !l.starts_with("poll_") && !l.starts_with("send_concurrency"))
        .map(|l| l.replace("/db\"", "/idle-db\"") + "\n")
        .collect();
    std::fs::write(&idle_cfg, text).unwrap();
    let (gw, _) = spawn(
        {
            let mut c = Command::new(bin);
            c.arg("run").arg("--config").arg(&idle_cfg);
            c
        },
        "smev-gateway listening on http://",
    );
    let pid = gw.0.id();
    // Past the start (key loading, first polls), then measured.
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(secs));
    let share = (cpu_seconds(pid) - before) / secs as f64;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse().ok()))
        })
        .unwrap_or(0);
    (share, rss)
}

/// Raw OpenSSL GOST R 34.10-2012-256 signs and verifies per second on one core, over `len`
/// bytes (about a SignedInfo), with the example ЭП-ОВ key.
fn raw_gost_rates(root: &Path, len: usize) -> (f64, f64) {
    use smev_gateway::dsig::{OpenSslSigner, Signer as _};
    let signer = OpenSslSigner::from_pem_files(
        &root.join("certs-example/ov.key.pem"),
        &root.join("certs-example/ov.cert.pem"),
        None,
    )
    .expect("certs-example keys");
    let data = vec![b'x'; len];
    let per_second = |mut f: Box<dyn FnMut() + '_>| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(2) {
            f();
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let signs = per_second(Box::new(|| {
        std::hint::black_box(signer.sign(&data).unwrap());
    }));
    let key = signer.certificate().public_key().unwrap();
    let md = signer.algorithm().digest().message_digest().unwrap();
    let value = signer.sign(&data).unwrap();
    let verifies = per_second(Box::new(|| {
        let mut v = openssl::sign::Verifier::new(md, &key).unwrap();
        v.update(&data).unwrap();
        assert!(v.verify(&value).unwrap());
    }));
    (signs, verifies)
}

/// The gateway's GOST operation counts (sign, verify) from its `/metrics`.
fn gateway_gost_operations(agent: &ureq::Agent, base: &str) -> (f64, f64) {
    let text = agent
        .get(&format!("{base}/metrics"))
        .call()
        .ok()
        .and_then(|r| r.into_string().ok())
        .unwrap_or_default();
    let value = |op: &str| {
        let prefix = format!("smev_gateway_gost_operations{{operation=\"{op}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (value("sign"), value("verify"))
}

/// sled's cache for the run: `LOAD_CACHE_MB` (MiB), else the default configuration's.
fn cache_bytes() -> u64 {
    std::env::var("LOAD_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|mb| mb << 20)
        .unwrap_or_else(|| smev_gateway::config::StorageConfig::default().cache_bytes)
}

/// The mock's `/admin/stats` (null when it does not answer).
fn mock_stats(agent: &ureq::Agent, mock_addr: &str) -> serde_json::Value {
    agent
        .get(&format!("http://{mock_addr}/admin/stats"))
        .call()
        .ok()
        .and_then(|r| r.into_json().ok())
        .unwrap_or_default()
}

/// The mock's GOST operation counts (sign, verify) from its `/admin/stats`.
fn mock_gost_operations(agent: &ureq::Agent, mock_addr: &str) -> (f64, f64) {
    let v = mock_stats(agent, mock_addr);
    (
        v["gost_signs"].as_f64().unwrap_or(0.0),
        v["gost_verifies"].as_f64().unwrap_or(0.0),
    )
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = match e.metadata() {
                Ok(m) => m,
                Err(_) => continue,
            };
            total += if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

fn main() {
    let n: usize = std::env::var("LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let clients: usize = std::env::var("LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let bin = env!("CARGO_BIN_EXE_smev-gateway");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();

    let mock_cfg = dir.path().join("mock.toml");
    std::fs::write(&mock_cfg, "[smev]\nmessage_log_limit = 1000\n").unwrap();
    let (mock, mock_addr) = spawn(
        {
            let mut c = Command::new(bin);
            c.args(["mock-smev", "--listen", "127.0.0.1:0", "--config"])
                .arg(&mock_cfg);
            c
        },
        "mock-smev listening on ",
    );
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
cache_bytes = {cache_bytes}
[smev]
endpoint = "http://{mock_addr}/ws"
trust = "{certs}/ca.cert.pem"
[engine]
send_concurrency = 16
poll_min_interval_ms = 0
poll_max_interval_ms = 200
poll_batch = 1000
poll_status = false
[api]
listen = "127.0.0.1:0"
[log]
level = "warn"
[ui]
enabled = false
[[systems]]
id = "load"
name = "load"
mnemonic = "SYSTEM1"
kinds = ["fns-tax-debt"]
[systems.signing]
key = "{certs}/ov.key.pem"
cert = "{certs}/ov.cert.pem"
[[systems.tokens]]
name = "load"
sha256 = "{hash}"
{kinds}
"#,
        db = dir.path().join("db").display(),
        cache_bytes = cache_bytes(),
        certs = certs.display(),
        hash = hash.trim(),
    );
    let (idle_share, idle_rss) = idle_figures(bin, &config, dir.path(), 20);
    println!(
        "load: idle gateway (default polling, no traffic): {:.2} % of one core over 20 s (target < 1 %), RSS {:.1} MiB (target ≤ 40 MiB)",
        100.0 * idle_share,
        idle_rss as f64 / 1024.0
    );
    let cfg_path = dir.path().join("gateway.toml");
    std::fs::write(&cfg_path, config).unwrap();
    let (gw, addr) = spawn(
        {
            let mut c = Command::new(bin);
            c.arg("run").arg("--config").arg(&cfg_path);
            c
        },
        "smev-gateway listening on http://",
    );
    let base = format!("http://{}", addr.split_whitespace().next().unwrap());
    let pid = gw.0.id();
    let mock_pid = mock.0.id();
    let probe = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    // The floor: raw OpenSSL on this machine, measured now (nothing else runs yet).
    let (raw_signs, raw_verifies) = raw_gost_rates(&root, 1024);
    let gw_ops_before = gateway_gost_operations(&probe, &base);
    let mock_ops_before = mock_gost_operations(&probe, &mock_addr);
    let gw_cpu_before = cpu_seconds(pid);
    let mock_cpu_before = cpu_seconds(mock_pid);
    let accept_ms = Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));

    println!("load: {n} requests, {clients} client threads, mock SMEV with zero-delay providers");
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let next = next.clone();
        let base = base.clone();
        let accept_ms = accept_ms.clone();
        handles.push(std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let xml = format!(r#"<td:TaxDebtRequest xmlns:td="urn://smev-gateway/example/fns-tax-debt/1.0"><td:RequestID>LOAD-{i}</td:RequestID><td:Taxpayer><td:Organization><td:INN>7701000121</td:INN></td:Organization></td:Taxpayer><td:OnDate>2026-11-01</td:OnDate></td:TaxDebtRequest>"#);
                let body = serde_json::json!({"kind": "fns-tax-debt", "business_xml": xml, "client_id": format!("load-{i}")});
                let posted = Instant::now();
                let r = agent.post(&format!("{base}/api/v1/requests")).set("Authorization", &format!("Bearer {TOKEN}")).send_json(body);
                match r {
                    Ok(_) => accept_ms.lock().unwrap().push(posted.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => eprintln!("post {i}: {e}"),
                }
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
    let accepted_in = started.elapsed();
    println!(
        "  accepted {n} requests in {:.1} s ({:.0} accepted/s)",
        accepted_in.as_secs_f64(),
        n as f64 / accepted_in.as_secs_f64()
    );

    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    // Progress from the mock's counters: the gateway acknowledges an answer only once it is
    // stored, so SMEV's count of acknowledged answers is the count answered. (Listing every
    // request through the API while waiting would load the gateway it measures.)
    let answered = || -> usize {
        mock_stats(&agent, &mock_addr)["operations"]["Ack"]["acknowledged"]
            .as_u64()
            .unwrap_or(0) as usize
    };
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let done = answered();
        if done >= n {
            break;
        }
        if Instant::now() > deadline {
            panic!("only {done} of {n} answered");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let total = started.elapsed();
    let gw_cpu = cpu_seconds(pid) - gw_cpu_before;
    let mock_cpu = cpu_seconds(mock_pid) - mock_cpu_before;
    let gw_ops = gateway_gost_operations(&probe, &base);
    let mock_ops = mock_gost_operations(&probe, &mock_addr);

    // Latencies from the records.
    let mut to_sent = Vec::new();
    let mut to_answered = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/requests?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let v: serde_json::Value = agent
            .get(&url)
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        for r in v["items"].as_array().unwrap() {
            let t = |k: &serde_json::Value| {
                k.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc))
            };
            let created = t(&r["created_at"]).unwrap();
            let history = r["history"].as_array().unwrap();
            let at_state = |s: &str| {
                history
                    .iter()
                    .find(|h| h["to"] == s)
                    .and_then(|h| t(&h["at"]))
            };
            if let Some(sent) = at_state("sent") {
                to_sent.push((sent - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
            if let Some(ans) = at_state("answered") {
                to_answered.push((ans - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    // The progress probe counted the mock's Acks; the records must agree.
    assert_eq!(
        to_answered.len(),
        n,
        "answered records when the mock had {n} Acks"
    );
    let rss = peak_rss_kib(pid);
    let db = dir_size(&dir.path().join("db"));
    let achieved = n as f64 / total.as_secs_f64();
    println!(
        "  all {n} answered in {:.1} s: {achieved:.0} requests/s end to end",
        total.as_secs_f64(),
    );
    // Per answered request, as both processes counted them.
    let per = |after: f64, before: f64| (after - before) / n as f64;
    let (gs, gv) = (
        per(gw_ops.0, gw_ops_before.0),
        per(gw_ops.1, gw_ops_before.1),
    );
    let (ms, mv) = (
        per(mock_ops.0, mock_ops_before.0),
        per(mock_ops.1, mock_ops_before.1),
    );
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let crypto_seconds = (gs + ms) / raw_signs + (gv + mv) / raw_verifies;
    let floor = cores / crypto_seconds;
    println!(
        "  GOST operations per answered request: gateway {gs:.2} signs + {gv:.2} verifies, mock SMEV {ms:.2} signs + {mv:.2} verifies; raw OpenSSL on one core {raw_signs:.0} signs/s, {raw_verifies:.0} verifies/s (1 KB)"
    );
    println!(
        "  crypto floor {floor:.0} requests/s on this machine ({cores} cores), achieved {achieved:.0} ({:.0} %; target ≥ 70 %)",
        100.0 * achieved / floor
    );
    println!(
        "  CPU per request: gateway {:.2} ms, mock SMEV {:.2} ms (the crypto alone: {:.2} ms in all)",
        1000.0 * gw_cpu / n as f64,
        1000.0 * mock_cpu / n as f64,
        1000.0 * crypto_seconds
    );
    let mut accept_ms = accept_ms.lock().unwrap().clone();
    println!(
        "  API accept latency under load: p50 {:>8.1} ms   p99 {:>8.1} ms",
        percentile(&mut accept_ms, 0.5),
        percentile(&mut accept_ms, 0.99)
    );
    println!(
        "  accept → sent:     p50 {:>8.1} ms   p99 {:>8.1} ms",
        percentile(&mut to_sent, 0.5),
        percentile(&mut to_sent, 0.99)
    );
    println!(
        "  accept → answered: p50 {:>8.1} ms   p99 {:>8.1} ms",
        percentile(&mut to_answered, 0.5),
        percentile(&mut to_answered, 0.99)
    );
    println!(
        "  sled database: {:.1} MiB on disk, {:.1} KB a request (target ≤ 5 KB plus attachments); gateway peak RSS {:.1} MiB (target ≤ 120 MiB)",
        db as f64 / 1048576.0,
        db as f64 / n as f64 / 1000.0,
        rss as f64 / 1024.0
    );
    // What the live data is, tree by tree (the rest of the size on disk is sled's log: values
    // rewritten and not yet reclaimed).
    drop(gw);
    let sled_db = sled::open(dir.path().join("db")).expect("the database after the run");
    let mut live = Vec::new();
    for name in sled_db.tree_names() {
        let tree = sled_db.open_tree(&name).unwrap();
        let bytes: usize = tree.iter().flatten().map(|(k, v)| k.len() + v.len()).sum();
        live.push((
            bytes,
            String::from_utf8_lossy(&name).to_string(),
            tree.len(),
        ));
    }
    live.sort_by(|a, b| b.cmp(a));
    let total: usize = live.iter().map(|l| l.0).sum();
    let trees: Vec<String> = live
        .iter()
        .filter(|l| l.0 > 0)
        .map(|(bytes, name, entries)| {
            format!(
                "{name} {:.2} KB ({entries})",
                *bytes as f64 / n as f64 / 1000.0
            )
        })
        .collect();
    println!(
        "  live data {:.1} KB a request: {}",
        total as f64 / n as f64 / 1000.0,
        trees.join(", ")
    );
}
