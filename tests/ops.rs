//! Operations: `dev` mode as a process (post with the printed token, see it answered),
//! `/metrics` parsed by an independent Prometheus text-format parser (Python's
//! prometheus_client) with every documented metric present and moving, `/health`, and
//! `check-config` catching an expired certificate, a key that does not match its certificate, a
//! missing schema file and an unknown key — each with its own message. Also SIGTERM → exit 0.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Parses Prometheus text with prometheus_client; returns (name, labels, value) samples.
fn parse_metrics(text: &str) -> Vec<(String, serde_json::Map<String, Value>, f64)> {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with python3-prometheus-client");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the exposition: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<(String, serde_json::Map<String, Value>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    v
}

fn sample(
    samples: &[(String, serde_json::Map<String, Value>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).and_then(|x| x.as_str()) == Some(v))
        })
        .map(|(_, _, v)| *v)
        .sum()
}

#[test]
fn dev_mode_metrics_health_and_graceful_stop() {
    let (mut dev, ready) = start_dev::<&str>(&[]);
    let url = ready["url"].as_str().unwrap().to_string();
    let token = ready["token"].as_str().unwrap().to_string();
    assert_eq!(ready["users"].as_array().unwrap().len(), 3);

    let before = parse_metrics(
        &ureq::get(&format!("{url}/metrics"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    );
    for name in [
        "smev_gateway_requests",
        "smev_gateway_queue_depth",
        "smev_gateway_oldest_queued_request_age_seconds",
        "smev_gateway_oldest_unanswered_request_age_seconds",
        "smev_gateway_requests_past_deadline",
        "smev_gateway_dead_letters",
        "smev_gateway_webhook_dead_letters",
        "smev_gateway_certificate_expiry_timestamp_seconds",
        "smev_gateway_database_size_bytes",
        "smev_gateway_disk_free_bytes",
        "smev_gateway_build_info",
        "smev_gateway_last_smev_answer_timestamp_seconds",
    ] {
        assert!(
            before.iter().any(|(n, _, _)| n == name),
            "{name} is exported"
        );
    }
    assert!(
        sample(
            &before,
            "smev_gateway_certificate_expiry_timestamp_seconds",
            &[("role", "ep_ov")]
        ) > 1.7e9
    );
    assert!(sample(&before, "smev_gateway_disk_free_bytes", &[]) > 0.0);
    // Certificates are labelled by thumbprint: no holder's name or СНИЛС in any label.
    for (name, labels, _) in before
        .iter()
        .filter(|(n, _, _)| n == "smev_gateway_certificate_expiry_timestamp_seconds")
    {
        assert!(labels.get("subject").is_none(), "{name}: {labels:?}");
        let print = labels["thumbprint"].as_str().unwrap();
        assert!(
            print.len() == 40 && print.bytes().all(|b| b.is_ascii_hexdigit()),
            "{labels:?}"
        );
    }
    for (_, labels, _) in &before {
        for v in labels.values() {
            let v = v.as_str().unwrap_or_default();
            assert!(!v.contains("CN=") && !v.contains("СНИЛС"), "{labels:?}");
        }
    }

    // A request with the printed token is answered by the built-in mock.
    let body = json!({"kind": "fns-tax-debt", "business_xml": tax_request("OPS-1", "7701000122")});
    let (s, r) = call(
        "POST",
        &format!("{url}/api/v1/requests"),
        Some(&token),
        Some(&body),
    );
    assert_eq!(s, 202, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    wait_for(
        Duration::from_secs(60),
        "the dev-mode request to be answered",
        || {
            let (_, v) = call(
                "GET",
                &format!("{url}/api/v1/requests/{id}"),
                Some(&token),
                None,
            );
            (v["status"] == "answered").then_some(())
        },
    );

    // The gauges of stored state are observed in the background: wait for the next round.
    let answered_before = sample(&before, "smev_gateway_requests", &[("status", "answered")]);
    let after = wait_for(
        Duration::from_secs(30),
        "the observer to count the answered request",
        || {
            let m = parse_metrics(
                &ureq::get(&format!("{url}/metrics"))
                    .call()
                    .unwrap()
                    .into_string()
                    .unwrap(),
            );
            (sample(&m, "smev_gateway_requests", &[("status", "answered")]) > answered_before)
                .then_some(m)
        },
    );
    for name in [
        "smev_gateway_request_transitions_total",
        "smev_gateway_smev_calls_total",
        "smev_gateway_accept_to_sent_seconds_count",
        "smev_gateway_sent_to_answered_seconds_count",
        "smev_gateway_signature_operations_total",
        "smev_gateway_received_messages_total",
    ] {
        assert!(
            after.iter().any(|(n, _, _)| n == name),
            "{name} appears once work happened"
        );
    }
    assert!(
        sample(
            &after,
            "smev_gateway_request_transitions_total",
            &[("from", "sent"), ("to", "answered")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "smev_gateway_smev_calls_total",
            &[("operation", "SendRequest"), ("result", "ok")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "smev_gateway_smev_calls_total",
            &[("operation", "Ack"), ("result", "ok")]
        ) >= 1.0
    );
    assert!(
        sample(&after, "smev_gateway_requests", &[("status", "answered")])
            >= sample(&before, "smev_gateway_requests", &[("status", "answered")]) + 1.0
    );
    assert!(sample(&after, "smev_gateway_sent_to_answered_seconds_count", &[]) >= 1.0);
    assert!(
        sample(
            &after,
            "smev_gateway_last_smev_answer_timestamp_seconds",
            &[]
        ) > 1.7e9
    );

    let (s, h) = call("GET", &format!("{url}/health/ready"), None, None);
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["status"], "ready");

    // SIGTERM: graceful stop, exit code 0.
    assert_eq!(dev.terminate(), Some(0), "{}", dev.lines().join("\n"));
}

fn check(config: &std::path::Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(["check-config", "--offline"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn check_config_names_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let text = std::fs::read_to_string(&good).unwrap();
    let (code, out) = check(&good);
    assert_eq!(code, 0, "{out}");

    let certs = root().join("certs-example");
    let write = |name: &str, t: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, t).unwrap();
        p
    };
    let expired = write(
        "expired.toml",
        text.replacen(
            &format!("{}/ov.key.pem", certs.display()),
            &format!("{}/expired.key.pem", certs.display()),
            1,
        )
        .replacen(
            &format!("{}/ov.cert.pem", certs.display()),
            &format!("{}/expired.cert.pem", certs.display()),
            1,
        ),
    );
    let (code, out) = check(&expired);
    assert_eq!(code, 1);
    assert!(out.contains("certificate EXPIRED on 2021-01-01"), "{out}");

    let mismatch = write(
        "mismatch.toml",
        text.replacen(
            &format!("{}/ov.cert.pem", certs.display()),
            &format!("{}/sp.cert.pem", certs.display()),
            1,
        ),
    );
    let (code, out) = check(&mismatch);
    assert_eq!(code, 1);
    assert!(out.contains("does not match the certificate"), "{out}");

    let no_schema = write(
        "noschema.toml",
        text.replacen("fns-tax-debt-1.0.xsd", "missing-kind.xsd", 1),
    );
    let (code, out) = check(&no_schema);
    assert_eq!(code, 1);
    assert!(out.contains("missing-kind.xsd does not exist"), "{out}");

    let unknown = write(
        "unknown.toml",
        text.replacen("[engine]", "[engine]\nsend_concurency = 4", 1),
    );
    let (code, out) = check(&unknown);
    assert_eq!(code, 1);
    assert!(out.contains("unknown field `send_concurency`"), "{out}");

    // Environment overrides reach every key.
    let out = Command::new(bin())
        .args(["check-config", "--offline"])
        .arg(&good)
        .env("SMEV_GATEWAY__LOG__FORMAT", "yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("log.format"));
}

#[test]
fn cert_info_shows_russian_fields() {
    let out = Command::new(bin())
        .args(["cert", "info"])
        .arg(root().join("certs-example/sp.cert.pem"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("СНИЛС:") && text.contains("11223344595"),
        "{text}"
    );
    assert!(text.contains("GOST R 34.10-2012 (256 bit)"));
    let out = Command::new(bin())
        .args(["cert", "info"])
        .arg(root().join("certs-example/ov.cert.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ОГРН:") && text.contains("1027700000008") && text.contains("ИНН ЮЛ:"),
        "{text}"
    );
    let out = Command::new(bin()).args(["--version"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("smev-gateway "));
}

#[test]
fn check_config_refuses_an_unchecked_smev_chain() {
    let dir = tempfile::tempdir().unwrap();
    let good = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let certs = root().join("certs-example");
    let text = std::fs::read_to_string(&good).unwrap();
    let trust_line = format!("trust = \"{}/ca.cert.pem\"", certs.display());
    assert!(text.contains(&trust_line));
    let no_trust = text.replacen(&trust_line, "", 1);
    let p = dir.path().join("no-trust.toml");
    std::fs::write(&p, &no_trust).unwrap();
    let (code, out) = check(&p);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("smev.trust"), "{out}");

    let insecure = no_trust.replacen("[smev]", "[smev]\ninsecure_skip_smev_chain = true", 1);
    std::fs::write(&p, &insecure).unwrap();
    let (code, out) = check(&p);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("INSECURE"), "{out}");
}

#[test]
fn check_config_refuses_two_systems_with_one_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let good = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let certs = root().join("certs-example");
    let text = std::fs::read_to_string(&good).unwrap();
    // sys-b signs with sys-a's key, by the same paths and by copies of the files.
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["ov.key.pem", "ov.cert.pem"] {
        std::fs::copy(certs.join(f), copy.join(f)).unwrap();
    }
    for (name, dir_of_b) in [("same-path", certs.clone()), ("copied", copy.clone())] {
        let shared = text
            .replacen(
                &format!("{}/ov512.key.pem", certs.display()),
                &format!("{}/ov.key.pem", dir_of_b.display()),
                1,
            )
            .replacen(
                &format!("{}/ov512.cert.pem", certs.display()),
                &format!("{}/ov.cert.pem", dir_of_b.display()),
                1,
            );
        assert_ne!(shared, text);
        let p = dir.path().join(format!("{name}.toml"));
        std::fs::write(&p, &shared).unwrap();
        let (code, out) = check(&p);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains("sys-a and sys-b"), "{name}: {out}");

        // Distinct NodeIDs make them two queues of one participant: accepted.
        let with_nodes = shared
            .replacen("id = \"sys-a\"", "id = \"sys-a\"\nnode_id = \"node-a\"", 1)
            .replacen("id = \"sys-b\"", "id = \"sys-b\"\nnode_id = \"node-b\"", 1);
        std::fs::write(&p, &with_nodes).unwrap();
        let (code, out) = check(&p);
        assert_eq!(code, 0, "{name}: {out}");
    }
}
