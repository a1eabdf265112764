//! The bounded pool for CPU-heavy work on peer bytes — MIME and XML parsing, XSD validation,
//! canonicalization, signatures, password hashing. Such work never runs on an async worker
//! as it is: it takes one of as many permits as there are cores and then leaves the runtime
//! (`block_in_place`), so health checks, the API and the SMEV calls keep being served however
//! much hostile input arrives, and the CPU is never oversubscribed by it.

use std::sync::OnceLock;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

/// A set of CPU permits.
pub struct Pool {
    permits: Semaphore,
}

impl Pool {
    /// A pool of `size` permits (at least one).
    pub fn new(size: usize) -> Pool {
        Pool {
            permits: Semaphore::new(size.max(1)),
        }
    }

    /// Runs `f` off the async runtime once a permit is free. On a current-thread runtime (unit
    /// tests) there is nowhere to move the work to and `f` runs in place.
    pub async fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        // The semaphore is never closed, so acquiring cannot fail; run anyway if it ever did.
        let _permit = self.permits.acquire().await.ok();
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
            _ => f(),
        }
    }

    /// Permits free right now.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// The process's pool: one permit per core.
fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs `f` on the process's CPU pool (see [`Pool::run`]).
pub async fn offload<T>(f: impl FnOnce() -> T) -> T {
    pool().run(f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_and_gives_its_permit_back() {
        let pool = Pool::new(2);
        let v = pool.run(|| (1..=10u64).product::<u64>()).await;
        assert_eq!(v, 3_628_800);
        assert_eq!(pool.available(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn work_beyond_the_permits_waits() {
        let pool = std::sync::Arc::new(Pool::new(1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let held = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || rx.recv().ok()).await })
        };
        while pool.available() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "ran without a permit");
        tx.send(()).unwrap();
        assert_eq!(second.await.unwrap(), 2);
        assert!(held.await.unwrap().is_some());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn current_thread_runtime_runs_in_place() {
        assert_eq!(offload(|| 7).await, 7);
    }
}
