//! The gateway's HTTP side against hostile clients, as a real process: thousands of half-open
//! connections, business XML built to make parsers quadratic, and `/metrics` behind its token.
//! Normal requests and `/health/live` must keep being answered meanwhile.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::json;

fn start(extra: &str) -> (tempfile::TempDir, Proc) {
    let dir = tempfile::tempdir().unwrap();
    // SMEV is unreachable (port 9): requests stay queued, which is all these tests need.
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", extra);
    let gw = start_gateway(&cfg);
    (dir, gw)
}

/// Raises this test process's open-files limit so that it can hold thousands of sockets.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}

fn live(url: &str) -> Result<u16, String> {
    ureq::get(&format!("{url}/health/live"))
        .timeout(Duration::from_secs(5))
        .call()
        .map(|r| r.status())
        .map_err(|e| e.to_string())
}

#[test]
fn half_open_connections_do_not_stop_a_normal_request() {
    // The gateway starts with Debian's default soft limit of open files (1024, as systemd gives
    // services), the hard limit left as it is; this test process needs room for its sockets.
    let dir = tempfile::tempdir().unwrap();
    let cfg = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -S -n 1024 && exec \"$0\" run --config \"$1\""])
        .arg(bin())
        .arg(&cfg)
        .current_dir(root())
        .env("SMEV_GATEWAY__API__LISTEN", "127.0.0.1:0");
    let gw = gateway_from(cmd);
    let limit = raise_nofile();
    assert!(
        limit > 3500,
        "the test needs 3,500 descriptors, has {limit}"
    );
    let url = format!("http://{}", gw.addr);
    // 3,000 connections that send half a request line and then nothing.
    let mut idle = Vec::new();
    for _ in 0..3000 {
        let mut s = TcpStream::connect(&gw.addr).unwrap();
        let _ = s.write_all(b"GET /health/live HT");
        idle.push(s);
    }
    assert_eq!(live(&url), Ok(200));
    post_tax_request(&url, "HALF-OPEN-1");
    drop(idle);
}

#[test]
fn slow_headers_are_cut_off() {
    let (_dir, gw) = start("[api]\nheader_read_timeout_ms = 500\n");
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // No blank line ever comes: the server closes the connection after the header timeout
    // (with or without a 408 first).
    let mut buf = Vec::new();
    let read = std::io::Read::read_to_end(&mut s, &mut buf);
    assert!(read.is_ok(), "the connection was not closed: {read:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn many_attribute_business_xml_is_refused_while_the_api_keeps_answering() {
    let (_dir, gw) = start("[api]\nmax_body_bytes = 4000000\nmax_xml_bytes = 2000000\n");
    let url = format!("http://{}", gw.addr);
    let attrs: String = (0..100_000).map(|i| format!(" attr{i}=\"\"")).collect();
    let xml = format!(
        "<td:TaxDebtRequest xmlns:td=\"urn://smev-gateway/example/fns-tax-debt/1.0\"{attrs}><td:RequestID>X</td:RequestID></td:TaxDebtRequest>"
    );
    assert!(xml.len() > 1_000_000);
    let body = json!({"kind": "fns-tax-debt", "business_xml": xml});
    let posts: Vec<_> = (0..3)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || {
                call(
                    "POST",
                    &format!("{url}/api/v1/requests"),
                    Some(TOKEN_A),
                    Some(&body),
                )
            })
        })
        .collect();
    assert_eq!(live(&url), Ok(200));
    for p in posts {
        let (s, r) = p.join().unwrap();
        assert_eq!((s, r["code"].as_str()), (422, Some("invalid_xml")), "{r}");
        assert!(
            r["detail"].as_str().unwrap().contains("256 attributes"),
            "{r}"
        );
    }
    // The same document with few attributes is accepted: the refusal is the cap, not the size.
    post_tax_request(&url, "FEW-ATTRS");
}

