//! Files through SMEV's file storage, the gateway and mock-smev as real processes with the
//! mock's real FTP server: a 200 MB answer file downloaded before the Ack, resumed after a
//! transfer broken in the middle, checked against its signed hash and its provider's PKCS#7
//! signature and served byte-identical
//! (whole and by range); a tampered file refused before the Ack; a download that keeps failing
//! handed to a person (a dead letter SMEV is not told of) and fetched when reprocessed; request
//! files uploaded once, and a gateway killed in the middle of an upload or a download resuming
//! it after the restart.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

use common::storage_env::{Env, BIG};

/// Whether the HTTP body of `url` is byte for byte the file at `path` (both streamed).
fn same_bytes(url: &str, path: &Path, range: Option<(u64, u64)>) -> Result<(), String> {
    let mut req = ureq::get(url)
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .timeout(Duration::from_secs(300));
    if let Some((a, b)) = range {
        req = req.set("Range", &format!("bytes={a}-{b}"));
    }
    let resp = req.call().map_err(|e| e.to_string())?;
    let want_status = if range.is_some() { 206 } else { 200 };
    if resp.status() != want_status {
        return Err(format!("HTTP {}", resp.status()));
    }
    let mut body = resp.into_reader();
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let (start, len) = match range {
        Some((a, b)) => (a, b - a + 1),
        None => (0, file.metadata().map_err(|e| e.to_string())?.len()),
    };
    std::io::copy(&mut (&mut file).take(start), &mut std::io::sink()).map_err(|e| e.to_string())?;
    let mut expected = file.take(len);
    let (mut a, mut b) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0u64;
    loop {
        let n = expected.read(&mut a).map_err(|e| e.to_string())?;
        if n == 0 {
            let extra = body.read(&mut b).map_err(|e| e.to_string())?;
            return if extra == 0 {
                Ok(())
            } else {
                Err(format!("the body is longer than {offset} bytes"))
            };
        }
        body.read_exact(&mut b[..n])
            .map_err(|e| format!("the body ends before {offset}+{n}: {e}"))?;
        if a[..n] != b[..n] {
            return Err(format!(
                "the bytes differ in {offset}..{}",
                offset + n as u64
            ));
        }
        offset += n as u64;
    }
}

#[test]
fn a_large_answer_file_resumes_after_a_broken_transfer_and_is_served_byte_identical() {
    let env = Env::start(true, "");
    // The first download breaks after 50 MB.
    env.ftp_fault(json!({"break_after_bytes": 50 * 1024 * 1024, "breaks": 1}));
    let id = env.post_tax("FS-BIG-1", "7707083893");
    let v = wait_for(Duration::from_secs(300), "the answer with its file", || {
        let v = env.request(&id);
        (v["status"] == "answered").then_some(v)
    });
    let files = v["answer"]["attachments"].as_array().unwrap();
    let f = files
        .iter()
        .find(|f| f["name"] == "Выписка ЕГРН.pdf")
        .unwrap_or_else(|| panic!("no file-storage file in {v}"));
    assert_eq!(f["size"].as_u64(), Some(BIG), "{f}");
    // The provider's PKCS#7 signature was checked over the whole 200 MB file, and its signer
    // is named as its certificate names it (read by the openssl CLI).
    assert_eq!(f["integrity"], "verified", "{f}");
    let (cn, o) = common::openssl_cli::subject_cn_and_o("provider");
    assert_eq!(
        f["signer"].as_str(),
        Some(format!("{cn}, {o}").as_str()),
        "{f}"
    );
    // The broken transfer resumed: far less than twice the file was served.
    env.assert_moved_once("served_bytes", 60);
    // Delivered again after the broken transfer, acknowledged once, after it was stored.
    let mid = v["answer"]["message_id"].as_str().unwrap().to_string();
    let c = wait_for(Duration::from_secs(30), "the Ack of the answer", || {
        let c = env.count(&mid);
        (c["acks"].as_u64() >= Some(1)).then_some(c)
    });
    assert!(c["deliveries"].as_u64().unwrap() >= 2, "{c}");
    assert_eq!(c["acks"], 1, "{c}");
    let url = env.api(f["href"].as_str().unwrap());
    let original = env.prepared(0);
    same_bytes(&url, &original, None).unwrap();
    same_bytes(&url, &original, Some((BIG - 4096, BIG - 1))).unwrap();
    same_bytes(&url, &original, Some((1_000_000, 1_000_999))).unwrap();
    // A range outside the file: 416 with the size.
    let r = ureq::get(&url)
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .set("Range", &format!("bytes={BIG}-"))
        .call();
    match r {
        Err(ureq::Error::Status(416, resp)) => {
            assert_eq!(
                resp.header("Content-Range"),
                Some(format!("bytes */{BIG}").as_str())
            );
        }
        other => panic!("expected 416, got {other:?}"),
    }
}

