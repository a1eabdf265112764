//! HTTP-level tests of the UI on a real context (example keys and schemas, a temporary store,
//! no engine running and so no SMEV): login with CSRF and audit, roles, CSRF refusals,
//! escaping, the create → preview → send flow, the ЭП-СП step, static files.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{Config, Role, UiUser};
use crate::dsig::Signer;
use crate::engine::Context;

use super::{auth, routes, Ui};

const PASSWORD: &str = "пароль-для-теста";

struct Env {
    base: String,
    ctx: Arc<Context>,
    _dir: tempfile::TempDir,
}

fn hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password(PASSWORD).unwrap())
        .clone()
}

async fn start() -> Env {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/default.toml")).unwrap();
    let mut cfg = Config::from_toml(&text, &root.join("config")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    cfg.storage.path = dir.path().join("db");
    cfg.retention.archive_dir = dir.path().join("archive");
    cfg.ui.users = [
        ("operator", Role::Operator),
        ("supervisor", Role::Supervisor),
        ("admin", Role::Admin),
    ]
    .into_iter()
    .map(|(login, role)| UiUser {
        login: login.into(),
        name: format!("Тест {login} <b>"),
        password_hash: hash(),
        role,
        systems: vec![],
    })
    .chain(std::iter::once(UiUser {
        login: "outsider".into(),
        name: "Чужая система".into(),
        password_hash: hash(),
        role: Role::Admin,
        systems: vec!["is-other".into()],
    }))
    .collect();
    let ctx = Context::build(cfg).unwrap();
    let app = routes(Arc::new(Ui::new(ctx.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("the test server runs");
    });
    Env {
        base: format!("http://{addr}"),
        ctx,
        _dir: dir,
    }
}

struct Resp {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: String,
}

impl Resp {
    fn location(&self) -> &str {
        self.headers
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The value of a hidden input named `name`.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect(name) + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }
}

async fn send(
    env: &Env,
    method: Method,
    path: &str,
    cookie: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut b = Request::builder()
        .method(method)
        .uri(format!("{}{path}", env.base));
    if !cookie.is_empty() {
        b = b.header(hyper::header::COOKIE, cookie);
    }
    let req = match body {
        Some((ctype, bytes)) => b
            .header(hyper::header::CONTENT_TYPE, ctype)
            .body(Full::new(Bytes::from(bytes))),
        None => b.body(Full::new(Bytes::new())),
    }
    .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        // minijinja escapes "/" as "&#x2f;"; browsers read both the same.
        body: String::from_utf8_lossy(&body).replace("&#x2f;", "/"),
    }
}

fn form(pairs: &[(&str, &str)]) -> Option<(&'static str, Vec<u8>)> {
    let body = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                super::render::url_encode(k),
                super::render::url_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Some(("application/x-www-form-urlencoded", body.into_bytes()))
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_string()
}

/// Logs in; returns the session cookie pair and the CSRF token.
async fn login(env: &Env, user: &str) -> (String, String) {
    let page = send(env, Method::GET, "/ui/login", "", None).await;
    let login_cookie = cookie_pair(&page.cookie("smev_ui_login").unwrap());
    let token = page.hidden("token");
    let r = send(
        env,
        Method::POST,
        "/ui/login",
        &login_cookie,
        form(&[
            ("login", user),
            ("password", PASSWORD),
            ("token", &token),
            ("next", "/ui/cases"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/ui/cases");
    let sid = cookie_pair(&r.cookie("smev_ui_session").unwrap());
    let page = send(env, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.hidden("csrf");
    (sid, csrf)
}

#[tokio::test]
async fn login_logout_audit_and_redirects() {
    let env = start().await;
    // Root and /ui lead to the UI; pages need a session.
    let r = send(&env, Method::GET, "/", "", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ui/");
    let r = send(&env, Method::GET, "/ui/cases?q=1", "", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/ui/login?next=%2Fui%2Fcases%3Fq%3D1");
    let r = send(&env, Method::GET, "/ui/status?ids=x", "", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The login page: Russian, its own double-submit cookie.
    let page = send(&env, Method::GET, "/ui/login", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"ru\">"));
    assert!(page.body.contains("Вход в шлюз СМЭВ"));
    let c = page.cookie("smev_ui_login").unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
    assert!(page
        .headers
        .get("content-security-policy")
        .is_some_and(|v| v.to_str().unwrap().contains("script-src 'self'")));
    let login_cookie = cookie_pair(&c);
    let token = page.hidden("token");

    // A forged form (no matching token) is refused.
    let r = send(
        &env,
        Method::POST,
        "/ui/login",
        "",
        form(&[
            ("login", "operator"),
            ("password", PASSWORD),
            ("token", &token),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Форма входа устарела"));

    // A wrong password: 401, Russian, audited.
    let r = send(
        &env,
        Method::POST,
        "/ui/login",
        &login_cookie,
        form(&[
            ("login", "operator"),
            ("password", "nope"),
            ("token", &token),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Неверный логин или пароль."));
    assert!(r.cookie("smev_ui_session").is_none());
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "login_failed" && a.actor == "user:operator"));

    // Success: session cookie, audited; the user's name is escaped on the page.
    let (sid, csrf) = login(&env, "operator").await;
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit.iter().any(|a| a.action == "login"));
    let page = send(&env, Method::GET, "/ui/cases", &sid, None).await;
    assert!(page.body.contains("Тест operator &lt;b&gt;"));
    assert!(page.body.contains("оператор"));
    assert!(
        !page.body.contains("/ui/dead-letters\""),
        "operators get no admin link"
    );

    // Logout needs the CSRF token.
    let r = send(
        &env,
        Method::POST,
        "/ui/logout",
        &sid,
        form(&[("csrf", "bad")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("CSRF"));
    let r = send(
        &env,
        Method::POST,
        "/ui/logout",
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.cookie("smev_ui_session").unwrap().contains("Max-Age=0"));
    let r = send(&env, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let audit = env.ctx.store.audit_of("operator").unwrap();
    assert!(audit.iter().any(|a| a.action == "logout"));
}

#[tokio::test]
async fn roles_guard_pages() {
    let env = start().await;
    let (op, _) = login(&env, "operator").await;
    for path in ["/ui/dead-letters", "/ui/settings"] {
        let r = send(&env, Method::GET, path, &op, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(r
            .body
            .contains("Эта страница доступна только администратору."));
    }
    let r = send(&env, Method::GET, "/ui/monitoring", &op, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("руководителю"));

    let (sup, _) = login(&env, "supervisor").await;
    let r = send(&env, Method::GET, "/ui/monitoring", &sup, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Запросы по статусам"));
    let r = send(&env, Method::GET, "/ui/dead-letters", &sup, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let (admin, _) = login(&env, "admin").await;
    for path in [
        "/ui/dead-letters",
        "/ui/settings",
        "/ui/monitoring",
        "/ui/incoming",
    ] {
        let r = send(&env, Method::GET, path, &admin, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let settings = send(&env, Method::GET, "/ui/settings", &admin, None).await;
    assert!(
        !settings.body.contains("$argon2"),
        "no password hashes shown"
    );
    assert!(settings
        .body
        .contains("Сведения о наличии (отсутствии) задолженности"));

    let r = send(&env, Method::GET, "/ui/no-such-page", &admin, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Такой страницы нет"));
}

#[tokio::test]
async fn create_preview_send_and_escape() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let page = send(
        &env,
        Method::GET,
        "/ui/requests/new?kind=fns-tax-debt",
        &sid,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Подготовить запрос к отправке"));
    assert!(page.body.contains("for=\"f_inn\""));
    let client_id = page.hidden("client_id");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("system", "is-main"),
        ("kind", "fns-tax-debt"),
        ("client_id", client_id.as_str()),
        ("case_reference", "2026/77"),
        ("case_applicant", "<script>alert(1)</script> ООО «Ромашка»"),
        ("f_request_id", "REQ-1"),
        ("f_inn", "77070838"),
        ("f_on_date", "26.11.2026"),
    ];
    // Server-side validation, in Russian, with the values kept.
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .body
        .contains("Поле «ИНН организации» должно состоять из 10 цифр."));
    assert!(r.body.contains("value=\"77070838\""));
    assert!(!r.body.contains("<script>alert(1)"));
    fields[7] = ("f_inn", "7707083893");
    // Without the CSRF token: 403.
    let no_csrf: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| *k != "csrf")
        .collect();
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&no_csrf)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Preview: the XML is valid and shown, escaped.
    let r = send(&env, Method::POST, "/ui/requests/new", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Сохранить и отправить запрос"));
    assert!(
        r.body.contains("&lt;td:INN&gt;7707083893&lt;/td:INN&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>alert(1)"));
    // Send.
    let r = send(&env, Method::POST, "/ui/requests/send", &sid, form(&fields)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let card_path = r.location().to_string();
    assert!(card_path.ends_with("?done=created"), "{card_path}");
    // A double submit returns the same request (idempotent client id).
    let again = send(&env, Method::POST, "/ui/requests/send", &sid, form(&fields)).await;
    assert_eq!(again.location(), card_path);
    let card = send(&env, Method::GET, &card_path, &sid, None).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(card.body.contains("В очереди на отправку"));
    assert!(card.body.contains("ИНН организации"));
    assert!(card.body.contains("2026/77"));
    assert!(!card.body.contains("<script>alert(1)"));
    assert!(card.body.contains("&lt;script&gt;alert(1)"));
    let id = card_path
        .trim_start_matches("/ui/requests/")
        .trim_end_matches("?done=created")
        .to_string();
    // The case list and the case card (number with a slash).
    let cases = send(&env, Method::GET, "/ui/cases?q=2026%2F77", &sid, None).await;
    assert!(cases.body.contains("/ui/cases/is-main/2026%2F77"));
    let case = send(&env, Method::GET, "/ui/cases/is-main/2026%2F77", &sid, None).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.body.contains("Межведомственные запросы"));
    assert!(case.body.contains(&format!("data-request-id=\"{id}\"")));
    // The live status endpoint and panel.
    let st = send(
        &env,
        Method::GET,
        &format!("/ui/status?ids={id},unknown"),
        &sid,
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&st.body).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["status"], "queued");
    assert_eq!(v["items"][0]["label"], "В очереди на отправку");
    let panel = send(
        &env,
        Method::GET,
        &format!("/ui/requests/{id}/panel"),
        &sid,
        None,
    )
    .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(!panel.body.contains("<html"));
    // An operator may not retry (a supervisor's decision).
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/retry"),
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("только руководитель"));
    // A supervisor's retry is refused for a queued request, in Russian.
    let (sup, sup_csrf) = login(&env, "supervisor").await;
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/retry"),
        &sup,
        form(&[("csrf", &sup_csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Повторить отправку можно только"));
    // Cancel works.
    let r = send(
        &env,
        Method::POST,
        &format!("/ui/requests/{id}/cancel"),
        &sid,
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let card = send(&env, Method::GET, r.location(), &sid, None).await;
    assert!(card.body.contains("Отменён"));
    let history = env.ctx.store.get_request(&id).unwrap().history;
    assert!(history.iter().any(|t| t.actor == "user:operator"));

    // A user of another information system sees none of it.
    let (other, _) = login(&env, "outsider").await;
    let list = send(&env, Method::GET, "/ui/requests", &other, None).await;
    assert!(list.body.contains("Запросов нет."), "{}", list.body);
    let cases = send(&env, Method::GET, "/ui/cases", &other, None).await;
    assert!(cases.body.contains("Заявок не найдено."));
    let card = send(
        &env,
        Method::GET,
        &format!("/ui/requests/{id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(card.status, StatusCode::NOT_FOUND);
    let case = send(
        &env,
        Method::GET,
        "/ui/cases/is-main/2026%2F77",
        &other,
        None,
    )
    .await;
    assert_eq!(case.status, StatusCode::NOT_FOUND);
    let st = send(
        &env,
        Method::GET,
        &format!("/ui/status?ids={id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(st.body, r#"{"items":[]}"#);
    let new = send(&env, Method::GET, "/ui/requests/new", &other, None).await;
    assert_eq!(new.status, StatusCode::FORBIDDEN);
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Option<(&'static str, Vec<u8>)> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(b"--XBOUNDARYX\r\n");
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARYX--\r\n");
    Some(("multipart/form-data; boundary=XBOUNDARYX", body))
}

#[tokio::test]
async fn personal_signature_step() {
    let env = start().await;
    let (sid, csrf) = login(&env, "operator").await;
    let page = send(
        &env,
        Method::GET,
        "/ui/requests/new?kind=zags-marriage",
        &sid,
        None,
    )
    .await;
    let client_id = page.hidden("client_id");
    let r = send(
        &env,
        Method::POST,
        "/ui/requests/new",
        &sid,
        form(&[
            ("csrf", &csrf),
            ("system", "is-main"),
            ("kind", "zags-marriage"),
            ("client_id", &client_id),
            ("case_reference", "Z-1"),
            ("f_last_name", "Иванов"),
            ("f_first_name", "Иван"),
            ("f_birth_date", "1990-05-01"),
            ("f_snils", "112-233-445 95"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sign_path = r.location().to_string();
    assert!(sign_path.ends_with("/sign"));
    let id = sign_path
        .trim_start_matches("/ui/requests/")
        .trim_end_matches("/sign")
        .to_string();
    let page = send(&env, Method::GET, &sign_path, &sid, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(super::requests::SIGN_COMMAND));
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
