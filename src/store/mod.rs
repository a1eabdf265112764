//! Durable storage on sled: one database directory, one tree per kind of record plus the
//! indexes the engine and the API need. Every change that touches several trees is one sled
//! transaction (record + due-time index + idempotency/correlation indexes + audit log + webhook
//! outbox), so a crash leaves either the old or the new state, never half of each.
//!
//! Flush policy (group commit): sled writes go to its log immediately and reach disk on flush.
//! [`Store::durable`] is awaited before anything is promised outside the process — before the
//! API answers "accepted", before a received SMEV message is acknowledged. Concurrent callers
//! share one flush: a single flusher task flushes everything written before the latest request
//! and wakes every caller whose writes it covered. sled's own background flush (every 500 ms)
//! bounds the loss window of everything else.

pub mod codec;
pub mod lifecycle;
pub mod records;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Db, Transactional, Tree};
use tokio::sync::{watch, Notify};

use crate::dsig::DigestAlgorithm;
use records::*;

/// Storage errors.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(String),
    #[error("stored value cannot be decoded: {0}")]
    Codec(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Rejected(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.to_string())
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e.to_string()),
        }
    }
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// What the due-time index schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    /// Send (or resend) an outgoing request.
    Request = b'R' as isize,
    /// Send the response to an incoming request.
    Incoming = b'I' as isize,
    /// Deliver a webhook event.
    Webhook = b'W' as isize,
}

