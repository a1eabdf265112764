//! The storage seam: every operation the engine, the API and the UI need from durable storage,
//! at the level of the domain. The sled backend ([`SledStore`]) is the only implementation today;
//! a second one (PostgreSQL for several nodes) implements this trait and passes the same
//! backend-agnostic suite (`contract_tests`). Callers hold an `Arc<dyn Storage>` and never see
//! a backend's types.
//!
//! The guarantees every backend gives:
//! - each `apply_*` is atomic: the lifecycle's check and changes, the history and audit entries,
//!   the webhook events and every index change together or not at all;
//! - a lifecycle refusal is [`StoreError::Lifecycle`] and changes nothing;
//! - `durable` returns only when everything written before the call survives a crash;
//! - storage failures are [`StoreError::Sled`]/[`StoreError::Codec`], logged with the
//!   operation and counted in [`Storage::failure_count`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use super::{
    Created, DueKind, IncomingFilter, LastFailure, Outbox, RequestFilter, SledStore, StoreError,
    WatchedRequest,
};
use crate::domain::{
    Actor, AuditEntry, DeadLetter, DeadLetterEvent, Delivery, IncomingEvent, IncomingRecord, Owner,
    RequestEvent, RequestRecord, RequestState, StoredPassword, StoredSession, WebhookEvent,
    WebhookState,
};

/// A boxed future of a storage operation.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A page of records and the cursor of the next page.
pub type PageOf<T> = (Vec<T>, Option<String>);

/// Durable storage of the gateway's records.
pub trait Storage: Send + Sync + std::fmt::Debug {
    // ----- configuration, durability, health -----

    /// Which systems get webhook events and what they say.
    fn set_outbox(&self, outbox: Outbox);
    /// Resolves when everything written before the call survives a crash.
    fn durable(&self) -> StorageFuture<'_, ()>;
    /// Synchronous flush (CLI tools, shutdown).
    fn flush(&self) -> Result<(), StoreError>;
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Whether a write goes through (health).
    fn check_writable(&self) -> Result<(), StoreError>;
    /// Storage failures since start.
    fn failure_count(&self) -> u64;
    fn last_failure(&self) -> Option<LastFailure>;

    // ----- blobs -----

