//! How the UI speaks of deadlines: the note beside a deadline («срок истекает завтра»), the end
//! of the "due soon" window the lists filter by, and the monitoring page's deadline tables by
//! kind and by executor (our requests and incoming ones). Working days come from the production calendar in the context.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use crate::calendar::DeadlineUrgency;
use crate::domain::{IncomingRecord, RequestRecord, RequestState};

use super::Ui;

impl Ui {
    /// The note shown beside an open item's deadline, or None when it is further away.
    pub(crate) fn deadline_note(
        &self,
        deadline: Option<DateTime<Utc>>,
        open: bool,
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        let deadline = deadline.filter(|_| open)?;
        let tz = self.ctx.tz;
        match self.ctx.calendar.urgency(now, deadline, tz) {
            DeadlineUrgency::Overdue | DeadlineUrgency::Later => None,
            DeadlineUrgency::Today => Some("срок истекает сегодня"),
            DeadlineUrgency::NextWorkingDay => {
                let tomorrow = now.with_timezone(&tz).date_naive() + Duration::days(1);
                if deadline.with_timezone(&tz).date_naive() == tomorrow {
                    Some("срок истекает завтра")
                } else {
                    Some("срок истекает в следующий рабочий день")
                }
            }
        }
    }

    /// The "due soon" window at `now`: open items whose deadline has not passed and falls by the
    /// end of the next working day.
    pub(crate) fn due_soon_window(&self, now: DateTime<Utc>) -> DueSoon {
        DueSoon {
            now,
            until: self.end_of_next_working_day(now),
        }
    }

    /// The last instant of the next working day after `now`'s local date: deadlines up to it
    /// are "due soon".
    pub(crate) fn end_of_next_working_day(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tz = self.ctx.tz;
        let day = self
            .ctx
            .calendar
            .next_working_day(now.with_timezone(&tz).date_naive());
        let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
        tz.from_local_datetime(&end)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now + Duration::days(1))
    }
}

/// The "due soon" window of the monitoring page's counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DueSoon {
    now: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl DueSoon {
    /// Whether an item (still `open`) with `deadline` is due soon.
    pub(crate) fn holds(&self, deadline: Option<DateTime<Utc>>, open: bool) -> bool {
        open && deadline.is_some_and(|d| d > self.now && d <= self.until)
    }
}

/// One line of the monitoring page's tables by kind and by executor.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct DeadlineRow {
    /// The kind id or the executor's login ("" for items nobody is assigned to).
    pub key: String,
    pub name: String,
    /// Not closed yet.
    pub open: usize,
    pub overdue: usize,
    /// Open, deadline today or on the next working day.
    pub due_soon: usize,
    pub answered: usize,
    /// Failed or rejected.
    pub problems: usize,
    /// Incoming requests awaiting our answer.
    pub incoming_open: usize,
    /// Incoming requests whose answer deadline passed unanswered.
    pub incoming_overdue: usize,
}

/// The items a monitoring table counts: our requests and the incoming ones.
pub(crate) struct Monitored<'a> {
    pub requests: &'a [RequestRecord],
    pub incoming: &'a [IncomingRecord],
}

impl Ui {
    /// The table by kind, in kind order (incoming requests of no configured kind under their
    /// business root).
    pub(crate) fn deadlines_by_kind(
        &self,
        items: Monitored<'_>,
        now: DateTime<Utc>,
    ) -> Vec<DeadlineRow> {
        self.deadlines_by(
            items,
            now,
            |r| (r.kind.clone(), self.kind_name(&r.kind)),
            |r| match &r.kind {
                Some(k) => (k.clone(), self.kind_name(k)),
                None => (r.root_element.clone(), r.root_element.clone()),
            },
        )
    }

    /// The table by executor, in login order, the unassigned first.
    pub(crate) fn deadlines_by_executor(
        &self,
        items: Monitored<'_>,
        now: DateTime<Utc>,
    ) -> Vec<DeadlineRow> {
        let key = |a: &Option<String>| match a {
            Some(a) => (a.clone(), self.executor_name(a)),
            None => (String::new(), "Не назначен".to_string()),
        };
        self.deadlines_by(items, now, |r| key(&r.assignee), |r| key(&r.assignee))
    }

    fn deadlines_by(
        &self,
        items: Monitored<'_>,
        now: DateTime<Utc>,
        key_of: impl Fn(&RequestRecord) -> (String, String),
        incoming_key_of: impl Fn(&IncomingRecord) -> (String, String),
    ) -> Vec<DeadlineRow> {
        let soon = self.due_soon_window(now);
        let mut rows: BTreeMap<String, DeadlineRow> = Default::default();
        for r in items.requests {
            let row = row_of(&mut rows, key_of(r));
            let open = !r.state.is_closed();
            row.open += usize::from(open);
            row.overdue += usize::from(r.is_overdue(now));
            row.due_soon += usize::from(soon.holds(r.deadline, open));
            row.answered += usize::from(r.state == RequestState::Answered);
            row.problems += usize::from(matches!(
                r.state,
                RequestState::Failed | RequestState::Rejected
            ));
        }
        for r in items.incoming {
            let row = row_of(&mut rows, incoming_key_of(r));
            row.incoming_open += usize::from(r.awaits_answer());
            row.incoming_overdue += usize::from(r.is_overdue(now));
        }
        rows.into_values().collect()
    }
}

/// The row of `key` in a table being counted, made when it is first met.
fn row_of(
    rows: &mut BTreeMap<String, DeadlineRow>,
    (key, name): (String, String),
) -> &mut DeadlineRow {
    rows.entry(key.clone()).or_insert_with(|| DeadlineRow {
        key,
        name,
        ..Default::default()
    })
}
