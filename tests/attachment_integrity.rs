//! Attachment integrity against an independent implementation: detached GOST CMS signatures made
//! by the openssl CLI (with Debian's GOST engine) verify over the file's bytes, and a swapped,
//! truncated or extended file, or another file's signature, is refused.

mod common;

use common::openssl_cli::{cms_sign, cms_verifies, subject_cn_and_o};
use smev_gateway::smev::attachments::{check, Checked, Integrity, IntegrityError};
use smev_gateway::smev::model::{AttachmentContent, AttachmentHeader};

fn header(id: &str, pkcs7: Option<Vec<u8>>) -> AttachmentHeader {
    AttachmentHeader {
        content_id: id.into(),
        mime_type: "application/pdf".into(),
        signature_pkcs7: pkcs7,
    }
}

fn content(id: &str, bytes: &[u8]) -> AttachmentContent {
    AttachmentContent {
        id: id.into(),
        content: bytes.to_vec(),
    }
}

#[test]
fn an_openssl_made_gost_cms_signature_verifies() {
    let file = b"%PDF-1.4 \x00\xff binary \r\n content".repeat(100);
    for who in ["ov", "ov512", "sp"] {
        let sig = cms_sign(&file, who);
        let r = check(
            &[header("a.pdf", Some(sig))],
            &[content("a.pdf", &file)],
            true,
        );
        let (cn, o) = subject_cn_and_o(who);
        let verified = Checked {
            integrity: Integrity::Verified,
            signer: Some(format!("{cn}, {o}")),
        };
        assert_eq!(r, Ok(vec![verified]), "{who}");
    }
}

#[test]
fn a_file_changed_in_transit_is_refused() {
    let file = b"%PDF-1.4 original document".to_vec();
    let sig = cms_sign(&file, "ov");
    let mut swapped = file.clone();
    swapped[10] ^= 1;
    let mut extended = file.clone();
    extended.push(b'\n');
    let other = b"%PDF-1.4 another document".to_vec();
    for (what, bytes) in [
        ("one bit flipped", swapped),
        ("one byte appended", extended),
        ("truncated", file[..file.len() - 1].to_vec()),
        ("another file", other),
    ] {
        let r = check(
            &[header("a.pdf", Some(sig.clone()))],
            &[content("a.pdf", &bytes)],
            false,
        );
        assert!(
            matches!(r, Err(IntegrityError::BadSignature { .. })),
            "{what}: {r:?}"
        );
    }
}

#[test]
fn openssl_agrees_with_what_we_refuse() {
    // The independent verifier refuses the same substitution.
    let dir = tempfile::tempdir().unwrap();
    let file = b"%PDF-1.4 original".to_vec();
    let sig = cms_sign(&file, "ov");
    let swapped = dir.path().join("swapped.bin");
    std::fs::write(&swapped, b"%PDF-1.4 0riginal").unwrap();
    assert!(!cms_verifies(&sig, &swapped));
    let r = check(
        &[header("a", Some(sig))],
        &[content("a", b"%PDF-1.4 0riginal")],
        false,
    );
    assert!(matches!(r, Err(IntegrityError::BadSignature { .. })));
}
