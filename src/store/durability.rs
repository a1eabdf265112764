//! Durability, in one owner. sled writes go to its log immediately and reach disk on flush.
//! [`SledStore::durable`] is awaited before anything is promised outside the process — before the
//! API answers "accepted", before a received SMEV message is acknowledged. Concurrent callers
//! share one flush (group commit): a single flusher task flushes everything written before the
//! latest request and wakes every caller whose writes it covered. sled's own background flush
//! (every 500 ms) bounds the loss window of everything else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{watch, Notify};

use super::{SledStore, StoreError};

pub(super) struct Flusher {
    requested: AtomicU64,
    wake: Notify,
    done: watch::Sender<u64>,
}

impl SledStore {
    /// Waits until everything written before the call is on disk (group commit).
    pub(super) async fn durable(&self) -> Result<(), StoreError> {
        let flusher = self
            .flusher
            .get_or_init(|| {
                let (done, _) = watch::channel(0u64);
                let f = Arc::new(Flusher {
                    requested: AtomicU64::new(0),
                    wake: Notify::new(),
                    done,
                });
                let worker = f.clone();
                let db = self.db.clone();
                tokio::spawn(async move {
                    loop {
                        worker.wake.notified().await;
                        let target = worker.requested.load(Ordering::SeqCst);
                        let db = db.clone();
                        let flushed = tokio::task::spawn_blocking(move || db.flush())
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()));
                        match flushed {
                            Ok(()) => {
                                worker.done.send_replace(target);
                            }
                            // Waiters time out and report it; the next request tries again.
                            Err(e) => tracing::error!(error = %e, "database flush failed"),
                        }
                    }
                });
                f
            })
            .clone();
        let mut rx = flusher.done.subscribe();
        let ticket = flusher.requested.fetch_add(1, Ordering::SeqCst) + 1;
        flusher.wake.notify_one();
        loop {
            if *rx.borrow_and_update() >= ticket {
                return Ok(());
            }
            // Re-arm in case the flusher took the wake-up before our ticket was counted.
            flusher.wake.notify_one();
            if tokio::time::timeout(std::time::Duration::from_secs(30), rx.changed())
                .await
                .is_err()
            {
                return self.noted(
                    "durable",
                    Err(StoreError::Sled(
                        "flush did not complete within 30 s".into(),
                    )),
                );
            }
        }
    }

    /// Synchronous flush (CLI tools, shutdown).
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        let r = self.db.flush().map(|_| ()).map_err(StoreError::from);
        self.noted("flush", r)
    }

    /// Bytes the database occupies on disk.
    pub(super) fn size_on_disk(&self) -> Result<u64, StoreError> {
        let r = self.db.size_on_disk().map_err(StoreError::from);
        self.noted("size_on_disk", r)
    }

    /// Checks that the database accepts a write (health).
    pub(super) fn check_writable(&self) -> Result<(), StoreError> {
        let r = self
            .meta
            .insert("health", &Utc::now().timestamp_millis().to_be_bytes())
            .map(|_| ())
            .map_err(StoreError::from);
        self.noted("check_writable", r)
    }
}
