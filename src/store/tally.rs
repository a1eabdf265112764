//! Requests by state, and the fields of the unanswered ones, kept in memory and moved by every
//! committed write of the requests tree — so the metrics (recomputed every few seconds) read a
//! map instead of decoding every record, a full scan that grows with a year of records. Counted
//! once by a scan when the database is opened; a transaction notes its writes while it runs (an
//! attempt sled retries starts its notes again) and they are applied only when it commits.
//!
//! Two transactions on one request may apply their notes in the other order than they
//! committed. The counts are sums of each write's own move (signed, so any order gives the same
//! sum), and a write's watched fields are taken only while its value is still the stored one —
//! an older write applied late finds a newer value and leaves the entry to that write.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

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
    pub(super) fn of(r: &RequestRecord) -> Option<WatchedRequest> {
        unanswered(r.state).then(|| WatchedRequest {
            id: r.id.clone(),
            state: r.state,
            created_at: r.created_at,
            sent_at: r.sent_at,
            deadline: r.deadline,
        })
    }
}

/// One write of the requests tree: the state before and after (`None`: absent), the watched
/// fields after, and the value written (`None`: removed).
struct Write {
    id: String,
    from: Option<RequestState>,
    to: Option<RequestState>,
    watched: Option<WatchedRequest>,
    value: Option<sled::IVec>,
}

/// The writes of requests one transaction attempt made.
#[derive(Default)]
pub(super) struct Notes(RefCell<Vec<Write>>);

impl Notes {
    /// A write of request `id`: `old` → `new` (`None`: absent), `new` stored as `value`.
    pub(super) fn note(
        &self,
        id: &str,
        old: Option<&RequestRecord>,
        new: Option<(&RequestRecord, sled::IVec)>,
    ) {
        let (new, value) = new.unzip();
        self.0.borrow_mut().push(Write {
            id: id.to_string(),
            from: old.map(|r| r.state),
            to: new.map(|r| r.state),
            watched: new.and_then(WatchedRequest::of),
            value,
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
    /// Signed: notes may be applied out of order, so a count can dip below zero meanwhile.
    by_state: BTreeMap<RequestState, i64>,
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

    /// Applies what a committed transaction noted, in the order it wrote; `requests` is read
    /// to tell whether each write is still the stored value.
    pub(super) fn commit(&self, notes: &Notes, requests: &sled::Tree) {
        let writes = notes.take();
        if writes.is_empty() {
            return;
        }
        let mut c = self.counts();
        for w in writes {
            if w.from != w.to {
                if let Some(f) = w.from {
                    *c.by_state.entry(f).or_insert(0) -= 1;
                }
                if let Some(t) = w.to {
                    *c.by_state.entry(t).or_insert(0) += 1;
                }
            }
            // Under the lock, so a newer write's application cannot slip between the check and
            // the update. A failed read takes the write as the latest, as without the check.
            let latest = requests
                .get(w.id.as_bytes())
                .map_or(true, |stored| stored == w.value);
            if !latest {
                continue;
            }
            match w.watched {
                Some(watched) => c.watched.insert(w.id, watched),
                None => c.watched.remove(&w.id),
            };
        }
    }

    /// The counts now (states without requests are absent or zero).
    pub(super) fn by_state(&self) -> BTreeMap<RequestState, u64> {
        let c = self.counts();
        c.by_state
            .iter()
            .map(|(s, n)| (*s, u64::try_from(*n).unwrap_or(0)))
            .collect()
    }

    /// The requests that wait for an answer or expired without one.
    pub(super) fn watched(&self) -> Vec<WatchedRequest> {
        self.counts().watched.values().cloned().collect()
    }

    /// The tallies, locked. A poisoned lock means a panic while applying a commit; the
    /// tallies are then only as good as that commit left them, which is all a panic can leave.
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::{Notes, Tally};
    use crate::domain::RequestState;

    #[test]
    fn notes_applied_in_the_other_order_than_their_commits_leave_the_latest_state() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let requests = db.open_tree("requests").unwrap();
        let at = |state| {
            let mut r = crate::store::contract_tests::request("is", None);
            r.id = "r-1".into();
            r.state = state;
            let value = sled::IVec::from(crate::store::codec::encode(&r).unwrap());
            (r, value)
        };
        let (queued, queued_value) = at(RequestState::Queued);
        requests.insert("r-1", queued_value).unwrap();
        let tally = Tally::scan(&requests).unwrap();
        // Two commits: queued → sending, then sending → sent; the tree holds the last.
        let (sending, sending_value) = at(RequestState::Sending);
        let (sent, sent_value) = at(RequestState::Sent);
        requests.insert("r-1", sent_value.clone()).unwrap();
        let first = Notes::default();
        first.note("r-1", Some(&queued), Some((&sending, sending_value)));
        let second = Notes::default();
        second.note("r-1", Some(&sending), Some((&sent, sent_value)));
        // Applied the other way round.
        tally.commit(&second, &requests);
        tally.commit(&first, &requests);
        let counts: Vec<_> = tally
            .by_state()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(counts, vec![(RequestState::Sent, 1)]);
        let watched = tally.watched();
        assert_eq!(watched.len(), 1);
        assert_eq!(watched[0].state, RequestState::Sent);
    }
}
