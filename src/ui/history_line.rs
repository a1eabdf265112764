//! A line of a stored history kept as (time, actor, what) — incoming requests and dead letters
//! keep theirs so — as the timeline in their cards reads it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One step of a history: when, who, and what happened (translated by the template).
#[derive(Debug, Serialize)]
pub(crate) struct HistoryLine {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
}

impl HistoryLine {
    /// The lines of a stored history, oldest first as stored.
    pub(crate) fn all(history: &[(DateTime<Utc>, String, String)]) -> Vec<HistoryLine> {
        history
            .iter()
            .map(|(at, actor, what)| HistoryLine {
                at: *at,
                actor: actor.clone(),
                what: what.clone(),
            })
            .collect()
    }
}