fn due_key(kind: DueKind, at: DateTime<Utc>, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + id.len());
    k.push(kind as u8);
    k.extend_from_slice(&(at.timestamp_millis().max(0) as u64).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The trees, inside a transaction.
pub struct Tx<'a> {
    pub requests: &'a TransactionalTree,
    pub incoming: &'a TransactionalTree,
    pub dead_letters: &'a TransactionalTree,
    pub due: &'a TransactionalTree,
    pub client_ids: &'a TransactionalTree,
    pub message_ids: &'a TransactionalTree,
    pub received: &'a TransactionalTree,
    pub audit: &'a TransactionalTree,
    pub audit_index: &'a TransactionalTree,
    pub outbox: &'a TransactionalTree,
    pub blobs: &'a TransactionalTree,
    pub cases: &'a TransactionalTree,
    ids: &'a Store,
    webhook_systems: &'a HashSet<String>,
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

impl Tx<'_> {
    fn get<T: serde::de::DeserializeOwned>(
        tree: &TransactionalTree,
        key: &[u8],
    ) -> TxResult<Option<T>> {
        match tree.get(key)? {
            Some(v) => Ok(Some(codec::decode(&v).map_err(abort)?)),
            None => Ok(None),
        }
    }

    fn put<T: serde::Serialize>(tree: &TransactionalTree, key: &[u8], value: &T) -> TxResult<()> {
        tree.insert(key, codec::encode(value).map_err(abort)?)?;
        Ok(())
    }

    /// Appends an audit entry.
    pub fn audit(&self, entry: &AuditEntry) -> TxResult<()> {
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
    pub fn blob(&self, bytes: &[u8]) -> TxResult<String> {
        let key = blob_key(bytes).map_err(abort)?;
        if self.blobs.get(key.as_bytes())?.is_none() {
            self.blobs.insert(key.as_bytes(), bytes)?;
        }
        Ok(key)
    }

    /// Queues a webhook event if the system has a webhook.
    pub fn webhook(&self, system: &str, event: &str, payload: serde_json::Value) -> TxResult<()> {
        if !self.webhook_systems.contains(system) {
            return Ok(());
        }
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
            state: "pending".into(),
        };
        Self::put(self.outbox, e.id.as_bytes(), &e)?;
        self.due
            .insert(due_key(DueKind::Webhook, now, &e.id), &[])?;
        Ok(())
    }

    pub fn get_request(&self, id: &str) -> TxResult<Option<RequestRecord>> {
        Self::get(self.requests, id.as_bytes())
    }

    /// Writes a request, keeping the due and correlation indexes in step with `old`.
    pub fn put_request(&self, old: Option<&RequestRecord>, new: &RequestRecord) -> TxResult<()> {
        if let Some(o) = old {
            if let Some(d) = o.next_due {
                self.due.remove(due_key(DueKind::Request, d, &o.id))?;
            }
        }
        if let Some(d) = new.next_due {
            self.due
                .insert(due_key(DueKind::Request, d, &new.id), &[])?;
        }
        if let Some(m) = &new.message_id {
            if old.and_then(|o| o.message_id.as_ref()) != Some(m) {
                self.message_ids
                    .insert(m.as_bytes(), format!("R:{}", new.id).as_bytes())?;
            }
        }
        Self::put(self.requests, new.id.as_bytes(), new)
    }

    /// Changes a request: `f` edits a copy (it may run more than once on conflicts, so it must
    /// not have side effects). A state change is checked against the lifecycle, appended to the
    /// history and the audit log, and queues the webhook events.
    pub fn update_request<F>(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        xml: Option<&str>,
        f: &F,
    ) -> TxResult<RequestRecord>
    where
        F: Fn(&mut RequestRecord) -> Result<(), StoreError>,
    {
        let old = self
            .get_request(id)?
            .ok_or_else(|| abort(StoreError::NotFound))?;
        let mut new = old.clone();
        f(&mut new).map_err(abort)?;
        if new.state != old.state {
            lifecycle::check(old.state, new.state).map_err(abort)?;
        }
        let now = Utc::now();
        new.updated_at = now;
        if new.state != old.state {
            new.history.push(Transition {
                at: now,
                actor: actor.to_string(),
                from: Some(old.state),
                to: new.state,
                reason: reason.to_string(),
            });
            self.webhook(&new.system, "request.status_changed", status_payload(&new))?;
            if matches!(new.state, RequestState::Answered | RequestState::Rejected)
                && new.answer.is_some()
            {
                self.webhook(&new.system, "request.answered", answer_payload(&new))?;
            }
        }
        if new.state != old.state || xml.is_some() {
            self.audit(&AuditEntry {
                at: now,
                actor: actor.to_string(),
                subject_type: "request".into(),
                subject_id: id.to_string(),
                action: if new.state != old.state {
                    "transition".into()
                } else {
                    "update".into()
                },
                from: Some(old.state.as_str().into()),
                to: Some(new.state.as_str().into()),
                reason: reason.to_string(),
                xml: xml.map(str::to_string),
            })?;
        }
        self.put_request(Some(&old), &new)?;
        Ok(new)
    }

    pub fn get_incoming(&self, id: &str) -> TxResult<Option<IncomingRecord>> {
        Self::get(self.incoming, id.as_bytes())
    }

    pub fn put_incoming(&self, old: Option<&IncomingRecord>, new: &IncomingRecord) -> TxResult<()> {
        if let Some(o) = old {
            if let Some(d) = o.next_due {
                self.due.remove(due_key(DueKind::Incoming, d, &o.id))?;
            }
        }
        if let Some(d) = new.next_due {
            self.due
                .insert(due_key(DueKind::Incoming, d, &new.id), &[])?;
        }
        if let Some(m) = &new.response_message_id {
            self.message_ids
                .insert(m.as_bytes(), format!("I:{}", new.id).as_bytes())?;
        }
        Self::put(self.incoming, new.id.as_bytes(), new)
    }

    /// Remembers that the SMEV message `message_id` was received and stored as `subject`.
    pub fn mark_received(&self, message_id: &str, subject: &str) -> TxResult<()> {
        self.received
            .insert(message_id.as_bytes(), subject.as_bytes())?;
        Ok(())
    }

    pub fn put_dead_letter(&self, d: &DeadLetter) -> TxResult<()> {
        Self::put(self.dead_letters, d.id.as_bytes(), d)
    }

    pub fn get_dead_letter(&self, id: &str) -> TxResult<Option<DeadLetter>> {
        Self::get(self.dead_letters, id.as_bytes())
    }

    pub fn put_webhook(&self, old_due: Option<DateTime<Utc>>, e: &WebhookEvent) -> TxResult<()> {
        if let Some(d) = old_due {
            self.due.remove(due_key(DueKind::Webhook, d, &e.id))?;
        }
        if e.state == "pending" {
            self.due
                .insert(due_key(DueKind::Webhook, e.next_due, &e.id), &[])?;
        }
        Self::put(self.outbox, e.id.as_bytes(), e)
    }
}

