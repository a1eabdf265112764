//! Durable storage on sled: one database directory, one tree per kind of record plus the
//! indexes the engine and the API need. The store's operations are at the level of the domain —
//! apply an event to a record, claim due work, mark a SMEV message received, page a query,
//! put and get blobs — and each one that touches several trees is one sled transaction (the
//! record with its due-time index, correlation indexes, audit log and webhook outbox), so a
//! crash leaves either the old or the new state, never half of each. Nothing outside this module sees a sled
//! type; a second backend implements the same operations (see `contract_tests`).
//!
//! Layout: [`tx`] (the transaction over every tree), one file per aggregate ([`requests`],
//! [`incoming`], [`dead_letters`], [`outbox`], [`blobs`], [`audit`]), the due-time index
//! ([`due`]), durability ([`durability`]: group commit) and failure accounting ([`failures`]).

mod audit;
mod blob_codec;
mod blobs;
pub mod codec;
#[cfg(test)]
pub(crate) mod contract_tests;
mod dead_letters;
mod download_failures;
mod due;
mod durability;
mod error;
mod failures;
pub mod file_area;
mod filter;
mod incoming;
mod outbox;
mod requests;
mod storage;
mod tally;
mod tx;
mod ui_accounts;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use sled::{Db, Transactional, Tree};

pub use blobs::blob_key;
pub use due::DueKind;
pub use error::StoreError;
pub use failures::LastFailure;
pub use filter::{IncomingFilter, RequestFilter};
pub use outbox::{Outbox, WebhookPayloads};
pub use requests::Created;
pub use storage::{PageOf, Storage, StorageFuture};
pub use tally::WatchedRequest;

use tx::{Tx, TxResult};

/// A new record id: UUID v7 (time-ordered, so ids sort by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The database handle, shared by `Arc`.
pub struct SledStore {
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
    outbox_tree: Tree,
    blobs: Tree,
    cases: Tree,
    /// Changed UI passwords and live UI sessions ([`ui_accounts`]).
    ui_accounts: Tree,
    meta: Tree,
    seq: AtomicU64,
    /// Shared by `Arc` so a transaction takes it without copying the system list.
    outbox: RwLock<Option<Arc<Outbox>>>,
    flusher: OnceLock<Arc<durability::Flusher>>,
    failures: failures::Failures,
    tally: tally::Tally,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

/// Version of the database layout written into the `meta` tree.
pub const LAYOUT_VERSION: u32 = 1;

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Arc<SledStore>, StoreError> {
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
        let requests = t("requests")?;
        let tally = tally::Tally::scan(&requests)?;
        let store = SledStore {
            requests,
            incoming: t("incoming")?,
            dead_letters: t("dead_letters")?,
            due: t("due")?,
            client_ids: t("client_ids")?,
            message_ids: t("message_ids")?,
            received: t("received")?,
            audit: t("audit")?,
            audit_index: t("audit_index")?,
            outbox_tree: t("webhook_outbox")?,
            blobs: t("blobs")?,
            cases: t("cases")?,
            ui_accounts: t("ui_accounts")?,
            meta,
            seq: AtomicU64::new(db.generate_id()?.wrapping_mul(1 << 20)),
            db,
            outbox: RwLock::new(None),
            flusher: OnceLock::new(),
            failures: Default::default(),
            tally,
        };
        Ok(Arc::new(store))
    }

    /// Which systems get webhook events and what they say (none until set).
    pub(super) fn set_outbox(&self, outbox: Outbox) {
        if let Ok(mut w) = self.outbox.write() {
            *w = Some(Arc::new(outbox));
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` as one transaction over every tree; a storage failure is noted as `operation`.
    fn transaction<T>(
        &self,
        operation: &'static str,
        f: impl Fn(&Tx<'_>) -> TxResult<T>,
    ) -> Result<T, StoreError> {
        let outbox = self.outbox.read().ok().and_then(|o| o.clone());
        let notes = tally::Notes::default();
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
            &self.outbox_tree,
            &self.blobs,
            &self.cases,
            &self.ui_accounts,
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
                outbox_tree,
                blobs,
                cases,
                ui_accounts,
            )| {
                notes.restart();
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
                    outbox_tree,
                    blobs,
                    cases,
                    ui_accounts,
                    ids: self,
                    outbox: outbox.as_deref(),
                    notes: &notes,
                };
                f(&tx)
            },
        );
        if r.is_ok() {
            self.tally.commit(&notes, &self.requests);
        }
        self.noted(operation, r.map_err(StoreError::from))
    }
}

/// Reads and decodes the record `id` of `tree`.
fn load<T: serde::de::DeserializeOwned>(tree: &Tree, id: &str) -> Result<T, StoreError> {
    match tree.get(id.as_bytes())? {
        Some(v) => codec::decode(&v),
        None => Err(StoreError::NotFound),
    }
}

/// Decodes every record of `tree` that `keep` accepts, newest id first.
fn scan<T: serde::de::DeserializeOwned>(
    tree: &Tree,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for item in tree.iter().rev() {
        let (_, v) = item?;
        let r: T = codec::decode(&v)?;
        if keep(&r) {
            out.push(r);
        }
    }
    Ok(out)
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
