//! Who may log in to the simulated file storage and where each one is confined: a participant's
//! upload account (its own area, `upload/<MNEMONIC>`) and the one-time accounts SMEV hands out in
//! `FSAttachmentsList` (one message's delivery area), removed when the message is acknowledged.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use unftp_core::auth::{
    AuthenticationError, Authenticator, Credentials, Principal, UserDetail, UserDetailError,
    UserDetailProvider,
};

use super::faults::FtpFaults;

/// One account: its password and the directory it is confined to.
#[derive(Debug, Clone)]
struct Account {
    password: String,
    home: PathBuf,
}

/// The accounts, shared by the server and the simulator.
#[derive(Debug, Default)]
pub struct Accounts {
    map: Mutex<HashMap<String, Account>>,
}

impl Accounts {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Account>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces `user`.
    pub fn put(&self, user: &str, password: &str, home: &Path) {
        self.lock().insert(
            user.to_string(),
            Account {
                password: password.to_string(),
                home: home.to_path_buf(),
            },
        );
    }

    /// Closes `user`'s access (its sessions already open end at their next command).
    pub fn remove(&self, user: &str) {
        self.lock().remove(user);
    }

    fn home(&self, user: &str) -> Option<PathBuf> {
        self.lock().get(user).map(|a| a.home.clone())
    }

    fn password_matches(&self, user: &str, password: &str) -> Option<bool> {
        self.lock().get(user).map(|a| a.password == password)
    }
}

/// Checks a login against [`Accounts`] (and the "refused login" fault). A participant's upload
/// account is opened at its first login: its mnemonic and the upload password.
#[derive(Debug)]
pub struct Login {
    pub accounts: Arc<Accounts>,
    pub faults: Arc<FtpFaults>,
    /// `upload/` and the participants' password.
    pub uploads: (PathBuf, String),
}

/// Whether `name` can be a participant's mnemonic (and so a directory name).
pub fn is_mnemonic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[async_trait]
impl Authenticator for Login {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        if self.faults.take_refused_login() {
            return Err(AuthenticationError::new("login refused (injected fault)"));
        }
        let password = creds.password.as_deref().unwrap_or("");
        let (uploads, upload_password) = &self.uploads;
        if self.accounts.home(username).is_none()
            && is_mnemonic(username)
            && password == upload_password
        {
            let home = uploads.join(username);
            std::fs::create_dir_all(&home)
                .map_err(|e| AuthenticationError::with_source("cannot open the upload area", e))?;
            self.accounts.put(username, password, &home);
        }
        match self.accounts.password_matches(username, password) {
            Some(true) => Ok(Principal {
                username: username.to_string(),
            }),
            Some(false) => Err(AuthenticationError::BadPassword),
            None => Err(AuthenticationError::BadUser),
        }
    }
}

/// A logged-in account: the backend confines it to its home.
#[derive(Debug, Clone)]
pub struct FtpUser {
    name: String,
    home: PathBuf,
}

impl fmt::Display for FtpUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl UserDetail for FtpUser {
    fn home(&self) -> Option<&Path> {
        Some(&self.home)
    }
}

#[async_trait]
impl UserDetailProvider for Login {
    type User = FtpUser;

    async fn provide_user_detail(&self, principal: &Principal) -> Result<FtpUser, UserDetailError> {
        let home = self
            .accounts
            .home(&principal.username)
            .ok_or_else(|| UserDetailError::new("the account was closed"))?;
        Ok(FtpUser {
            name: principal.username.clone(),
            home,
        })
    }
}
