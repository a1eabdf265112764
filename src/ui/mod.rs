//! The bundled web UI for agency staff (in Russian), served under `/ui/`.
//!
//! Server-rendered pages (minijinja templates compiled into the binary from
//! `src/ui/templates/`), one stylesheet and one small plain script (`src/ui/static/`), no CDN
//! and no build step. Everything the UI changes goes through [`crate::engine::intake`], the
//! same functions the JSON API calls, so the UI can do nothing the API cannot.
//!
//! Security: server-side sessions in memory ([`session`]), an `HttpOnly` + `SameSite=Strict`
//! cookie, a CSRF token in every POST form, argon2 passwords ([`auth`]), audited logins with a
//! brake on repeated failures, roles ([`access`]) and per-user information systems, and a
//! strict Content-Security-Policy (no inline scripts or styles).

// Handlers return `Result<_, Response>` so that a refusal is the finished Russian page; the
// response is built once per request, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod auth;
pub mod forms;
pub mod login_guard;
pub mod messages;
pub mod render;
pub mod session;
pub mod xmltable;

mod admin;
mod admin_view;
mod advice;
mod cases;
mod choice;
mod deadlines;
mod executors;
mod history_line;
mod incoming;
mod incoming_view;
mod layout;
mod login;
mod password;
mod posted;
mod requests;
mod schema_form;
mod signer_binding;
mod value_text;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::FixedOffset;
use serde::Serialize;

use crate::config::Role;
use crate::engine::Context;

use access::Action;
use login_guard::LoginGuard;
use session::{Session, Sessions};
use xmltable::Legend;

/// Shared state of the UI.
pub struct Ui {
    pub ctx: Arc<Context>,
    pub sessions: Sessions,
    pub guard: LoginGuard,
    pub env: minijinja::Environment<'static>,
    /// Display time zone.
    pub tz: FixedOffset,
    /// Kind id → (legend of request fields, legend of answer fields) from the kind's XSD:
    /// labels (with the kind's configured overrides) and value shapes.
    pub labels: HashMap<String, (Legend, Legend)>,
    /// A valid argon2 hash verified for unknown logins, so that they take as long as known ones.
    dummy_hash: String,
    /// CryptoPro's `cadesplugin_api.js` (`ui.cadesplugin_script`), read once at start.
    plugin_script: Option<Vec<u8>>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui").finish_non_exhaustive()
    }
}

/// The state handlers get.
pub type UiState = Arc<Ui>;

/// A query string extractor whose rejection the handler sees (a malformed query is treated
/// as an empty one).
pub type Q<T> = Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>;

/// The parsed query, or the defaults when it is malformed.
pub fn query<T: Default>(q: Q<T>) -> T {
    q.map(|axum::extract::Query(x)| x).unwrap_or_default()
}

impl Ui {
    /// Builds the UI state for a context.
    pub fn new(ctx: Arc<Context>) -> Ui {
        let tz = ctx.tz;
        let mut labels = HashMap::new();
        for (id, k) in &ctx.kinds {
            if let Some(trees) = &k.fields {
                let with_overrides = |mut l: Legend| {
                    l.labels.extend(k.config.labels.clone());
                    l
                };
                labels.insert(
                    id.clone(),
                    (
                        with_overrides(Legend::from_tree(&trees.request)),
                        with_overrides(Legend::from_tree(&trees.response)),
                    ),
                );
            }
        }
        let ttl = Duration::from_secs(ctx.config.ui.session_ttl_minutes.max(1) * 60);
        let plugin_script = ctx
            .config
            .ui
            .cadesplugin_script
            .as_deref()
            .and_then(read_plugin_script);
        Ui {
            env: render::environment(tz),
            sessions: Sessions::persistent(ttl, ctx.store.clone(), &ctx.config.ui.users),
            guard: LoginGuard::new(&ctx.config.ui),
            tz,
            labels,
            dummy_hash: auth::hash_password("dummy password for timing").unwrap_or_default(),
            plugin_script,
            ctx,
        }
    }

    /// A kind's name, or its id when the kind is no longer configured.
    pub(crate) fn kind_name(&self, kind: &str) -> String {
        self.ctx
            .kinds
            .get(kind)
            .map(|k| k.config.name.clone())
            .unwrap_or_else(|| kind.to_string())
    }

