//! The openssl CLI with Debian's GOST engine as an independent CMS implementation: detached
//! binary signatures made and checked by it, to cross-check the gateway's own. Also included
//! by the crate's unit tests (`#[path]` in `src/lib.rs`), so it needs nothing else of the harness.

use std::path::Path;
use std::process::Command;

/// `openssl cms -sign` of the file `input` with the key `who` of `certs-example/`, detached,
/// binary, DER; returns the signature.
pub fn cms_sign_file(input: &Path, who: &str) -> Vec<u8> {
    cms_sign_file_with(input, who, &[])
}

/// [`cms_sign_file`] with more `openssl cms` options (`-nocerts`: the signer's certificate
/// left out of the signature).
pub fn cms_sign_file_with(input: &Path, who: &str, options: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("file.p7s");
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example");
    let run = Command::new("openssl")
        .args([
            "cms", "-sign", "-engine", "gost", "-binary", "-outform", "DER",
        ])
        .args(options)
        .arg("-in")
        .arg(input)
        .arg("-signer")
        .arg(certs.join(format!("{who}.cert.pem")))
        .arg("-inkey")
        .arg(certs.join(format!("{who}.key.pem")))
        .arg("-out")
        .arg(&out)
        .output()
        .expect("openssl CLI");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(out).unwrap()
}

/// `openssl cms -sign` of `content` (written to a temporary file).
pub fn cms_sign(content: &[u8], who: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("file.bin");
    std::fs::write(&input, content).unwrap();
    cms_sign_file(&input, who)
}

/// Whether `openssl cms -verify` (no chain check) accepts the DER `signature` over the file
/// `content`.
pub fn cms_verifies(signature: &[u8], content: &Path) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig.der");
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-engine",
            "gost",
            "-binary",
            "-noverify",
            "-inform",
            "DER",
        ])
        .arg("-in")
        .arg(&sig)
        .arg("-content")
        .arg(content)
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl CLI");
    out.status.success()
}

/// The subject's CN and O of the certificate `who` of `certs-example/`, as `openssl x509`
/// prints them.
pub fn subject_cn_and_o(who: &str) -> (String, String) {
    let cert = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("certs-example")
        .join(format!("{who}.cert.pem"));
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "sep_multiline,utf8,-esc_msb",
            "-in",
        ])
        .arg(cert)
        .output()
        .expect("openssl CLI");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(str::to_string))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    (field("CN="), field("O="))
}

/// `openssl dgst -sign` of `data` with the key `who` of `certs-example/` and the digest `md`
/// (`-md_gost12_256`, `-md_gost12_512`): a bare GOST signature value, as the official's tool
/// makes it over a SignedInfo.
pub fn dgst_sign(data: &[u8], who: &str, md: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let sig = dir.path().join("sig.bin");
    std::fs::write(&input, data).unwrap();
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("certs-example")
        .join(format!("{who}.key.pem"));
    let out = Command::new("openssl")
        .args(["dgst", "-engine", "gost", md, "-sign"])
        .arg(key)
        .arg("-out")
        .arg(&sig)
        .arg(&input)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(sig).unwrap()
}

/// The GOST R 34.11-2012-256 digest of `data` by `openssl dgst`, raw bytes.
pub fn streebog_256(data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-engine", "gost", "-md_gost12_256", "-binary"])
        .arg(&input)
        .output()
        .expect("openssl CLI");
    assert!(out.status.success());
    out.stdout
}
