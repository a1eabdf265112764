//! PKCS#7 signatures of files on disk, streamed through OpenSSL (a file of up to 1 GB is never
//! held in memory), against the openssl CLI with Debian's GOST engine: its signatures verify over
//! the file and name their signer as the certificate does, a changed file is refused, and the
//! signatures we make over a file it verifies.

mod common;

use std::path::Path;

use common::openssl_cli::{cms_sign_file, cms_sign_file_with, cms_verifies, subject_cn_and_o};
use common::root;
use smev_gateway::dsig::pkcs7::{verify_detached_by, verify_detached_file, Content};
use smev_gateway::dsig::{DsigError, OpenSslSigner, Signer as _};

/// A 3 MB file of every byte value (larger than OpenSSL's read buffer many times over).
fn write_file(path: &Path) -> Vec<u8> {
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

fn signer(who: &str) -> OpenSslSigner {
    let certs = root().join("certs-example");
    OpenSslSigner::from_pem_files(
        &certs.join(format!("{who}.key.pem")),
        &certs.join(format!("{who}.cert.pem")),
        None,
    )
    .unwrap()
}

#[test]
fn an_openssl_made_signature_verifies_over_the_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Выписка.pdf");
    write_file(&file);
    for who in ["ov", "ov512", "sp"] {
        let sig = cms_sign_file(&file, who);
        // The signer named as its certificate names it (read by the openssl CLI).
        let (cn, o) = subject_cn_and_o(who);
        assert_eq!(
            verify_detached_file(&sig, &file),
            Ok(Some(format!("{cn}, {o}"))),
            "{who}"
        );
    }
}

#[test]
fn a_changed_file_on_disk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("original.bin");
    let bytes = write_file(&file);
    let sig = cms_sign_file(&file, "ov");
    let mut flipped = bytes.clone();
    flipped[2_999_000] ^= 1;
    let mut appended = bytes.clone();
    appended.push(0);
    for (what, changed) in [
        ("one bit flipped near the end", flipped),
        ("one byte appended", appended),
        ("truncated by one byte", bytes[..bytes.len() - 1].to_vec()),
        ("empty", Vec::new()),
    ] {
        let path = dir.path().join("changed.bin");
        std::fs::write(&path, &changed).unwrap();
        assert!(!cms_verifies(&sig, &path), "openssl accepted: {what}");
        assert!(
            matches!(
                verify_detached_file(&sig, &path),
                Err(DsigError::OpenSsl(_))
            ),
            "{what}"
        );
    }
}

#[test]
fn a_signature_we_make_over_a_file_on_disk_verifies_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Заявление.pdf");
    let bytes = write_file(&file);
    for who in ["ov", "ov512"] {
        let sig = signer(who).pkcs7_detached_file(&file).unwrap();
        assert!(cms_verifies(&sig, &file), "{who}");
        let changed = dir.path().join("changed.bin");
        let mut other = bytes.clone();
        other[0] ^= 0x80;
        std::fs::write(&changed, &other).unwrap();
        assert!(!cms_verifies(&sig, &changed), "{who}");
    }
}

#[test]
fn a_missing_file_is_an_io_error_not_a_bad_signature() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.bin");
    let present = dir.path().join("present.bin");
    write_file(&present);
    let sig = cms_sign_file(&present, "ov");
    assert!(matches!(
        verify_detached_file(&sig, &missing),
        Err(DsigError::Io(_))
    ));
    assert!(matches!(
        signer("ov").pkcs7_detached_file(&missing),
        Err(DsigError::Io(_))
    ));
}

#[test]
fn a_signature_that_is_not_der_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    write_file(&file);
    for bad in [&b""[..], b"not a signature", &[0x30, 0x82, 0xff, 0xff]] {
        assert!(
            matches!(
                verify_detached_file(bad, &file),
                Err(DsigError::MalformedSignature(_))
            ),
            "{bad:?}"
        );
    }
}

/// The official's ЭП-СП of a file must be made by the certificate of the XML ЭП-СП: checked over
/// the file on disk and over the same bytes in memory, with the signer's certificate inside the
/// signature or left out of it.
#[test]
fn a_file_signature_must_be_made_by_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Заявление.pdf");
    let bytes = write_file(&file);
    let official = signer("sp");
    let cases: [(&str, &[&str], bool); 4] = [
        ("sp", &[], true),
        ("sp", &["-nocerts"], true),
        ("ov", &[], false),
        ("ov", &["-nocerts"], false),
    ];
    for (who, options, accepted) in cases {
        let sig = cms_sign_file_with(&file, who, options);
        for content in [Content::File(&file), Content::Bytes(&bytes)] {
            let r = verify_detached_by(&sig, content, official.certificate());
            assert_eq!(r.is_ok(), accepted, "{who} {options:?} {content:?}: {r:?}");
        }
    }
    // A signature over other bytes is refused even when the signer is right.
    let sig = cms_sign_file(&file, "sp");
    let r = verify_detached_by(&sig, Content::Bytes(b"other bytes"), official.certificate());
    assert!(r.is_err());
}
