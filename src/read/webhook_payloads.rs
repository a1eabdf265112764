//! The JSON of webhook events (the public contract in the README and OpenAPI): ids, status
//! with its Russian label, and the API's hrefs.

use crate::domain::{IncomingRecord, RequestRecord};
use crate::store::WebhookPayloads;

/// The gateway's webhook payloads.
#[derive(Debug, Default)]
pub struct ApiPayloads;

impl WebhookPayloads for ApiPayloads {
    fn status_changed(&self, r: &RequestRecord) -> serde_json::Value {
        status_payload(r)
    }

    fn answered(&self, r: &RequestRecord) -> serde_json::Value {
        answer_payload(r)
    }

    fn incoming_received(&self, r: &IncomingRecord) -> serde_json::Value {
        incoming_payload(r)
    }
}

/// Payload of `request.status_changed`.
fn status_payload(r: &RequestRecord) -> serde_json::Value {
    serde_json::json!({
        "request_id": r.id,
        "client_id": r.client_id,
        "system": r.system,
        "kind": r.kind,
        "case_reference": r.case.as_ref().map(|c| c.reference.clone()),
        "status": r.state.as_str(),
        "status_label": super::labels::request_state(r.state),
        "message_id": r.message_id,
        "error": r.last_error,
        "updated_at": r.updated_at,
    })
}

/// Payload of `request.answered`.
fn answer_payload(r: &RequestRecord) -> serde_json::Value {
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
fn incoming_payload(r: &IncomingRecord) -> serde_json::Value {
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
