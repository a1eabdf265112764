//! What the gateway keeps of its UI users beyond the configuration: a password a user changed
//! (it replaces the configured hash), and live sessions, so that a restart does not log staff
//! out. A session is stored under the SHA-256 of its id, never the id itself; its user's name,
//! role and systems are taken from the configuration again when it is loaded, so a user removed
//! or demoted there loses the old rights with the next restart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A password the user set in the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPassword {
    /// argon2 PHC string.
    pub hash: String,
    pub changed_at: DateTime<Utc>,
}

/// A live UI session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub login: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    /// When it ends without activity (sliding), or at the latest (`remember`).
    pub expires_at: DateTime<Utc>,
    /// «Запомнить меня»: a fixed lifetime and a cookie that survives closing the browser.
    pub remember: bool,
}
