//! GOST XMLDSig: sign/verify round trips, tamper detection with the named cause, an independent
//! check with the openssl CLI, the real signed SMEV samples, and the CLI's handling of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use smev_gateway::dsig::sign::{self, Placement};
use smev_gateway::dsig::verify::{verify_document, Cause, SignatureReport, VerifyOptions};
use smev_gateway::dsig::{OpenSslSigner, Signer, TrustStore};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn certs(name: &str) -> PathBuf {
    root().join("certs-example").join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/dsig").join(name)).unwrap()
}

fn signer(name: &str) -> OpenSslSigner {
    OpenSslSigner::from_pem_files(
        &certs(&format!("{name}.key.pem")),
        &certs(&format!("{name}.cert.pem")),
        None,
    )
    .unwrap()
}

fn verify(doc: &[u8]) -> Vec<SignatureReport> {
    verify_document(doc, &VerifyOptions::default()).unwrap()
}

fn shared_signed() -> Option<PathBuf> {
    let p = root().join("../shared/smev3/vectors/signed");
    p.is_dir().then_some(p)
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smev-gateway"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn round_trip_256_and_512() {
    for (key, sig_len) in [("ov", 64), ("ov512", 128)] {
        let s = signer(key);
        let signed = sign::sign(
            &fixture("send-request.xml"),
            "SIGNED_BY_CONSUMER",
            &s,
            Placement::Auto,
        )
        .unwrap();
        let reports = verify(&signed);
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert!(r.valid, "{key}: {:?}", r.causes);
        assert!(
            r.location
                .ends_with("/CallerInformationSystemSignature/Signature"),
            "{}",
            r.location
        );
        assert_eq!(r.signature_method, s.algorithm().signature_uri());
        let raw = s.sign(b"x").unwrap();
        assert_eq!(raw.len(), sig_len);
    }
}

#[test]
fn personal_signature_then_authority_signature() {
    let personal = sign::sign(
        &fixture("send-request.xml"),
        "PERSONAL_SIGNATURE",
        &signer("sp"),
        Placement::Auto,
    )
    .unwrap();
    let both = sign::sign(
        &personal,
        "SIGNED_BY_CONSUMER",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();
    let reports = verify(&both);
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.valid), "{reports:?}");
    assert!(reports[0]
        .location
        .ends_with("/PersonalSignature/Signature"));
    assert_eq!(
        reports[0].certificate.as_ref().unwrap().snils.as_deref(),
        Some("11223344595")
    );
    assert!(reports[1]
        .location
        .ends_with("/CallerInformationSystemSignature/Signature"));
    assert_eq!(
        reports[1].certificate.as_ref().unwrap().inn_le.as_deref(),
        Some("7700000009")
    );
}

