//! The webhook outbox: events written in the same transaction as the change they report,
//! delivered by the engine's dispatcher. Applying a delivery outcome moves the event's due
//! entry with it.

use super::tx::abort;
use super::{load, scan, Store, StoreError};
use crate::domain::{Delivery, IncomingRecord, RequestRecord, WebhookEvent, WebhookState};

impl Store {
    pub fn get_webhook(&self, id: &str) -> Result<WebhookEvent, StoreError> {
        self.noted("get_webhook", load(&self.outbox, id))
    }

    /// Applies a delivery outcome; `None` when it no longer applies (the event was redelivered
    /// or finished meanwhile).
    pub fn apply_webhook(
        &self,
        id: &str,
        delivery: &Delivery,
    ) -> Result<Option<WebhookEvent>, StoreError> {
        self.transaction("apply_webhook", |tx| {
            let old: WebhookEvent = super::tx::Tx::get(tx.outbox, id.as_bytes())?
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
    pub fn webhooks_in_state(
        &self,
        systems: &[String],
        state: WebhookState,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let r = scan(&self.outbox, |e: &WebhookEvent| {
            e.state == state && (systems.is_empty() || systems.contains(&e.system))
        });
        self.noted("webhooks_in_state", r)
    }
}

/// Payload of `request.status_changed`.
pub(super) fn status_payload(r: &RequestRecord) -> serde_json::Value {
    serde_json::json!({
        "request_id": r.id,
        "client_id": r.client_id,
        "system": r.system,
        "kind": r.kind,
        "case_reference": r.case.as_ref().map(|c| c.reference.clone()),
        "status": r.state.as_str(),
        "status_label": r.state.label_ru(),
        "message_id": r.message_id,
        "error": r.last_error,
        "updated_at": r.updated_at,
    })
}

/// Payload of `request.answered`.
pub(super) fn answer_payload(r: &RequestRecord) -> serde_json::Value {
    let mut p = status_payload(r);
    if let (Some(a), Some(obj)) = (&r.answer, p.as_object_mut()) {
        obj.insert(
            "answer".into(),
            serde_json::json!({
                "kind": a.kind,
                "message_id": a.message_id,
                "received_at": a.received_at,
                "rejections": a.rejections,
                "smev_fault": a.smev_fault,
                "attachments": a.attachments.iter().enumerate().map(|(i, x)| serde_json::json!({"n": i, "name": x.name, "mime_type": x.mime_type, "size": x.size})).collect::<Vec<_>>(),
                "href": format!("/api/v1/requests/{}/answer", r.id),
            }),
        );
    }
    p
}

/// Payload of `incoming.received`.
pub(super) fn incoming_payload(r: &IncomingRecord) -> serde_json::Value {
    serde_json::json!({
        "incoming_id": r.id,
        "system": r.system,
        "kind": r.kind,
        "root_element": r.root_element,
        "message_id": r.message_id,
        "received_at": r.received_at,
        "test_message": r.test_message,
        "href": format!("/api/v1/incoming/{}", r.id),
    })
}
