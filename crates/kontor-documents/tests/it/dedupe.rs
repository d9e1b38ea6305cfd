//! The same booking downloaded twice — in overlapping periods or in different formats — has the
//! same dedupe key; different bookings never share one.

use std::collections::BTreeSet;

use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::{Entry, Ledger, Statement};

use crate::support::{account, date, datetime, ledger};

fn camt053(ledger: &Ledger) -> Vec<Statement> {
    let request = StatementRequest::new(CamtKind::Camt053, "M", datetime(2024, 3, 1, 6, 0));
    camt::parse(&camt::generate(ledger, &request)).unwrap()
}

fn mt940_of(ledger: &Ledger) -> Vec<Statement> {
    mt940::parse(&mt940::generate(ledger, &Mt940Request::new("STARTUMS"))).unwrap()
}

fn keys<'a>(entries: impl Iterator<Item = &'a Entry>) -> BTreeSet<String> {
    let iban = account().iban;
    entries.map(|e| e.dedupe_key(&iban)).collect()
}

fn statement_keys(statements: &[Statement]) -> BTreeSet<String> {
    keys(statements.iter().flat_map(|s| s.entries.iter()))
}

#[test]
fn camt053_and_mt940_of_one_ledger_yield_the_same_keys() {
    let ledger = ledger(21, date(2024, 1, 29), date(2024, 2, 2), 25);
    let from_camt = statement_keys(&camt053(&ledger));
    let from_mt940 = statement_keys(&mt940_of(&ledger));
    assert_eq!(
        from_camt.len(),
        ledger.entry_count(),
        "keys are unique per booking"
    );
    assert_eq!(from_camt, from_mt940);
    assert!(from_camt.iter().all(|k| k.starts_with("r1:")));
}

#[test]
fn without_bank_references_the_hash_keys_still_match_across_formats() {
    let source = ledger(22, date(2024, 2, 27), date(2024, 3, 1), 25);
    let days = source
        .days()
        .iter()
        .map(|day| {
            let entries = day
                .entries()
                .iter()
                .cloned()
                .map(|mut e| {
                    e.bank_reference = None;
                    e
                })
                .collect();
            (day.date(), entries)
        })
        .collect();
    let ledger = Ledger::from_days(account(), source.opening_balance(), days).unwrap();
    let from_camt = statement_keys(&camt053(&ledger));
    let from_mt940 = statement_keys(&mt940_of(&ledger));
    assert!(from_camt.iter().all(|k| k.starts_with("h1:")));
    assert_eq!(from_camt, from_mt940);
    assert_eq!(from_camt, keys(ledger.entries()));
}

#[test]
fn overlapping_statement_periods_share_exactly_the_overlapping_days() {
    let early = ledger(23, date(2024, 1, 25), date(2024, 2, 5), 10);
    let late = ledger(23, date(2024, 2, 1), date(2024, 2, 10), 10);
    let early_statements = camt053(&early);
    let late_statements = mt940_of(&late);
    let shared: BTreeSet<String> = statement_keys(&early_statements)
        .intersection(&statement_keys(&late_statements))
        .cloned()
        .collect();
    let overlap_days: Vec<_> = early
        .days()
        .iter()
        .filter(|d| d.date() >= date(2024, 2, 1))
        .collect();
    let expected = keys(overlap_days.iter().flat_map(|d| d.entries().iter()));
    assert_eq!(overlap_days.len(), 5);
    assert!(!expected.is_empty());
    assert_eq!(shared, expected);

    // The overlapping days are the same statements too: same balances on both sides.
    for day in overlap_days {
        let a = early_statements
            .iter()
            .find(|s| s.closing_balance().map(|b| b.date) == Some(day.date()))
            .unwrap();
        let b = late_statements
            .iter()
            .find(|s| s.closing_balance().map(|b| b.date) == Some(day.date()))
            .unwrap();
        assert_eq!(
            a.closing_balance().unwrap().amount,
            b.closing_balance().unwrap().amount
        );
        assert_eq!(a.entries, b.entries);
    }
}
