//! Server-side sessions of UI users (in memory, sliding TTL), CSRF tokens, cookies and the
//! light brute-force brake of the login form.
//!
//! A session id is 32 random bytes (hex) given to the browser in an `HttpOnly`,
//! `SameSite=Strict` cookie (and `Secure` when configured); the server keeps only the SHA-256
//! of it, so a timing side channel of the map lookup reveals nothing usable. Every POST form
//! carries the session's CSRF token, compared in constant time. Before login there is no
//! session: the login form uses a double-submit token (a cookie and a hidden field).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::{Role, UiUser};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "smev_ui_session";
/// Name of the login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "smev_ui_login";
/// Most sessions kept at once (expired ones are purged first; then the oldest goes).
const MAX_SESSIONS: usize = 10_000;

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// Systems the user works for (empty: all).
    pub systems: Vec<String>,
    /// CSRF token of every POST form of this session.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    expires: Instant,
}

/// 32 random bytes, hex. Falls back to nothing: if the system RNG fails, the caller gets an
/// error and no predictable token is ever issued.
pub fn random_token() -> Result<String, String> {
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b).map_err(|e| format!("random generator: {e}"))?;
    Ok(hex::encode(b))
}

/// Constant-time comparison of two tokens (different lengths are simply unequal).
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && !a.is_empty() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

fn key_of(id: &str) -> String {
    openssl::hash::hash(openssl::hash::MessageDigest::sha256(), id.as_bytes())
        .map(|d| hex::encode(d.as_ref()))
        .unwrap_or_default()
}

/// The in-memory session store.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    ttl: Duration,
}

impl Sessions {
    /// A store whose sessions end after `ttl` without activity.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// The configured idle lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `user`; returns the id to put into the cookie.
    pub fn create(&self, user: &UiUser) -> Result<(String, Session), String> {
        self.create_at(user, Instant::now())
    }

    fn create_at(&self, user: &UiUser, now: Instant) -> Result<(String, Session), String> {
        let id = random_token()?;
        let s = Session {
            login: user.login.clone(),
            name: user.name.clone(),
            role: user.role,
            systems: user.systems.clone(),
            csrf: random_token()?,
            created_at: Utc::now(),
            expires: now + self.ttl,
        };
        let mut map = self.map.lock().map_err(|_| "session store poisoned")?;
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, v| v.expires > now);
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, v)| v.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(key_of(&id), s.clone());
        Ok((id, s))
    }

    /// The live session of `id`, its lifetime extended (sliding expiry).
    pub fn get(&self, id: &str) -> Option<Session> {
        self.get_at(id, Instant::now())
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Session> {
        if id.len() != 64 {
            return None;
        }
        let key = key_of(id);
        let mut map = self.map.lock().ok()?;
        match map.get_mut(&key) {
            Some(s) if s.expires > now => {
                s.expires = now + self.ttl;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session (logout).
    pub fn remove(&self, id: &str) -> Option<Session> {
        self.map.lock().ok()?.remove(&key_of(id))
    }

    /// Number of sessions held (live or not yet purged).
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/ui`, `Secure` when asked;
/// `max_age` of zero deletes the cookie.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Duration) -> String {
    let mut c = format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}",
        max_age.as_secs()
    );
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UiUser {
        UiUser {
            login: "ivanova".into(),
            name: "Иванова А. А.".into(),
            password_hash: String::new(),
            role: Role::Operator,
            systems: vec!["is-main".into()],
            snils: None,
            certificates: vec![],
        }
    }

    #[test]
    fn tokens_are_random_hex_and_compared_exactly() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &b));
        assert!(!tokens_equal(&a, &a[..63]));
        assert!(!tokens_equal("", ""));
    }

    #[test]
    fn sessions_expire_and_slide() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let (id, sess) = s.create_at(&user(), t0).unwrap();
        assert_eq!(sess.login, "ivanova");
        assert_eq!(sess.csrf.len(), 64);
        // Activity at 50 s extends the session to 110 s.
        assert!(s.get_at(&id, t0 + Duration::from_secs(50)).is_some());
        assert!(s.get_at(&id, t0 + Duration::from_secs(100)).is_some());
        // 61 s of silence ends it, and it is gone for good.
        assert!(s.get_at(&id, t0 + Duration::from_secs(161)).is_none());
        assert!(s.get_at(&id, t0 + Duration::from_secs(1)).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn unknown_and_malformed_ids_and_logout() {
        let s = Sessions::new(Duration::from_secs(60));
        let (id, _) = s.create(&user()).unwrap();
        assert!(s.get("x").is_none());
        assert!(s.get(&random_token().unwrap()).is_none());
        assert!(s.get(&id).is_some());
        assert!(s.remove(&id).is_some());
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn cookies() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; smev_ui_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&h, "zzz"), None);
        let c = set_cookie(SESSION_COOKIE, "v", true, Duration::from_secs(60));
        assert!(c.contains("HttpOnly"));
        assert!(c.contains("SameSite=Strict"));
        assert!(c.contains("Secure"));
        assert!(c.contains("Max-Age=60"));
        assert!(!set_cookie("x", "v", false, Duration::ZERO).contains("Secure"));
    }
}
