//! The ЭП-СП step, and static files.

use super::flows::multipart;
use super::*;

#[tokio::test]
async fn personal_signature_step() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let (sign_path, _) = super::signing_forms::awaiting_signature(&env, &sid, &csrf).await;
    assert!(sign_path.ends_with("/sign"));
    let id = sign_path
        .trim_start_matches("/ui/requests/")
        .trim_end_matches("/sign")
        .to_string();
    let page = send(&env, Method::GET, &sign_path, &sid, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(super::super::requests::SIGN_COMMAND));
    let info = send(
        &env,
        Method::GET,
        &format!("/ui/requests/{id}/signed-info.bin"),
        &sid,
        None,
    )
    .await;
    assert_eq!(info.status, StatusCode::OK);
    assert!(info.body.starts_with("<ds:SignedInfo"), "{}", info.body);
    assert!(info
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("signed-info.bin"));

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cert = std::fs::read(root.join("certs-example/sp.cert.pem")).unwrap();
    // A bad signature is refused with a clear message; the request keeps waiting.
    let bad = [7u8; 64];
    let r = send(
        &env,
        Method::POST,
        &sign_path,
        &sid,
        multipart(&[
            ("csrf", None, csrf.as_bytes()),
            ("signature", Some("signature.bin"), &bad),
            ("certificate", Some("sp.cert.pem"), &cert),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Подпись ЭП-СП не принята"), "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    // Without the CSRF token: 403.
    let r = send(
        &env,
        Method::POST,
        &sign_path,
        &sid,
        multipart(&[("signature", Some("s.bin"), &bad)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The official's real signature (base64 pasted) is accepted and the request queued.
    let signer = crate::engine::load_signer(&crate::config::KeyConfig {
        key: root.join("certs-example/sp.key.pem"),
        cert: Some(root.join("certs-example/sp.cert.pem")),
        password: None,
        password_env: None,
    })
    .unwrap();
    let sig = signer.sign(info.body.as_bytes()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
    let r = send(
        &env,
        Method::POST,
        &sign_path,
        &sid,
        multipart(&[
            ("csrf", None, csrf.as_bytes()),
            ("signature", Some(""), b""),
            ("signature_text", None, b64.as_bytes()),
            ("certificate", Some("sp.cert.pem"), &cert),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().ends_with("?done=signed"));
    let rec = env.ctx.store.get_request(&id).unwrap();
    assert_eq!(rec.state, crate::domain::RequestState::Queued);
    let card = send(&env, Method::GET, r.location(), &sid, None).await;
    assert!(card.body.contains("Подпись ЭП-СП проверена и принята"));
    assert!(card.body.contains("действителен"));
}

#[tokio::test]
async fn static_files_are_cached() {
    let env = start().await;
    let r = send(&env, Method::GET, "/ui/static/app.css", "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::builder()
        .uri(format!("{}/ui/static/app.js", env.base))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let js = client.request(req).await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    let js_etag = js.headers()["etag"].to_str().unwrap().to_string();
    let req = Request::builder()
        .uri(format!("{}/ui/static/app.js", env.base))
        .header("if-none-match", &js_etag)
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        client.request(req).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    assert_ne!(etag, js_etag);
    let r = send(&env, Method::GET, "/ui/static/nope.js", "", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
