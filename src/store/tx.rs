//! One transaction over every tree: the only place that writes records together with their
//! indexes (due time, MessageIDs, received messages, client ids, cases), the audit log and the
//! webhook outbox. Private to the store: nothing outside it sees a sled type.

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::due::{due_key, DueKind};
use super::{codec, new_id, SledStore, StoreError};
use crate::domain::{
    AuditEntry, DeadLetter, IncomingRecord, Owner, RequestRecord, WebhookEvent, WebhookState,
};

pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

pub(super) fn abort(e: impl Into<StoreError>) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e.into())
}

/// The trees, inside a transaction.
pub(super) struct Tx<'a> {
    pub(super) requests: &'a TransactionalTree,
    pub(super) incoming: &'a TransactionalTree,
    pub(super) dead_letters: &'a TransactionalTree,
    pub(super) due: &'a TransactionalTree,
    pub(super) client_ids: &'a TransactionalTree,
    pub(super) message_ids: &'a TransactionalTree,
    pub(super) received: &'a TransactionalTree,
    pub(super) audit: &'a TransactionalTree,
    pub(super) audit_index: &'a TransactionalTree,
    pub(super) outbox_tree: &'a TransactionalTree,
    pub(super) blobs: &'a TransactionalTree,
    pub(super) cases: &'a TransactionalTree,
    pub(super) ui_accounts: &'a TransactionalTree,
    pub(super) ids: &'a SledStore,
    pub(super) outbox: Option<&'a super::Outbox>,
    /// The requests' state changes this attempt made, counted when it commits.
    pub(super) notes: &'a super::tally::Notes,
}

