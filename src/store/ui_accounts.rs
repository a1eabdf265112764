//! UI accounts' state: passwords users changed (written with their audit entry in one
//! transaction) and live sessions (plain writes: a lost session only means logging in again).

use super::tx::Tx;
use super::{codec, SledStore, StoreError};
use crate::domain::{AuditEntry, StoredPassword, StoredSession};

fn password_key(login: &str) -> Vec<u8> {
    let mut k = b"password\0".to_vec();
    k.extend_from_slice(login.as_bytes());
    k
}

fn session_key(key: &str) -> Vec<u8> {
    let mut k = b"session\0".to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

impl SledStore {
    pub(super) fn ui_password(&self, login: &str) -> Result<Option<StoredPassword>, StoreError> {
        let r = (|| match self.ui_accounts.get(password_key(login))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        })();
        self.noted("ui_password", r)
    }

    pub(super) fn set_ui_password(
        &self,
        login: &str,
        password: &StoredPassword,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.transaction("set_ui_password", |tx| {
            Tx::put(tx.ui_accounts, &password_key(login), password)?;
            tx.audit(audit)
        })
    }

    pub(super) fn put_ui_session(&self, key: &str, s: &StoredSession) -> Result<(), StoreError> {
        let r = (|| {
            self.ui_accounts
                .insert(session_key(key), codec::encode(s)?)?;
            Ok(())
        })();
        self.noted("put_ui_session", r)
    }

    pub(super) fn remove_ui_session(&self, key: &str) -> Result<(), StoreError> {
        let r = (|| {
            self.ui_accounts.remove(session_key(key))?;
            Ok(())
        })();
        self.noted("remove_ui_session", r)
    }

    pub(super) fn ui_sessions(&self) -> Result<Vec<(String, StoredSession)>, StoreError> {
        let r = (|| {
            let mut out = Vec::new();
            for item in self.ui_accounts.scan_prefix(b"session\0") {
                let (k, v) = item?;
                let key = String::from_utf8_lossy(&k[b"session\0".len()..]).into_owned();
                out.push((key, codec::decode(&v)?));
            }
            Ok(out)
        })();
        self.noted("ui_sessions", r)
    }
}
