//! Queues with SMEV semantics: FIFO per recipient, filtered by MessageTypeSelector, a delivered
//! message stays pending until acknowledged and returns to its place in the queue when the Ack
//! does not come within the redelivery timeout (at-least-once). Messages can be scheduled for the
//! future (a simulated provider answering after a delay).

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use smev_protocol::smev::model::{AttachmentContent, FsAttachment, MessageMetadata, QualifiedName};

/// What gets delivered: the sender's signed pieces, spliced verbatim into the answer.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Standalone `SenderProvidedRequestData` / `SenderProvidedResponseData`.
    pub sender_data: String,
    /// The sender's ЭП-ОВ `ds:Signature`.
    pub sender_signature: Option<String>,
    /// Metadata without DeliveryTimestamp (set at delivery).
    pub metadata: MessageMetadata,
    pub original_message_id: Option<String>,
    pub reference_message_id: Option<String>,
    pub reply_to: Option<String>,
    pub attachments: Vec<AttachmentContent>,
    /// Files in the file storage and the one-time access to them.
    pub fs_attachments: Vec<FsAttachment>,
}

/// One queued message.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `MessageMetadata/MessageId`: what the recipient acknowledges.
    pub message_id: String,
    /// The kind's request root (GetRequest filters by it; GetResponse by it or `response_kind`).
    pub request_kind: Option<QualifiedName>,
    pub response_kind: Option<QualifiedName>,
    /// Answers to requests sent with a NodeID go to that node's queue.
    pub node_id: Option<String>,
    pub visible_at: Instant,
    pub delivered_at: Option<Instant>,
    pub deliveries: u32,
    pub enqueued: DateTime<FixedOffset>,
    pub payload: Payload,
}

impl Entry {
    pub fn new(message_id: String, payload: Payload, enqueued: DateTime<FixedOffset>) -> Self {
        Entry {
            message_id,
            request_kind: None,
            response_kind: None,
            node_id: None,
            visible_at: Instant::now(),
            delivered_at: None,
            deliveries: 0,
            enqueued,
            payload,
        }
    }
}

/// What a GetRequest/GetResponse selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<QualifiedName>,
    /// Match the response root too (GetResponse).
    pub either_root: bool,
    /// `Some`: compare NodeIDs (responses).
    pub node_id: Option<Option<String>>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        let kind_ok = match &self.kind {
            None => true,
            Some(k) => {
                e.request_kind.as_ref() == Some(k)
                    || (self.either_root && e.response_kind.as_ref() == Some(k))
            }
        };
        let node_ok = match &self.node_id {
            None => true,
            Some(n) => *n == e.node_id,
        };
        kind_ok && node_ok
    }
}

/// Queue depth by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Waiting to be delivered (including ones whose Ack timed out).
    pub ready: usize,
    /// Delivered, not yet acknowledged, timeout not reached.
    pub pending: usize,
    /// Not yet visible (a simulated provider is still "working").
    pub scheduled: usize,
}

/// A FIFO queue.
#[derive(Debug, Default)]
pub struct Queue {
    entries: Vec<Entry>,
}

impl Queue {
    pub fn push(&mut self, e: Entry) {
        self.entries.push(e);
    }

    fn deliverable(e: &Entry, now: Instant, redelivery: Duration) -> bool {
        e.visible_at <= now
            && e.delivered_at
                .is_none_or(|t| now.saturating_duration_since(t) >= redelivery)
    }

    /// Takes the first deliverable entry matching `filter`: it is marked delivered (pending Ack)
    /// and a copy is returned.
    pub fn take(&mut self, filter: &Filter, redelivery: Duration) -> Option<Entry> {
        let now = Instant::now();
        let e = self
            .entries
            .iter_mut()
            .find(|e| Self::deliverable(e, now, redelivery) && filter.matches(e))?;
        e.delivered_at = Some(now);
        e.deliveries += 1;
        Some(e.clone())
    }

    /// Queues a not-yet-delivered copy of the delivered entry `message_id` right behind it, so
    /// that the same message is delivered once more (even after it is acknowledged).
    pub fn duplicate(&mut self, message_id: &str) {
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.message_id == message_id && e.delivered_at.is_some())
        {
            let mut copy = self.entries[i].clone();
            copy.delivered_at = None;
            self.entries.insert(i + 1, copy);
        }
    }

    /// Whether any delivered-but-unacknowledged entry has this id.
    pub fn has_pending(&self, message_id: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.message_id == message_id && e.delivered_at.is_some())
    }

    /// Removes the delivered entries with this id; whether there were any.
    pub fn ack(&mut self, message_id: &str) -> bool {
        let before = self.entries.len();
        self.entries
            .retain(|e| !(e.message_id == message_id && e.delivered_at.is_some()));
        self.entries.len() != before
    }

    pub fn depth(&self, redelivery: Duration) -> Depth {
        let now = Instant::now();
        let mut d = Depth::default();
        for e in &self.entries {
            if e.visible_at > now {
                d.scheduled += 1;
            } else if Self::deliverable(e, now, redelivery) {
                d.ready += 1;
            } else {
                d.pending += 1;
            }
        }
        d
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, kind: &str) -> Entry {
        let mut e = Entry::new(
            id.into(),
            Payload {
                sender_data: String::new(),
                sender_signature: None,
                metadata: MessageMetadata::default(),
                original_message_id: None,
                reference_message_id: None,
                reply_to: None,
                attachments: vec![],
                fs_attachments: vec![],
            },
            chrono::Utc::now().fixed_offset(),
        );
        e.request_kind = Some(QualifiedName {
            namespace: "urn:x".into(),
            local_name: kind.into(),
        });
        e
    }

    #[test]
    fn fifo_filter_ack_and_redelivery() {
        let mut q = Queue::default();
        q.push(entry("a", "A"));
        q.push(entry("b", "B"));
        let long = Duration::from_secs(60);
        let only_b = Filter {
            kind: Some(QualifiedName {
                namespace: "urn:x".into(),
                local_name: "B".into(),
            }),
            ..Default::default()
        };
        assert_eq!(q.take(&only_b, long).unwrap().message_id, "b");
        assert!(q.take(&only_b, long).is_none(), "b is pending");
        assert_eq!(q.take(&Filter::default(), long).unwrap().message_id, "a");
        assert_eq!(q.depth(long).pending, 2);
        assert!(q.ack("a"));
        assert!(!q.ack("a"));
        // With a zero timeout b is deliverable again at once.
        let again = q.take(&Filter::default(), Duration::ZERO).unwrap();
        assert_eq!((again.message_id.as_str(), again.deliveries), ("b", 2));
    }

    #[test]
    fn duplicates_survive_the_first_ack() {
        let mut q = Queue::default();
        q.push(entry("a", "A"));
        let long = Duration::from_secs(60);
        q.take(&Filter::default(), long).unwrap();
        q.duplicate("a");
        assert!(q.ack("a"));
        assert_eq!(q.take(&Filter::default(), long).unwrap().message_id, "a");
        assert!(q.ack("a"));
        assert!(q.is_empty());
    }
}