#[test]
fn metrics_need_their_token_when_one_is_configured() {
    let token = "metrics-scraper-token-0123456789";
    let (_dir, gw) = start(&format!(
        "[metrics]\ntoken_sha256 = \"{}\"\nrefresh_interval_ms = 200\n",
        sha256_hex(token)
    ));
    let url = format!("http://{}/metrics", gw.addr);
    let anonymous = ureq::get(&url).call();
    assert!(
        matches!(anonymous, Err(ureq::Error::Status(401, _))),
        "{anonymous:?}"
    );
    let wrong = ureq::get(&url).set("Authorization", "Bearer nope").call();
    assert!(matches!(wrong, Err(ureq::Error::Status(401, _))));
    // An API token is not a metrics token.
    let api = ureq::get(&url)
        .set("Authorization", &format!("Bearer {TOKEN_A}"))
        .call();
    assert!(matches!(api, Err(ureq::Error::Status(401, _))));
    let text = ureq::get(&url)
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        text.contains("smev_gateway_requests{status=\"queued\"}"),
        "{text}"
    );
    // Readiness details with the metrics token, not without.
    let (_, anonymous) = call(
        "GET",
        &format!("http://{}/health/ready", gw.addr),
        None,
        None,
    );
    assert!(anonymous.get("checks").is_none(), "{anonymous}");
    let (_, detailed) = call(
        "GET",
        &format!("http://{}/health/ready", gw.addr),
        Some(token),
        None,
    );
    assert!(detailed["checks"].is_array(), "{detailed}");
}

#[test]
fn scrapes_do_not_scan_the_store() {
    let (_dir, gw) = start("[metrics]\nrefresh_interval_ms = 3600000\n");
    let url = format!("http://{}", gw.addr);
    let count = |text: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with("smev_gateway_requests{status=\"queued\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    let scrape = || {
        ureq::get(&format!("{url}/metrics"))
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    };
    assert_eq!(count(&scrape()), 0.0);
    for n in 0..3 {
        post_tax_request(&url, &format!("SCAN-{n}"));
    }
    // The gauge changes only when the observer runs (here: once an hour), never per scrape.
    assert_eq!(count(&scrape()), 0.0);
}

/// An argon2 hash made by `smev-gateway hash-password`.
fn password_hash(password: &str) -> String {
    let out = std::process::Command::new(bin())
        .args(["hash-password", password])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One login attempt through the real form (double-submit token); returns (status, body,
/// Retry-After).
fn login_attempt(base: &str, login: &str, password: &str) -> (u16, String, Option<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent.get(&format!("{base}/ui/login")).call().unwrap();
    let cookie = page
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("smev_ui_login="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = page.into_string().unwrap();
    let marker = "name=\"token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let r = agent
        .post(&format!("{base}/ui/login"))
        .set("Cookie", &cookie)
        .send_form(&[("login", login), ("password", password), ("token", token)]);
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let retry = r.header("retry-after").map(str::to_string);
    (r.status(), r.into_string().unwrap_or_default(), retry)
}

fn ui_users(password: &str) -> String {
    let hash = password_hash(password);
    ["clerk", "chief"]
        .iter()
        .map(|l| {
            format!("[[ui.users]]\nlogin = \"{l}\"\nname = \"{l}\"\nrole = \"operator\"\npassword_hash = \"{hash}\"\n")
        })
        .collect()
}

#[test]
fn parallel_password_guessing_is_answered_429_before_hashing() {
    let password = "correct horse battery staple";
    let (_dir, gw) = start(&format!(
        "[ui]\nlogin_attempts_per_minute = 4\nlogin_attempts_per_minute_per_address = 1000\nlockout_after_failures = 100\n{}",
        ui_users(password)
    ));
    let base = format!("http://{}", gw.addr);
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || login_attempt(&base, "clerk", &format!("guess {i}")))
        })
        .collect();
    let results: Vec<_> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    let refused = results.iter().filter(|r| r.0 == 401).count();
    let limited: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert!(refused <= 4, "{refused} guesses were checked");
    assert_eq!(refused + limited.len(), 12);
    for (_, body, retry) in limited {
        assert!(body.contains("Слишком много попыток входа"), "{body}");
        assert!(retry
            .as_deref()
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    }
    // Another login is not affected by clerk's bucket.
    let (s, _, _) = login_attempt(&base, "chief", password);
    assert_eq!(s, 303);
}

#[test]
fn repeated_failures_lock_a_login_even_for_the_right_password() {
    let password = "correct horse battery staple";
    let (_dir, gw) = start(&format!(
        "[ui]\nlogin_attempts_per_minute = 100\nlogin_attempts_per_minute_per_address = 1000\nlockout_after_failures = 3\nlockout_minutes = 15\n{}",
        ui_users(password)
    ));
    let base = format!("http://{}", gw.addr);
    for _ in 0..3 {
        assert_eq!(login_attempt(&base, "clerk", "wrong").0, 401);
    }
    let (s, body, retry) = login_attempt(&base, "clerk", password);
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("временно заблокирован"), "{body}");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 14 * 60);
    // The other user still logs in.
    assert_eq!(login_attempt(&base, "chief", password).0, 303);
    let metrics = ureq::get(&format!("{base}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("smev_gateway_ui_login_lockouts_total 1"),
        "{metrics}"
    );
}
