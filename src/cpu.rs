//! The bounded pool for CPU-heavy work on peer bytes — MIME and XML parsing, XSD validation,
//! canonicalization, signatures, password hashing. Such work never runs on an async worker
//! as it is: it takes one of as many permits as there are cores and then leaves the runtime
//! (`block_in_place`), so health checks, the API and the SMEV calls keep being served however
//! much hostile input arrives, and the CPU is never oversubscribed by it.

use std::sync::OnceLock;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.max(1))
    })
}

/// Runs `f` off the async runtime once a CPU permit is free. On a current-thread runtime (unit
/// tests) there is nowhere to move the work to and `f` runs in place.
pub async fn offload<T>(f: impl FnOnce() -> T) -> T {
    // The semaphore is never closed, so acquiring cannot fail; run anyway if it ever did.
    let _permit = permits().acquire().await.ok();
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Permits free right now (for the `cpu_pool_available` gauge and tests).
pub fn available() -> usize {
    permits().available_permits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_and_gives_its_permit_back() {
        let before = available();
        let v = offload(|| (1..=10u64).product::<u64>()).await;
        assert_eq!(v, 3_628_800);
        assert_eq!(available(), before);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn current_thread_runtime_runs_in_place() {
        assert_eq!(offload(|| 7).await, 7);
    }
}
