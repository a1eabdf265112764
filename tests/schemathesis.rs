//! schemathesis (property-based API testing, from PyPI) against a live gateway with the
//! OpenAPI document it serves: every operation gets a bounded number of generated requests
//! (valid and invalid), and the run fails on any 5xx, on a response that does not match the
//! documented status codes, content types, headers or schemas, on an operation that ignores a
//! missing or wrong token, or on invalid input that is accepted.
//!
//! The gateway talks to the mock SMEV (`smev-gateway mock-smev`, demo scenario) and is seeded
//! first — an answered request with an answer attachment, a rejected one, one awaiting the
//! official's ЭП-СП, a cancelled one, an incoming request, a dead letter and dead webhook
//! events — so the list and read operations return real objects that are checked against the
//! schemas, and the document's links lead the stateful phase to them.
//!
//! schemathesis runs from the virtualenv `tests/schemathesis/.venv` (pinned in
//! `tests/schemathesis/requirements.txt`); the test fails with the commands to create it when it
//! is missing. The settings are in `tests/schemathesis/schemathesis.toml`; from the environment,
//! `SCHEMATHESIS_MAX_EXAMPLES` overrides the examples per operation and phase,
//! `SCHEMATHESIS_SEED` fixes the seed to reproduce a failure, and `SCHEMATHESIS_REPORT_DIR` keeps
//! a HAR of every request and response plus a JUnit report there.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use serde_json::json;

/// The longest the schemathesis run may take before the test kills it.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn venv() -> PathBuf {
    root().join("tests/schemathesis/.venv")
}

fn schemathesis_bin() -> PathBuf {
    let bin = venv().join("bin/schemathesis");
    if !bin.exists() {
        panic!(
            "\n\nschemathesis is not installed: {} does not exist.\n\
             Create the virtualenv (Debian: apt-get install python3-venv) with:\n\n    \
             python3 -m venv tests/schemathesis/.venv\n    \
             tests/schemathesis/.venv/bin/pip install -r tests/schemathesis/requirements.txt\n\n\
             (run from the repository root; .ci/install-deps does this in CI)\n",
            bin.display()
        );
    }
    bin
}

struct Live {
    _dir: tempfile::TempDir,
    mock: Proc,
    gw: Proc,
}

impl Live {
    fn api(&self, p: &str) -> String {
        format!("http://{}{p}", self.gw.addr)
    }
    /// The mock's host:port (`start_mock` may return the address with the `/ws` path).
    fn mock_host(&self) -> &str {
        self.mock.addr.split('/').next().unwrap_or_default()
    }
    fn admin(&self, p: &str) -> String {
        format!("http://{}/admin{p}", self.mock_host())
    }
}

