//! The production calendar (производственный календарь): which days are working days in the
//! Russian Federation, year by year. Legal answer deadlines count working days, so a public
//! holiday or a transferred day off moves every deadline that spans it.
//!
//! Years come from files in the xmlcalendar.ru format (the format most agency systems already
//! download each autumn): the gateway ships `config/calendar/ru-2026.xml` and `ru-2027.xml`, and
//! `calendar.files` in config replaces or adds years. A year without a file falls back to the
//! statutory rule of article 112 of the Labour Code: the fixed holidays, and a holiday that falls
//! on a weekend (except the January ones) moves the day off to the next working day; transfers
//! that only a government decree sets are then missing, which is why a warning names such years.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc, Weekday};
use quick_xml::events::Event;
use quick_xml::Reader;

/// Calendar files are a few kilobytes; anything larger is not a calendar.
const MAX_FILE_BYTES: u64 = 256 * 1024;
/// A year has at most 366 days; a file listing more is refused rather than looped over.
const MAX_DAYS_PER_FILE: usize = 366;
/// Shipped years, embedded so a binary without its config folder still counts correctly.
const SHIPPED: &[(&str, &str)] = &[
    (
        "ru-2026.xml (встроенный)",
        include_str!("../../config/calendar/ru-2026.xml"),
    ),
    (
        "ru-2027.xml (встроенный)",
        include_str!("../../config/calendar/ru-2027.xml"),
    ),
];

/// Why a calendar file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar file {path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("calendar file {origin}: larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { origin: String },
    #[error("calendar file {origin}: not well-formed XML: {detail}")]
    Xml { origin: String, detail: String },
    #[error("calendar file {origin}: the root <calendar> has no valid year attribute")]
    NoYear { origin: String },
    #[error("calendar file {origin}: day {value:?} is not a date ММ.ДД of {year}")]
    BadDay {
        origin: String,
        value: String,
        year: i32,
    },
    #[error("calendar file {origin}: day {value:?} has type {kind:?}; expected 1, 2 or 3")]
    BadType {
        origin: String,
        value: String,
        kind: String,
    },
    #[error("calendar file {origin}: more than {MAX_DAYS_PER_FILE} days")]
    TooManyDays { origin: String },
}

/// One year's exceptions to "Monday–Friday work, Saturday–Sunday rest".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct YearDays {
    /// Days off that would otherwise be working days (holidays, transferred days off), and
    /// weekend holidays (listed for completeness; they are off anyway).
    off: BTreeSet<NaiveDate>,
    /// Weekend days that are working days by a transfer.
    working: BTreeSet<NaiveDate>,
    /// Where this year came from, shown on the settings page.
    origin: String,
}

/// Which days are working days.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearDays>,
}

/// How close a deadline is, as a clerk plans her day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineUrgency {
    /// Already passed.
    Overdue,
    /// Passes later today.
    Today,
    /// Passes on the next working day (tomorrow, or Monday seen from a Friday).
    NextWorkingDay,
    /// Further away.
    Later,
}

impl WorkCalendar {
    /// The shipped years only.
    pub fn shipped() -> WorkCalendar {
        let mut cal = WorkCalendar::default();
        for (origin, text) in SHIPPED {
            // The shipped files are checked by the tests below; a broken one is a build bug,
            // and the statutory fallback still applies to its year.
            match parse_year(text, origin) {
                Ok((year, days)) => {
                    cal.years.insert(year, days);
                }
                Err(e) => tracing::error!(error = %e, "shipped calendar file refused"),
            }
        }
        cal
    }

    /// The shipped years, then each file in `files`, which replaces the year it describes.
    pub fn load(files: &[PathBuf]) -> Result<WorkCalendar, CalendarError> {
        let mut cal = WorkCalendar::shipped();
        for path in files {
            let text = read_bounded(path)?;
            let (year, days) = parse_year(&text, &path.display().to_string())?;
            cal.years.insert(year, days);
        }
        Ok(cal)
    }

    /// Years with a calendar file and where each came from.
    pub fn years(&self) -> Vec<(i32, String)> {
        self.years
            .iter()
            .map(|(y, d)| (*y, d.origin.clone()))
            .collect()
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        match self.years.get(&day.year()) {
            Some(y) if y.working.contains(&day) => true,
            Some(y) => !weekend && !y.off.contains(&day),
            None => !weekend && !statutory_day_off(day),
        }
    }

