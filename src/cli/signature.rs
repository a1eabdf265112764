//! `smev-gateway sign` and `smev-gateway verify` (the signature doctor).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use smev_gateway::dsig::sign::{self, Placement};
use smev_gateway::dsig::verify::{self, SignatureReport, VerifyOptions};
use smev_gateway::dsig::{OpenSslSigner, TrustStore};

use super::{read_input, write_stdout, CmdResult};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The XML document.
    file: PathBuf,
    /// Id of the element to sign.
    #[arg(long)]
    id: String,
    /// Private key: PEM (PKCS#8) or PKCS#12 (.p12/.pfx).
    #[arg(long)]
    key: PathBuf,
    /// Certificate (PEM) of a PEM key.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Password of the key or the PKCS#12 file.
    #[arg(
        long = "pass",
        env = "SMEV_GATEWAY_KEY_PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
    /// Always put the signature inside the signed element (enveloped) instead of an empty
    /// CallerInformationSystemSignature / PersonalSignature container.
    #[arg(long)]
    enveloped: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The XML document.
    file: PathBuf,
    /// PEM file of trusted CA certificates: the signer's certificate must chain to one of them
    /// and be valid (without it, only the cryptography is checked and validity is a warning).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Check certificate validity at this moment (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn sign(a: SignArgs) -> CmdResult {
    let source = read_input(&a.file)?;
    let signer = OpenSslSigner::from_files(&a.key, a.cert.as_deref(), a.password.as_deref())
        .map_err(|e| e.to_string())?;
    let placement = if a.enveloped {
        Placement::Enveloped
    } else {
        Placement::Auto
    };
    let signed = sign::sign(&source, &a.id, &signer, placement).map_err(|e| e.to_string())?;
    write_stdout(&signed)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(a: VerifyArgs) -> CmdResult {
    let source = read_input(&a.file)?;
    let trust = match &a.trust {
        Some(p) => Some(TrustStore::from_pem_file(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = VerifyOptions {
        trust: trust.as_ref(),
        require_valid_certificate: false,
        at: a.at,
    };
    let reports = verify::verify_document(&source, &opts).map_err(|e| e.to_string())?;
    if reports.is_empty() {
        return Err(format!("{}: no ds:Signature found", a.file.display()));
    }
    if a.json {
        let json = serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?;
        write_stdout(json.as_bytes())?;
        write_stdout(b"\n")?;
    } else {
        let mut text = String::new();
        for (i, r) in reports.iter().enumerate() {
            text.push_str(&render(i + 1, r));
        }
        write_stdout(text.as_bytes())?;
    }
    let all_valid = reports.iter().all(|r| r.valid);
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render(n: usize, r: &SignatureReport) -> String {
    let mut s = format!(
        "Signature {n}: {}\n  at {}\n  method {}\n",
        if r.valid { "VALID" } else { "INVALID" },
        r.location,
        r.signature_method
    );
    if let Some(c) = &r.certificate {
        s.push_str(&format!(
            "  signer {}\n  serial {}  valid {} .. {}  key {}\n",
            c.subject,
            c.serial,
            c.not_before.format("%Y-%m-%d"),
            c.not_after.format("%Y-%m-%d"),
            c.key_algorithm
        ));
    }
    for reference in &r.references {
        s.push_str(&format!(
            "  reference {} ({}): digest {}\n",
            reference.uri,
            reference.target.as_deref().unwrap_or("?"),
            if reference.digest_ok {
                "matches"
            } else {
                "DOES NOT MATCH"
            }
        ));
    }
    s.push_str(&format!(
        "  signature value: {}\n",
        if r.signature_value_ok {
            "verifies"
        } else {
            "does not verify"
        }
    ));
    match &r.certificate_trusted {
        Some(Ok(())) => s.push_str("  certificate: trusted\n"),
        Some(Err(e)) => s.push_str(&format!("  certificate: NOT trusted ({e})\n")),
        None => {}
    }
    for c in &r.causes {
        s.push_str(&format!("  cause: {c}\n"));
    }
    for w in &r.warnings {
        s.push_str(&format!("  warning: {w}\n"));
    }
    s
}
