//! Outgoing requests: creating one (with its idempotency and case indexes), applying an event
//! to one ([`SledStore::apply_request`]: the only way a request changes), and the queries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::tx::{abort, Tx, TxResult};
use super::{load, page, scan, RequestFilter, SledStore, StoreError};
use crate::domain::{
    Actor, AuditEntry, Owner, Reason, RequestEvent, RequestRecord, RequestState, Subject,
    Transition,
};

/// Result of creating a request with a client id.
#[derive(Debug, Clone)]
pub enum Created {
    New(RequestRecord),
    /// The client id was already used: the existing request.
    Existing(RequestRecord),
}

impl Tx<'_> {
    /// Loads the request, applies the event, and writes the result with its history entry,
    /// audit entry, webhook events and indexes.
    fn apply_request(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
    ) -> TxResult<RequestRecord> {
        let old = self
            .get_request(id)?
            .ok_or_else(|| abort(StoreError::NotFound))?;
        let mut new = old.clone();
        let now = Utc::now();
        let change = new.apply(event, now).map_err(abort)?;
        let reason = event.reason();
        if let Some(c) = change {
            new.history.push(Transition {
                at: now,
                actor: actor.clone(),
                from: Some(c.from),
                to: c.to,
                reason: reason.clone(),
            });
            self.webhook(&new.system, "request.status_changed", |p| {
                p.status_changed(&new)
            })?;
            if matches!(c.to, RequestState::Answered | RequestState::Rejected)
                && new.answer.is_some()
            {
                self.webhook(&new.system, "request.answered", |p| p.answered(&new))?;
            }
        }
        let evidence = event.evidence();
        let assigned = matches!(event, RequestEvent::Assigned { .. });
        if change.is_some() || evidence.is_some() || assigned {
            self.audit(&AuditEntry {
                at: now,
                actor: actor.clone(),
                subject: Subject::Request,
                subject_id: id.to_string(),
                action: if change.is_some() {
                    "transition".into()
                } else if assigned {
                    "assigned".into()
                } else {
                    "update".into()
                },
                from: Some(old.state.as_str().into()),
                to: Some(new.state.as_str().into()),
                reason: reason.text(),
                xml: evidence.map(str::to_string),
            })?;
        }
        self.put_request(Some(&old), &new)?;
        Ok(new)
    }
}

impl SledStore {
    /// Creates a request (with its audit entry and webhook event); with a client id already
    /// used by the same system, returns the existing request instead.
    pub(super) fn create_request(
        &self,
        rec: &RequestRecord,
        business_xml: &[u8],
        attachments: &[Vec<u8>],
    ) -> Result<Created, StoreError> {
        self.transaction("create_request", |tx| {
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
                actor: Actor::parse(&rec.created_by),
                subject: Subject::Request,
                subject_id: rec.id.clone(),
                action: "create".into(),
                from: None,
                to: Some(rec.state.as_str().into()),
                reason: Reason::Accepted.text(),
                xml: Some(rec.business_xml.clone()),
            })?;
            tx.webhook(&rec.system, "request.status_changed", |p| {
                p.status_changed(rec)
            })?;
            Ok(Created::New(rec.clone()))
        })
    }

    pub(super) fn get_request(&self, id: &str) -> Result<RequestRecord, StoreError> {
        self.noted("get_request", load(&self.requests, id))
    }

    /// Applies an event to a request in one transaction: the lifecycle's check and changes,
    /// history, audit, webhook events and indexes.
    pub(super) fn apply_request(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
    ) -> Result<RequestRecord, StoreError> {
        self.transaction("apply_request", |tx| tx.apply_request(id, actor, event))
    }

    /// [`SledStore::apply_request`] for an event a received SMEV message carried, marking the
    /// message `message_id` received as part of the request in the same transaction.
    pub(super) fn apply_request_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &RequestEvent,
        message_id: &str,
    ) -> Result<RequestRecord, StoreError> {
        self.transaction("apply_request_received", |tx| {
            let r = tx.apply_request(id, actor, event)?;
            tx.mark_received(message_id, &Owner::Request(id.to_string()))?;
            Ok(r)
        })
    }

    /// Every request `pred` accepts (a full scan; used by recovery, expiry and retention).
    pub(super) fn requests_where(
        &self,
        pred: impl Fn(&RequestRecord) -> bool,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        self.noted("requests_where", scan(&self.requests, pred))
    }

    /// A page of requests, newest first, after `cursor` (an id from the previous page).
    pub(super) fn list_requests(
        &self,
        filter: &RequestFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<RequestRecord>, Option<String>), StoreError> {
        let r = page(
            &self.requests,
            cursor,
            limit,
            |r: &RequestRecord| filter.matches(r),
            |r| &r.id,
        );
        self.noted("list_requests", r)
    }

    /// Requests by state, as the committed writes left them (no scan).
    pub(super) fn count_by_state(&self) -> Result<BTreeMap<RequestState, u64>, StoreError> {
        Ok(self.tally.by_state())
    }

    /// What a SMEV MessageID we sent belongs to.
    pub(super) fn owner_of_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Owner>, StoreError> {
        let r = self
            .message_ids
            .get(message_id.as_bytes())
            .map_err(StoreError::from)
            .map(|v| v.and_then(|v| Owner::from_stored(&v)));
        self.noted("owner_of_message_id", r)
    }

    /// What a received SMEV message was stored as (a redelivery after a lost Ack).
    pub(super) fn received_as(&self, message_id: &str) -> Result<Option<Owner>, StoreError> {
        let r = self
            .received
            .get(message_id.as_bytes())
            .map_err(StoreError::from)
            .map(|v| v.and_then(|v| Owner::from_stored(&v)));
        self.noted("received_as", r)
    }

    /// Request ids of a case of a system.
    pub(super) fn case_request_ids(
        &self,
        system: &str,
        reference: &str,
    ) -> Result<Vec<String>, StoreError> {
        let r = (|| {
            let prefix = format!("{system}\0{reference}\0");
            let mut out = Vec::new();
            for item in self.cases.scan_prefix(prefix.as_bytes()) {
                let (k, _) = item?;
                out.push(String::from_utf8_lossy(&k[prefix.len()..]).to_string());
            }
            Ok(out)
        })();
        self.noted("case_request_ids", r)
    }

    /// Removes a closed request and its indexes (after it was archived).
    pub(super) fn purge_request(&self, id: &str, cutoff: DateTime<Utc>) -> Result<(), StoreError> {
        self.transaction("purge_request", |tx| {
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
                tx.due
                    .remove(super::due::due_key(super::DueKind::Request, d, &r.id))?;
            }
            tx.requests.remove(id.as_bytes())?;
            tx.notes.note(id, Some(&r), None);
            Ok(())
        })
    }
}
