//! Login and logout: the login form (double-submit CSRF token), argon2 verification, a brake
//! on repeated failures per login and per client address, audit entries for every attempt.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::domain::{Actor, AuditEntry, Subject};

use super::login_guard::Verdict;
use super::posted::{LoginForm, PostedForm};
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE};
use super::{see_other, UiState};

/// The client's address when the server knows it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

impl ClientAddr {
    /// The address the login limits count against: IPv4 as it is, IPv6 by its /64 (one host
    /// usually owns a whole /64, so single IPv6 addresses would be free to rotate).
    fn limit_key(&self) -> String {
        match self.0.map(|a| a.ip().to_canonical()) {
            Some(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        }
    }

    fn ip(&self) -> String {
        self.0
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// Only paths inside the UI are accepted as a place to return to after login.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/ui/")
        && !next.starts_with("/ui/login")
        && !next.contains("//")
        && !next.contains('\\')
        && next.chars().all(|c| !c.is_control());
    if ok {
        next
    } else {
        "/ui/"
    }
}

/// A login name as it goes into the audit log (bounded, printable).
fn audit_login(login: &str) -> String {
    login.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn audit(ui: &UiState, login: &str, action: &str, reason: String) {
    let login = audit_login(login);
    let entry = AuditEntry {
        at: Utc::now(),
        actor: Actor::User(login.clone()),
        subject: Subject::UiUser,
        subject_id: login,
        action: action.into(),
        from: None,
        to: None,
        reason,
        xml: None,
    };
    if let Err(e) = ui.ctx.store.audit(entry) {
        tracing::error!(error = %e, "cannot write the UI audit entry");
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    logged_out: Option<String>,
}

/// `login.html`: the login form.
#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    title: &'static str,
    /// The form's double-submit token (also set as a cookie).
    token: &'a str,
    /// Where to go after logging in.
    next: &'a str,
    login: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    /// Days of «Запомнить меня» (0: no checkbox).
    remember_days: u64,
}

fn login_page(
    ui: &UiState,
    status: StatusCode,
    next: &str,
    login: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let token = match session::random_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "no random token for the login form");
            return ui.error(
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Генератор случайных чисел недоступен: вход невозможен.",
            );
        }
    };
    let page = LoginPage {
        title: "Вход",
        token: &token,
        next: safe_next(next),
        login,
        error,
        notice,
        remember_days: ui.ctx.config.ui.remember_days,
    };
    let mut r = ui.page(status, None, "login.html", &page);
    let cookie = session::set_cookie(
        LOGIN_COOKIE,
        &token,
        ui.ctx.config.ui.secure_cookie,
        std::time::Duration::from_secs(3600),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /ui/login`.
pub async fn form(
    State(ui): State<UiState>,
    headers: HeaderMap,
    q: super::Q<LoginQuery>,
) -> Response {
    let q = super::query(q);
    let next = q.next.as_deref().unwrap_or("/ui/");
    if let Some(sid) = session::cookie_value(&headers, SESSION_COOKIE) {
        if ui.sessions.get(&sid).is_some() {
            return see_other(safe_next(next));
        }
    }
    let notice = if q.expired.is_some() {
        Some("Сеанс завершён. Войдите снова.")
    } else if q.logged_out.is_some() {
        Some("Вы вышли из системы.")
    } else {
        None
    };
    login_page(&ui, StatusCode::OK, next, "", None, notice)
}

/// `POST /ui/login`.
pub async fn submit(
    State(ui): State<UiState>,
    addr: ClientAddr,
    headers: HeaderMap,
    LoginForm(f): LoginForm,
) -> Response {
    let login = f.get("login").trim().to_string();
    let password = f.get("password").to_string();
    let next = f.get("next").to_string();
    let cookie_token = session::cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !session::tokens_equal(&cookie_token, f.get("token")) {
        return login_page(
            &ui,
            StatusCode::FORBIDDEN,
            &next,
            &login,
            Some("Форма входа устарела или открыта с другой страницы. Повторите вход."),
            None,
        );
    }
    if login.is_empty() || password.is_empty() {
        return login_page(
            &ui,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            &login,
            Some("Введите логин и пароль."),
            None,
        );
    }
    let ip = addr.ip();
    let login_key = login.to_lowercase();
    match ui.guard.admit(&login_key, &addr.limit_key()) {
        Verdict::Go => {}
        Verdict::Limited(wait) => {
            ui.ctx
                .metrics
                .ui_logins
                .with_label_values(&["limited"])
                .inc();
            return too_many(&ui, &next, &login, wait, "Слишком много попыток входа.");
        }
        Verdict::Locked(wait) => {
            ui.ctx
                .metrics
                .ui_logins
                .with_label_values(&["locked"])
                .inc();
            return too_many(
                &ui,
                &next,
                &login,
                wait,
                "Вход для этого пользователя временно заблокирован после неудачных попыток.",
            );
        }
    }
    let user = ui.ctx.config.ui.user(&login).cloned();
    let hash = user.as_ref().map(|u| ui.password_hash_of(u));
    let ui2 = ui.clone();
    // argon2 shares the bounded CPU pool: a flood of logins cannot take every core.
    let ok = crate::cpu::offload(move || ui2.verify(hash.as_deref(), &password)).await;
    let Some(user) = user.filter(|_| ok) else {
        ui.ctx
            .metrics
            .ui_logins
            .with_label_values(&["failed"])
            .inc();
        audit(
            &ui,
            &login,
            "login_failed",
            format!("UI login failed from {ip} (unknown login or wrong password)"),
        );
        if ui.guard.failed(&login_key) {
            ui.ctx.metrics.ui_login_lockouts.inc();
            audit(
                &ui,
                &login,
                "login_locked",
                format!(
                    "UI login locked for {} minutes after {} consecutive failures (last from {ip})",
                    ui.ctx.config.ui.lockout_minutes, ui.ctx.config.ui.lockout_after_failures
                ),
            );
            tracing::warn!(login = %audit_login(&login), %ip, "UI login locked");
        }
        tracing::warn!(login = %audit_login(&login), %ip, "UI login failed");
        return login_page(
            &ui,
            StatusCode::UNAUTHORIZED,
            &next,
            &login,
            Some("Неверный логин или пароль."),
            None,
        );
    };
    ui.guard.succeeded(&login_key);
    ui.ctx.metrics.ui_logins.with_label_values(&["ok"]).inc();
    let remember = (f.get("remember") == "1" && ui.ctx.config.ui.remember_days > 0)
        .then(|| std::time::Duration::from_secs(ui.ctx.config.ui.remember_days * 86_400));
    let (sid, _) = match ui.sessions.create(&user, remember) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "cannot open a UI session");
            return ui.error(
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Не удалось открыть сеанс. Обратитесь к администратору.",
            );
        }
    };
    audit(&ui, &user.login, "login", format!("UI login from {ip}"));
    tracing::info!(login = %user.login, %ip, "UI login");
    let mut r = see_other(safe_next(&next));
    let secure = ui.ctx.config.ui.secure_cookie;
    for c in [
        session::set_cookie(
            SESSION_COOKIE,
            &sid,
            secure,
            remember.unwrap_or(ui.sessions.ttl()),
        ),
        session::set_cookie(LOGIN_COOKIE, "", secure, std::time::Duration::ZERO),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// The login page answered 429 with `Retry-After`.
fn too_many(
    ui: &UiState,
    next: &str,
    login: &str,
    wait: std::time::Duration,
    what: &str,
) -> Response {
    let secs = wait.as_secs().max(1);
    let mut r = login_page(
        ui,
        StatusCode::TOO_MANY_REQUESTS,
        next,
        login,
        Some(&format!(
            "{what} Повторите через {}.",
            russian_duration(secs)
        )),
        None,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// "45 с" or "15 мин".
fn russian_duration(secs: u64) -> String {
    if secs < 90 {
        format!("{secs} с")
    } else {
        format!("{} мин", secs.div_ceil(60))
    }
}

/// `POST /ui/logout`.
pub async fn logout(
    State(ui): State<UiState>,
    addr: ClientAddr,
    PostedForm { user, form: _f }: PostedForm,
) -> Response {
    ui.sessions.remove(&user.sid);
    audit(
        &ui,
        &user.s.login,
        "logout",
        format!("UI logout from {}", addr.ip()),
    );
    let mut r = see_other("/ui/login?logged_out=1");
    let c = session::set_cookie(
        SESSION_COOKIE,
        "",
        ui.ctx.config.ui.secure_cookie,
        std::time::Duration::ZERO,
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_ui() {
        assert_eq!(safe_next("/ui/requests/1"), "/ui/requests/1");
        assert_eq!(safe_next("/ui/cases?q=1"), "/ui/cases?q=1");
        assert_eq!(safe_next("https://evil.example/"), "/ui/");
        assert_eq!(safe_next("//evil.example/ui/"), "/ui/");
        assert_eq!(safe_next("/ui//evil"), "/ui/");
        assert_eq!(safe_next("/ui/login?next=x"), "/ui/");
        assert_eq!(safe_next("/api/v1/requests"), "/ui/");
        assert_eq!(safe_next("/ui/\\evil"), "/ui/");
    }

    #[test]
    fn audit_logins_are_bounded() {
        assert_eq!(audit_login("a\nb"), "ab");
        assert_eq!(audit_login(&"x".repeat(100)).len(), 64);
    }
}