#[test]
fn a_tampered_file_is_refused_before_the_ack() {
    let env = Env::start(false, "");
    env.ftp_fault(json!({"tamper": 1}));
    let id = env.post_tax("FS-TAMPER-1", "7701000122");
    let dl = env.dead_letter("a dead letter for the tampered file", |d| {
        d["acked"] == true
    });
    assert!(
        dl["reason"]
            .as_str()
            .unwrap()
            .contains("differs from the signed"),
        "{dl}"
    );
    // Not stored as an answer; SMEV was told it was not accepted.
    assert_eq!(env.request(&id)["status"], "sent");
    let c = env.count(dl["smev_message_id"].as_str().unwrap());
    assert_eq!(c["acks"], 1, "{c}");
}

#[test]
fn a_download_that_keeps_failing_waits_for_a_person_and_is_fetched_when_reprocessed() {
    let env = Env::start(false, "give_up_after_minutes = 0");
    env.ftp_fault(json!({"refuse_logins": 1000}));
    let id = env.post_tax("FS-FAIL-1", "7701000122");
    let dl = env.dead_letter("a dead letter for the failing download", |d| {
        d["reason"]
            .as_str()
            .is_some_and(|r| r.contains("keeps failing"))
    });
    assert_eq!(dl["acked"], false, "{dl}");
    let mid = dl["smev_message_id"].as_str().unwrap().to_string();
    // SMEV redelivers it; while a person has not decided, nothing acknowledges it.
    wait_for(Duration::from_secs(30), "two more deliveries", || {
        (env.count(&mid)["deliveries"].as_u64().unwrap_or(0) >= 3).then_some(())
    });
    assert_eq!(env.count(&mid)["acks"], 0);
    assert_eq!(env.request(&id)["status"], "sent");
    // The storage works again: «reprocess» downloads the file, stores the answer, acknowledges.
    env.ftp_fault(json!({}));
    let dl_id = dl["id"].as_str().unwrap();
    let (s, b) = call(
        "POST",
        &env.api(&format!("/api/v1/dead-letters/{dl_id}/reprocess")),
        Some(TOKEN_A),
        None,
    );
    assert_eq!(s, 200, "{b}");
    let v = env.request(&id);
    assert_eq!(v["status"], "answered", "{v}");
    assert!(
        v["answer"]["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Справка.pdf" && f["size"] == 1_048_576),
        "{v}"
    );
    assert_eq!(env.count(&mid)["acks"], 1);
}

#[test]
fn a_request_attachment_above_the_inline_limit_is_uploaded_once_and_accepted() {
    use base64::Engine as _;
    let env = Env::start(false, "");
    // The first two logins are refused: the send is retried and the upload then goes through.
    env.ftp_fault(json!({"refuse_logins": 2}));
    let bytes: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let body = json!({
        "kind": "fns-tax-debt",
        "business_xml": tax_request("FS-UP-1", "7701000122"),
        "client_id": "FS-UP-1",
        "attachments": [{
            "name": "Скан заявления.pdf",
            "mime_type": "application/pdf",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
        }],
    });
    let (s, r) = call(
        "POST",
        &env.api("/api/v1/requests"),
        Some(TOKEN_A),
        Some(&body),
    );
    assert_eq!(s, 202, "{r}");
    let id = r["id"].as_str().unwrap();
    // Answered: SMEV (the mock) found the upload under the signed UUID with the signed hash.
    env.answered_after_one_send(id);
    // One upload directory, holding exactly the bytes sent.
    let area = env.dir.path().join("mock-ftp/upload/SYSTEM1");
    let dirs: Vec<_> = std::fs::read_dir(&area).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let stored = std::fs::read(dirs[0].path().join("Скан заявления.pdf")).unwrap();
    assert!(
        stored == bytes,
        "the uploaded file differs from the attachment"
    );
}

