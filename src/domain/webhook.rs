//! A webhook event in the durable outbox, and its delivery lifecycle: pending until delivered,
//! retried with backoff, dead after the configured attempts (an operator can redeliver it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an outbox event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    Pending,
    Delivered,
    Dead,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Pending => "pending",
            WebhookState::Delivered => "delivered",
            WebhookState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookState> {
        [
            WebhookState::Pending,
            WebhookState::Delivered,
            WebhookState::Dead,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }
}

/// A webhook event in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    pub system: String,
    /// "request.status_changed", "request.answered", "incoming.received".
    pub event: String,
    pub created_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    pub attempts: u32,
    pub next_due: DateTime<Utc>,
    pub last_error: Option<String>,
    pub state: WebhookState,
}

/// What happened to a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The endpoint answered 2xx.
    Delivered,
    /// The attempt failed; `retry_at` is `None` when the attempts are used up.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
    /// The system has no webhook (any more).
    NoWebhook,
    /// An operator asks for it again, due at `due`.
    Redeliver { due: DateTime<Utc> },
}

impl WebhookEvent {
    /// Applies a delivery outcome. Outcomes of an attempt apply only to a pending event (an
    /// operator's redelivery may have reset it meanwhile); a redelivery applies in any state.
    pub fn apply(&mut self, d: &Delivery) -> bool {
        if !matches!(d, Delivery::Redeliver { .. }) && self.state != WebhookState::Pending {
            return false;
        }
        match d {
            Delivery::Delivered => {
                self.state = WebhookState::Delivered;
                self.attempts += 1;
                self.last_error = None;
            }
            Delivery::Failed { error, retry_at } => {
                self.attempts += 1;
                self.last_error = Some(error.clone());
                match retry_at {
                    Some(at) => self.next_due = *at,
                    None => self.state = WebhookState::Dead,
                }
            }
            Delivery::NoWebhook => {
                self.state = WebhookState::Dead;
                self.last_error = Some("the system has no webhook configured".into());
            }
            Delivery::Redeliver { due } => {
                self.state = WebhookState::Pending;
                self.attempts = 0;
                self.next_due = *due;
            }
        }
        true
    }
}