    /// The first working day after `day`.
    pub fn next_working_day(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        // A year has at most a few weeks of consecutive days off; the bound only guards
        // against a hostile calendar file that marks a whole year off.
        for _ in 0..400 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                return d;
            }
        }
        d
    }

    /// `start` plus `days` working days, at the same local time, in the zone `tz`.
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        days: u32,
        tz: FixedOffset,
    ) -> DateTime<Utc> {
        let mut t = start.with_timezone(&tz);
        for _ in 0..days {
            let next = self.next_working_day(t.date_naive());
            t += Duration::days((next - t.date_naive()).num_days());
        }
        t.with_timezone(&Utc)
    }

    /// How close `deadline` is at `now`, by local dates in `tz`.
    pub fn urgency(
        &self,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        tz: FixedOffset,
    ) -> DeadlineUrgency {
        if deadline <= now {
            return DeadlineUrgency::Overdue;
        }
        let today = now.with_timezone(&tz).date_naive();
        let due = deadline.with_timezone(&tz).date_naive();
        if due == today {
            DeadlineUrgency::Today
        } else if due <= self.next_working_day(today) {
            DeadlineUrgency::NextWorkingDay
        } else {
            DeadlineUrgency::Later
        }
    }
}

fn read_bounded(path: &Path) -> Result<String, CalendarError> {
    let read_err = |source| CalendarError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(CalendarError::TooLarge {
            origin: path.display().to_string(),
        });
    }
    std::fs::read_to_string(path).map_err(read_err)
}

/// Parses one xmlcalendar.ru file: `<calendar year="Y">… <days><day d="MM.DD" t="1|2|3"/>`.
fn parse_year(text: &str, origin: &str) -> Result<(i32, YearDays), CalendarError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(CalendarError::TooLarge {
            origin: origin.into(),
        });
    }
    let xml_err = |e: &dyn std::fmt::Display| CalendarError::Xml {
        origin: origin.into(),
        detail: e.to_string(),
    };
    let mut reader = Reader::from_str(text);
    let mut year: Option<i32> = None;
    let mut days = YearDays {
        origin: origin.into(),
        ..YearDays::default()
    };
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| xml_err(&e))?;
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => e.clone(),
            Event::Eof => break,
            _ => continue,
        };
        let attr = |name: &[u8]| -> Result<Option<String>, CalendarError> {
            for a in element.attributes() {
                let a = a.map_err(|e| xml_err(&e))?;
                if a.key.as_ref() == name {
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| xml_err(&e))?;
                    return Ok(Some(v.into_owned()));
                }
            }
            Ok(None)
        };
        match element.name().as_ref() {
            b"calendar" => {
                year = attr(b"year")?
                    .and_then(|y| y.trim().parse::<i32>().ok())
                    .filter(|y| (1990..=2200).contains(y));
                if year.is_none() {
                    return Err(CalendarError::NoYear {
                        origin: origin.into(),
                    });
                }
            }
            b"day" => {
                let Some(y) = year else {
                    return Err(CalendarError::NoYear {
                        origin: origin.into(),
                    });
                };
                count += 1;
                if count > MAX_DAYS_PER_FILE {
                    return Err(CalendarError::TooManyDays {
                        origin: origin.into(),
                    });
                }
                let value = attr(b"d")?.unwrap_or_default();
                let date = parse_month_day(&value, y).ok_or_else(|| CalendarError::BadDay {
                    origin: origin.into(),
                    value: value.clone(),
                    year: y,
                })?;
                let kind = attr(b"t")?.unwrap_or_default();
                match kind.trim() {
                    "1" => {
                        days.off.insert(date);
                    }
                    // A shortened working day is still a working day for deadlines.
                    "2" => {}
                    "3" => {
                        days.working.insert(date);
                    }
                    _ => {
                        return Err(CalendarError::BadType {
                            origin: origin.into(),
                            value,
                            kind,
                        })
                    }
                }
            }
            _ => {}
        }
    }
    let year = year.ok_or_else(|| CalendarError::NoYear {
        origin: origin.into(),
    })?;
    Ok((year, days))
}

fn parse_month_day(value: &str, year: i32) -> Option<NaiveDate> {
    let (m, d) = value.trim().split_once('.')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// Article 112 of the Labour Code for a year without a file: the fixed holidays, and a weekday
/// after a non-January holiday that fell on a weekend (the day off carried over).
fn statutory_day_off(day: NaiveDate) -> bool {
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(day.year(), m, d);
    if day.month() == 1 && day.day() <= 8 {
        return true;
    }
    const OTHER_HOLIDAYS: [(u32, u32); 6] = [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)];
    OTHER_HOLIDAYS.iter().any(|&(m, d)| {
        let Some(h) = fixed(m, d) else { return false };
        if h == day {
            return true;
        }
        // The carried-over day off is the first weekday after a weekend holiday.
        let carried = match h.weekday() {
            Weekday::Sat => Some(h + Duration::days(2)),
            Weekday::Sun => Some(h + Duration::days(1)),
            _ => None,
        };
        carried == Some(day)
    })
}

#[cfg(test)]
#[path = "production_tests.rs"]
mod tests;
