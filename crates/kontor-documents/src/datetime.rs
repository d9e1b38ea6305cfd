//! Lexical ISO 8601 forms used by ISO 20022 (`ISODate`, `ISODateTime`).
//!
//! Date-times keep the wall-clock time as written; a `Z` or `±hh:mm` suffix is accepted and
//! dropped (Kontor only uses these timestamps for display and ordering within one document).

use chrono::{NaiveDate, NaiveDateTime, Timelike};

/// Parses `YYYY-MM-DD`, optionally followed by a time zone (`Z`, `+01:00`).
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let (date, zone) = text.split_at_checked(10)?;
    if !is_zone(zone) {
        return None;
    }
    fast_date(date.as_bytes()).or_else(|| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
}

/// `n` ASCII digits at the start of `bytes` as a number.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// The common case `YYYY-MM-DD` without chrono's format interpreter (statements hold
/// millions of dates). `None` sends anything else to the general parser, so the accepted
/// forms and values stay exactly chrono's.
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// `YYYY-MM-DDThh:mm:ss` the fast way, as [`fast_date`] (a leap second goes to chrono).
fn fast_datetime(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() != 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    fast_date(&b[..10])?.and_hms_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    )
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`.
pub(crate) fn parse_iso_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (main, rest) = text.split_at_checked(19)?;
    let frac_len = rest
        .strip_prefix('.')
        .map(|r| 1 + r.bytes().take_while(u8::is_ascii_digit).count())
        .unwrap_or(0);
    if frac_len == 1 {
        return None;
    }
    let (frac, zone) = rest.split_at_checked(frac_len)?;
    if !is_zone(zone) {
        return None;
    }
    let base = match fast_datetime(main.as_bytes()) {
        Some(base) => base,
        None => NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").ok()?,
    };
    if frac.is_empty() {
        return Some(base);
    }
    // Nanoseconds from up to nine fraction digits; more are truncated.
    let digits: String = frac[1..].chars().take(9).collect();
    let nanos: u32 = format!("{digits:0<9}").parse().ok()?;
    base.with_nanosecond(nanos)
}

fn is_zone(zone: &str) -> bool {
    if zone.is_empty() || zone == "Z" {
        return true;
    }
    let b = zone.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

/// `YYYY-MM-DDThh:mm:ss` (whole seconds), the form this crate writes.
pub(crate) fn format_iso_datetime(value: &NaiveDateTime) -> String {
    value.format("%Y-%m-%dT%H:%M:%S").to_string()
}

pub(crate) fn format_iso_date(value: &NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        let dates = [
            "2024-03-05",
            "0000-01-01",
            "9999-12-31",
            "2024-02-29",
            "2023-02-29",
            "2024-00-10",
            "2024-13-01",
            "2024-01-00",
            "2024-01-32",
            "2024-1-010",
            "+202-01-01",
            "2024/01/01",
            "20240-1-01",
        ];
        for date in dates {
            let chrono = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
            if let Some(fast) = fast_date(date.as_bytes()) {
                assert_eq!(Some(fast), chrono, "{date}");
            }
            assert_eq!(parse_iso_date(date), chrono, "{date}");
        }
        for time in [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "12:00:61", "1:00:000",
        ] {
            let text = format!("2024-03-05T{time}");
            let chrono = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").ok();
            if let Some(fast) = fast_datetime(text.as_bytes()) {
                assert_eq!(Some(fast), chrono, "{text}");
            }
            assert_eq!(parse_iso_datetime(&text), chrono, "{text}");
        }
    }

    #[test]
    fn dates_with_and_without_zone_parse() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(parse_iso_date("2024-02-29"), Some(d));
        assert_eq!(parse_iso_date("2024-02-29Z"), Some(d));
        assert_eq!(parse_iso_date("2024-02-29+01:00"), Some(d));
        assert_eq!(parse_iso_date("2023-02-29"), None);
        assert_eq!(parse_iso_date("2024-02-29x"), None);
        assert_eq!(parse_iso_date("2024-2-9"), None);
        assert_eq!(parse_iso_date("ü"), None);
    }

    #[test]
    fn datetimes_accept_fractions_and_zones() {
        let base = NaiveDate::from_ymd_opt(2024, 1, 15)
            .unwrap()
            .and_hms_opt(10, 30, 5)
            .unwrap();
        assert_eq!(parse_iso_datetime("2024-01-15T10:30:05"), Some(base));
        assert_eq!(parse_iso_datetime("2024-01-15T10:30:05Z"), Some(base));
        assert_eq!(
            parse_iso_datetime("2024-01-15T10:30:05.250+01:00"),
            Some(base + chrono::Duration::milliseconds(250))
        );
        assert_eq!(parse_iso_datetime("2024-01-15T10:30:05."), None);
        assert_eq!(parse_iso_datetime("2024-01-15 10:30:05"), None);
        assert_eq!(parse_iso_datetime("2024-01-15T10:30:05+0100"), None);
    }
}
