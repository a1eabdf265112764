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

mod accounts;
mod deadlines;
mod executors;
mod flows;
mod schema_forms;
mod sessions;
mod signing;
mod signing_files;
mod signing_forms;

pub(super) const PASSWORD: &str = "пароль-для-теста";

pub(super) struct Env {
    base: String,
    ctx: Arc<Context>,
    _dir: tempfile::TempDir,
}

pub(super) fn hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password(PASSWORD).unwrap())
        .clone()
}

pub(super) async fn start() -> Env {
    start_with(|_| {}).await
}

/// A UI on the example configuration as `change` leaves it.
pub(super) async fn start_with(change: impl FnOnce(&mut Config)) -> Env {
    let mut cfg = Config::example();
    change(&mut cfg);
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
        // The example official's certificate (certs-example/sp.cert.pem) carries this СНИЛС.
        snils: (login == "operator").then(|| "11223344595".into()),
        certificates: vec![],
    })
    .chain(std::iter::once(UiUser {
        login: "outsider".into(),
        name: "Чужая система".into(),
        password_hash: hash(),
        role: Role::Admin,
        systems: vec!["is-other".into()],
        snils: None,
        certificates: vec![],
    }))
    .collect();
    let ctx = Context::build(cfg).unwrap();
    Env {
        base: serve(ctx.clone()).await,
        ctx,
        _dir: dir,
    }
}

/// A new UI over `ctx` on a fresh port (as after a restart); returns its base URL.
pub(super) async fn serve(ctx: Arc<Context>) -> String {
    let app = routes(Arc::new(Ui::new(ctx)));
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
    format!("http://{addr}")
}

pub(super) struct Resp {
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

pub(super) async fn send(
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

pub(super) fn form(pairs: &[(&str, &str)]) -> Option<(&'static str, Vec<u8>)> {
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

pub(super) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_string()
}

/// Posts the login form (with «Запомнить меня» when `remember`); returns the response.
pub(super) async fn post_login(env: &Env, user: &str, password: &str, remember: bool) -> Resp {
    let page = send(env, Method::GET, "/ui/login", "", None).await;
    let login_cookie = cookie_pair(&page.cookie("smev_ui_login").unwrap());
    let token = page.hidden("token");
    let mut fields = vec![
        ("login", user),
        ("password", password),
        ("token", token.as_str()),
        ("next", "/ui/cases"),
    ];
    if remember {
        fields.push(("remember", "1"));
    }
    send(env, Method::POST, "/ui/login", &login_cookie, form(&fields)).await
}

/// Logs in; returns the session cookie pair and the CSRF token.
pub(super) async fn login(env: &Env, user: &str) -> (String, String) {
    let r = post_login(env, user, PASSWORD, false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/ui/cases");
    let sid = cookie_pair(&r.cookie("smev_ui_session").unwrap());
    let page = send(env, Method::GET, "/ui/cases", &sid, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.hidden("csrf");
    (sid, csrf)
}