/// A new record id: UUID v7 (time-ordered, so ids sort by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Blob key: GOST R 34.11-2012-256 of the content, hex.
pub fn blob_key(bytes: &[u8]) -> Result<String, StoreError> {
    DigestAlgorithm::Streebog256
        .hash(bytes)
        .map(hex::encode)
        .map_err(|e| StoreError::Sled(e.to_string()))
}

/// Reads and decodes the record `id` of `tree`.
fn load<T: serde::de::DeserializeOwned>(tree: &Tree, id: &str) -> Result<T, StoreError> {
    match tree.get(id.as_bytes())? {
        Some(v) => codec::decode(&v),
        None => Err(StoreError::NotFound),
    }
}

/// A page of the records of `tree` that `keep` accepts, newest id first, after `cursor` (the
/// last id of the previous page); the second value is the cursor of the next page, if any.
fn page<T: serde::de::DeserializeOwned>(
    tree: &Tree,
    cursor: Option<&str>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
    id_of: impl Fn(&T) -> &String,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let iter = match cursor {
        Some(c) => tree.range(..c.as_bytes()),
        None => tree.iter(),
    };
    let mut out = Vec::new();
    for item in iter.rev() {
        let (_, v) = item?;
        let r: T = codec::decode(&v)?;
        if keep(&r) {
            out.push(r);
            if out.len() > limit {
                break;
            }
        }
    }
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|r| id_of(r).clone())
    } else {
        None
    };
    Ok((out, next))
}

/// Result of creating a request with a client id.
#[derive(Debug, Clone)]
pub enum Created {
    New(RequestRecord),
    /// The client id was already used: the existing request.
    Existing(RequestRecord),
}

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Systems visible to the caller (empty = all).
    pub systems: Vec<String>,
    pub states: Vec<RequestState>,
    pub kind: Option<String>,
    pub case: Option<String>,
    pub client_id: Option<String>,
    pub message_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the case reference, applicant, ИНН or СНИЛС.
    pub text: Option<String>,
}

impl RequestFilter {
    /// Whether `r` passes the filter.
    pub fn matches(&self, r: &RequestRecord) -> bool {
        if !self.systems.is_empty() && !self.systems.contains(&r.system) {
            return false;
        }
        if !self.states.is_empty() && !self.states.contains(&r.state) {
            return false;
        }
        if self.kind.as_ref().is_some_and(|k| *k != r.kind) {
            return false;
        }
        if let Some(c) = &self.case {
            if r.case.as_ref().map(|x| &x.reference) != Some(c) {
                return false;
            }
        }
        if self.client_id.is_some() && self.client_id != r.client_id {
            return false;
        }
        if let Some(m) = &self.message_id {
            if r.message_id.as_ref() != Some(m) && !r.replaced_message_ids.contains(m) {
                return false;
            }
        }
        if self.created_from.is_some_and(|t| r.created_at < t)
            || self.created_to.is_some_and(|t| r.created_at > t)
        {
            return false;
        }
        if self.updated_from.is_some_and(|t| r.updated_at < t)
            || self.updated_to.is_some_and(|t| r.updated_at > t)
        {
            return false;
        }
        if let Some(text) = &self.text {
            let needle = text.to_lowercase();
            let hay = r
                .case
                .as_ref()
                .map(|c| {
                    format!(
                        "{} {} {} {}",
                        c.reference,
                        c.applicant.as_deref().unwrap_or(""),
                        c.inn.as_deref().unwrap_or(""),
                        c.snils.as_deref().unwrap_or("")
                    )
                })
                .unwrap_or_default()
                .to_lowercase();
            if !hay.contains(&needle) {
                return false;
            }
        }
        true
    }
}

