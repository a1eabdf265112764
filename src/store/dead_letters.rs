//! Dead letters: storing one with the received mark of the message it came as, applying a
//! person's decision or the Ack to one, and the list.

use chrono::Utc;

use super::tx::abort;
use super::{load, scan, SledStore, StoreError};
use crate::domain::{Actor, AuditEntry, DeadLetter, DeadLetterEvent, Owner, Subject};

impl SledStore {
    /// Stores a dead letter, remembering the SMEV message (or content) key it came with.
    pub(super) fn add_dead_letter(
        &self,
        d: &DeadLetter,
        received_key: &str,
    ) -> Result<(), StoreError> {
        self.transaction("add_dead_letter", |tx| {
            tx.put_dead_letter(d)?;
            tx.mark_received(received_key, &Owner::DeadLetter(d.id.clone()))?;
            tx.audit(&AuditEntry {
                at: d.received_at,
                actor: Actor::Engine,
                subject: Subject::DeadLetter,
                subject_id: d.id.clone(),
                action: "dead_letter".into(),
                from: None,
                to: Some(d.state.as_str().into()),
                reason: d.reason.clone(),
                xml: Some(d.envelope.clone()),
            })
        })
    }

    pub(super) fn get_dead_letter(&self, id: &str) -> Result<DeadLetter, StoreError> {
        self.noted("get_dead_letter", load(&self.dead_letters, id))
    }

    /// Dead letters of the systems (all when empty), newest first.
    pub(super) fn list_dead_letters(
        &self,
        systems: &[String],
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let r = scan(&self.dead_letters, |d: &DeadLetter| {
            systems.is_empty() || systems.contains(&d.system)
        });
        self.noted("list_dead_letters", r)
    }

    /// Applies an event to a dead letter with its history and audit entries.
    pub(super) fn apply_dead_letter(
        &self,
        id: &str,
        actor: &Actor,
        event: &DeadLetterEvent,
    ) -> Result<DeadLetter, StoreError> {
        self.transaction("apply_dead_letter", |tx| {
            let old = tx
                .get_dead_letter(id)?
                .ok_or_else(|| abort(StoreError::NotFound))?;
            let mut new = old.clone();
            new.apply(event).map_err(abort)?;
            let now = Utc::now();
            let action = event.reason().text();
            new.history.push((now, actor.to_string(), action.clone()));
            tx.audit(&AuditEntry {
                at: now,
                actor: actor.clone(),
                subject: Subject::DeadLetter,
                subject_id: id.to_string(),
                action,
                from: Some(old.state.as_str().into()),
                to: Some(new.state.as_str().into()),
                reason: new.reason.clone(),
                xml: Some(new.envelope.clone()),
            })?;
            tx.put_dead_letter(&new)?;
            Ok(new)
        })
    }
}
