//! The `[file_storage]` section: where SMEV's file storage (FTP) is, with which account each
//! system uploads (a system's own `file_storage` table overrides the address and account), how
//! long one step of a transfer may take, the largest file, where received files are kept, and
//! when a download that keeps failing is handed to a person.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageConfig {
    /// `host:port` of the storage (None: no file storage; messages with files in it are kept
    /// as dead letters for a person to decide).
    pub address: Option<String>,
    /// Upload account (default: the system's mnemonic) and its password.
    pub user: Option<String>,
    pub password: String,
    /// Connect, each FTP command and each read or write of a transfer.
    pub step_timeout_ms: u64,
    /// Largest file received or sent.
    pub max_file_bytes: u64,
    /// Most files in the file storage one message may name.
    pub max_files_per_message: usize,
    /// Where received files are kept (default: `files` beside the database).
    pub dir: Option<PathBuf>,
    /// A received message whose files still cannot be downloaded after this long becomes a
    /// dead letter (not acknowledged: SMEV keeps it until a person chooses «Ack and close»).
    pub give_up_after_minutes: u64,
}

impl Default for FileStorageConfig {
    fn default() -> Self {
        FileStorageConfig {
            address: None,
            user: None,
            password: String::new(),
            step_timeout_ms: 30_000,
            max_file_bytes: 1024 * 1024 * 1024,
            max_files_per_message: 100,
            dir: None,
            give_up_after_minutes: 3 * 24 * 60,
        }
    }
}

/// A system's own storage address and account (each field falls back to `[file_storage]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFileStorage {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}
