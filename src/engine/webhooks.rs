//! Webhook dispatcher: delivers the durable outbox to each system's URL — JSON with the event
//! id and time, signed with HMAC-SHA256 over `timestamp.body` — retrying with backoff; after
//! the configured number of attempts an event becomes a dead webhook that the API lists and can
//! redeliver. Delivery is at-least-once; receivers dedupe by the event id.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;

use crate::tls::HttpsConnector;
use hyper_util::rt::TokioExecutor;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;

use crate::domain::{Delivery, WebhookEvent, WebhookState};
use crate::store::DueKind;

use super::retry::backoff;
use super::{pause, until_due, Context};

/// HMAC-SHA256 of `timestamp.body`, hex: the `X-Smev-Gateway-Signature` value (after `sha256=`).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let compute = || -> Result<String, openssl::error::ErrorStack> {
        let key = PKey::hmac(secret.as_bytes())?;
        let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &key)?;
        s.update(timestamp.to_string().as_bytes())?;
        s.update(b".")?;
        s.update(body)?;
        Ok(hex::encode(s.sign_to_vec()?))
    };
    compute().unwrap_or_default()
}

/// The JSON body of an event.
pub fn body(e: &WebhookEvent) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": e.id,
        "event": e.event,
        "created_at": e.created_at,
        "system": e.system,
        "data": e.payload,
    }))
    .unwrap_or_default()
}

/// Runs until shutdown.
pub async fn run(ctx: Arc<Context>) {
    let connector = match HttpsConnector::new(
        Duration::from_secs(5),
        ctx.config.webhooks.ca_file.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            // The start checks the CA file; this is the same check failing later (the file
            // changed), so webhooks stop here rather than trust less than configured.
            tracing::error!(error = %e, "webhooks.ca_file unusable; webhook deliveries are stopped");
            return;
        }
    };
    let client: Client<HttpsConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let mut shutdown = ctx.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = Utc::now();
        let due = super::due_work(&ctx, DueKind::Webhook, now, 32);
        let mut handles = Vec::new();
        for id in due {
            let ctx = ctx.clone();
            let client = client.clone();
            handles.push(tokio::spawn(
                async move { deliver(&ctx, &client, &id).await },
            ));
        }
        for h in handles {
            if let Err(e) = h.await {
                tracing::error!(error = %e, "webhook delivery task failed");
            }
        }
        let wait = until_due(&ctx, DueKind::Webhook, now);
        if !pause(&mut shutdown, &ctx.wake_webhooks, wait).await {
            break;
        }
    }
}

async fn deliver(ctx: &Context, client: &Client<HttpsConnector, Full<Bytes>>, id: &str) {
    let event = match ctx.store.get_webhook(id) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(event_id = id, error = %e, "cannot read the webhook event");
            return;
        }
    };
    if event.state != WebhookState::Pending {
        return;
    }
    let Some(hook) = ctx
        .systems
        .get(&event.system)
        .and_then(|s| s.config.webhook.clone())
    else {
        record(ctx, id, Delivery::NoWebhook);
        return;
    };
    let payload = body(&event);
    let ts = Utc::now().timestamp();
    let sig = signature(&hook.secret, ts, &payload);
    let request = hyper::Request::post(&hook.url)
        .header("content-type", "application/json")
        .header("x-smev-gateway-event", &event.event)
        .header("x-smev-gateway-delivery", &event.id)
        .header("x-smev-gateway-timestamp", ts.to_string())
        .header("x-smev-gateway-signature", format!("sha256={sig}"))
        .body(Full::new(Bytes::from(payload)));
    let timeout = Duration::from_millis(ctx.config.webhooks.timeout_ms);
    // One deadline for the whole exchange, and only a bounded answer body is read, so a
    // stalling or chatty endpoint cannot hold the dispatcher.
    let exchange = async {
        let req = request.map_err(|e| e.to_string())?;
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("connection failed: {e}"))?;
        let status = resp.status();
        // Only drained so the connection can be reused; its content does not matter.
        drop(
            http_body_util::Limited::new(resp.into_body(), 64 * 1024)
                .collect()
                .await,
        );
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    };
    let result: Result<(), String> = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(format!("no complete answer within {timeout:?}")),
        Ok(r) => r,
    };
    let cfg = &ctx.config.webhooks;
    let now = Utc::now();
    match result {
        Ok(()) => {
            ctx.metrics
                .webhook_deliveries
                .with_label_values(&["delivered"])
                .inc();
            record(ctx, id, Delivery::Delivered);
        }
        Err(err) => {
            let attempts = event.attempts + 1;
            let dead = attempts >= cfg.max_attempts;
            ctx.metrics
                .webhook_deliveries
                .with_label_values(&[if dead {
                    WebhookState::Dead.as_str()
                } else {
                    "failed"
                }])
                .inc();
            let delay = backoff(
                attempts,
                Duration::from_millis(cfg.retry_base_ms),
                Duration::from_millis(cfg.retry_max_ms),
            );
            let next = now
                + chrono::Duration::from_std(delay)
                    .unwrap_or_else(|_| chrono::Duration::seconds(60));
            tracing::warn!(event_id = id, attempts, error = %err, dead, "webhook delivery failed");
            let retry_at = (!dead).then_some(next);
            record(
                ctx,
                id,
                Delivery::Failed {
                    error: err,
                    retry_at,
                },
            );
        }
    }
}

/// Records a delivery outcome; a failed write leaves the event pending (delivered again:
/// at-least-once).
fn record(ctx: &Context, id: &str, delivery: Delivery) {
    if let Err(e) = ctx.store.apply_webhook(id, &delivery) {
        tracing::error!(event_id = id, error = %e, "cannot record the webhook delivery");
    }
}
