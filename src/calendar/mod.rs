//! Dates as the agency sees them: the configured display time zone, the Russian date format
//! `ДД.ММ.ГГГГ ЧЧ:ММ`, and (in [`production`]) the working days legal deadlines count.

use chrono::{DateTime, FixedOffset, Utc};

mod production;

pub use production::{DeadlineUrgency, WorkCalendar};

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

/// `ДД.ММ.ГГГГ ЧЧ:ММ` in the zone `tz`.
pub fn format_ru(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+03:00"), Some(moscow()));
        assert!(parse_offset("MSK").is_none());
        assert!(parse_offset("+25:00").is_none());
    }
}
