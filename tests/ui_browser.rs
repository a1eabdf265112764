//! The web UI in a real browser: starts `smev-gateway dev` (example keys, built-in mock SMEV,
//! demo cases) on free ports, runs `node tests/ui/e2e.mjs` (Playwright driving Debian's
//! Chromium, headless) against it with the printed URLs and users, streams its output, and
//! fails unless every browser step passed. Screenshots go to `target/ui-screenshots/`.
//!
//! It never skips: without node, Chromium or `tests/ui/node_modules` it fails and says how to
//! install them (`.ci/install-deps` does it on CI).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const INSTALL: &str = "install the browser test's dependencies with:\n    \
     apt-get install -y nodejs npm chromium   # Debian 12\n    \
     npm ci --prefix tests/ui                  # playwright-core, pinned in tests/ui/package-lock.json\n\
     (.ci/install-deps does both)";

/// Longest time the browser test may take.
const E2E_TIMEOUT: Duration = Duration::from_secs(180);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn check_prerequisites() {
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(o) if o.status.success() => {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            let major: u32 = v
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            assert!(
                major >= 20,
                "node {v} is too old for playwright-core 1.65 (Node.js 20 or newer needed); {INSTALL}"
            );
        }
        _ => panic!("node is not installed (or not on PATH); {INSTALL}"),
    }
    let c = chromium();
    assert!(
        c.exists(),
        "Chromium is not installed at {} (set CHROMIUM to use another path); {INSTALL}",
        c.display()
    );
    let pw = root().join("tests/ui/node_modules/playwright-core/package.json");
    assert!(
        pw.exists(),
        "tests/ui/node_modules is missing ({} not found); {INSTALL}",
        pw.display()
    );
}

/// The gateway in dev mode; stopped (SIGTERM, then SIGKILL) when dropped.
struct Gateway {
    child: Child,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Gateway {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn tail(&self, n: usize) -> String {
        let l = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        l[l.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `smev-gateway dev` and returns it with the JSON of its DEV-READY line.
fn start_gateway() -> (Gateway, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smev-gateway"))
        .args([
            "dev",
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--mock-listen",
            "127.0.0.1:0",
            "--kind",
            "tests/fixtures/vs/example-passport",
        ])
        .current_dir(root())
        .env("SMEV_GATEWAY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the smev-gateway binary");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<String>();
    let streams: Vec<Box<dyn std::io::Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout")),
        Box::new(child.stderr.take().expect("stderr")),
    ];
    for s in streams {
        let tx = tx.clone();
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if let Ok(mut l) = log.lock() {
                    l.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
    }
    let mut gw = Gateway { child, log };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(json) = line.strip_prefix("DEV-READY ") {
                    let v: serde_json::Value =
                        serde_json::from_str(json).expect("DEV-READY is not JSON");
                    return (gw, v);
                }
            }
            Err(_) => {
                let tail = gw.tail(40);
                gw.stop();
                panic!("the gateway did not print DEV-READY within 90 s; its output:\n{tail}");
            }
        }
    }
}

fn field<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("DEV-READY has no {key:?}: {v}"))
}

fn run_e2e(ready: &serde_json::Value, screenshots: &Path) -> bool {
    let mut child = Command::new("node")
        .arg(root().join("tests/ui/e2e.mjs"))
        .current_dir(root())
        .env("SMEV_UI_URL", field(ready, "url"))
        .env("SMEV_MOCK_URL", field(ready, "mock_url"))
        .env("SMEV_UI_USERS", ready["users"].to_string())
        .env("SMEV_REPO", root())
        .env("SMEV_SCREENSHOTS", screenshots)
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start node");
    let deadline = Instant::now() + E2E_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("the browser test ran longer than {E2E_TIMEOUT:?} and was stopped");
                return false;
            }
        }
    }
}

#[test]
fn ui_in_a_real_browser() {
    check_prerequisites();
    let started = Instant::now();
    let (mut gateway, ready) = start_gateway();
    eprintln!(
        "gateway in dev mode at {} (mock SMEV {}), started in {:?}",
        field(&ready, "url"),
        field(&ready, "mock_url"),
        started.elapsed()
    );
    let screenshots = root().join("target/ui-screenshots");
    let ok = run_e2e(&ready, &screenshots);
    let tail = gateway.tail(60);
    gateway.stop();
    assert!(
        ok,
        "the browser test failed (screenshots in {}); last gateway log lines:\n{tail}",
        screenshots.display()
    );
    eprintln!("browser test passed in {:?}", started.elapsed());
}
