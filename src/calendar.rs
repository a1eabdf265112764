//! Dates as the agency sees them: the legal answer deadline in working days (Monday–Friday;
//! public holidays are not modelled), the configured display time zone and the Russian date
//! format `ДД.ММ.ГГГГ ЧЧ:ММ`.

use chrono::{DateTime, Datelike, Duration, FixedOffset, Utc, Weekday};

/// Parses an offset like "+03:00" or "-05:30".
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Moscow time (UTC+3, no DST since 2014).
pub fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC offset"))
}

/// `start` plus `days` working days (Saturdays and Sundays skipped), in the zone `tz`.
pub fn add_working_days(start: DateTime<Utc>, days: u32, tz: FixedOffset) -> DateTime<Utc> {
    let mut t = start.with_timezone(&tz);
    let mut left = days;
    while left > 0 {
        t += Duration::days(1);
        if !matches!(t.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    t.with_timezone(&Utc)
}

/// `ДД.ММ.ГГГГ ЧЧ:ММ` in the zone `tz`.
pub fn format_ru(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn working_days_skip_weekends() {
        // Thursday 2026-11-26 12:00 MSK + 5 working days = Thursday 2026-12-03.
        let start = moscow()
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let end = add_working_days(start, 5, moscow());
        assert_eq!(format_ru(end, moscow()), "03.12.2026 12:00");
        // Friday + 1 working day = Monday.
        let fri = moscow()
            .with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            format_ru(add_working_days(fri, 1, moscow()), moscow()),
            "30.11.2026 09:30"
        );
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+03:00"), Some(moscow()));
        assert!(parse_offset("MSK").is_none());
        assert!(parse_offset("+25:00").is_none());
    }
}
