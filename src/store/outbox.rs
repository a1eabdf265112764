//! The webhook outbox: events written in the same transaction as the change they report,
//! delivered by the engine's dispatcher. Applying a delivery outcome moves the event's due
//! entry with it.

use std::collections::HashSet;
use std::sync::Arc;

use super::tx::abort;
use super::{load, scan, SledStore, StoreError};
use crate::domain::{Delivery, IncomingRecord, RequestRecord, WebhookEvent, WebhookState};

impl SledStore {
    pub(super) fn get_webhook(&self, id: &str) -> Result<WebhookEvent, StoreError> {
        self.noted("get_webhook", load(&self.outbox_tree, id))
    }

    /// Applies a delivery outcome; `None` when it no longer applies (the event was redelivered
    /// or finished meanwhile).
    pub(super) fn apply_webhook(
        &self,
        id: &str,
        delivery: &Delivery,
    ) -> Result<Option<WebhookEvent>, StoreError> {
        self.transaction("apply_webhook", |tx| {
            let old: WebhookEvent = super::tx::Tx::get(tx.outbox_tree, id.as_bytes())?
                .ok_or_else(|| abort(StoreError::NotFound))?;
            let mut new = old.clone();
            if !new.apply(delivery) {
                return Ok(None);
            }
            let old_due = (old.state == WebhookState::Pending).then_some(old.next_due);
            tx.put_webhook(old_due, &new)?;
            Ok(Some(new))
        })
    }

    /// Webhook events in a state, of the systems (all when empty), newest first.
    pub(super) fn webhooks_in_state(
        &self,
        systems: &[String],
        state: WebhookState,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let r = scan(&self.outbox_tree, |e: &WebhookEvent| {
            e.state == state && (systems.is_empty() || systems.contains(&e.system))
        });
        self.noted("webhooks_in_state", r)
    }
}

/// What the outbox's events say: built by the layer above (it knows the public API's shape,
/// hrefs and labels), called inside the transaction that records the change.
pub trait WebhookPayloads: Send + Sync {
    /// `request.status_changed`.
    fn status_changed(&self, r: &RequestRecord) -> serde_json::Value;
    /// `request.answered`.
    fn answered(&self, r: &RequestRecord) -> serde_json::Value;
    /// `incoming.received`.
    fn incoming_received(&self, r: &IncomingRecord) -> serde_json::Value;
}

/// Which systems get webhook events, and what the events say.
#[derive(Clone)]
pub struct Outbox {
    pub systems: HashSet<String>,
    pub payloads: Arc<dyn WebhookPayloads>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("systems", &self.systems)
            .finish_non_exhaustive()
    }
}
