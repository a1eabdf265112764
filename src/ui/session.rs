//! Server-side sessions of UI users (sliding TTL, or a fixed lifetime with «Запомнить меня»),
//! kept in memory and in the store so that a restart does not log staff out, CSRF tokens,
//! cookies and the light brute-force brake of the login form.
//!
//! A session id is 32 random bytes (hex) given to the browser in an `HttpOnly`,
//! `SameSite=Strict` cookie (and `Secure` when configured); the server keeps only the SHA-256
//! of it, in memory and on disk, so neither a timing side channel of the map lookup nor a copy of
//! the database reveals a usable id. Every POST form carries the session's CSRF token, compared
//! in constant time. Before login there is no session: the login form uses a double-submit token
//! (a cookie and a hidden field). A stored session's name, role and systems come from the
//! configuration when it is loaded: a user removed or demoted there loses the old rights.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Role, UiUser};
use crate::domain::StoredSession;
use crate::store::Storage;

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
    /// «Запомнить меня»: a fixed end instead of a sliding one.
    pub remember: bool,
    pub expires_at: DateTime<Utc>,
    /// The end last written to the store (extensions are written in steps, not per click).
    persisted_expiry: DateTime<Utc>,
}

impl Session {
    fn stored(&self) -> StoredSession {
        StoredSession {
            login: self.login.clone(),
            csrf: self.csrf.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            remember: self.remember,
        }
    }
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

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The session store.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    /// Where sessions survive a restart (None: memory only, as in unit tests).
    store: Option<Arc<dyn Storage>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// A memory-only store whose sessions end after `ttl` without activity.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
            store: None,
        }
    }

    /// A store kept in `store` too: the live sessions written there earlier come back, with
    /// their users as `users` (the configuration) describes them now.
    pub fn persistent(ttl: Duration, store: Arc<dyn Storage>, users: &[UiUser]) -> Sessions {
        let now = Utc::now();
        let mut map = HashMap::new();
        match store.ui_sessions() {
            Ok(stored) => {
                for (key, st) in stored {
                    let user = users.iter().find(|u| u.login == st.login);
                    match user {
                        Some(u) if st.expires_at > now && map.len() < MAX_SESSIONS => {
                            map.insert(
                                key,
                                Session {
                                    login: u.login.clone(),
                                    name: u.name.clone(),
                                    role: u.role,
                                    systems: u.systems.clone(),
                                    csrf: st.csrf,
                                    created_at: st.created_at,
                                    remember: st.remember,
                                    expires_at: st.expires_at,
                                    persisted_expiry: st.expires_at,
                                },
                            );
                        }
                        _ => {
                            if let Err(e) = store.remove_ui_session(&key) {
                                tracing::warn!(error = %e, "cannot remove an ended UI session");
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the stored UI sessions; users log in again")
            }
        }
        Sessions {
            map: Mutex::new(map),
            ttl,
            store: Some(store),
        }
    }

    /// The configured idle lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn persist(&self, key: &str, s: &Session) {
        if let Some(store) = &self.store {
            if let Err(e) = store.put_ui_session(key, &s.stored()) {
                tracing::warn!(error = %e, login = %s.login, "cannot store the UI session; it lasts until a restart");
            }
        }
    }

    fn forget(&self, key: &str) {
        if let Some(store) = &self.store {
            if let Err(e) = store.remove_ui_session(key) {
                tracing::warn!(error = %e, "cannot remove the stored UI session");
            }
        }
    }

    /// Opens a session for `user`; `remember` gives it the fixed lifetime `remember_for`
    /// instead of the sliding one. Returns the id to put into the cookie.
    pub fn create(
        &self,
        user: &UiUser,
        remember: Option<Duration>,
    ) -> Result<(String, Session), String> {
        self.create_at(user, remember, Utc::now())
    }

    fn create_at(
        &self,
        user: &UiUser,
        remember: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<(String, Session), String> {
        let id = random_token()?;
        let expires_at = now + chrono_of(remember.unwrap_or(self.ttl));
        let s = Session {
            login: user.login.clone(),
            name: user.name.clone(),
            role: user.role,
            systems: user.systems.clone(),
            csrf: random_token()?,
            created_at: now,
            remember: remember.is_some(),
            expires_at,
            persisted_expiry: expires_at,
        };
        let key = key_of(&id);
        let mut evicted = Vec::new();
        {
            let mut map = self.map.lock().map_err(|_| "session store poisoned")?;
            if map.len() >= MAX_SESSIONS {
                map.retain(|k, v| {
                    let live = v.expires_at > now;
                    if !live {
                        evicted.push(k.clone());
                    }
                    live
                });
            }
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, v)| v.expires_at)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                    evicted.push(oldest);
                }
            }
            map.insert(key.clone(), s.clone());
        }
        for k in evicted {
            self.forget(&k);
        }
        self.persist(&key, &s);
        Ok((id, s))
    }

    /// The live session of `id`, a sliding one's lifetime extended.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.get_at(id, Utc::now())
    }

    fn get_at(&self, id: &str, now: DateTime<Utc>) -> Option<Session> {
        if id.len() != 64 {
            return None;
        }
        let key = key_of(id);
        let (session, write) = {
            let mut map = self.map.lock().ok()?;
            match map.get_mut(&key) {
                Some(s) if s.expires_at > now => {
                    let mut write = false;
                    if !s.remember {
                        s.expires_at = now + chrono_of(self.ttl);
                        // Written when it moved by a tenth of the lifetime: a restart then
                        // costs at most that much of it, and a click costs no disk write.
                        if s.expires_at - s.persisted_expiry > chrono_of(self.ttl / 10) {
                            s.persisted_expiry = s.expires_at;
                            write = true;
                        }
                    }
                    (Some(s.clone()), write)
                }
                Some(_) => {
                    map.remove(&key);
                    (None, false)
                }
                None => return None,
            }
        };
        match &session {
            Some(s) if write => self.persist(&key, s),
            None => self.forget(&key),
            _ => {}
        }
        session
    }

    /// Ends a session (logout).
    pub fn remove(&self, id: &str) -> Option<Session> {
        let key = key_of(id);
        let s = self.map.lock().ok()?.remove(&key);
        self.forget(&key);
        s
    }

    /// Ends every session of `login` but the one of `keep_id` (after a password change).
    pub fn remove_login(&self, login: &str, keep_id: &str) {
        let keep = key_of(keep_id);
        let ended: Vec<String> = match self.map.lock() {
            Ok(mut map) => {
                let ended: Vec<String> = map
                    .iter()
                    .filter(|(k, s)| s.login == login && **k != keep)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in &ended {
                    map.remove(k);
                }
                ended
            }
            Err(_) => Vec::new(),
        };
        for k in ended {
            self.forget(&k);
        }
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

    fn secs(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    #[test]
    fn sessions_expire_and_slide() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Utc::now();
        let (id, sess) = s.create_at(&user(), None, t0).unwrap();
        assert_eq!(sess.login, "ivanova");
        assert_eq!(sess.csrf.len(), 64);
        // Activity at 50 s extends the session to 110 s.
        assert!(s.get_at(&id, t0 + secs(50)).is_some());
        assert!(s.get_at(&id, t0 + secs(100)).is_some());
        // 61 s of silence ends it, and it is gone for good.
        assert!(s.get_at(&id, t0 + secs(161)).is_none());
        assert!(s.get_at(&id, t0 + secs(1)).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn a_remembered_session_has_a_fixed_end() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Utc::now();
        let (id, sess) = s
            .create_at(&user(), Some(Duration::from_secs(3600)), t0)
            .unwrap();
        assert!(sess.remember);
        // Idle longer than the sliding lifetime: still there.
        assert!(s.get_at(&id, t0 + secs(1800)).is_some());
        // Activity does not extend it past its end.
        assert!(s.get_at(&id, t0 + secs(3599)).is_some());
        assert!(s.get_at(&id, t0 + secs(3601)).is_none());
    }

    #[test]
    fn a_password_change_ends_the_other_sessions() {
        let s = Sessions::new(Duration::from_secs(60));
        let (a, _) = s.create(&user(), None).unwrap();
        let (b, _) = s.create(&user(), None).unwrap();
        s.remove_login("ivanova", &a);
        assert!(s.get(&a).is_some());
        assert!(s.get(&b).is_none());
    }

    #[test]
    fn unknown_and_malformed_ids_and_logout() {
        let s = Sessions::new(Duration::from_secs(60));
        let (id, _) = s.create(&user(), None).unwrap();
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
