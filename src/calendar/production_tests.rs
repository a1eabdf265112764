//! The production calendar against the published 2026 calendar, the statutory rule, and
//! refused files.

use super::*;
use chrono::TimeZone;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn msk(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    crate::calendar::moscow()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn shipped_years_are_2026_and_2027() {
    let years: Vec<i32> = WorkCalendar::shipped()
        .years()
        .into_iter()
        .map(|(y, _)| y)
        .collect();
    assert_eq!(years, vec![2026, 2027]);
}

#[test]
fn days_of_2026_follow_the_decree() {
    let cal = WorkCalendar::shipped();
    // (date, working?) — the decree's transfers, the carried-over holidays, ordinary days.
    let cases = [
        (date(2026, 1, 8), false),
        (date(2026, 1, 9), false),
        (date(2026, 1, 12), true),
        (date(2026, 2, 23), false),
        (date(2026, 3, 9), false),
        (date(2026, 3, 10), true),
        (date(2026, 4, 30), true),
        (date(2026, 5, 11), false),
        (date(2026, 6, 12), false),
        (date(2026, 11, 4), false),
        (date(2026, 12, 30), true),
        (date(2026, 12, 31), false),
        (date(2026, 12, 5), false),
        (date(2026, 12, 7), true),
    ];
    for (d, working) in cases {
        assert_eq!(cal.is_working_day(d), working, "{d}");
    }
}

#[test]
fn years_without_a_file_follow_article_112() {
    let cal = WorkCalendar::shipped();
    let cases = [
        (date(2028, 1, 5), false),
        (date(2028, 1, 10), true),
        (date(2028, 3, 8), false),
        // 2029: 23 February is a Friday, 9 June unrelated; 2030: 12 June is a Wednesday.
        (date(2029, 2, 23), false),
        // 2031: 1 May is a Thursday; 2032: 9 May is a Sunday → Monday 10 May off.
        (date(2032, 5, 10), false),
        (date(2032, 5, 11), true),
    ];
    for (d, working) in cases {
        assert_eq!(cal.is_working_day(d), working, "{d}");
    }
}

#[test]
fn deadlines_skip_holidays_across_the_new_year() {
    let cal = WorkCalendar::shipped();
    let tz = crate::calendar::moscow();
    // (start, working days, expected end)
    let cases = [
        // Thursday + 5 working days = next Thursday.
        (msk(2026, 11, 26, 12, 0), 5, msk(2026, 12, 3, 12, 0)),
        // Friday + 1 = Monday.
        (msk(2026, 11, 27, 9, 30), 1, msk(2026, 11, 30, 9, 30)),
        // 31 December and 1–10 January are off: Dec 29, Dec 30, Jan 11, 12, 13.
        (msk(2026, 12, 28, 15, 0), 5, msk(2027, 1, 13, 15, 0)),
        // The holiday itself: 3 November 2026 + 1 = 5 November.
        (msk(2026, 11, 3, 10, 0), 1, msk(2026, 11, 5, 10, 0)),
    ];
    for (start, days, end) in cases {
        assert_eq!(
            cal.add_working_days(start, days, tz),
            end,
            "{start} + {days}"
        );
    }
}

#[test]
fn urgency_by_local_date() {
    let cal = WorkCalendar::shipped();
    let tz = crate::calendar::moscow();
    let now = msk(2026, 12, 4, 10, 0); // a Friday
    let cases = [
        (msk(2026, 12, 4, 9, 0), DeadlineUrgency::Overdue),
        (msk(2026, 12, 4, 18, 0), DeadlineUrgency::Today),
        (msk(2026, 12, 5, 12, 0), DeadlineUrgency::NextWorkingDay),
        (msk(2026, 12, 7, 12, 0), DeadlineUrgency::NextWorkingDay),
        (msk(2026, 12, 8, 12, 0), DeadlineUrgency::Later),
    ];
    for (deadline, expected) in cases {
        assert_eq!(cal.urgency(now, deadline, tz), expected, "{deadline}");
    }
}

#[test]
fn a_file_replaces_its_year() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2026.xml");
    std::fs::write(
        &path,
        r#"<calendar year="2026"><days><day d="12.07" t="1"/><day d="12.05" t="3"/></days></calendar>"#,
    )
    .unwrap();
    let cal = WorkCalendar::load(std::slice::from_ref(&path)).unwrap();
    assert!(!cal.is_working_day(date(2026, 12, 7)));
    assert!(cal.is_working_day(date(2026, 12, 5)));
    // The shipped 2026 is replaced, not merged: 9 January is an ordinary Friday now.
    assert!(cal.is_working_day(date(2026, 1, 9)));
}

#[test]
fn bad_files_are_refused_with_their_cause() {
    let many = format!(
        "<calendar year=\"2026\"><days>{}</days></calendar>",
        "<day d=\"01.01\" t=\"1\"/>".repeat(MAX_DAYS_PER_FILE + 1)
    );
    type Check = fn(&CalendarError) -> bool;
    let cases: [(&str, Check); 6] = [
        ("<calendar><days/></calendar>", |e| {
            matches!(e, CalendarError::NoYear { .. })
        }),
        ("<calendar year=\"20x6\"/>", |e| {
            matches!(e, CalendarError::NoYear { .. })
        }),
        (
            "<calendar year=\"2026\"><day d=\"02.30\" t=\"1\"/></calendar>",
            |e| matches!(e, CalendarError::BadDay { .. }),
        ),
        (
            "<calendar year=\"2026\"><day d=\"2.3\" t=\"1\"/></calendar>",
            |e| matches!(e, CalendarError::BadDay { .. }),
        ),
        (
            "<calendar year=\"2026\"><day d=\"02.03\" t=\"7\"/></calendar>",
            |e| matches!(e, CalendarError::BadType { .. }),
        ),
        (
            "<calendar year=\"2026\"><day d=\"02.03\" t=\"1\"></calendar>",
            |e| matches!(e, CalendarError::Xml { .. }),
        ),
    ];
    for (text, check) in cases {
        let e = parse_year(text, "test").unwrap_err();
        assert!(check(&e), "{text}: {e}");
    }
    assert!(matches!(
        parse_year(&many, "test").unwrap_err(),
        CalendarError::TooManyDays { .. }
    ));
}
