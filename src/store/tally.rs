//! Requests by state, and the fields of the unanswered ones, kept in memory and moved by every
//! committed write of the requests tree — so the metrics (recomputed every few seconds) read a
//! map instead of decoding every record, a full scan that grows with a year of records. Counted
//! once by a scan when the database is opened; a transaction notes its writes while it runs (an
//! attempt sled retries starts its notes again) and they are applied only when it commits.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::domain::{unanswered, RequestRecord, RequestState};

use super::StoreError;

/// What the deadline control (expiry, the deadline and age gauges) reads of a request that
/// waits for an answer or expired without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedRequest {
    pub id: String,
    pub state: RequestState,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
}

impl WatchedRequest {
    /// The record's watched fields, if the deadline control watches it.
    fn of(r: &RequestRecord) -> Option<WatchedRequest> {
        unanswered(r.state).then(|| WatchedRequest {
            id: r.id.clone(),
            state: r.state,
            created_at: r.created_at,
            sent_at: r.sent_at,
            deadline: r.deadline,
        })
    }
}

/// One write of the requests tree: the state before and after (`None`: absent), and the
/// watched fields after.
struct Write {
    id: String,
    from: Option<RequestState>,
    to: Option<RequestState>,
    watched: Option<WatchedRequest>,
}

/// The writes of requests one transaction attempt made.
#[derive(Default)]
pub(super) struct Notes(RefCell<Vec<Write>>);

impl Notes {
    /// A write of request `id`: `old` → `new` (`None`: absent).
    pub(super) fn note(&self, id: &str, old: Option<&RequestRecord>, new: Option<&RequestRecord>) {
        self.0.borrow_mut().push(Write {
            id: id.to_string(),
            from: old.map(|r| r.state),
            to: new.map(|r| r.state),
            watched: new.and_then(WatchedRequest::of),
        });
    }

    /// A new attempt of the transaction: what an aborted one noted does not count.
    pub(super) fn restart(&self) {
        self.0.borrow_mut().clear();
    }

    fn take(&self) -> Vec<Write> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

#[derive(Debug, Default)]
struct Counts {
    by_state: BTreeMap<RequestState, u64>,
    watched: HashMap<String, WatchedRequest>,
}

/// Requests by state and the watched ones.
#[derive(Debug, Default)]
pub(super) struct Tally(Mutex<Counts>);

impl Tally {
    /// Counts the records of the requests tree once.
    pub(super) fn scan(requests: &sled::Tree) -> Result<Tally, StoreError> {
        let mut c = Counts::default();
        for item in requests.iter() {
            let (_, v) = item?;
            let r: RequestRecord = super::codec::decode(&v)?;
            *c.by_state.entry(r.state).or_insert(0) += 1;
            if let Some(w) = WatchedRequest::of(&r) {
                c.watched.insert(r.id.clone(), w);
            }
        }
        Ok(Tally(Mutex::new(c)))
    }

    /// Applies what a committed transaction noted, in the order it wrote.
    pub(super) fn commit(&self, notes: &Notes) {
        let writes = notes.take();
        if writes.is_empty() {
            return;
        }
        // A poisoned lock means a panic while applying a commit; the counts are then only
        // as good as the last scan, which is all a panic elsewhere can leave anyway.
        let mut c = match self.0.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        for w in writes {
            if w.from != w.to {
                if let Some(f) = w.from {
                    let n = c.by_state.entry(f).or_insert(0);
                    *n = n.saturating_sub(1);
                }
                if let Some(t) = w.to {
                    *c.by_state.entry(t).or_insert(0) += 1;
                }
            }
            match w.watched {
                Some(watched) => c.watched.insert(w.id, watched),
                None => c.watched.remove(&w.id),
            };
        }
    }

    /// The counts now (states without requests are absent or zero).
    pub(super) fn by_state(&self) -> BTreeMap<RequestState, u64> {
        match self.0.lock() {
            Ok(c) => c.by_state.clone(),
            Err(poisoned) => poisoned.into_inner().by_state.clone(),
        }
    }

    /// The requests that wait for an answer or expired without one.
    pub(super) fn watched(&self) -> Vec<WatchedRequest> {
        match self.0.lock() {
            Ok(c) => c.watched.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().watched.values().cloned().collect(),
        }
    }
}
