//! Storage failures, kept where health and metrics can see them: every failed read or write of
//! the database is logged with its operation, counted, and the latest one remembered, so
//! "database unreadable" never looks like "nothing to do".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{SledStore, StoreError};

/// The latest storage failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    pub at: DateTime<Utc>,
    pub operation: &'static str,
    pub message: String,
}

/// Counts and remembers storage failures.
#[derive(Debug, Default)]
pub(super) struct Failures {
    count: AtomicU64,
    last: Mutex<Option<LastFailure>>,
}

impl SledStore {
    /// Passes `result` through, noting a storage failure (logged with `operation`, counted).
    pub(super) fn noted<T>(
        &self,
        operation: &'static str,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Err(e) = &result {
            if e.is_storage_failure() {
                tracing::error!(operation, error = %e, "storage operation failed");
                self.failures.count.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut last) = self.failures.last.lock() {
                    *last = Some(LastFailure {
                        at: Utc::now(),
                        operation,
                        message: e.to_string(),
                    });
                }
            }
        }
        result
    }

    /// Storage failures since start.
    pub(super) fn failure_count(&self) -> u64 {
        self.failures.count.load(Ordering::Relaxed)
    }

    /// The latest storage failure, if any.
    pub(super) fn last_failure(&self) -> Option<LastFailure> {
        self.failures.last.lock().ok().and_then(|l| l.clone())
    }
}