#[test]
fn the_provider_role_receives_and_answers_with_files_through_the_file_storage() {
    use base64::Engine as _;
    let env = Env::start(false, "");
    // A consumer's request with a 6 MB scan in the file storage.
    env.offer_incoming("Заявление.pdf", false);
    let inc = env.incoming_request();
    let id = inc["id"].as_str().unwrap();
    let f = inc["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Заявление.pdf")
        .cloned()
        .unwrap_or_else(|| panic!("no file in {inc}"));
    assert_eq!(
        (f["size"].as_u64(), f["integrity"].as_str()),
        (Some(6_291_456), Some("hashed")),
        "{f}"
    );
    // The mock prepared the rule's file (0) at start, then this one (1).
    same_bytes(
        &env.api(f["href"].as_str().unwrap()),
        &env.prepared(1),
        None,
    )
    .unwrap();
    // Our answer with a 7 MB file: uploaded to our area, named in the signed response.
    let answer = std::fs::read_to_string(
        root().join("tests/fixtures/schemas/kinds/zags-marriage/response.valid.xml"),
    )
    .unwrap();
    let bytes: Vec<u8> = (0..7 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let body = json!({"business_xml": answer, "attachments": [{"name": "Справка о браке.pdf",
        "mime_type": "application/pdf",
        "content_base64": base64::engine::general_purpose::STANDARD.encode(&bytes)}]});
    let (s, r) = call(
        "POST",
        &env.api(&format!("/api/v1/incoming/{id}/response")),
        Some(TOKEN_A),
        Some(&body),
    );
    assert_eq!(s, 200, "{r}");
    let inbox = wait_for(Duration::from_secs(60), "the consumer's inbox", || {
        let (_, i) = call("GET", &env.admin("/inbox"), None, None);
        let text = i.to_string();
        text.contains("Справка о браке.pdf").then_some(text)
    });
    assert!(inbox.contains("MarriageRecordResponse"), "{inbox}");
    let area = env.dir.path().join("mock-ftp/upload/SYSTEM1");
    let dirs: Vec<_> = std::fs::read_dir(&area).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let stored = std::fs::read(dirs[0].path().join("Справка о браке.pdf")).unwrap();
    assert!(
        stored == bytes,
        "the uploaded file differs from the attachment"
    );
}

#[test]
fn a_gateway_killed_in_the_middle_of_a_download_resumes_it_after_the_restart() {
    let mut env = Env::start(true, "");
    // A slow link: the download is still running when the gateway is killed.
    env.ftp_fault(json!({"bytes_per_second": 20 * 1024 * 1024}));
    let id = env.post_tax("FS-KILL-1", "7707083893");
    let partial = env.dir.path().join("db/files/partial");
    let grown = |min: u64| {
        std::fs::read_dir(&partial)
            .ok()
            .and_then(|d| d.flatten().next())
            .and_then(|e| e.metadata().ok())
            .is_some_and(|m| m.len() >= min)
    };
    wait_for(
        Duration::from_secs(60),
        "the download to be under way",
        || grown(10 * 1024 * 1024).then_some(()),
    );
    assert_eq!(env.request(&id)["status"], "sent");
    let v = env.kill_and_restart_until_answered(&id);
    let f = v["answer"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Выписка ЕГРН.pdf")
        .cloned()
        .unwrap_or_else(|| panic!("no file in {v}"));
    // What arrived before the kill was kept: the rest was fetched, not the whole file again.
    env.assert_moved_once("served_bytes", 8);
    same_bytes(
        &env.api(f["href"].as_str().unwrap()),
        &env.prepared(0),
        None,
    )
    .unwrap();
}

/// Whether two files hold the same bytes (compared in pieces).
fn same_file_bytes(a: &Path, b: &Path) -> bool {
    let (mut x, mut y) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut p, mut q) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = x.read(&mut p).unwrap();
        if n == 0 {
            return y.read(&mut q).unwrap() == 0;
        }
        if y.read_exact(&mut q[..n]).is_err() || p[..n] != q[..n] {
            return false;
        }
    }
}

