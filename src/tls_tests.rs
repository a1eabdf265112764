//! The webhook client's TLS against a real TLS server on loopback (OpenSSL's acceptor with a
//! certificate made by the `openssl` command line for 127.0.0.1): a trusted server gets the
//! request, an untrusted one is refused before anything is sent, and plain HTTP still works.

use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};

use super::*;

/// A self-signed certificate for 127.0.0.1 and its key, in `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let args = [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ];
    let made = Command::new("openssl")
        .args(args)
        .args([std::ffi::OsStr::new("-keyout"), key.as_os_str()])
        .args([std::ffi::OsStr::new("-out"), cert.as_os_str()])
        .status()
        .unwrap();
    assert!(made.success(), "openssl req failed");
    (cert, key)
}

/// A TLS receiver that answers 204 and keeps the bodies it got; returns its port.
async fn receiver(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_certificate_chain_file(cert).unwrap();
    b.set_private_key_file(key, SslFiletype::PEM).unwrap();
    let acceptor = Arc::new(b.build());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let kept = kept.clone();
            tokio::spawn(async move {
                let Ok(tls) = TlsStream::accept(&acceptor, tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            kept.lock().unwrap().push(body.to_vec());
                            Ok::<_, hyper::Error>(
                                hyper::Response::builder()
                                    .status(204)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let served = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
                drop(served);
            });
        }
    });
    (port, got)
}

async fn post(connector: HttpsConnector, url: &str) -> Result<u16, String> {
    let client: Client<HttpsConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let req = hyper::Request::post(url)
        .body(Full::new(Bytes::from_static(b"{\"event\":\"test\"}")))
        .unwrap();
    client
        .request(req)
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn webhooks_reach_a_trusted_tls_receiver_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let (port, got) = receiver(&cert, &key).await;
    let url = format!("https://127.0.0.1:{port}/hook");
    let timeout = std::time::Duration::from_secs(5);
    let trusted = HttpsConnector::new(timeout, Some(&cert)).unwrap();
    assert_eq!(post(trusted, &url).await, Ok(204));
    assert_eq!(
        got.lock().unwrap().as_slice(),
        [b"{\"event\":\"test\"}".to_vec()]
    );
    // Without the receiver's CA the chain does not verify: nothing is sent.
    let untrusted = HttpsConnector::new(timeout, None).unwrap();
    let err = post(untrusted, &url).await.unwrap_err();
    assert!(err.contains("certificate verify failed"), "{err}");
    assert_eq!(got.lock().unwrap().len(), 1);
    // A certificate for another name is refused too.
    let wrong_name = format!("https://localhost:{port}/hook");
    let err = post(
        HttpsConnector::new(timeout, Some(&cert)).unwrap(),
        &wrong_name,
    )
    .await
    .unwrap_err();
    assert!(err.contains("certificate verify failed"), "{err}");
}

#[test]
fn a_ca_file_that_is_not_pem_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, b"not a certificate").unwrap();
    let e = HttpsConnector::new(std::time::Duration::from_secs(1), Some(&bad))
        .err()
        .unwrap();
    assert!(e.contains("ca.pem"), "{e}");
}

#[tokio::test]
async fn the_listener_serves_https_only_when_configured_with_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let acceptor = Arc::new(acceptor(&cert, &key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/", axum::routing::post(|| async { "ok" }));
    let limits = crate::server::Limits {
        max_connections: 8,
        header_read_timeout: std::time::Duration::from_secs(2),
        request_timeout: std::time::Duration::from_secs(5),
        send_timeout: std::time::Duration::from_secs(5),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(
        listener,
        app,
        limits,
        Some(acceptor),
        async {
            drop(stopped.await);
        },
        std::time::Duration::from_secs(1),
    ));
    let timeout = std::time::Duration::from_secs(5);
    let https = format!("https://127.0.0.1:{port}/");
    assert_eq!(
        post(HttpsConnector::new(timeout, Some(&cert)).unwrap(), &https).await,
        Ok(200)
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = format!("http://127.0.0.1:{port}/");
    assert!(post(HttpsConnector::new(timeout, None).unwrap(), &plain)
        .await
        .is_err());
    stop.send(()).expect("the server is running");
    server.await.unwrap();
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, key) = certificate(other.path());
    let e = acceptor(&cert, &key).err().unwrap();
    assert!(
        e.contains("not a usable key") || e.contains("does not match"),
        "{e}"
    );
}