impl Tx<'_> {
    pub(super) fn get<T: serde::de::DeserializeOwned>(
        tree: &TransactionalTree,
        key: &[u8],
    ) -> TxResult<Option<T>> {
        match tree.get(key)? {
            Some(v) => Ok(Some(codec::decode(&v).map_err(abort)?)),
            None => Ok(None),
        }
    }

    pub(super) fn put<T: serde::Serialize>(
        tree: &TransactionalTree,
        key: &[u8],
        value: &T,
    ) -> TxResult<()> {
        tree.insert(key, codec::encode(value).map_err(abort)?)?;
        Ok(())
    }

    /// Appends an audit entry.
    pub(super) fn audit(&self, entry: &AuditEntry) -> TxResult<()> {
        let seq = self.ids.next_seq();
        let mut key = (entry.at.timestamp_millis().max(0) as u64)
            .to_be_bytes()
            .to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        Self::put(self.audit, &key, entry)?;
        let mut idx = entry.subject_id.as_bytes().to_vec();
        idx.push(0);
        idx.extend_from_slice(&key);
        self.audit_index.insert(idx, key)?;
        Ok(())
    }

    /// Stores a blob (content-addressed) and returns its key.
    pub(super) fn blob(&self, bytes: &[u8]) -> TxResult<String> {
        let key = super::blob_key(bytes).map_err(abort)?;
        let packed = super::blob_codec::packed_key(&key);
        if self.blobs.get(key.as_bytes())?.is_none() && self.blobs.get(packed.as_bytes())?.is_none()
        {
            let (at, value) = super::blob_codec::stored_form(&key, bytes);
            self.blobs.insert(at.as_bytes(), value.as_ref())?;
        }
        Ok(key)
    }

    /// Queues a webhook event if the system has a webhook; `payload` says what it says.
    pub(super) fn webhook(
        &self,
        system: &str,
        event: &str,
        payload: impl FnOnce(&dyn super::WebhookPayloads) -> serde_json::Value,
    ) -> TxResult<()> {
        let Some(outbox) = self.outbox.filter(|o| o.systems.contains(system)) else {
            return Ok(());
        };
        let payload = payload(outbox.payloads.as_ref());
        let now = Utc::now();
        let e = WebhookEvent {
            id: new_id(),
            system: system.to_string(),
            event: event.to_string(),
            created_at: now,
            payload,
            attempts: 0,
            next_due: now,
            last_error: None,
            state: WebhookState::Pending,
        };
        Self::put(self.outbox_tree, e.id.as_bytes(), &e)?;
        self.due
            .insert(due_key(DueKind::Webhook, now, &e.id), &[])?;
        Ok(())
    }

    pub(super) fn get_request(&self, id: &str) -> TxResult<Option<RequestRecord>> {
        Self::get(self.requests, id.as_bytes())
    }

    /// Writes a request, keeping the due and correlation indexes in step with `old`.
    pub(super) fn put_request(
        &self,
        old: Option<&RequestRecord>,
        new: &RequestRecord,
    ) -> TxResult<()> {
        if let Some(d) = old.and_then(|o| o.next_due) {
            self.due.remove(due_key(DueKind::Request, d, &new.id))?;
        }
        if let Some(d) = new.next_due {
            self.due
                .insert(due_key(DueKind::Request, d, &new.id), &[])?;
        }
        if let Some(m) = &new.message_id {
            if old.and_then(|o| o.message_id.as_ref()) != Some(m) {
                let owner = Owner::Request(new.id.clone()).key();
                self.message_ids.insert(m.as_bytes(), owner.as_bytes())?;
            }
        }
        let value = sled::IVec::from(codec::encode(new).map_err(abort)?);
        self.requests.insert(new.id.as_bytes(), value.clone())?;
        self.notes.note(&new.id, old, Some((new, value)));
        Ok(())
    }

    pub(super) fn get_incoming(&self, id: &str) -> TxResult<Option<IncomingRecord>> {
        Self::get(self.incoming, id.as_bytes())
    }

    pub(super) fn put_incoming(
        &self,
        old: Option<&IncomingRecord>,
        new: &IncomingRecord,
    ) -> TxResult<()> {
        if let Some(d) = old.and_then(|o| o.next_due) {
            self.due.remove(due_key(DueKind::Incoming, d, &new.id))?;
        }
        if let Some(d) = new.next_due {
            self.due
                .insert(due_key(DueKind::Incoming, d, &new.id), &[])?;
        }
        if let Some(m) = &new.response_message_id {
            let owner = Owner::Incoming(new.id.clone()).key();
            self.message_ids.insert(m.as_bytes(), owner.as_bytes())?;
        }
        Self::put(self.incoming, new.id.as_bytes(), new)
    }

    /// Remembers that the SMEV message `message_id` was received and stored as `owner`.
    pub(super) fn mark_received(&self, message_id: &str, owner: &Owner) -> TxResult<()> {
        self.received
            .insert(message_id.as_bytes(), owner.key().as_bytes())?;
        Ok(())
    }

    /// What the received SMEV message `message_id` was stored as.
    pub(super) fn received_as(&self, message_id: &str) -> TxResult<Option<Owner>> {
        Ok(self
            .received
            .get(message_id.as_bytes())?
            .and_then(|v| Owner::from_stored(&v)))
    }

    pub(super) fn put_dead_letter(&self, d: &DeadLetter) -> TxResult<()> {
        Self::put(self.dead_letters, d.id.as_bytes(), d)
    }

    pub(super) fn get_dead_letter(&self, id: &str) -> TxResult<Option<DeadLetter>> {
        Self::get(self.dead_letters, id.as_bytes())
    }

    pub(super) fn put_webhook(
        &self,
        old_due: Option<DateTime<Utc>>,
        e: &WebhookEvent,
    ) -> TxResult<()> {
        if let Some(d) = old_due {
            self.due.remove(due_key(DueKind::Webhook, d, &e.id))?;
        }
        if e.state == WebhookState::Pending {
            self.due
                .insert(due_key(DueKind::Webhook, e.next_due, &e.id), &[])?;
        }
        Self::put(self.outbox_tree, e.id.as_bytes(), e)
    }
}
