//! How the UI speaks of deadlines: the note beside a deadline («срок истекает завтра»), the end
//! of the "due soon" window the lists filter by, and the per-kind deadline table of the
//! monitoring page. Working days come from the production calendar in the context.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use crate::calendar::DeadlineUrgency;

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
    /// The kind id or the executor's login ("" for requests nobody is assigned to).
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
}

impl Ui {
    /// The table by kind over `requests`, in kind order.
    pub(crate) fn deadlines_by_kind(
        &self,
        requests: &[crate::domain::RequestRecord],
        now: DateTime<Utc>,
    ) -> Vec<DeadlineRow> {
        self.deadlines_by(requests, now, |r| (r.kind.clone(), self.kind_name(&r.kind)))
    }

    /// The table by executor over `requests`, in login order, the unassigned first.
    pub(crate) fn deadlines_by_executor(
        &self,
        requests: &[crate::domain::RequestRecord],
        now: DateTime<Utc>,
    ) -> Vec<DeadlineRow> {
        self.deadlines_by(requests, now, |r| match &r.assignee {
            Some(a) => (a.clone(), self.executor_name(a)),
            None => (String::new(), "Не назначен".to_string()),
        })
    }

    fn deadlines_by(
        &self,
        requests: &[crate::domain::RequestRecord],
        now: DateTime<Utc>,
        key_of: impl Fn(&crate::domain::RequestRecord) -> (String, String),
    ) -> Vec<DeadlineRow> {
        use crate::domain::RequestState;
        let soon = self.due_soon_window(now);
        let mut rows: std::collections::BTreeMap<String, DeadlineRow> = Default::default();
        for r in requests {
            let (key, name) = key_of(r);
            let row = rows.entry(key.clone()).or_insert_with(|| DeadlineRow {
                key,
                name,
                ..Default::default()
            });
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
        rows.into_values().collect()
    }
}
