//! Why a storage operation failed: one variant per cause. The engine maps them to its own
//! errors; the edge maps those to HTTP codes.

use sled::transaction::TransactionError;

use crate::domain::LifecycleError;

/// Storage errors.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database could not be read or written.
    #[error("storage: {0}")]
    Sled(String),
    /// A stored value does not decode (corruption, or a newer release's format).
    #[error("stored value cannot be decoded: {0}")]
    Codec(String),
    #[error("not found")]
    NotFound,
    /// The record's lifecycle refused the event.
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    /// The change contradicts what is stored (a client id reused, a message stored twice).
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// Whether the failure is the database's (not a refusal of the change): these are logged,
    /// counted and shown in health.
    pub fn is_storage_failure(&self) -> bool {
        matches!(self, StoreError::Sled(_) | StoreError::Codec(_))
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.to_string())
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e.to_string()),
        }
    }
}
