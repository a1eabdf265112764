//! Incoming requests (provider role): storing one with its received mark and webhook event,
//! applying an event to one ([`SledStore::apply_incoming`]: the only way one changes), and the
//! queries.

use chrono::Utc;

use super::tx::{abort, Tx, TxResult};
use super::{load, page, scan, IncomingFilter, SledStore, StoreError};
use crate::domain::{Actor, AuditEntry, IncomingEvent, IncomingRecord, Owner, Reason, Subject};

impl Tx<'_> {
    fn apply_incoming(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
    ) -> TxResult<IncomingRecord> {
        let old = self
            .get_incoming(id)?
            .ok_or_else(|| abort(StoreError::NotFound))?;
        let mut new = old.clone();
        let now = Utc::now();
        let change = new.apply(event, now).map_err(abort)?;
        let reason = event.reason();
        if let Some((from, to)) = change {
            new.history.push((
                now,
                actor.to_string(),
                format!("{} → {}: {reason}", from.as_str(), to.as_str()),
            ));
        }
        self.audit(&AuditEntry {
            at: now,
            actor: actor.clone(),
            subject: Subject::Incoming,
            subject_id: id.to_string(),
            action: if matches!(event, IncomingEvent::Assigned { .. }) {
                "assigned".into()
            } else {
                "update".into()
            },
            from: Some(old.state.as_str().into()),
            to: Some(new.state.as_str().into()),
            reason: reason.text(),
            xml: event.evidence().map(str::to_string),
        })?;
        self.put_incoming(Some(&old), &new)?;
        Ok(new)
    }
}

impl SledStore {
    /// Stores a new incoming request (provider role) with its received mark and webhook event.
    pub(super) fn add_incoming(&self, r: &IncomingRecord) -> Result<(), StoreError> {
        self.transaction("add_incoming", |tx| {
            if let Some(existing) = tx.received_as(&r.message_id)? {
                if matches!(existing, Owner::Incoming(_)) {
                    return Err(abort(StoreError::Conflict(format!(
                        "the request {} is already stored as {existing}",
                        r.message_id
                    ))));
                }
            }
            tx.put_incoming(None, r)?;
            tx.mark_received(&r.message_id, &Owner::Incoming(r.id.clone()))?;
            tx.audit(&AuditEntry {
                at: r.received_at,
                actor: Actor::Smev,
                subject: Subject::Incoming,
                subject_id: r.id.clone(),
                action: Reason::Received.text(),
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
            tx.webhook(&r.system, "incoming.received", |p| p.incoming_received(r))
        })
    }

    pub(super) fn get_incoming(&self, id: &str) -> Result<IncomingRecord, StoreError> {
        self.noted("get_incoming", load(&self.incoming, id))
    }

    pub(super) fn list_incoming(
        &self,
        filter: &IncomingFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<IncomingRecord>, Option<String>), StoreError> {
        let r = page(
            &self.incoming,
            cursor,
            limit,
            |r: &IncomingRecord| filter.matches(r),
            |r| &r.id,
        );
        self.noted("list_incoming", r)
    }

    /// Every incoming request `pred` accepts (a full scan; recovery).
    pub(super) fn incoming_where(
        &self,
        pred: impl Fn(&IncomingRecord) -> bool,
    ) -> Result<Vec<IncomingRecord>, StoreError> {
        self.noted("incoming_where", scan(&self.incoming, pred))
    }

    /// Applies an event to an incoming request in one transaction (lifecycle check, history,
    /// audit, indexes).
    pub(super) fn apply_incoming(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
    ) -> Result<IncomingRecord, StoreError> {
        self.transaction("apply_incoming", |tx| tx.apply_incoming(id, actor, event))
    }

    /// [`SledStore::apply_incoming`] for an event a received SMEV message carried, marking the
    /// message `message_id` received in the same transaction.
    pub(super) fn apply_incoming_received(
        &self,
        id: &str,
        actor: &Actor,
        event: &IncomingEvent,
        message_id: &str,
    ) -> Result<IncomingRecord, StoreError> {
        self.transaction("apply_incoming_received", |tx| {
            let r = tx.apply_incoming(id, actor, event)?;
            tx.mark_received(message_id, &Owner::Incoming(id.to_string()))?;
            Ok(r)
        })
    }
}
