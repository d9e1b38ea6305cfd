//! Fixtures shared by every test module: dates, the test account, generated ledgers, and one
//! valid document for every reader.

#[path = "../../../../kontor-protocol/tests/it/support/hostile.rs"]
pub mod hostile;
pub mod samples;

use chrono::{NaiveDate, NaiveDateTime};
use kontor_documents::{AccountInfo, Bic, Currency, Entry, Iban, Ledger};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

pub fn datetime(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    date(y, m, d)
        .and_hms_opt(h, min, 0)
        .expect("valid test time")
}

pub fn account() -> AccountInfo {
    AccountInfo {
        iban: Iban::parse("DE89 3704 0044 0532 0130 00").expect("valid IBAN"),
        bic: Bic::parse("COBADEFFXXX").expect("valid BIC"),
        currency: Currency::EUR,
        holder: "Muster Treasury GmbH".to_string(),
    }
}

pub fn ledger(seed: u64, from: NaiveDate, to: NaiveDate, per_day: usize) -> Ledger {
    Ledger::generate(seed, account(), from, to, per_day).expect("valid ledger")
}

/// Asserts who is on the other side of a statement entry.
pub fn assert_counterparty(entry: &Entry, name: &str, iban: &str, bic: &str) {
    assert_eq!(entry.counterparty_name.as_deref(), Some(name));
    assert_eq!(
        entry.counterparty_iban,
        Some(Iban::parse(iban).expect("valid IBAN"))
    );
    assert_eq!(
        entry.counterparty_bic.as_ref().map(|b| b.as_str()),
        Some(bic)
    );
}
