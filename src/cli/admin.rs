//! Operator tools: `check-config` (configuration, keys, certificates, schemas, reachability),
//! `cert info`, `hash-password`, `hash-token`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use smev_gateway::config::Config;
use smev_gateway::dsig::certificate::{thumbprint, Validity};
use smev_gateway::dsig::{CertificateInfo, Signer};
use smev_gateway::engine::load_signer;
use smev_gateway::smev::schema::Schema;

use super::CmdResult;

/// `smev-gateway check-config FILE`: a report with one line per check; exit 1 on any failure.
pub fn check_config(file: &Path, offline: bool) -> CmdResult {
    let mut ok = true;
    let mut line = |good: bool, what: String| {
        println!("{} {what}", if good { "ok  " } else { "FAIL" });
        ok &= good;
    };
    let cfg = match Config::load(file) {
        Ok(c) => {
            line(
                true,
                format!("configuration {} parses, no unknown keys", file.display()),
            );
            c
        }
        Err(e) => {
            line(false, format!("configuration: {e}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = Utc::now();
    for w in cfg.warnings() {
        println!("WARN {w}");
    }
    let mut participants: Vec<(&smev_gateway::config::SystemConfig, String)> = Vec::new();
    for s in &cfg.systems {
        for (role, key) in std::iter::once(("ЭП-ОВ", &s.signing))
            .chain(s.personal_signing.iter().map(|k| ("ЭП-СП", k)))
        {
            match load_signer(key) {
                Ok(signer) => {
                    let info = CertificateInfo::of(signer.certificate());
                    if role == "ЭП-ОВ" {
                        let print = thumbprint(signer.certificate());
                        if let Some((other, _)) = participants.iter().find(|(o, p)| {
                            *p == print && !smev_gateway::config::distinct_nodes(o, s)
                        }) {
                            line(false, format!("systems {} and {}: the same ЭП-ОВ certificate ({print}) without distinct node_id values — SMEV sees one participant with one queue", other.id, s.id));
                        }
                        participants.push((s, print));
                    }
                    line(
                        true,
                        format!(
                            "system {}: {role} key {} matches its certificate, {}",
                            s.id,
                            key.key.display(),
                            info.key_algorithm
                        ),
                    );
                    match info.validity_at(now) {
                        Validity::Valid => {
                            let days = (info.not_after - now).num_days();
                            line(true, format!("system {}: {role} certificate valid until {} ({days} days left): {}", s.id, info.not_after.format("%Y-%m-%d"), info.subject));
                        }
                        Validity::Expired => line(
                            false,
                            format!(
                                "system {}: {role} certificate EXPIRED on {}: {}",
                                s.id,
                                info.not_after.format("%Y-%m-%d"),
                                info.subject
                            ),
                        ),
                        Validity::NotYetValid => line(
                            false,
                            format!(
                                "system {}: {role} certificate not valid before {}",
                                s.id,
                                info.not_before.format("%Y-%m-%d")
                            ),
                        ),
                    }
                }
                Err(e) => line(false, format!("system {}: {role} key: {e}", s.id)),
            }
        }
        if s.tokens.is_empty() {
            line(
                false,
                format!(
                    "system {}: no API token configured (nobody can use the API for it)",
                    s.id
                ),
            );
        }
    }
    for k in &cfg.kinds {
        match Schema::load(&k.schema) {
            Ok(_) => line(
                true,
                format!("kind {}: schema {} compiles", k.id, k.schema.display()),
            ),
            Err(e) => line(false, format!("kind {}: {e}", k.id)),
        }
        if !k.template.trim().is_empty() {
            let env = minijinja::Environment::new();
            if let Err(e) = env.template_from_str(&k.template) {
                line(false, format!("kind {}: template: {e}", k.id));
            }
        }
    }
    for u in &cfg.ui.users {
        let good = u.password_hash.starts_with("$argon2");
        line(
            good,
            format!(
                "ui user {}: {}",
                u.login,
                if good {
                    "argon2 password hash"
                } else {
                    "password_hash is not an argon2 PHC string"
                }
            ),
        );
    }
    if !offline {
        let mut endpoints: Vec<String> = vec![cfg.smev.endpoint.clone()];
        endpoints.extend(cfg.systems.iter().filter_map(|s| s.endpoint.clone()));
        endpoints.sort();
        endpoints.dedup();
        for e in endpoints {
            match reachable(&e) {
                Ok(()) => line(true, format!("SMEV endpoint {e} accepts connections")),
                Err(msg) => line(false, format!("SMEV endpoint {e} unreachable: {msg}")),
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn reachable(url: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let uri: axum::http::Uri = url.parse().map_err(|_| "not a URL".to_string())?;
    let host = uri.host().ok_or("no host")?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addrs = (host, port).to_socket_addrs().map_err(|e| e.to_string())?;
    let mut last = "no address".to_string();
    for a in addrs {
        match std::net::TcpStream::connect_timeout(&a, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// `smev-gateway cert info FILE`.
pub fn cert_info(file: &Path) -> CmdResult {
    // Without the engine a GOST certificate does not parse, which is reported below.
    if let Err(e) = smev_gateway::dsig::engine::ensure_gost_engine() {
        eprintln!("warning: {e}");
    }
    let bytes = super::read_input(file)?;
    let cert = openssl::x509::X509::from_pem(&bytes)
        .or_else(|_| openssl::x509::X509::from_der(&bytes))
        .map_err(|_| format!("{} is not a PEM or DER certificate", file.display()))?;
    let i = CertificateInfo::of(&cert);
    let now = Utc::now();
    println!("subject:     {}", i.subject);
    println!("issuer:      {}", i.issuer);
    println!("serial:      {}", i.serial);
    println!(
        "valid:       {} .. {} ({})",
        i.not_before.format("%Y-%m-%d %H:%M:%S UTC"),
        i.not_after.format("%Y-%m-%d %H:%M:%S UTC"),
        match i.validity_at(now) {
            Validity::Valid => "valid now",
            Validity::Expired => "EXPIRED",
            Validity::NotYetValid => "NOT YET VALID",
        }
    );
    println!("algorithm:   {}", i.key_algorithm);
    for (label, v) in [
        ("ОГРН", &i.ogrn),
        ("ИНН", &i.inn),
        ("ИНН ЮЛ", &i.inn_le),
        ("СНИЛС", &i.snils),
    ] {
        if let Some(v) = v {
            println!(
                "{label}:{}{v}",
                " ".repeat(13usize.saturating_sub(label.chars().count() + 1))
            );
        }
    }
    println!("thumbprint:  {}", i.thumbprint_sha1);
    Ok(ExitCode::SUCCESS)
}

fn read_secret(arg: Option<String>, what: &str) -> Result<String, String> {
    if let Some(a) = arg {
        return Ok(a);
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    if s.is_empty() {
        return Err(format!("empty {what}"));
    }
    Ok(s)
}

/// `smev-gateway hash-password [PASSWORD]` (stdin when omitted).
pub fn hash_password(arg: Option<String>) -> CmdResult {
    let p = read_secret(arg, "password")?;
    println!(
        "{}",
        smev_gateway::ui::auth::hash_password(&p).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// `smev-gateway hash-token [TOKEN]` (stdin when omitted).
pub fn hash_token(arg: Option<String>) -> CmdResult {
    let t = read_secret(arg, "token")?;
    println!("{}", smev_gateway::api::auth::token_hash(&t));
    Ok(ExitCode::SUCCESS)
}