/// The mock SMEV (demo scenario: the example kinds answered after 1–3 s) and a gateway whose
/// system `sys-a` has a webhook on a closed port that gives up after one attempt.
fn start() -> Live {
    let dir = tempfile::tempdir().unwrap();
    // The demo scenario, with sys-b's certificate (ov512, OU=SYSTEM1 like sys-a's) also mapped
    // to SYSTEM2 by the exact certificate (the demo maps it by CN): were both systems SYSTEM1,
    // sys-b could take sys-a's answers (stored as dead letters "of another system").
    let demo = std::fs::read_to_string(root().join("mock-smev/scenarios/demo.toml")).unwrap();
    let mock_cfg = format!(
        "[[participants]]\nmnemonic = \"SYSTEM2\"\ncertificate = \"{}\"\n\n{demo}",
        root().join("certs-example/ov512.cert.pem").display()
    );
    let mock = start_mock(dir.path(), Some(&mock_cfg));
    let cfg = gateway_config(
        dir.path(),
        &format!(
            "http://{}/ws",
            mock.addr.split('/').next().unwrap_or_default()
        ),
        "[webhooks]\nmax_attempts = 1\ntimeout_ms = 1000\n",
    );
    // Port 9 (discard) on loopback is closed: every delivery fails and the event goes dead.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let marker = "mnemonic = \"SYSTEM1\"\n";
    assert!(
        text.contains(marker),
        "the test configuration changed: {marker:?} not found"
    );
    let text = text.replacen(
        marker,
        &format!("{marker}webhook = {{ url = \"http://127.0.0.1:9/hook\", secret = \"schemathesis\" }}\n"),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let gw = start_gateway(&cfg);
    Live {
        _dir: dir,
        mock,
        gw,
    }
}

fn create(live: &Live, body: serde_json::Value) -> serde_json::Value {
    let (s, r) = call(
        "POST",
        &live.api("/api/v1/requests"),
        Some(TOKEN_A),
        Some(&body),
    );
    assert_eq!(s, 202, "seed request {body}: {r}");
    r
}

fn items(live: &Live, path: &str) -> Vec<serde_json::Value> {
    let (s, b) = call("GET", &live.api(path), Some(TOKEN_A), None);
    assert_eq!(s, 200, "{path}: {b}");
    b["items"].as_array().cloned().unwrap_or_default()
}

/// Puts one object of every kind into the gateway, so the read operations return real objects
/// (checked against the schemas) and the links lead somewhere: an answered request with an
/// answer attachment, a rejected one, one awaiting ЭП-СП, a cancelled one, an incoming request,
/// a dead letter (an incoming request whose ЭП-СМЭВ the mock corrupted) and dead webhook events.
/// Returns the id of the request awaiting ЭП-СП.
fn seed(live: &Live) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let answered = create(
        live,
        json!({
            "kind": "fns-tax-debt",
            "business_xml": tax_request("ST-1", "7701000122"),
            "client_id": "schemathesis-seed-1",
            "case": {"reference": "ЗАЯВ-ST-1", "service": "Лицензирование", "applicant": "ООО «Ромашка»",
                     "inn": "7701000122", "metadata": {"source": "schemathesis"}},
            "attachments": [{"name": "справка.pdf", "mime_type": "application/pdf",
                             "content_base64": b64.encode(b"%PDF-1.4 seed")}],
        }),
    );
    let rejected = create(
        live,
        json!({
            "kind": "fns-tax-debt",
            "business_xml": tax_request("ST-2", "0100000000"),
            "case": {"reference": "ЗАЯВ-ST-2"},
        }),
    );
    let zags = std::fs::read_to_string(
        root().join("tests/fixtures/schemas/kinds/zags-marriage/request.valid.xml"),
    )
    .unwrap();
    let awaiting = create(
        live,
        json!({"kind": "zags-marriage", "business_xml": zags, "case": {"reference": "ЗАЯВ-ST-1"}}),
    );
    assert_eq!(awaiting["status"], "awaiting_personal_signature");
    // A second one awaiting ЭП-СП, cancelled (the sender does not touch it: no race).
    let cancelled = create(
        live,
        json!({"kind": "zags-marriage", "business_xml": zags, "client_id": "schemathesis-seed-2"}),
    );
    let id = cancelled["id"].as_str().unwrap();
    let (s, b) = call(
        "POST",
        &live.api(&format!("/api/v1/requests/{id}/cancel")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "cancel: {b}");

    // Provider role: the first incoming request arrives with a corrupted ЭП-СМЭВ (a dead
    // letter), the second one intact, with a file.
    let (s, b) = call(
        "POST",
        &live.admin("/faults"),
        None,
        Some(&json!({"fault": "corrupt_signature", "operations": ["GetRequest"], "count": 1})),
    );
    assert!(s == 200 || s == 201, "mock fault: {s} {b}");
    let inject = json!({"kind": "zags-marriage", "to": "SYSTEM1"});
    let (s, b) = call("POST", &live.admin("/requests"), None, Some(&inject));
    assert_eq!(s, 201, "mock inject: {b}");
    wait_for(Duration::from_secs(30), "a dead letter", || {
        (!items(live, "/api/v1/dead-letters").is_empty()).then_some(())
    });
    let inject = json!({"kind": "zags-marriage", "to": "SYSTEM1",
                        "attachments": [{"file": "builtin:samples/sample.png", "mime_type": "image/png"}]});
    let (s, b) = call("POST", &live.admin("/requests"), None, Some(&inject));
    assert_eq!(s, 201, "mock inject: {b}");
    wait_for(Duration::from_secs(30), "an incoming request", || {
        (!items(live, "/api/v1/incoming").is_empty()).then_some(())
    });

    for (r, state) in [(&answered, "answered"), (&rejected, "rejected")] {
        let id = r["id"].as_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, b) = call(
                "GET",
                &live.api(&format!("/api/v1/requests/{id}")),
                Some(TOKEN_A),
                None,
            );
            if b["status"] == state {
                break;
            }
            if Instant::now() > deadline {
                let (_, calls) = call("GET", &live.admin("/messages"), None, None);
                panic!(
                    "seed request {id} did not become {state}: {b:#}\ngateway log:\n{}\nmock SMEV calls: {calls:#}",
                    live.gw.lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    wait_for(Duration::from_secs(30), "dead webhook events", || {
        (!items(live, "/api/v1/webhooks/dead-letters").is_empty()).then_some(())
    });
    awaiting["id"].as_str().unwrap().to_string()
}

#[test]
fn schemathesis_finds_no_server_errors_and_no_schema_mismatches() {
    let bin = schemathesis_bin();
    let live = start();
    let seeding = Instant::now();
    let awaiting = seed(&live);
    eprintln!("seeded in {:.1?}", seeding.elapsed());
    let base = format!("http://{}", live.gw.addr);
    let mut cmd = Command::new(&bin);
    cmd.arg("--config-file")
        .arg(root().join("tests/schemathesis/schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", "all"])
        .args(["--request-timeout", "30"]);
    if let Ok(n) = std::env::var("SCHEMATHESIS_MAX_EXAMPLES") {
        cmd.args(["--max-examples", &n]);
    }
    if let Ok(seed) = std::env::var("SCHEMATHESIS_SEED") {
        cmd.args(["--seed", &seed]);
    }
    if let Ok(dir) = std::env::var("SCHEMATHESIS_REPORT_DIR") {
        // Every request and response as HAR, and a JUnit summary (e.g. for CI artifacts).
        cmd.args(["--report", "har,junit", "--report-dir", &dir]);
    }
    cmd.env("SMEV_GATEWAY_TOKEN", TOKEN_A)
        .env("SMEV_GATEWAY_AWAITING_ID", &awaiting)
        // Reports and caches go to the temporary directory, not into the repository.
        .current_dir(live._dir.path())
        .stdin(Stdio::null());
    eprintln!("running {cmd:?}");
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn schemathesis");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for schemathesis") {
            break s;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("schemathesis did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!(
        "schemathesis finished in {:.1?} with {status}",
        started.elapsed()
    );
    check_webhook_bodies(&live);
    let lines = live.gw.lines();
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("ERROR")).collect();
    if !errors.is_empty() {
        eprintln!("the gateway logged errors during the run:");
        for l in &errors {
            eprintln!("  {l}");
        }
    }
    let panics: Vec<&String> = lines.iter().filter(|l| l.contains("panicked")).collect();
    assert!(
        panics.is_empty(),
        "the gateway panicked:\n{}",
        lines.join("\n")
    );
    assert!(
        status.success(),
        "schemathesis found problems (exit {status}); its report is above. Reproduce with \
         SCHEMATHESIS_SEED=<the seed it printed> cargo test --test schemathesis -- --nocapture"
    );
}

/// Validates each dead webhook event (all three event types occur: the webhook URL is a closed
/// port) as it is delivered — the body made by `engine::webhooks::body` — against the
/// document's `webhooks` schema of its event, with jsonschema_rs from the same virtualenv
/// (draft 2020-12, as OpenAPI 3.1). schemathesis does not test webhooks.
fn check_webhook_bodies(live: &Live) {
    let events: Vec<serde_json::Value> = items(live, "/api/v1/webhooks/dead-letters")
        .into_iter()
        .map(|e| {
            let e: smev_gateway::domain::WebhookEvent =
                serde_json::from_value(e).expect("a WebhookEvent");
            serde_json::from_slice(&smev_gateway::engine::webhooks::body(&e)).unwrap()
        })
        .collect();
    let kinds: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "incoming.received",
            "request.answered",
            "request.status_changed"
        ]
        .into(),
        "the seeded gateway should have dead events of every type"
    );
    let file = live._dir.path().join("webhook-bodies.json");
    std::fs::write(&file, serde_json::to_vec(&events).unwrap()).unwrap();
    let script = r#"
import json, sys
import jsonschema_rs
doc = json.load(open(sys.argv[1]))
bodies = json.load(open(sys.argv[2]))
failed = 0
for body in bodies:
    op = doc["webhooks"][body["event"]]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": ref, "components": doc["components"]}, validate_formats=True)
    for error in validator.iter_errors(body):
        failed += 1
        print(f"{body['event']} {body['id']}: {error.message} at {list(error.instance_path)}")
print(f"{len(bodies)} webhook bodies checked, {failed} problems")
sys.exit(1 if failed else 0)
"#;
    let out = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .arg(root().join("src/api/openapi.json"))
        .arg(&file)
        .output()
        .expect("run the venv's python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{text}");
    assert!(
        out.status.success(),
        "webhook bodies do not match the document's webhooks:\n{text}"
    );
}