    /// Renders a full page (the view `page` inside the layout) for a logged-in user, or the
    /// login page when `user` is None.
    pub fn page<T: Serialize>(
        &self,
        status: StatusCode,
        user: Option<&User>,
        name: &str,
        page: &T,
    ) -> Response {
        let full = layout::Layout {
            me: user.map(layout::Me::of),
            csrf: user.map(|u| u.s.csrf.as_str()),
            page,
        };
        let ctx = render::to_value(&full);
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!(template = name, error = %e, "UI template failed");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><html lang=\"ru\"><meta charset=\"utf-8\"><title>Ошибка</title><p>Внутренняя ошибка интерфейса: страница не может быть показана. Подробности — в журнале шлюза.</p></html>".into(),
                )
            }
        }
    }

    /// Renders a template fragment (no layout) of a view.
    pub fn fragment<T: Serialize>(&self, name: &str, view: &T) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(render::to_value(view)))
            .map_err(|e| e.to_string())
    }

    /// An error page with a Russian message.
    pub fn error(&self, user: Option<&User>, status: StatusCode, message: &str) -> Response {
        self.error_details(user, status, message, &[])
    }

    /// An error page with a message and a list of details.
    pub fn error_details(
        &self,
        user: Option<&User>,
        status: StatusCode,
        message: &str,
        details: &[String],
    ) -> Response {
        let title = match status {
            StatusCode::FORBIDDEN => "Доступ запрещён",
            StatusCode::NOT_FOUND => "Страница не найдена",
            StatusCode::CONFLICT => "Действие невозможно",
            s if s.is_server_error() => "Ошибка шлюза",
            _ => "Запрос не выполнен",
        };
        let page = ErrorPage {
            title,
            message,
            details,
            code: status.as_u16(),
        };
        self.page(status, user, "error.html", &page)
    }

    /// Checks the CSRF token of a POST form; the error is the 403 page.
    pub fn check_csrf(&self, user: &User, presented: &str) -> Result<(), Response> {
        if session::tokens_equal(&user.s.csrf, presented) {
            Ok(())
        } else {
            Err(self.error(
                Some(user),
                StatusCode::FORBIDDEN,
                "Форма отклонена: неверный или устаревший код защиты формы (CSRF). Обновите страницу и повторите действие.",
            ))
        }
    }

    /// Requires a permission; the error is the 403 page.
    pub fn require(&self, user: &User, action: Action) -> Result<(), Response> {
        if access::allows(user.s.role, action) {
            Ok(())
        } else {
            Err(self.error(Some(user), StatusCode::FORBIDDEN, access::refusal(action)))
        }
    }

    /// Whether the user sees records of `system`.
    pub fn sees(&self, user: &User, system: &str) -> bool {
        access::sees_system(&user.s.systems, system)
    }

    /// Systems the user may work with, as configured. Never empty: the store's filters read an
    /// empty list as "all systems", so a user whose systems are all unknown gets a placeholder
    /// that matches nothing.
    pub fn systems_of(&self, user: &User) -> Vec<String> {
        let v: Vec<String> = self
            .ctx
            .config
            .systems
            .iter()
            .filter(|s| self.sees(user, &s.id))
            .map(|s| s.id.clone())
            .collect();
        if v.is_empty() {
            vec!["\u{0}no system".into()]
        } else {
            v
        }
    }

    /// Verifies a password against a user's hash, or against a dummy hash for unknown users.
    fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        match hash {
            Some(h) => auth::verify_password(password, h),
            None => {
                let _ = auth::verify_password(password, &self.dummy_hash);
                false
            }
        }
    }
}

/// `error.html`: why a request was refused or failed, in Russian.
#[derive(Debug, Serialize)]
struct ErrorPage<'a> {
    title: &'static str,
    message: &'a str,
    details: &'a [String],
    /// The HTTP status.
    code: u16,
}

/// The configuration name of a role.
pub fn role_id(role: Role) -> &'static str {
    match role {
        Role::Operator => "operator",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// Security headers of every UI response.
pub fn secure_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// An HTML response, never cached.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    secure_headers(&mut r);
    r
}

/// A "303 See Other" to a UI path (after a POST).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A page that ends a request early — an error page, a refusal, a redirect. It is rendered
/// where it arises (it needs the user and the templates) and travels up with `?`, so handlers
/// return [`UiResult`] instead of ladders of early returns.
#[derive(Debug)]
pub struct UiError(Response);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<Response> for UiError {
    fn from(r: Response) -> Self {
        UiError(r)
    }
}

/// What a UI handler returns.
pub type UiResult = Result<Response, UiError>;

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct User {
    /// Session id (from the cookie).
    pub sid: String,
    pub s: Session,
}

impl User {
    /// The actor name in the audit log and the request history.
    pub fn actor(&self) -> crate::domain::Actor {
        crate::domain::Actor::User(self.s.login.clone())
    }
}

impl FromRequestParts<UiState> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ui: &UiState) -> Result<Self, Self::Rejection> {
        if let Some(sid) = session::cookie_value(&parts.headers, session::SESSION_COOKIE) {
            if let Some(s) = ui.sessions.get(&sid) {
                return Ok(User { sid, s });
            }
        }
        let path = parts.uri.path();
        if path == "/ui/status" || path.ends_with("/panel") {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"Сеанс завершён: войдите снова."}"#,
            )
                .into_response();
            secure_headers(&mut r);
            return Err(r);
        }
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/ui/");
        let target = if parts.method == axum::http::Method::GET {
            format!("/ui/login?next={}", render::url_encode(next))
        } else {
            "/ui/login?expired=1".to_string()
        };
        Err(see_other(&target))
    }
}

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

fn etag_of(body: &str) -> String {
    let d = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), body.as_bytes())
        .map(|d| hex::encode(&d[..8]))
        .unwrap_or_default();
    format!("\"{d}\"")
}

