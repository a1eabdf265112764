//! Retention (closed requests archived to JSON lines with their XML, then purged) in-process,
//! and the integrator's `envelope` command (XSD-validated, signed, verifiable).

mod common;

use std::process::Command;

use common::*;
use smev_gateway::config::Config;
use smev_gateway::domain::RequestState;
use smev_gateway::engine::intake::{self, NewRequest};
use smev_gateway::engine::{upkeep, Context};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_requests_are_archived_then_purged() {
    let dir = tempfile::tempdir().unwrap();
    let path = gateway_config(
        dir.path(),
        "http://127.0.0.1:9/ws",
        "[retention]\nclosed_after_days = 0\narchive_dir = \"ARCHIVE\"\n",
    );
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ARCHIVE", &dir.path().join("archive").display().to_string());
    let cfg = Config::from_toml(&text, dir.path()).unwrap();
    let ctx = Context::build(cfg).unwrap();
    let mut ids = Vec::new();
    for (i, close) in [(0, true), (1, false)] {
        let (r, created) = intake::submit(
            &ctx,
            NewRequest {
                system: "sys-a".into(),
                kind: "fns-tax-debt".into(),
                business_xml: tax_request(&format!("RET-{i}"), "7701000122"),
                client_id: Some(format!("ret-{i}")),
                case: None,
                attachments: Vec::new(),
                test_message: None,
                actor: "test".into(),
            },
        )
        .await
        .unwrap();
        assert!(created);
        if close {
            intake::cancel(&ctx, &r.id, &"test".into()).await.unwrap();
        }
        ids.push(r.id);
    }
    assert_eq!(upkeep::retain(&ctx).unwrap(), 1, "only the closed request");
    assert!(ctx.store.get_request(&ids[0]).is_err(), "purged");
    assert_eq!(
        ctx.store.get_request(&ids[1]).unwrap().state,
        RequestState::Queued,
        "open requests stay"
    );
    // The client id is free again after the purge; the archive holds the record and its XML.
    let archive = std::fs::read_dir(dir.path().join("archive"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let line = std::fs::read_to_string(archive).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["request"]["id"], ids[0].as_str());
    assert_eq!(v["request"]["state"], "cancelled");
    assert!(v["business_xml"].as_str().unwrap().contains("RET-0"));
    assert!(v["audit"].as_array().unwrap().len() >= 2);
}

#[test]
fn envelope_send_request_is_validated_signed_and_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let good = dir.path().join("req.xml");
    std::fs::write(&good, tax_request("ENV-1", "7701000122")).unwrap();
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 x").unwrap();
    let out = Command::new(bin())
        .args([
            "envelope",
            "send-request",
            "--kind",
            "fns-tax-debt",
            "--test",
            "--config",
        ])
        .arg(&cfg)
        .arg("--content")
        .arg(&good)
        .arg("--attach")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = dir.path().join("env.xml");
    std::fs::write(&env, &out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SendRequestRequest")
            && text.contains("TestMessage")
            && text.contains("application/pdf")
    );
    let v = Command::new(bin())
        .arg("verify")
        .arg(&env)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    // The whole envelope is valid against the SMEV 1.3 schemas (independent validator).
    let x = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(root().join("schemas/kinds/smev-envelope-1.3-example-kinds.xsd"))
        .arg(&env)
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));

    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, tax_request("ENV-2", "123")).unwrap();
    let out = Command::new(bin())
        .args([
            "envelope",
            "send-request",
            "--kind",
            "fns-tax-debt",
            "--config",
        ])
        .arg(&cfg)
        .arg("--content")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("schema violation") && err.contains("line 1"),
        "{err}"
    );

    let out = Command::new(bin())
        .args([
            "envelope",
            "get-response",
            "--namespace",
            "urn://smev-gateway/example/fns-tax-debt/1.0",
            "--root",
            "TaxDebtResponse",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&env, &out.stdout).unwrap();
    assert!(Command::new(bin())
        .arg("verify")
        .arg(&env)
        .output()
        .unwrap()
        .status
        .success());
}
