//! The simulated file storage as a gateway meets it: a real FTP server on loopback driven by
//! the gateway's own client (`smev_protocol::smev::file_storage`): a participant uploads into
//! its area and the upload is checked against a header; a receiver downloads an offered file
//! with one-time credentials, resumes a broken transfer, and loses access after the Ack.

use std::sync::Arc;
use std::time::Duration;

use mock_smev::config::{FileStorageSettings, StorageFileConfig};
use mock_smev::file_storage::{FileStorage, FtpFaultSpec};
use smev_protocol::dsig::DigestAlgorithm;
use smev_protocol::smev::file_storage::{self as ftp, FileStorageError, FtpEndpoint};
use smev_protocol::smev::model::RefAttachmentHeader;
use tokio::net::TcpListener;

async fn started() -> (
    Arc<FileStorage>,
    FtpEndpoint,
    tokio::sync::watch::Sender<bool>,
) {
    let storage = Arc::new(FileStorage::new(&FileStorageSettings::default()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = FtpEndpoint {
        address: listener.local_addr().unwrap().to_string(),
        step_timeout: Duration::from_secs(10),
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(storage.clone().serve(listener, rx));
    (storage, endpoint, tx)
}

fn generated(name: &str, size: u64) -> StorageFileConfig {
    StorageFileConfig {
        name: name.into(),
        mime_type: "application/pdf".into(),
        file: None,
        generated_bytes: Some(size),
        signed: false,
    }
}

/// The simulated provider's key of `certs-example/`.
fn provider_signer() -> smev_protocol::dsig::OpenSslSigner {
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example");
    smev_protocol::dsig::OpenSslSigner::from_pem_files(
        &certs.join("provider.key.pem"),
        &certs.join("provider.cert.pem"),
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn an_upload_is_checked_against_its_header() {
    let (storage, endpoint, _stop) = started().await;
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let uuid = smev_protocol::smev::MessageId::new().to_string();
    let sent = ftp::upload(
        &endpoint,
        "GATEWAY1",
        "smev-ftp",
        &uuid,
        "Скан.pdf",
        0,
        &mut bytes.as_slice(),
    )
    .await
    .unwrap();
    assert_eq!(sent, bytes.len() as u64);
    let mut header = RefAttachmentHeader {
        uuid: uuid.clone(),
        file_name: Some("Скан.pdf".into()),
        hash: DigestAlgorithm::Streebog256.hash(&bytes).unwrap(),
        mime_type: "application/pdf".into(),
        signature_pkcs7: None,
    };
    assert_eq!(
        storage.check_upload("GATEWAY1", &header).map(|c| c.size),
        Ok(bytes.len() as u64)
    );
    // SIZE tells what is there, for a resumed upload.
    assert_eq!(
        ftp::uploaded_size(&endpoint, "GATEWAY1", "smev-ftp", &uuid, "Скан.pdf")
            .await
            .unwrap(),
        Some(bytes.len() as u64)
    );
    // A resumption past the end (REST beyond what is there) is refused, not filled with zeros.
    let beyond = ftp::upload(
        &endpoint,
        "GATEWAY1",
        "smev-ftp",
        &uuid,
        "Скан.pdf",
        bytes.len() as u64 + 1000,
        &mut &b"tail"[..],
    )
    .await;
    assert!(beyond.is_err(), "{beyond:?}");
    assert_eq!(
        storage.check_upload("GATEWAY1", &header).map(|c| c.size),
        Ok(bytes.len() as u64)
    );
    // A file signature is checked over the uploaded bytes.
    use smev_protocol::dsig::Signer as _;
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs-example");
    let signer = smev_protocol::dsig::OpenSslSigner::from_pem_files(
        &certs.join("ov.key.pem"),
        &certs.join("ov.cert.pem"),
        None,
    )
    .unwrap();
    header.signature_pkcs7 = Some(signer.pkcs7_detached(&bytes).unwrap());
    let checked = storage.check_upload("GATEWAY1", &header).unwrap();
    assert_eq!(checked.size, bytes.len() as u64);
    let ov = smev_protocol::dsig::CertificateInfo::of(signer.certificate());
    assert_eq!(
        checked.signer.as_deref(),
        Some(smev_protocol::dsig::pkcs7::signer_name(&ov).as_str())
    );
    header.signature_pkcs7 = Some(signer.pkcs7_detached(b"another file").unwrap());
    let e = storage.check_upload("GATEWAY1", &header).unwrap_err();
    assert!(e.contains("ЭП файла"), "{e}");
    header.signature_pkcs7 = None;
    // Another participant's area does not have it; a wrong hash is named.
    assert!(storage.check_upload("OTHER", &header).is_err());
    header.hash[0] ^= 1;
    let e = storage.check_upload("GATEWAY1", &header).unwrap_err();
    assert!(e.contains("Хеш файла"), "{e}");
}

#[tokio::test]
async fn an_offered_file_downloads_resumes_after_a_break_and_closes_at_the_ack() {
    let (storage, endpoint, _stop) = started().await;
    let file = storage
        .prepare(
            &StorageFileConfig {
                signed: true,
                ..generated("Выписка.pdf", 2_500_000)
            },
            std::path::Path::new("."),
            &provider_signer(),
        )
        .unwrap();
    let (headers, access) = storage
        .publish("msg-1", std::slice::from_ref(&file))
        .unwrap();
    assert_eq!(headers[0].uuid, access[0].uuid);
    storage.faults().set(&FtpFaultSpec {
        break_after_bytes: Some(1_000_000),
        breaks: 1,
        ..Default::default()
    });
    let mut got = Vec::new();
    let first = ftp::download(&endpoint, &access[0], 0, u64::MAX, &mut got).await;
    assert!(first.is_err(), "the broken transfer was taken as complete");
    assert!(
        !got.is_empty() && got.len() < 2_500_000,
        "{} bytes",
        got.len()
    );
    // Resumed at what arrived: the whole file, and the hash the header carries.
    let offset = got.len() as u64;
    ftp::download(&endpoint, &access[0], offset, u64::MAX, &mut got)
        .await
        .unwrap();
    assert_eq!(got.len() as u64, file.size);
    assert_eq!(
        DigestAlgorithm::Streebog256.hash(&got).unwrap(),
        headers[0].hash
    );
    // The provider's PKCS#7 signature in the header signs exactly the downloaded bytes.
    let signature = headers[0]
        .signature_pkcs7
        .as_deref()
        .expect("a signed file");
    smev_protocol::dsig::pkcs7::verify_detached(signature, &got).unwrap();
    let mut changed = got.clone();
    changed[0] ^= 1;
    assert!(smev_protocol::dsig::pkcs7::verify_detached(signature, &changed).is_err());
    // A limit below the size is refused, not truncated.
    let e = ftp::download(&endpoint, &access[0], 0, 1000, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, FileStorageError::TooLarge { .. }), "{e}");
    storage.close("msg-1");
    let e = ftp::download(&endpoint, &access[0], 0, u64::MAX, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, FileStorageError::LoginRefused { .. }), "{e}");
}

#[tokio::test]
async fn a_tampered_download_differs_from_the_signed_hash() {
    let (storage, endpoint, _stop) = started().await;
    let file = storage
        .prepare(
            &generated("a.bin", 10_000),
            std::path::Path::new("."),
            &provider_signer(),
        )
        .unwrap();
    let (headers, access) = storage.publish("msg-2", &[file]).unwrap();
    storage.faults().set(&FtpFaultSpec {
        tamper: 1,
        ..Default::default()
    });
    let mut got = Vec::new();
    ftp::download(&endpoint, &access[0], 0, u64::MAX, &mut got)
        .await
        .unwrap();
    assert_ne!(
        DigestAlgorithm::Streebog256.hash(&got).unwrap(),
        headers[0].hash
    );
    // The fault fired once: the next download is the real file.
    let mut again = Vec::new();
    ftp::download(&endpoint, &access[0], 0, u64::MAX, &mut again)
        .await
        .unwrap();
    assert_eq!(
        DigestAlgorithm::Streebog256.hash(&again).unwrap(),
        headers[0].hash
    );
}