/// Writes a 200 MB file under the test's directory (each MiB numbered so no two are alike) and
/// posts it as a streamed multipart request file; returns the request id and the file.
fn post_big_multipart(env: &Env, client_id: &str) -> (String, PathBuf) {
    let path = env.dir.path().join(format!("{client_id}.bin"));
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut piece: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        for n in 0..(BIG >> 20) as u32 {
            piece[..4].copy_from_slice(&n.to_le_bytes());
            f.write_all(&piece).unwrap();
        }
        f.flush().unwrap();
    }
    let request = json!({"kind": "fns-tax-debt", "business_xml": tax_request(client_id, "7701000122"), "client_id": client_id});
    let boundary = "----smev-gateway-test-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n{request}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan-200mb.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    // Streamed: neither side holds the file in memory.
    let body = std::io::Cursor::new(head.into_bytes())
        .chain(std::fs::File::open(&path).unwrap())
        .chain(std::io::Cursor::new(tail.into_bytes()));
    let resp = ureq::post(&env.api("/api/v1/requests"))
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .timeout(Duration::from_secs(300))
        .send(body);
    let v: Value = match resp {
        Ok(r) => r.into_json().unwrap(),
        Err(ureq::Error::Status(s, r)) => panic!("HTTP {s}: {}", r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(v["attachments"][0]["size"].as_u64(), Some(BIG), "{v}");
    (v["id"].as_str().unwrap().to_string(), path)
}

/// That the 200 MB multipart file reached the mock's storage once: received once in all (a
/// resumed upload may repeat a little), in one directory, byte-identical to `original`.
fn assert_uploaded_once(env: &Env, original: &Path) {
    env.assert_moved_once("received_bytes", 8);
    let dirs = uploaded_dirs(env);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(same_file_bytes(&dirs[0].join("scan-200mb.pdf"), original));
}

/// The upload directories of the gateway's system in the mock's storage.
fn uploaded_dirs(env: &Env) -> Vec<PathBuf> {
    let area = env.dir.path().join("mock-ftp/upload/SYSTEM1");
    std::fs::read_dir(&area)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_200_mb_multipart_request_file_streams_to_the_file_storage_and_is_accepted() {
    let env = Env::start(false, "");
    let (id, path) = post_big_multipart(&env, "FS-MP-1");
    let v = wait_for(Duration::from_secs(300), "the answer", || {
        let v = env.request(&id);
        (v["status"] == "answered").then_some(v)
    });
    let c = env.count(v["message_id"].as_str().unwrap());
    assert_eq!(c["accepted"].as_u64(), Some(1), "{c}");
    // Uploaded once: the upload that began while the file arrived and the sender's (which
    // finds the file there, or resumes it) never send it twice.
    assert_uploaded_once(&env, &path);
}

#[test]
fn a_file_storage_much_slower_than_the_client_does_not_hold_the_post_back() {
    let env = Env::start(false, "");
    env.ftp_fault(json!({"upload_bytes_per_second": 10 * 1024 * 1024}));
    let (id, path) = post_big_multipart(&env, "FS-SLOW-1");
    // Accepted while most of the file is still to go: the upload that began as the file
    // arrived kept pace for a while, then was left to the sender.
    let stored = call("GET", &env.admin("/file-storage/stats"), None, None).1["received_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        stored < BIG * 3 / 4,
        "{stored} of {BIG} bytes stored when accepted"
    );
    wait_for(Duration::from_secs(300), "the answer", || {
        (env.request(&id)["status"] == "answered").then_some(())
    });
    // The sender resumed where the early upload stopped: still one copy, sent about once.
    assert_uploaded_once(&env, &path);
}

#[test]
fn a_gateway_killed_in_the_middle_of_an_upload_resumes_it_and_sends_once() {
    let mut env = Env::start(false, "");
    // A slow link: the upload is still running when the gateway is killed.
    env.ftp_fault(json!({"upload_bytes_per_second": 20 * 1024 * 1024}));
    let (id, path) = post_big_multipart(&env, "FS-KILL-UP-1");
    let grown = |min: u64| {
        uploaded_dirs(&env)
            .first()
            .and_then(|d| std::fs::metadata(d.join("scan-200mb.pdf")).ok())
            .is_some_and(|m| m.len() >= min)
    };
    wait_for(
        Duration::from_secs(120),
        "the upload to be under way",
        || grown(10 * 1024 * 1024).then_some(()),
    );
    // Not sent yet: the SendRequest follows the upload.
    let status = env.request(&id)["status"].clone();
    assert!(status == "queued" || status == "sending", "{status}");
    let v = env.kill_and_restart_until_answered(&id);
    // Sent once, accepted once: the same UUID directory, the upload resumed where it stopped.
    let c = env.count(v["message_id"].as_str().unwrap());
    assert_eq!(
        (c["sends"].as_u64(), c["accepted"].as_u64()),
        (Some(1), Some(1)),
        "{c}"
    );
    assert_uploaded_once(&env, &path);
}

#[test]
fn a_kind_that_requires_signed_files_refuses_an_unsigned_incoming_file_and_takes_a_signed_one() {
    let mut env = Env::start(false, "");
    // The incoming kind requires a PKCS#7 signature on every file.
    env.gw.kill();
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = text.replacen(
        "id = \"zags-marriage\"\n",
        "id = \"zags-marriage\"\nrequire_attachment_signature = true\n",
        1,
    );
    assert!(text.contains("require_attachment_signature = true"));
    std::fs::write(&env.config, text).unwrap();
    env.gw = start_gateway(&env.config);
    env.offer_incoming("Без подписи.pdf", false);
    let dl = env.dead_letter("a dead letter for the unsigned file", |d| {
        d["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no verified PKCS#7 signature"))
    });
    assert!(
        dl["reason"].as_str().unwrap().contains("Без подписи.pdf"),
        "{dl}"
    );
    env.offer_incoming("С подписью.pdf", true);
    let inc = env.incoming_request();
    let f = &inc["attachments"][0];
    assert_eq!(
        (f["name"].as_str(), f["integrity"].as_str()),
        (Some("С подписью.pdf"), Some("verified")),
        "{inc}"
    );
    let (cn, o) = common::openssl_cli::subject_cn_and_o("provider");
    assert_eq!(
        f["signer"].as_str(),
        Some(format!("{cn}, {o}").as_str()),
        "{f}"
    );
}
