//! How many GOST R 34.10 signature operations this process has made through OpenSSL: signature
//! values computed, and signature values or certificate signatures checked. They are the
//! unavoidable cost of every SMEV message, so the load benchmark reads them to state the crypto
//! floor it runs against, and the gateway exports them as metrics. Counting is one relaxed
//! atomic add per operation.

use std::sync::atomic::{AtomicU64, Ordering};

static SIGNS: AtomicU64 = AtomicU64::new(0);
static VERIFIES: AtomicU64 = AtomicU64::new(0);

/// One signature value computed.
pub(crate) fn signed() {
    SIGNS.fetch_add(1, Ordering::Relaxed);
}

/// One signature checked (a signature value, or a certificate's signature in a chain check).
pub(crate) fn verified() {
    VERIFIES.fetch_add(1, Ordering::Relaxed);
}

/// Signs and verifies since the process started.
pub fn totals() -> (u64, u64) {
    (
        SIGNS.load(Ordering::Relaxed),
        VERIFIES.load(Ordering::Relaxed),
    )
}
