//! The TARGET2 (T2) calendar: the days on which SEPA payments settle.
//!
//! SEPA direct debits are due only on TARGET days (EPC SDD Core and B2B rulebooks, "Inter-bank
//! business day"): every Monday to Friday except New Year's Day, Good Friday, Easter Monday,
//! 1 May, 25 and 26 December (ECB, "TARGET closing days").

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Whether TARGET is open on `date`.
pub fn is_target_day(date: NaiveDate) -> bool {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    let (month, day) = (date.month(), date.day());
    if matches!((month, day), (1, 1) | (5, 1) | (12, 25) | (12, 26)) {
        return false;
    }
    let easter = easter_sunday(date.year());
    let closed = [easter - Days::new(2), easter + Days::new(1)];
    !closed.contains(&date)
}

/// The first TARGET day strictly after `date`.
pub fn next_target_day(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    loop {
        day = day.succ_opt().unwrap_or(day);
        if is_target_day(day) || day == NaiveDate::MAX {
            return day;
        }
    }
}

/// Easter Sunday of the Gregorian calendar (the anonymous Gregorian computus, Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_holidays_and_weekends_are_closed() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert!(!is_target_day(date(2026, 4, 3)), "Good Friday");
        assert!(!is_target_day(date(2026, 4, 6)), "Easter Monday");
        assert!(!is_target_day(date(2026, 12, 26)), "Saturday and holiday");
        assert!(!is_target_day(date(2026, 5, 1)));
        assert!(is_target_day(date(2026, 4, 7)));
        assert_eq!(next_target_day(date(2026, 12, 24)), date(2026, 12, 28));
        assert_eq!(next_target_day(date(2026, 4, 2)), date(2026, 4, 7));
    }
}
