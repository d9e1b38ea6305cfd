use kontor_documents::camt::{self, CamtKind, OpeningBalanceType, StatementRequest};
use kontor_documents::{Amount, BalanceKind, Currency, EntryStatus, StatementFormat};

use crate::support::{account, date, datetime, ledger};

fn request(kind: CamtKind) -> StatementRequest {
    StatementRequest::new(kind, "MSG-2024-0001", datetime(2024, 3, 1, 6, 30))
}

#[test]
fn camt053_round_trip_reproduces_balances_and_entries() {
    let ledger = ledger(42, date(2024, 2, 27), date(2024, 3, 2), 12);
    let xml = camt::generate(&ledger, &request(CamtKind::Camt053));
    let statements = camt::parse(&xml).expect("generated camt.053 parses");
    assert_eq!(statements.len(), ledger.days().len());
    for (statement, day) in statements.iter().zip(ledger.days()) {
        assert_eq!(statement.format, StatementFormat::Camt053);
        assert_eq!(statement.message_id.as_deref(), Some("MSG-2024-0001"));
        assert_eq!(statement.account.iban.as_ref(), Some(&account().iban));
        assert_eq!(statement.account.currency, Some(Currency::EUR));
        assert_eq!(statement.account.servicer_bic, Some(account().bic));
        assert_eq!(
            statement.account.owner_name.as_deref(),
            Some("Muster Treasury GmbH")
        );
        assert_eq!(statement.entries, day.entries());
        let opening = statement.balance(&BalanceKind::OpeningBooked).unwrap();
        let closing = statement.balance(&BalanceKind::ClosingBooked).unwrap();
        assert_eq!(opening.amount, day.opening_balance());
        assert_eq!(opening.date, day.date());
        assert_eq!(closing.amount, day.closing_balance());
        assert_eq!(closing.date, day.date());
        assert_eq!(statement.check_balances(), Ok(()));
        let period = statement.period.unwrap();
        assert_eq!(period.from.date(), day.date());
        assert_eq!(period.to.date(), day.date());
    }
    let sequence: Vec<u64> = statements
        .iter()
        .map(|s| s.electronic_sequence_number.unwrap())
        .collect();
    assert_eq!(sequence, vec![1, 2, 3, 4, 5]);
}

#[test]
fn camt052_reports_interim_balance_and_camt054_has_no_balances() {
    let ledger = ledger(7, date(2024, 5, 1), date(2024, 5, 2), 5);
    let reports = camt::parse(&camt::generate(&ledger, &request(CamtKind::Camt052))).unwrap();
    assert!(reports.iter().all(|r| r.format == StatementFormat::Camt052));
    for (report, day) in reports.iter().zip(ledger.days()) {
        let interim = report.balance(&BalanceKind::InterimBooked).unwrap();
        assert_eq!(interim.amount, day.closing_balance());
        assert_eq!(report.entries, day.entries());
        assert_eq!(report.check_balances(), Ok(()));
    }
    let notes = camt::parse(&camt::generate(&ledger, &request(CamtKind::Camt054))).unwrap();
    assert!(notes.iter().all(|n| n.format == StatementFormat::Camt054));
    assert!(notes.iter().all(|n| n.balances.is_empty()));
    let entries: Vec<_> = notes.iter().flat_map(|n| n.entries.clone()).collect();
    let expected: Vec<_> = ledger.entries().cloned().collect();
    assert_eq!(entries, expected);
}

#[test]
fn previously_closed_booked_opening_is_dated_the_day_before() {
    let ledger = ledger(3, date(2024, 1, 10), date(2024, 1, 10), 3);
    let mut req = request(CamtKind::Camt053);
    req.opening_balance = OpeningBalanceType::PreviouslyClosedBooked;
    let statement = camt::parse(&camt::generate(&ledger, &req))
        .unwrap()
        .remove(0);
    let prcd = statement
        .balance(&BalanceKind::PreviouslyClosedBooked)
        .unwrap();
    assert_eq!(prcd.date, date(2024, 1, 9));
    assert_eq!(prcd.amount, ledger.opening_balance());
    assert_eq!(statement.check_balances(), Ok(()));
}

#[test]
fn same_seed_gives_byte_identical_documents() {
    let a = camt::generate(
        &ledger(99, date(2024, 4, 1), date(2024, 4, 3), 8),
        &request(CamtKind::Camt053),
    );
    let b = camt::generate(
        &ledger(99, date(2024, 4, 1), date(2024, 4, 3), 8),
        &request(CamtKind::Camt053),
    );
    let c = camt::generate(
        &ledger(100, date(2024, 4, 1), date(2024, 4, 3), 8),
        &request(CamtKind::Camt053),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn every_entry_is_booked_and_positive() {
    let ledger = ledger(5, date(2024, 6, 28), date(2024, 7, 1), 20);
    let statements = camt::parse(&camt::generate(&ledger, &request(CamtKind::Camt053))).unwrap();
    for entry in statements.iter().flat_map(|s| &s.entries) {
        assert_eq!(entry.status, EntryStatus::Booked);
        assert!(entry.amount > Amount::ZERO);
    }
}