#[test]
fn enveloped_when_the_document_has_no_container() {
    let signed = sign::sign(
        &fixture("plain.xml"),
        "data",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(text.contains("enveloped-signature"));
    let r = &verify(&signed)[0];
    assert!(r.valid, "{:?}", r.causes);
    assert!(r.location.ends_with("/item/Signature"));
}

/// Replaces the first occurrence of `from` after `anchor` with `to`.
fn edit_after(doc: &[u8], anchor: &str, from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(doc.to_vec()).unwrap();
    let start = s.find(anchor).unwrap_or_else(|| panic!("no {anchor}"));
    let pos = start + s[start..].find(from).unwrap();
    let mut out = s[..pos].to_string();
    out.push_str(to);
    out.push_str(&s[pos + from.len()..]);
    out.into_bytes()
}

fn flip_base64_char(doc: &[u8], element: &str) -> Vec<u8> {
    let s = String::from_utf8(doc.to_vec()).unwrap();
    let open = format!("<ds:{element}>");
    let pos = s.find(&open).unwrap() + open.len() + 5;
    let c = s.as_bytes()[pos];
    let replacement = if c == b'A' { "B" } else { "A" };
    let mut out = s[..pos].to_string();
    out.push_str(replacement);
    out.push_str(&s[pos + 1..]);
    out.into_bytes()
}

#[test]
fn tampering_is_detected_and_named() {
    let signed = sign::sign(
        &fixture("send-request.xml"),
        "SIGNED_BY_CONSUMER",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();

    // Signed content: one character of the INN.
    let r = &verify(&edit_after(&signed, "<td:INN>", "7700000009", "7700000008"))[0];
    assert!(!r.valid);
    assert!(
        matches!(r.causes[0], Cause::ContentChanged { .. }),
        "{:?}",
        r.causes
    );
    assert!(
        r.signature_value_ok,
        "SignedInfo is intact, so SignatureValue still verifies"
    );

    // SignedInfo: one character of the DigestValue.
    let r = &verify(&flip_base64_char(&signed, "DigestValue"))[0];
    assert!(!r.valid);
    assert_eq!(r.causes[0], Cause::SignedInfoAltered, "{:?}", r.causes);

    // SignedInfo: the SignatureMethod's neighbour, a transform URI.
    let r = &verify(&edit_after(
        &signed,
        "<ds:SignedInfo>",
        "xml-exc-c14n#\"></ds:Transform>",
        "xml-exc-c14n#WithComments\"></ds:Transform>",
    ))[0];
    assert!(!r.valid);
    assert!(!r.signature_value_ok);

    // SignatureValue: one character.
    let r = &verify(&flip_base64_char(&signed, "SignatureValue"))[0];
    assert!(!r.valid);
    assert_eq!(r.causes, vec![Cause::SignatureValueMismatch]);
    assert!(r.references.iter().all(|x| x.digest_ok));

    // Whitespace outside the signed element and the signature changes nothing.
    let r = &verify(&edit_after(&signed, "<soap:Body>", "\n", "\n\n   "))[0];
    assert!(r.valid, "{:?}", r.causes);
    // Pretty-printing the content changes nothing either: the transform drops whitespace text.
    let r = &verify(&edit_after(
        &signed,
        "<td:INN>",
        "<td:INN>",
        "\n      <td:INN>",
    ))[0];
    assert!(r.valid, "{:?}", r.causes);
}

#[test]
fn pretty_printed_signed_info_is_diagnosed() {
    let signed = sign::sign(
        &fixture("send-request.xml"),
        "SIGNED_BY_CONSUMER",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();
    let pretty = edit_after(
        &signed,
        "<ds:SignedInfo>",
        "<ds:SignatureMethod",
        "\n  <ds:SignatureMethod",
    );
    let r = &verify(&pretty)[0];
    assert!(!r.valid);
    assert_eq!(r.causes, vec![Cause::SignedInfoWhitespace]);
    assert!(r.references.iter().all(|x| x.digest_ok));
}

#[test]
fn byte_reversed_signature_value_is_diagnosed() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signed = String::from_utf8(
        sign::sign(
            &fixture("send-request.xml"),
            "SIGNED_BY_CONSUMER",
            &signer("ov"),
            Placement::Auto,
        )
        .unwrap(),
    )
    .unwrap();
    let start = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let end = signed.find("</ds:SignatureValue>").unwrap();
    let mut raw = b64.decode(&signed[start..end]).unwrap();
    raw.reverse();
    let tampered = format!("{}{}{}", &signed[..start], b64.encode(raw), &signed[end..]);
    let r = &verify(tampered.as_bytes())[0];
    assert_eq!(r.causes, vec![Cause::SignatureByteOrderReversed]);
}

#[test]
fn certificate_checks_with_a_trust_store() {
    let trust = TrustStore::from_pem_file(&certs("ca.cert.pem")).unwrap();
    let opts = VerifyOptions {
        trust: Some(&trust),
        ..Default::default()
    };
    let good = sign::sign(
        &fixture("plain.xml"),
        "data",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();
    let r = &verify_document(&good, &opts).unwrap()[0];
    assert!(r.valid, "{:?}", r.causes);
    assert_eq!(r.certificate_trusted, Some(Ok(())));

    let foreign = sign::sign(
        &fixture("plain.xml"),
        "data",
        &signer("untrusted"),
        Placement::Auto,
    )
    .unwrap();
    let r = &verify_document(&foreign, &opts).unwrap()[0];
    assert!(r.signature_value_ok);
    assert!(
        matches!(r.causes[0], Cause::CertificateUntrusted { .. }),
        "{:?}",
        r.causes
    );

    let old = sign::sign(
        &fixture("plain.xml"),
        "data",
        &signer("expired"),
        Placement::Auto,
    )
    .unwrap();
    let r = &verify_document(&old, &opts).unwrap()[0];
    assert!(
        matches!(r.causes[0], Cause::CertificateExpired { .. }),
        "{:?}",
        r.causes
    );
    // Without a trust store, expiry is only a warning: archived messages remain checkable.
    let r = &verify(&old)[0];
    assert!(r.valid);
    assert!(r.warnings.iter().any(|w| w.contains("expired")));
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI")
}

fn oracle(file: &Path, n: usize, part: &str) -> Vec<u8> {
    let out = Command::new("/usr/bin/python3")
        .arg(root().join("tests/oracle/signedinfo.py"))
        .arg(file)
        .arg(n.to_string())
        .arg(part)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Our signatures verify with the openssl CLI over SignedInfo canonicalized by lxml, and our
/// digests equal `openssl dgst` over our transformed bytes.
#[test]
fn independent_check_with_openssl_cli() {
    let dir = tempfile::tempdir().unwrap();
    for (key, md) in [("ov", "-md_gost12_256"), ("ov512", "-md_gost12_512")] {
        let s = signer(key);
        let prepared = sign::prepare(
            &fixture("send-request.xml"),
            "SIGNED_BY_CONSUMER",
            s.algorithm(),
            Placement::Auto,
        )
        .unwrap();
        let signed = prepared
            .assemble(&s.sign(&prepared.signed_info).unwrap(), s.certificate())
            .unwrap();
        let doc = dir.path().join(format!("{key}.xml"));
        std::fs::write(&doc, &signed).unwrap();
        let si = dir.path().join("si.bin");
        let sig = dir.path().join("sig.bin");
        let cert = dir.path().join("cert.pem");
        let pubkey = dir.path().join("pub.pem");
        std::fs::write(&si, oracle(&doc, 0, "signed-info")).unwrap();
        assert_eq!(
            std::fs::read(&si).unwrap(),
            prepared.signed_info,
            "lxml and we canonicalize SignedInfo alike"
        );
        std::fs::write(&sig, oracle(&doc, 0, "signature-value")).unwrap();
        std::fs::write(&cert, oracle(&doc, 0, "certificate")).unwrap();
        let out = openssl(&[
            "x509",
            "-engine",
            "gost",
            "-in",
            cert.to_str().unwrap(),
            "-pubkey",
            "-noout",
            "-out",
            pubkey.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = openssl(&[
            "dgst",
            "-engine",
            "gost",
            md,
            "-verify",
            pubkey.to_str().unwrap(),
            "-signature",
            sig.to_str().unwrap(),
            si.to_str().unwrap(),
        ]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
            "openssl: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The digest over the transformed bytes, by openssl.
        let transformed = dir.path().join("t.bin");
        let out = cli(&[
            "xml",
            "transform",
            doc.to_str().unwrap(),
            "--id",
            "SIGNED_BY_CONSUMER",
        ]);
        assert!(out.status.success());
        assert_eq!(out.stdout, prepared.digested);
        std::fs::write(&transformed, &out.stdout).unwrap();
        let out = openssl(&[
            "dgst",
            "-engine",
            "gost",
            md,
            "-binary",
            transformed.to_str().unwrap(),
        ]);
        assert_eq!(
            out.stdout, prepared.digest,
            "openssl dgst agrees with DigestValue"
        );
    }
}

const VERIFYING: &[&str] = &[
    "ebbs-2014/AckRequest.xml",
    "ebbs-2014/GetRequestRequestWithFilter.xml",
    "ebbs-2014/GetRequestRequestWithoutFilter.xml",
    "ebbs-2014/GetResponseRequestWithFilter.xml",
    "ebbs-2014/GetResponseRequestWithoutFilter.xml",
    "ebbs-2014/SendRequestRequestAttachFTP.xml",
    "ebbs-2014/SendRequestRequestAttachMTOM.xml",
    "ebbs-2014/SendRequestRequestNoAttach.xml",
    "ebbs-2014/SendRequestRequestPersonalSignature.xml",
    "ebbs-2014/SendResponseRequestNoAttach.xml",
    "derived-compact-signedinfo/ebbs-2014--GetRequestResponsePersonalSignature.xml",
    "derived-compact-signedinfo/ebbs-2014--SendRequestResponseAsync.xml",
    "derived-compact-signedinfo/ebbs-2014--SendRequestResponseOK.xml",
    "derived-compact-signedinfo/ebbs-2014--SendResponseResponseOK.xml",
    "derived-compact-signedinfo/mr-breach-request--SendRequestRequest.mr-example.pretty.xml",
    "derived-compact-signedinfo/smev3sharp-2021--GetResponseResponce_InvalidContent.xml",
    "derived-compact-signedinfo/smev3sharp-2021--SendRequestResponce.xml",
];

const PRETTY_PRINTED: &[&str] = &[
    "ebbs-2014/SendRequestResponseOK.xml",
    "ebbs-2014/SendRequestResponseAsync.xml",
    "ebbs-2014/SendResponseResponseOK.xml",
    "ebbs-2014/GetRequestResponsePersonalSignature.xml",
    "smev3sharp-2021/SendRequestResponce.xml",
    "smev3sharp-2021/GetResponseResponce_InvalidContent.xml",
    "mr-breach-request/SendRequestRequest.mr-example.pretty.xml",
];

#[test]
fn official_samples_verify() {
    let Some(dir) = shared_signed() else { return };
    let mut signatures = 0;
    for f in VERIFYING {
        let out = cli(&["verify", dir.join(f).to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{f}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let reports = verify(&std::fs::read(dir.join(f)).unwrap());
        assert!(reports.iter().all(|r| r.valid && r.signature_value_ok));
        signatures += reports.len();
    }
    assert!(signatures >= 20, "{signatures}");
}

#[test]
fn official_samples_fail_after_a_one_character_edit() {
    let Some(dir) = shared_signed() else { return };
    for f in VERIFYING {
        let src = String::from_utf8(std::fs::read(dir.join(f)).unwrap()).unwrap();
        let doc = smev_gateway::xml::Document::parse_str(&src).unwrap();
        // Edit one character of the text of the first signed element's first non-blank text.
        let report = &verify(src.as_bytes())[0];
        let id = report.referenced_ids()[0].to_string();
        let target = doc.find_by_id(&id).unwrap();
        let text_owner = doc
            .descendants(target)
            .into_iter()
            .find(|n| doc.children(*n).iter().any(|c| matches!(&doc.node(*c).kind, smev_gateway::xml::tree::NodeKind::Text(t) if !t.trim().is_empty())))
            .unwrap_or(target);
        let span = doc.element(text_owner).unwrap();
        let content = &src[span.content_start..span.content_end];
        let offset = content.find(|c: char| c.is_ascii_alphanumeric()).unwrap();
        let at = span.content_start + offset;
        let old = src.as_bytes()[at];
        let new = if old == b'1' { '2' } else { '1' };
        let edited = format!("{}{}{}", &src[..at], new, &src[at + 1..]);
        let reports = verify(edited.as_bytes());
        let r = reports
            .iter()
            .find(|r| r.referenced_ids().contains(&id.as_str()))
            .unwrap();
        assert!(!r.valid, "{f}: an edit of #{id} must break its signature");
        assert!(
            r.causes
                .iter()
                .any(|c| matches!(c, Cause::ContentChanged { .. })),
            "{f}: {:?}",
            r.causes
        );
    }
}

#[test]
fn pretty_printed_samples_name_the_cause() {
    let Some(dir) = shared_signed() else { return };
    for f in PRETTY_PRINTED {
        let out = cli(&["verify", dir.join(f).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{f}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("whitespace inserted into SignedInfo after signing"),
            "{f}: {text}"
        );
        let reports = verify(&std::fs::read(dir.join(f)).unwrap());
        for r in reports {
            assert!(
                r.references.iter().all(|x| x.digest_ok),
                "{f}: digests must match"
            );
            assert_eq!(r.causes, vec![Cause::SignedInfoWhitespace], "{f}");
        }
    }
}

#[test]
fn content_replaced_after_signing_is_rejected() {
    let Some(dir) = shared_signed() else { return };
    let f = dir.join("smev3sharp-2021/GetResponseResponse_ValidResponse.xml");
    let out = cli(&["verify", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("content changed after signing"));
}

fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "exactly one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"));
    err
}

#[test]
fn bad_input_gives_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let key = certs("ov.key.pem");
    let cert = certs("ov.cert.pem");
    let (key, cert) = (key.to_str().unwrap(), cert.to_str().unwrap());

    let malformed = write("bad.xml", b"<a><b></a>");
    assert!(one_error_line(&cli(&[
        "sign", &malformed, "--id", "x", "--key", key, "--cert", cert
    ]))
    .contains("malformed XML"));
    assert!(one_error_line(&cli(&["verify", &malformed])).contains("malformed XML"));
    assert!(one_error_line(&cli(&["xml", "c14n", &malformed])).contains("line 1"));

    let plain = root().join("tests/fixtures/dsig/plain.xml");
    let plain = plain.to_str().unwrap();
    assert!(one_error_line(&cli(&[
        "sign", plain, "--id", "nope", "--key", key, "--cert", cert
    ]))
    .contains("no element with Id=\"nope\""));

    let doctype = write(
        "dtd.xml",
        b"<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
    );
    assert!(one_error_line(&cli(&["xml", "c14n", &doctype])).contains("DOCTYPE"));

    let p12 = certs("ov.p12");
    assert!(one_error_line(&cli(&[
        "sign",
        plain,
        "--id",
        "data",
        "--key",
        p12.to_str().unwrap(),
        "--pass",
        "wrong"
    ]))
    .contains("wrong password"));
    let out = cli(&[
        "sign",
        plain,
        "--id",
        "data",
        "--key",
        p12.to_str().unwrap(),
        "--pass",
        "test-only-password",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rsa = one_error_line(&cli(&[
        "sign",
        plain,
        "--id",
        "data",
        "--key",
        certs("rsa.key.pem").to_str().unwrap(),
        "--cert",
        certs("rsa.cert.pem").to_str().unwrap(),
    ]));
    assert!(rsa.contains("not a GOST R 34.10-2012 key"), "{rsa}");
    let mismatch = one_error_line(&cli(&[
        "sign",
        plain,
        "--id",
        "data",
        "--key",
        key,
        "--cert",
        certs("sp.cert.pem").to_str().unwrap(),
    ]));
    assert!(mismatch.contains("does not match"), "{mismatch}");

    // An unknown algorithm URI in a signed document: verify fails and names it.
    let signed = sign::sign(
        &fixture("plain.xml"),
        "data",
        &signer("ov"),
        Placement::Auto,
    )
    .unwrap();
    let unknown = String::from_utf8(signed).unwrap().replace(
        "gostr34102012-gostr34112012-256",
        "gostr34102012-gostr34112012-999",
    );
    let f = write("unknown.xml", unknown.as_bytes());
    let out = cli(&["verify", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unsupported algorithm urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-999"));
}