    /// Stores bytes under their content hash; returns the key.
    fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError>;
    fn blob(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    fn blob_text(&self, key: &str) -> Result<String, StoreError> {
        String::from_utf8(self.blob(key)?)
            .map_err(|_| StoreError::Codec("blob is not UTF-8".into()))
    }

    // ----- outgoing requests -----

    fn create_request(
        &self,
        rec: &RequestRecord,
        business_xml: &[u8],
        attachments: &[Vec<u8>],
    ) -> Result<Created, StoreError>;
    fn get_request(&self, id: &str) -> Result<RequestRecord, StoreError>;
    fn apply_request(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
    ) -> Result<RequestRecord, StoreError>;
    /// Applies an event a received SMEV message carried and marks the message received.
    fn apply_request_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
        message_id: &str,
    ) -> Result<RequestRecord, StoreError>;
    fn requests_where(
        &self,
        pred: &dyn Fn(&RequestRecord) -> bool,
    ) -> Result<Vec<RequestRecord>, StoreError>;
    fn list_requests(
        &self,
        filter: &RequestFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PageOf<RequestRecord>, StoreError>;
    fn count_by_state(&self) -> Result<BTreeMap<RequestState, u64>, StoreError>;
    /// The requests that wait for an answer or expired without one (expiry, metrics), from an
    /// in-memory tally instead of a scan.
    fn watched_requests(&self) -> Result<Vec<WatchedRequest>, StoreError>;
    fn case_request_ids(&self, system: &str, reference: &str) -> Result<Vec<String>, StoreError>;
    /// Removes a closed request older than `cutoff` and its indexes (after archiving).
    fn purge_request(&self, id: &str, cutoff: DateTime<Utc>) -> Result<(), StoreError>;

    // ----- SMEV message correlation -----

    /// What a MessageID we sent belongs to.
    fn owner_of_message_id(&self, message_id: &str) -> Result<Option<Owner>, StoreError>;
    /// What a received message was stored as.
    fn received_as(&self, message_id: &str) -> Result<Option<Owner>, StoreError>;

    // ----- incoming requests -----

    fn add_incoming(&self, r: &IncomingRecord) -> Result<(), StoreError>;
    fn get_incoming(&self, id: &str) -> Result<IncomingRecord, StoreError>;
    fn list_incoming(
        &self,
        filter: &IncomingFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PageOf<IncomingRecord>, StoreError>;
    fn incoming_where(
        &self,
        pred: &dyn Fn(&IncomingRecord) -> bool,
    ) -> Result<Vec<IncomingRecord>, StoreError>;
    fn apply_incoming(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
    ) -> Result<IncomingRecord, StoreError>;
    fn apply_incoming_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
        message_id: &str,
    ) -> Result<IncomingRecord, StoreError>;

    // ----- dead letters -----

    fn add_dead_letter(&self, d: &DeadLetter, received_key: &str) -> Result<(), StoreError>;
    fn get_dead_letter(&self, id: &str) -> Result<DeadLetter, StoreError>;
    fn list_dead_letters(&self, systems: &[String]) -> Result<Vec<DeadLetter>, StoreError>;
    fn apply_dead_letter(
        &self,
        id: &str,
        actor: &Actor,
        event: &DeadLetterEvent,
    ) -> Result<DeadLetter, StoreError>;

    // ----- webhook outbox -----

    fn get_webhook(&self, id: &str) -> Result<WebhookEvent, StoreError>;
    /// `None` when the outcome no longer applies.
    fn apply_webhook(
        &self,
        id: &str,
        delivery: &Delivery,
    ) -> Result<Option<WebhookEvent>, StoreError>;
    fn webhooks_in_state(
        &self,
        systems: &[String],
        state: WebhookState,
    ) -> Result<Vec<WebhookEvent>, StoreError>;

    // ----- audit -----

    fn audit_of(&self, subject_id: &str) -> Result<Vec<AuditEntry>, StoreError>;
    fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    // ----- UI accounts -----

    /// The password `login` set in the UI, if any (it replaces the configured hash).
    fn ui_password(&self, login: &str) -> Result<Option<StoredPassword>, StoreError>;
    /// Sets `login`'s password, with its audit entry, atomically.
    fn set_ui_password(
        &self,
        login: &str,
        password: &StoredPassword,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Stores (or replaces) a session under the SHA-256 of its id.
    fn put_ui_session(&self, key: &str, session: &StoredSession) -> Result<(), StoreError>;
    fn remove_ui_session(&self, key: &str) -> Result<(), StoreError>;
    /// Every stored session (expired ones included; the caller drops them).
    fn ui_sessions(&self) -> Result<Vec<(String, StoredSession)>, StoreError>;

    // ----- file-storage downloads -----

    /// When the downloads of received message `message_id`'s files first failed (`now` when
    /// this is the first failure).
    fn first_download_failure(
        &self,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError>;
    fn clear_download_failure(&self, message_id: &str) -> Result<(), StoreError>;

    // ----- due work -----

    /// Ids of `kind` due at `now`, oldest first, up to `limit`.
    fn due(
        &self,
        kind: DueKind,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// (due now, later).
    fn due_counts(&self, kind: DueKind, now: DateTime<Utc>) -> Result<(u64, u64), StoreError>;
    fn next_due_time(&self, kind: DueKind) -> Result<Option<DateTime<Utc>>, StoreError>;
}

impl Storage for SledStore {
    fn set_outbox(&self, outbox: Outbox) {
        SledStore::set_outbox(self, outbox)
    }
    fn durable(&self) -> StorageFuture<'_, ()> {
        Box::pin(SledStore::durable(self))
    }
    fn flush(&self) -> Result<(), StoreError> {
        SledStore::flush(self)
    }
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        SledStore::size_on_disk(self)
    }
    fn check_writable(&self) -> Result<(), StoreError> {
        SledStore::check_writable(self)
    }
    fn failure_count(&self) -> u64 {
        SledStore::failure_count(self)
    }
    fn last_failure(&self) -> Option<LastFailure> {
        SledStore::last_failure(self)
    }
    fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        SledStore::put_blob(self, bytes)
    }
    fn blob(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        SledStore::blob(self, key)
    }
    fn create_request(
        &self,
        rec: &RequestRecord,
        business_xml: &[u8],
        attachments: &[Vec<u8>],
    ) -> Result<Created, StoreError> {
        SledStore::create_request(self, rec, business_xml, attachments)
    }
    fn get_request(&self, id: &str) -> Result<RequestRecord, StoreError> {
        SledStore::get_request(self, id)
    }
    fn apply_request(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
    ) -> Result<RequestRecord, StoreError> {
        SledStore::apply_request(self, id, actor, event)
    }
    fn apply_request_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
        message_id: &str,
    ) -> Result<RequestRecord, StoreError> {
        SledStore::apply_request_received(self, id, actor, event, message_id)
    }
    fn requests_where(
        &self,
        pred: &dyn Fn(&RequestRecord) -> bool,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        SledStore::requests_where(self, pred)
    }
    fn list_requests(
        &self,
        filter: &RequestFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PageOf<RequestRecord>, StoreError> {
        SledStore::list_requests(self, filter, cursor, limit)
    }
    fn count_by_state(&self) -> Result<BTreeMap<RequestState, u64>, StoreError> {
        SledStore::count_by_state(self)
    }
    fn watched_requests(&self) -> Result<Vec<WatchedRequest>, StoreError> {
        Ok(self.tally.watched())
    }
    fn case_request_ids(&self, system: &str, reference: &str) -> Result<Vec<String>, StoreError> {
        SledStore::case_request_ids(self, system, reference)
    }
    fn purge_request(&self, id: &str, cutoff: DateTime<Utc>) -> Result<(), StoreError> {
        SledStore::purge_request(self, id, cutoff)
    }
    fn owner_of_message_id(&self, message_id: &str) -> Result<Option<Owner>, StoreError> {
        SledStore::owner_of_message_id(self, message_id)
    }
    fn received_as(&self, message_id: &str) -> Result<Option<Owner>, StoreError> {
        SledStore::received_as(self, message_id)
    }
    fn add_incoming(&self, r: &IncomingRecord) -> Result<(), StoreError> {
        SledStore::add_incoming(self, r)
    }
    fn get_incoming(&self, id: &str) -> Result<IncomingRecord, StoreError> {
        SledStore::get_incoming(self, id)
    }
    fn list_incoming(
        &self,
        filter: &IncomingFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PageOf<IncomingRecord>, StoreError> {
        SledStore::list_incoming(self, filter, cursor, limit)
    }
    fn incoming_where(
        &self,
        pred: &dyn Fn(&IncomingRecord) -> bool,
    ) -> Result<Vec<IncomingRecord>, StoreError> {
        SledStore::incoming_where(self, pred)
    }
    fn apply_incoming(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
    ) -> Result<IncomingRecord, StoreError> {
        SledStore::apply_incoming(self, id, actor, event)
    }
    fn apply_incoming_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
        message_id: &str,
    ) -> Result<IncomingRecord, StoreError> {
        SledStore::apply_incoming_received(self, id, actor, event, message_id)
    }
    fn add_dead_letter(&self, d: &DeadLetter, received_key: &str) -> Result<(), StoreError> {
        SledStore::add_dead_letter(self, d, received_key)
    }
    fn get_dead_letter(&self, id: &str) -> Result<DeadLetter, StoreError> {
        SledStore::get_dead_letter(self, id)
    }
    fn list_dead_letters(&self, systems: &[String]) -> Result<Vec<DeadLetter>, StoreError> {
        SledStore::list_dead_letters(self, systems)
    }
    fn apply_dead_letter(
        &self,
        id: &str,
        actor: &Actor,
        event: &DeadLetterEvent,
    ) -> Result<DeadLetter, StoreError> {
        SledStore::apply_dead_letter(self, id, actor, event)
    }
    fn get_webhook(&self, id: &str) -> Result<WebhookEvent, StoreError> {
        SledStore::get_webhook(self, id)
    }
    fn apply_webhook(
        &self,
        id: &str,
        delivery: &Delivery,
    ) -> Result<Option<WebhookEvent>, StoreError> {
        SledStore::apply_webhook(self, id, delivery)
    }
    fn webhooks_in_state(
        &self,
        systems: &[String],
        state: WebhookState,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        SledStore::webhooks_in_state(self, systems, state)
    }
    fn ui_password(&self, login: &str) -> Result<Option<StoredPassword>, StoreError> {
        SledStore::ui_password(self, login)
    }
    fn set_ui_password(
        &self,
        login: &str,
        password: &StoredPassword,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        SledStore::set_ui_password(self, login, password, audit)
    }
    fn put_ui_session(&self, key: &str, session: &StoredSession) -> Result<(), StoreError> {
        SledStore::put_ui_session(self, key, session)
    }
    fn remove_ui_session(&self, key: &str) -> Result<(), StoreError> {
        SledStore::remove_ui_session(self, key)
    }
    fn ui_sessions(&self) -> Result<Vec<(String, StoredSession)>, StoreError> {
        SledStore::ui_sessions(self)
    }
    fn first_download_failure(
        &self,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        SledStore::first_download_failure(self, message_id, now)
    }
    fn clear_download_failure(&self, message_id: &str) -> Result<(), StoreError> {
        SledStore::clear_download_failure(self, message_id)
    }
    fn audit_of(&self, subject_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        SledStore::audit_of(self, subject_id)
    }
    fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        SledStore::audit(self, entry)
    }
    fn due(
        &self,
        kind: DueKind,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        SledStore::due(self, kind, now, limit)
    }
    fn due_counts(&self, kind: DueKind, now: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        SledStore::due_counts(self, kind, now)
    }
    fn next_due_time(&self, kind: DueKind) -> Result<Option<DateTime<Utc>>, StoreError> {
        SledStore::next_due_time(self, kind)
    }
}