struct Flusher {
    requested: AtomicU64,
    wake: Notify,
    done: watch::Sender<u64>,
}

/// The database handle, shared by `Arc`.
pub struct Store {
    db: Db,
    requests: Tree,
    incoming: Tree,
    dead_letters: Tree,
    due: Tree,
    client_ids: Tree,
    message_ids: Tree,
    received: Tree,
    audit: Tree,
    audit_index: Tree,
    outbox: Tree,
    blobs: Tree,
    cases: Tree,
    meta: Tree,
    seq: AtomicU64,
    webhook_systems: RwLock<HashSet<String>>,
    flusher: OnceLock<Arc<Flusher>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Version of the database layout written into the `meta` tree.
pub const LAYOUT_VERSION: u32 = 1;

impl Store {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Arc<Store>, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Sled(format!("{}: {e}", path.display())))?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| {
                StoreError::Sled(format!("cannot open the database {}: {e}", path.display()))
            })?;
        let t = |name: &str| db.open_tree(name);
        let meta = t("meta")?;
        match meta.get("layout")? {
            Some(v) => {
                let version = u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 4]));
                if version > LAYOUT_VERSION {
                    return Err(StoreError::Sled(format!(
                        "the database was written by a newer release (layout {version}, this release reads up to {LAYOUT_VERSION})"
                    )));
                }
            }
            None => {
                meta.insert("layout", &LAYOUT_VERSION.to_be_bytes())?;
            }
        }
        let store = Store {
            requests: t("requests")?,
            incoming: t("incoming")?,
            dead_letters: t("dead_letters")?,
            due: t("due")?,
            client_ids: t("client_ids")?,
            message_ids: t("message_ids")?,
            received: t("received")?,
            audit: t("audit")?,
            audit_index: t("audit_index")?,
            outbox: t("webhook_outbox")?,
            blobs: t("blobs")?,
            cases: t("cases")?,
            meta,
            seq: AtomicU64::new(db.generate_id()?.wrapping_mul(1 << 20)),
            db,
            webhook_systems: RwLock::new(HashSet::new()),
            flusher: OnceLock::new(),
        };
        Ok(Arc::new(store))
    }

    /// Systems that have a webhook: only their events go to the outbox.
    pub fn set_webhook_systems(&self, systems: HashSet<String>) {
        if let Ok(mut w) = self.webhook_systems.write() {
            *w = systems;
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` as one transaction over every tree.
    pub fn transaction<T>(&self, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        let systems = self
            .webhook_systems
            .read()
            .map(|s| s.clone())
            .unwrap_or_default();
        let trees = (
            &self.requests,
            &self.incoming,
            &self.dead_letters,
            &self.due,
            &self.client_ids,
            &self.message_ids,
            &self.received,
            &self.audit,
            &self.audit_index,
            &self.outbox,
            &self.blobs,
            &self.cases,
        );
        let r = trees.transaction(
            |(
                requests,
                incoming,
                dead_letters,
                due,
                client_ids,
                message_ids,
                received,
                audit,
                audit_index,
                outbox,
                blobs,
                cases,
            )| {
                let tx = Tx {
                    requests,
                    incoming,
                    dead_letters,
                    due,
                    client_ids,
                    message_ids,
                    received,
                    audit,
                    audit_index,
                    outbox,
                    blobs,
                    cases,
                    ids: self,
                    webhook_systems: &systems,
                };
                f(&tx)
            },
        );
        Ok(r?)
    }

    /// Waits until everything written before the call is on disk (group commit).
    pub async fn durable(&self) -> Result<(), StoreError> {
        let flusher = self
            .flusher
            .get_or_init(|| {
                let (done, _) = watch::channel(0u64);
                let f = Arc::new(Flusher {
                    requested: AtomicU64::new(0),
                    wake: Notify::new(),
                    done,
                });
                let worker = f.clone();
                let db = self.db.clone();
                tokio::spawn(async move {
                    loop {
                        worker.wake.notified().await;
                        let target = worker.requested.load(Ordering::SeqCst);
                        let db = db.clone();
                        let ok = tokio::task::spawn_blocking(move || db.flush().is_ok())
                            .await
                            .unwrap_or(false);
                        if ok {
                            worker.done.send_replace(target);
                        }
                    }
                });
                f
            })
            .clone();
        let mut rx = flusher.done.subscribe();
        let ticket = flusher.requested.fetch_add(1, Ordering::SeqCst) + 1;
        flusher.wake.notify_one();
        loop {
            if *rx.borrow_and_update() >= ticket {
                return Ok(());
            }
            // Re-arm in case the flusher took the wake-up before our ticket was counted.
            flusher.wake.notify_one();
            if tokio::time::timeout(std::time::Duration::from_secs(30), rx.changed())
                .await
                .is_err()
            {
                return Err(StoreError::Sled(
                    "flush did not complete within 30 s".into(),
                ));
            }
        }
    }

    /// Synchronous flush (CLI tools, shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Checks that the database accepts a write (health).
    pub fn check_writable(&self) -> Result<(), StoreError> {
        self.meta
            .insert("health", &Utc::now().timestamp_millis().to_be_bytes())?;
        Ok(())
    }

    // ----- blobs -----

    /// Stores a blob outside a transaction.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let key = blob_key(bytes)?;
        if !self.blobs.contains_key(key.as_bytes())? {
            self.blobs.insert(key.as_bytes(), bytes)?;
        }
        Ok(key)
    }

    pub fn blob(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.blobs
            .get(key.as_bytes())?
            .map(|v| v.to_vec())
            .ok_or(StoreError::NotFound)
    }

    pub fn blob_text(&self, key: &str) -> Result<String, StoreError> {
        String::from_utf8(self.blob(key)?)
            .map_err(|_| StoreError::Codec("blob is not UTF-8".into()))
    }

    // ----- requests -----

    /// Creates a request (with its audit entry and webhook event); with a client id already
    /// used by the same system, returns the existing request instead.
    pub fn create_request(
        &self,
        rec: &RequestRecord,
        business_xml: &[u8],
        attachments: &[Vec<u8>],
    ) -> Result<Created, StoreError> {
        self.transaction(|tx| {
            if let Some(c) = &rec.client_id {
                let key = format!("{}\0{}", rec.system, c);
                if let Some(existing) = tx.client_ids.get(key.as_bytes())? {
                    let id = String::from_utf8_lossy(&existing).to_string();
                    return match tx.get_request(&id)? {
                        Some(r) => Ok(Created::Existing(r)),
                        None => Err(abort(StoreError::Conflict("dangling client id".into()))),
                    };
                }
                tx.client_ids.insert(key.as_bytes(), rec.id.as_bytes())?;
            }
            tx.blob(business_xml)?;
            for a in attachments {
                tx.blob(a)?;
            }
            if let Some(case) = &rec.case {
                let key = format!("{}\0{}\0{}", rec.system, case.reference, rec.id);
                tx.cases.insert(key.as_bytes(), &[])?;
            }
            tx.put_request(None, rec)?;
            tx.audit(&AuditEntry {
                at: rec.created_at,
                actor: rec.created_by.clone(),
                subject_type: "request".into(),
                subject_id: rec.id.clone(),
                action: "create".into(),
                from: None,
                to: Some(rec.state.as_str().into()),
                reason: "request accepted".into(),
                xml: Some(rec.business_xml.clone()),
            })?;
            tx.webhook(&rec.system, "request.status_changed", status_payload(rec))?;
            Ok(Created::New(rec.clone()))
        })
    }

    pub fn get_request(&self, id: &str) -> Result<RequestRecord, StoreError> {
        load(&self.requests, id)
    }

    /// Changes a request in one transaction (see [`Tx::update_request`]).
    pub fn update_request<F>(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        xml: Option<&str>,
        f: F,
    ) -> Result<RequestRecord, StoreError>
    where
        F: Fn(&mut RequestRecord) -> Result<(), StoreError>,
    {
        self.transaction(|tx| tx.update_request(id, actor, reason, xml, &f))
    }

    /// Stores a dead letter, remembering the SMEV message id it came with.
    pub fn add_dead_letter(&self, d: &DeadLetter, received_key: &str) -> Result<(), StoreError> {
        self.transaction(|tx| {
            tx.put_dead_letter(d)?;
            tx.mark_received(received_key, &format!("D:{}", d.id))?;
            tx.audit(&AuditEntry {
                at: d.received_at,
                actor: "engine".into(),
                subject_type: "dead_letter".into(),
                subject_id: d.id.clone(),
                action: "dead_letter".into(),
                from: None,
                to: Some("open".into()),
                reason: d.reason.clone(),
                xml: Some(d.envelope.clone()),
            })
        })
    }

    /// Stores a new incoming request (provider role) with its received mark and webhook event.
    pub fn add_incoming(&self, r: &IncomingRecord) -> Result<(), StoreError> {
        self.transaction(|tx| {
            if let Some(existing) = tx.received.get(r.message_id.as_bytes())? {
                if existing.starts_with(b"I:") {
                    return Err(abort(StoreError::Conflict(format!(
                        "the request {} is already stored as {}",
                        r.message_id,
                        String::from_utf8_lossy(&existing)
                    ))));
                }
            }
            tx.put_incoming(None, r)?;
            tx.mark_received(&r.message_id, &format!("I:{}", r.id))?;
            tx.audit(&AuditEntry {
                at: r.received_at,
                actor: "smev".into(),
                subject_type: "incoming".into(),
                subject_id: r.id.clone(),
                action: "received".into(),
                from: None,
                to: Some(r.state.as_str().into()),
                reason: format!(
                    "request {} from {}",
                    r.root_element,
                    r.sender
                        .as_ref()
                        .and_then(|s| s.mnemonic.clone())
                        .unwrap_or_default()
                ),
                xml: Some(r.envelope.clone()),
            })?;
            tx.webhook(
                &r.system,
                "incoming.received",
                serde_json::json!({
                    "incoming_id": r.id,
                    "system": r.system,
                    "kind": r.kind,
                    "root_element": r.root_element,
                    "message_id": r.message_id,
                    "received_at": r.received_at,
                    "test_message": r.test_message,
                    "href": format!("/api/v1/incoming/{}", r.id),
                }),
            )
        })
    }

    /// Requests due at `now` (oldest due first), up to `limit`.
    pub fn due(
        &self,
        kind: DueKind,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let start = [kind as u8];
        let end = due_key(kind, now, "\u{10FFFF}");
        let mut out = Vec::new();
        for item in self.due.range(start.as_slice()..end.as_slice()) {
            let (k, _) = item?;
            if k.len() > 9 {
                out.push(String::from_utf8_lossy(&k[9..]).to_string());
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Number of entries of a due kind: (due now, later).
    pub fn due_counts(&self, kind: DueKind, now: DateTime<Utc>) -> (u64, u64) {
        let split = due_key(kind, now, "\u{10FFFF}");
        let mut due_now = 0;
        let mut later = 0;
        for (k, _) in self.due.scan_prefix([kind as u8]).flatten() {
            if k.as_ref() < split.as_slice() {
                due_now += 1;
            } else {
                later += 1;
            }
        }
        (due_now, later)
    }

    /// The earliest due time of a kind.
    pub fn next_due_time(&self, kind: DueKind) -> Option<DateTime<Utc>> {
        let (k, _) = self.due.scan_prefix([kind as u8]).next()?.ok()?;
        let ms = u64::from_be_bytes(k.get(1..9)?.try_into().ok()?);
        DateTime::from_timestamp_millis(ms as i64)
    }

    /// Every request in `states` (a full scan; used by recovery, expiry and metrics).
    pub fn requests_where(
        &self,
        pred: impl Fn(&RequestRecord) -> bool,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.requests.iter() {
            let (_, v) = item?;
            let r: RequestRecord = codec::decode(&v)?;
            if pred(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// A page of requests, newest first, after `cursor` (an id from the previous page).
    pub fn list_requests(
        &self,
        filter: &RequestFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<RequestRecord>, Option<String>), StoreError> {
        page(
            &self.requests,
            cursor,
            limit,
            |r: &RequestRecord| filter.matches(r),
            |r| &r.id,
        )
    }

    /// Request counts by state (metrics, monitoring).
    pub fn count_by_state(&self) -> Result<BTreeMap<RequestState, u64>, StoreError> {
        let mut m = BTreeMap::new();
        for item in self.requests.iter() {
            let (_, v) = item?;
            let r: RequestRecord = codec::decode(&v)?;
            *m.entry(r.state).or_insert(0) += 1;
        }
        Ok(m)
    }

    /// What a SMEV MessageID we sent belongs to: ("R", request id) or ("I", incoming id).
    pub fn owner_of_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(self.message_ids.get(message_id.as_bytes())?.and_then(|v| {
            let s = String::from_utf8_lossy(&v).to_string();
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        }))
    }

    /// Whether a received SMEV message was already stored (redelivery after a lost Ack).
    pub fn received_as(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .received
            .get(message_id.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).to_string()))
    }

    /// Request ids of a case of a system.
    pub fn case_request_ids(
        &self,
        system: &str,
        reference: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{system}\0{reference}\0");
        let mut out = Vec::new();
        for item in self.cases.scan_prefix(prefix.as_bytes()) {
            let (k, _) = item?;
            out.push(String::from_utf8_lossy(&k[prefix.len()..]).to_string());
        }
        Ok(out)
    }

    /// Audit entries of a subject, oldest first.
    pub fn audit_of(&self, subject_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let mut prefix = subject_id.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.audit_index.scan_prefix(&prefix) {
            let (_, key) = item?;
            if let Some(v) = self.audit.get(&key)? {
                out.push(codec::decode(&v)?);
            }
        }
        Ok(out)
    }

    /// Appends an audit entry outside any other change (logins, admin actions).
    pub fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.transaction(|tx| tx.audit(&entry))
    }

    // ----- incoming (provider side) -----

    pub fn get_incoming(&self, id: &str) -> Result<IncomingRecord, StoreError> {
        load(&self.incoming, id)
    }

    pub fn list_incoming(
        &self,
        systems: &[String],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<IncomingRecord>, Option<String>), StoreError> {
        page(
            &self.incoming,
            cursor,
            limit,
            |r: &IncomingRecord| systems.is_empty() || systems.contains(&r.system),
            |r| &r.id,
        )
    }

    pub fn update_incoming<F>(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        xml: Option<&str>,
        f: F,
    ) -> Result<IncomingRecord, StoreError>
    where
        F: Fn(&mut IncomingRecord) -> Result<(), StoreError>,
    {
        self.transaction(|tx| {
            let old = tx
                .get_incoming(id)?
                .ok_or_else(|| abort(StoreError::NotFound))?;
            let mut new = old.clone();
            f(&mut new).map_err(abort)?;
            let now = Utc::now();
            new.updated_at = now;
            if new.state != old.state {
                new.history.push((
                    now,
                    actor.to_string(),
                    format!("{} → {}: {reason}", old.state.as_str(), new.state.as_str()),
                ));
            }
            tx.audit(&AuditEntry {
                at: now,
                actor: actor.to_string(),
                subject_type: "incoming".into(),
                subject_id: id.to_string(),
                action: "update".into(),
                from: Some(old.state.as_str().into()),
                to: Some(new.state.as_str().into()),
                reason: reason.to_string(),
                xml: xml.map(str::to_string),
            })?;
            tx.put_incoming(Some(&old), &new)?;
            Ok(new)
        })
    }

    // ----- dead letters -----

    pub fn get_dead_letter(&self, id: &str) -> Result<DeadLetter, StoreError> {
        load(&self.dead_letters, id)
    }

    pub fn list_dead_letters(&self, systems: &[String]) -> Result<Vec<DeadLetter>, StoreError> {
        let mut out = Vec::new();
        for item in self.dead_letters.iter().rev() {
            let (_, v) = item?;
            let d: DeadLetter = codec::decode(&v)?;
            if systems.is_empty() || systems.contains(&d.system) {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub fn update_dead_letter<F>(
        &self,
        id: &str,
        actor: &str,
        action: &str,
        f: F,
    ) -> Result<DeadLetter, StoreError>
    where
        F: Fn(&mut DeadLetter) -> Result<(), StoreError>,
    {
        self.transaction(|tx| {
            let old = tx
                .get_dead_letter(id)?
                .ok_or_else(|| abort(StoreError::NotFound))?;
            let mut new = old.clone();
            f(&mut new).map_err(abort)?;
            new.history
                .push((Utc::now(), actor.to_string(), action.to_string()));
            tx.audit(&AuditEntry {
                at: Utc::now(),
                actor: actor.to_string(),
                subject_type: "dead_letter".into(),
                subject_id: id.to_string(),
                action: action.to_string(),
                from: Some(old.state.clone()),
                to: Some(new.state.clone()),
                reason: new.reason.clone(),
                xml: Some(new.envelope.clone()),
            })?;
            tx.put_dead_letter(&new)?;
            Ok(new)
        })
    }

    // ----- webhooks -----

    pub fn get_webhook(&self, id: &str) -> Result<WebhookEvent, StoreError> {
        load(&self.outbox, id)
    }

    pub fn update_webhook<F>(&self, id: &str, f: F) -> Result<WebhookEvent, StoreError>
    where
        F: Fn(&mut WebhookEvent),
    {
        self.transaction(|tx| {
            let old: WebhookEvent =
                Tx::get(tx.outbox, id.as_bytes())?.ok_or_else(|| abort(StoreError::NotFound))?;
            let mut new = old.clone();
            f(&mut new);
            let old_due = (old.state == "pending").then_some(old.next_due);
            tx.put_webhook(old_due, &new)?;
            Ok(new)
        })
    }

    /// Webhook events in a state ("dead", "pending", "delivered").
    pub fn webhooks_in_state(
        &self,
        systems: &[String],
        state: &str,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox.iter().rev() {
            let (_, v) = item?;
            let e: WebhookEvent = codec::decode(&v)?;
            if e.state == state && (systems.is_empty() || systems.contains(&e.system)) {
                out.push(e);
            }
        }
        Ok(out)
    }

    // ----- retention -----

    /// Removes a closed request and its indexes (after it was archived).
    pub fn purge_request(&self, id: &str, cutoff: DateTime<Utc>) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let Some(r) = tx.get_request(id)? else {
                return Ok(());
            };
            // Re-checked here: an operator may have reopened it since it was archived.
            if !r.state.is_closed() || r.updated_at >= cutoff {
                return Ok(());
            }
            if let Some(c) = &r.client_id {
                tx.client_ids
                    .remove(format!("{}\0{}", r.system, c).as_bytes())?;
            }
            if let Some(case) = &r.case {
                tx.cases
                    .remove(format!("{}\0{}\0{}", r.system, case.reference, r.id).as_bytes())?;
            }
            for m in r.message_id.iter().chain(&r.replaced_message_ids) {
                tx.message_ids.remove(m.as_bytes())?;
            }
            if let Some(d) = r.next_due {
                tx.due.remove(due_key(DueKind::Request, d, &r.id))?;
            }
            tx.requests.remove(id.as_bytes())?;
            Ok(())
        })
    }
}

/// Payload of `request.status_changed`.
pub fn status_payload(r: &RequestRecord) -> serde_json::Value {
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
pub fn answer_payload(r: &RequestRecord) -> serde_json::Value {
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