/// Reads CryptoPro's plug-in script; a missing or oversized file is logged and the ЭП-СП page
/// then offers upload only.
fn read_plugin_script(p: &std::path::Path) -> Option<Vec<u8>> {
    // CryptoPro's script is about 100 KB; anything much larger is not it.
    const MAX: u64 = 4 * 1024 * 1024;
    let read = std::fs::metadata(p).and_then(|m| {
        if m.len() > MAX {
            Err(std::io::Error::other("larger than 4 MiB"))
        } else {
            std::fs::read(p)
        }
    });
    match read {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!(path = %p.display(), error = %e, "ui.cadesplugin_script not served; the ЭП-СП page offers upload only");
            None
        }
    }
}

/// `GET /ui/static/cadesplugin_api.js`: CryptoPro's plug-in script, when configured.
async fn plugin_script(axum::extract::State(ui): axum::extract::State<UiState>) -> Response {
    match &ui.plugin_script {
        Some(body) => {
            let mut r = (
                [
                    (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                body.clone(),
            )
                .into_response();
            secure_headers(&mut r);
            r
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn static_file(
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let (body, ctype) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let etag = etag_of(body);
    let cache = "public, max-age=3600, must-revalidate";
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache.into())],
        )
            .into_response();
    }
    let mut r = (
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CACHE_CONTROL, cache.to_string()),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response();
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn to_ui() -> Response {
    see_other("/ui/")
}

async fn home(user: User) -> Response {
    let _ = user;
    see_other("/ui/cases")
}

async fn not_found(
    axum::extract::State(ui): axum::extract::State<UiState>,
    parts: Parts,
) -> Response {
    let user = session::cookie_value(&parts.headers, session::SESSION_COOKIE)
        .and_then(|sid| ui.sessions.get(&sid).map(|s| User { sid, s }));
    ui.error(
        user.as_ref(),
        StatusCode::NOT_FOUND,
        "Такой страницы нет. Проверьте адрес или перейдите к списку заявок.",
    )
}

/// The UI routes on a state (used by [`router`] and the tests).
pub fn routes(ui: UiState) -> Router {
    let limit = ui.ctx.config.api.max_body_bytes;
    Router::new()
        .route("/", get(to_ui))
        .route("/ui", get(to_ui))
        .route("/ui/", get(home))
        .route("/ui/static/cadesplugin_api.js", get(plugin_script))
        .route("/ui/static/{name}", get(static_file))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/password", get(password::form).post(password::change))
        .route("/ui/cases", get(cases::list))
        .route("/ui/cases/{system}/{reference}", get(cases::card))
        .route(
            "/ui/cases/{system}/{reference}/assign",
            post(executors::assign),
        )
        .route("/ui/requests", get(requests::list))
        .route(
            "/ui/requests/new",
            get(requests::new_form).post(requests::prepare),
        )
        .route("/ui/requests/send", post(requests::send))
        .route("/ui/status", get(requests::status))
        .route("/ui/requests/{id}", get(requests::card))
        .route("/ui/requests/{id}/panel", get(requests::panel))
        .route("/ui/requests/{id}/print", get(requests::print))
        .route(
            "/ui/requests/{id}/sign",
            get(requests::sign_form).post(requests::sign_submit),
        )
        .route(
            "/ui/requests/{id}/signed-info.bin",
            get(requests::signed_info),
        )
        .route(
            "/ui/requests/{id}/business.xml",
            get(requests::business_xml),
        )
        .route("/ui/requests/{id}/answer.xml", get(requests::answer_xml))
        .route("/ui/requests/{id}/retry", post(requests::retry))
        .route("/ui/requests/{id}/cancel", post(requests::cancel))
        .route(
            "/ui/requests/{id}/attachments/{n}",
            get(requests::attachment),
        )
        .route("/ui/requests/{id}/files/{n}", get(requests::request_file))
        .route("/ui/incoming", get(incoming::list))
        .route("/ui/incoming/{id}", get(incoming::card))
        .route("/ui/incoming/{id}/respond", post(incoming::respond))
        .route("/ui/incoming/{id}/reject", post(incoming::reject))
        .route("/ui/incoming/{id}/assign", post(executors::assign_incoming))
        .route(
            "/ui/incoming/{id}/attachments/{n}",
            get(incoming::attachment),
        )
        .route("/ui/monitoring", get(admin::monitoring))
        .route("/ui/dead-letters", get(admin::dead_letters))
        .route("/ui/dead-letters/{id}", get(admin::dead_letter))
        .route(
            "/ui/dead-letters/{id}/ack-and-close",
            post(admin::ack_and_close),
        )
        .route("/ui/dead-letters/{id}/reprocess", post(admin::reprocess))
        .route("/ui/settings", get(admin::settings))
        .route("/ui/{*rest}", get(not_found).post(not_found))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(ui)
}

/// The UI router (mounted at `/ui`), or `None` when the UI is disabled.
pub fn router(ctx: Arc<Context>) -> Option<Router> {
    if !ctx.config.ui.enabled {
        return None;
    }
    if ctx.config.ui.users.is_empty() {
        tracing::warn!("the UI is enabled but no ui.users are configured: nobody can log in");
    }
    Some(routes(Arc::new(Ui::new(ctx))))
}
