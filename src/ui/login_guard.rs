//! Brute-force limits of the UI login. Every attempt first takes a token from two buckets —
//! one per login name, one per client address — and is answered 429 at once when one is empty
//! (or when the bucket of all *failed* attempts, twenty times the per-address rate, is: guessing
//! from many addresses; successful logins never drain it, so staff can still log in while a
//! few addresses guess), before any password hashing (so parallel guessing gains nothing and argon2 floods
//! cannot starve the server). Consecutive failures of one login lock it for a while; the lock
//! is audited and counted by the caller. State is in memory and bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::UiConfig;

/// The bucket of all failed attempts, and its size relative to one address's.
const ALL: &str = "all";
const ALL_FACTOR: f64 = 20.0;

/// Entries kept at most per map; past it, full buckets and expired records are dropped first.
const MAX_ENTRIES: usize = 100_000;

/// What to do with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Go,
    /// Too many attempts for this login or address: try again after the delay.
    Limited(Duration),
    /// The login is locked after repeated failures, for this much longer.
    Locked(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    login_burst: f64,
    login_per_sec: f64,
    ip_burst: f64,
    ip_per_sec: f64,
    lock_after: u32,
    lock_for: Duration,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    /// Consecutive failures per login, and when the last one happened.
    failures: HashMap<String, (u32, Instant)>,
    locked_until: HashMap<String, Instant>,
}

/// The guard of the login form.
#[derive(Debug)]
pub struct LoginGuard {
    limits: Limits,
    state: Mutex<State>,
}

impl LoginGuard {
    /// Limits from `[ui]`.
    pub fn new(cfg: &UiConfig) -> LoginGuard {
        let per_min = |n: u32| f64::from(n.max(1)) / 60.0;
        LoginGuard {
            limits: Limits {
                login_burst: f64::from(cfg.login_attempts_per_minute.clamp(1, 1000)),
                login_per_sec: per_min(cfg.login_attempts_per_minute),
                ip_burst: f64::from(cfg.login_attempts_per_minute_per_address.clamp(1, 10_000)),
                ip_per_sec: per_min(cfg.login_attempts_per_minute_per_address),
                lock_after: cfg.lockout_after_failures.max(1),
                lock_for: Duration::from_secs(cfg.lockout_minutes.max(1) * 60),
            },
            state: Mutex::new(State::default()),
        }
    }

    /// Admits an attempt for `login` from `ip` (taking one token from each bucket) or says why
    /// not.
    pub fn admit(&self, login: &str, ip: &str) -> Verdict {
        self.admit_at(login, ip, Instant::now())
    }

    fn admit_at(&self, login: &str, ip: &str, now: Instant) -> Verdict {
        let l = self.limits;
        let Ok(mut s) = self.state.lock() else {
            return Verdict::Limited(Duration::from_secs(1));
        };
        if let Some(until) = s.locked_until.get(login).copied() {
            if until > now {
                return Verdict::Locked(until - now);
            }
            s.locked_until.remove(login);
        }
        s.prune(now, &l);
        let login_key = format!("login:{login}");
        let ip_key = format!("ip:{ip}");
        let login_wait = s.wait(&login_key, l.login_burst, l.login_per_sec, now);
        let ip_wait = s.wait(&ip_key, l.ip_burst, l.ip_per_sec, now);
        let all_wait = s.wait(ALL, l.ip_burst * ALL_FACTOR, l.ip_per_sec * ALL_FACTOR, now);
        let wait = login_wait.max(ip_wait).max(all_wait);
        if !wait.is_zero() {
            return Verdict::Limited(wait);
        }
        for key in [login_key, ip_key] {
            if let Some(b) = s.buckets.get_mut(&key) {
                b.tokens -= 1.0;
            }
        }
        Verdict::Go
    }

    /// Notes a failed attempt; returns true when this failure locked the login.
    pub fn failed(&self, login: &str) -> bool {
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if let Some(b) = s.buckets.get_mut(ALL) {
            b.tokens -= 1.0;
        }
        // An attempt admitted just before the lock and failing during it does not count on.
        if s.locked_until.get(login).is_some_and(|until| *until > now) {
            return false;
        }
        let forget = self.limits.lock_for;
        let entry = s.failures.entry(login.to_string()).or_insert((0, now));
        if now.duration_since(entry.1) > forget {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        if entry.0 >= self.limits.lock_after {
            s.failures.remove(login);
            s.locked_until
                .insert(login.to_string(), now + self.limits.lock_for);
            return true;
        }
        false
    }

    /// Forgets the failures of a login after a success.
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.failures.remove(login);
        }
    }
}

