//! The forms an official's ЭП-СП arrives in, each made by the `openssl` command line (an
//! implementation independent of the gateway's): a detached CMS without signed attributes
//! (КриптоАРМ / cryptcp style `.p7s`, the certificate taken from it), a CAdES one with signed
//! attributes (refused, saying why), a bare value in CryptoPro's reversed byte order as hex (what
//! the browser plug-in's `SignHash` returns), and a certificate of somebody else.

use std::path::Path;
use std::process::Command;

use super::flows::multipart;
use super::*;

/// A new zags-marriage request awaiting ЭП-СП: its sign page path and the SignedInfo bytes.
pub(super) async fn awaiting_signature(env: &Env, sid: &str, csrf: &str) -> (String, Vec<u8>) {
    let page = send(
        env,
        Method::GET,
        "/ui/requests/new?kind=zags-marriage",
        sid,
        None,
    )
    .await;
    let client_id = page.hidden("client_id");
    let r = send(
        env,
        Method::POST,
        "/ui/requests/new",
        sid,
        form(&[
            ("csrf", csrf),
            ("system", "is-main"),
            ("kind", "zags-marriage"),
            ("client_id", &client_id),
            ("case_reference", "Z-2"),
            ("f_last_name", "Иванов"),
            ("f_first_name", "Иван"),
            ("f_birth_date", "1990-05-01"),
            ("f_snils", "112-233-445 95"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sign_path = r.location().to_string();
    let info_path = sign_path.replace("/sign", "/signed-info.bin");
    let info = send(env, Method::GET, &info_path, sid, None).await;
    assert_eq!(info.status, StatusCode::OK);
    (sign_path, info.body.into_bytes())
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `openssl cms -sign` over `data` with the example official's key.
fn cms(dir: &Path, data: &[u8], extra: &[&str], outform: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example");
    let input = dir.join("signed-info.bin");
    std::fs::write(&input, data).unwrap();
    let mut args = vec![
        "cms",
        "-sign",
        "-engine",
        "gost",
        "-binary",
        "-md",
        "md_gost12_256",
        "-outform",
        outform,
    ];
    args.extend_from_slice(extra);
    let signer = root.join("sp.cert.pem");
    let key = root.join("sp.key.pem");
    args.extend_from_slice(&["-signer", signer.to_str().unwrap()]);
    args.extend_from_slice(&[
        "-inkey",
        key.to_str().unwrap(),
        "-in",
        input.to_str().unwrap(),
    ]);
    openssl(&args)
}

/// A bare signature value with `key` over `data` (OpenSSL's byte order).
fn raw(dir: &Path, data: &[u8], key: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example");
    let input = dir.join("signed-info.bin");
    std::fs::write(&input, data).unwrap();
    let key = root.join(key);
    openssl(&[
        "dgst",
        "-engine",
        "gost",
        "-md_gost12_256",
        "-sign",
        key.to_str().unwrap(),
        input.to_str().unwrap(),
    ])
}

#[tokio::test]
async fn every_form_of_an_officials_signature_is_read_or_refused_precisely() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example");
    let sp_cert = std::fs::read(certs.join("sp.cert.pem")).unwrap();
    let ov_cert = std::fs::read(certs.join("ov.cert.pem")).unwrap();
    type Make = fn(&Path, &[u8]) -> Vec<u8>;
    // (what, signature file, certificate uploaded ("" none, "sp", "ov"), accepted, text shown)
    let cases: [(&str, Make, &str, bool, &str); 5] = [
        (
            "a DER .p7s without signed attributes, its certificate inside",
            |d, si| cms(d, si, &["-noattr"], "DER"),
            "",
            true,
            "",
        ),
        (
            "a PEM CMS without signed attributes",
            |d, si| cms(d, si, &["-noattr"], "PEM"),
            "",
            true,
            "",
        ),
        (
            "a CAdES signature with signed attributes",
            |d, si| cms(d, si, &[], "DER"),
            "",
            false,
            "CAdES с подписанными атрибутами",
        ),
        (
            "a bare value in CryptoPro's reversed byte order, as hex",
            |d, si| {
                let mut v = raw(d, si, "sp.key.pem");
                v.reverse();
                hex::encode(v).into_bytes()
            },
            "sp",
            true,
            "",
        ),
        (
            "somebody else's certificate",
            |d, si| raw(d, si, "ov.key.pem"),
            "ov",
            false,
            "сертификат выдан другому лицу",
        ),
    ];
    for (what, make, cert, accepted, text) in cases {
        let (sign_path, info) = awaiting_signature(&env, &sid, &csrf).await;
        let signature = make(dir.path(), &info);
        let cert: &[u8] = match cert {
            "ov" => &ov_cert,
            "sp" => &sp_cert,
            _ => b"",
        };
        let r = send(
            &env,
            Method::POST,
            &sign_path,
            &sid,
            multipart(&[
                ("csrf", None, csrf.as_bytes()),
                ("signature", Some("signature.p7s"), &signature),
                ("certificate", Some("cert.pem"), cert),
            ]),
        )
        .await;
        if accepted {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}: {}", r.body);
            assert!(r.location().ends_with("?done=signed"), "{what}");
        } else {
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what}: {}",
                r.body
            );
            assert!(r.body.contains(text), "{what}: {}", r.body);
        }
    }
}
