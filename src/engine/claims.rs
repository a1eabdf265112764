//! Received messages being processed right now, so that two pollers of one system never store
//! the same message twice (SMEV may deliver a message again before the first Ack). A poller
//! that finds its message claimed waits for the claim to end — woken, not spinning — and then
//! sees the message as stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// The claims of one gateway (owned by the engine's context).
#[derive(Debug, Default)]
pub(crate) struct Claims {
    held: Mutex<HashMap<String, Arc<Notify>>>,
}

/// A held claim; released (and its waiters woken) when dropped.
pub(crate) struct Claim<'a> {
    claims: &'a Claims,
    id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut held) = self.claims.held.lock() {
            if let Some(n) = held.remove(&self.id) {
                n.notify_waiters();
            }
        }
    }
}

impl Claims {
    /// Claims `id`, waiting up to `patience` for another holder to finish; `None` when it
    /// still holds it then (SMEV redelivers the message later).
    pub(crate) async fn claim(&self, id: &str, patience: Duration) -> Option<Claim<'_>> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let busy = {
                let mut held = self.held.lock().ok()?;
                match held.get(id) {
                    Some(n) => n.clone(),
                    None => {
                        held.insert(id.to_string(), Arc::new(Notify::new()));
                        return Some(Claim {
                            claims: self,
                            id: id.to_string(),
                        });
                    }
                }
            };
            let released = busy.notified();
            tokio::pin!(released);
            // Registered before re-checking, so a release in between is not missed.
            released.as_mut().enable();
            if !self
                .held
                .lock()
                .ok()?
                .get(id)
                .is_some_and(|n| Arc::ptr_eq(n, &busy))
            {
                continue;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_claim_waits_for_the_first_to_end() {
        let claims = Arc::new(Claims::default());
        let first = claims.claim("m", Duration::from_secs(5)).await.unwrap();
        let c = claims.clone();
        let waiter =
            tokio::spawn(async move { c.claim("m", Duration::from_secs(5)).await.is_some() });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn a_claim_held_past_the_patience_is_not_taken() {
        let claims = Claims::default();
        let _first = claims.claim("m", Duration::from_secs(5)).await.unwrap();
        assert!(claims.claim("m", Duration::from_millis(10)).await.is_none());
        assert!(claims
            .claim("other", Duration::from_millis(10))
            .await
            .is_some());
    }
}