impl State {
    /// Refills the bucket `key` and returns how long until it holds a token (zero: now).
    fn wait(&mut self, key: &str, burst: f64, per_sec: f64, now: Instant) -> Duration {
        let b = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((1.0 - b.tokens) / per_sec).max(0.001))
        }
    }

    fn prune(&mut self, now: Instant, l: &Limits) {
        if self.buckets.len() > MAX_ENTRIES {
            let full = |b: &Bucket, burst: f64, rate: f64| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * rate >= burst
            };
            self.buckets.retain(|k, b| {
                if k == ALL {
                    true
                } else if k.starts_with("ip:") {
                    !full(b, l.ip_burst, l.ip_per_sec)
                } else {
                    !full(b, l.login_burst, l.login_per_sec)
                }
            });
            if self.buckets.len() > MAX_ENTRIES {
                self.buckets.clear();
            }
        }
        if self.failures.len() > MAX_ENTRIES {
            self.failures
                .retain(|_, (_, at)| now.duration_since(*at) < l.lock_for);
        }
        if self.locked_until.len() > MAX_ENTRIES {
            self.locked_until.retain(|_, until| *until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(per_login: u32, per_ip: u32, lock_after: u32) -> LoginGuard {
        LoginGuard::new(&UiConfig {
            login_attempts_per_minute: per_login,
            login_attempts_per_minute_per_address: per_ip,
            lockout_after_failures: lock_after,
            lockout_minutes: 15,
            ..UiConfig::default()
        })
    }

    #[test]
    fn a_login_bucket_empties_and_refills() {
        let g = guard(3, 100, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(g.admit_at("ivanova", "10.0.0.1", t0), Verdict::Go);
        }
        let Verdict::Limited(wait) = g.admit_at("ivanova", "10.0.0.1", t0) else {
            panic!("the fourth attempt in the same instant must be limited");
        };
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another login from another address is not affected.
        assert_eq!(g.admit_at("petrov", "10.0.0.2", t0), Verdict::Go);
        // One token back after 20 s (3 a minute).
        assert_eq!(
            g.admit_at("ivanova", "10.0.0.1", t0 + Duration::from_secs(21)),
            Verdict::Go
        );
    }

    #[test]
    fn an_address_bucket_limits_guessing_across_logins() {
        let g = guard(100, 5, 100);
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(g.admit_at(&format!("user{i}"), "10.0.0.9", t0), Verdict::Go);
        }
        assert!(matches!(
            g.admit_at("user99", "10.0.0.9", t0),
            Verdict::Limited(_)
        ));
    }

    #[test]
    fn guessing_from_many_addresses_meets_the_global_bucket() {
        let g = guard(1000, 2, 1000);
        let t0 = Instant::now();
        let mut admitted = 0;
        for i in 0..100 {
            if g.admit_at(&format!("user{i}"), &format!("10.0.0.{i}"), t0) == Verdict::Go {
                admitted += 1;
                g.failed(&format!("user{i}"));
            }
        }
        assert_eq!(
            admitted, 40,
            "twenty times the per-address burst of failures"
        );
        // Successes do not drain it.
        let g = guard(1000, 2, 1000);
        let ok = (0..100)
            .filter(|i| g.admit_at(&format!("user{i}"), &format!("10.0.1.{i}"), t0) == Verdict::Go)
            .count();
        assert_eq!(ok, 100);
    }

    #[test]
    fn repeated_failures_lock_the_login() {
        let g = guard(1000, 1000, 3);
        assert!(!g.failed("ivanova"));
        assert!(!g.failed("ivanova"));
        assert!(g.failed("ivanova"));
        assert!(
            matches!(g.admit("ivanova", "10.0.0.1"), Verdict::Locked(d) if d > Duration::from_secs(14 * 60))
        );
        assert_eq!(g.admit("petrov", "10.0.0.1"), Verdict::Go);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let g = guard(1000, 1000, 3);
        g.failed("ivanova");
        g.failed("ivanova");
        g.succeeded("ivanova");
        assert!(!g.failed("ivanova"));
        assert!(!g.failed("ivanova"));
    }
}
