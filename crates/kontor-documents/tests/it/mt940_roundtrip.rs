use kontor_documents::mt940::{self, Mt940Error, Mt940Request};
use kontor_documents::{
    Amount, BalanceKind, BankTransactionCode, CreditDebit, Currency, Entry, StatementFormat,
};

use crate::support::{account, assert_counterparty, date, ledger};

#[test]
fn mt940_round_trip_reproduces_balances_and_entries() {
    let ledger = ledger(42, date(2024, 12, 30), date(2025, 1, 2), 15);
    let text = mt940::generate(&ledger, &Mt940Request::new("STARTUMS"));
    let statements = mt940::parse(&text).expect("generated MT940 parses");
    assert_eq!(statements.len(), ledger.days().len());
    for (statement, day) in statements.iter().zip(ledger.days()) {
        assert_eq!(statement.format, StatementFormat::Mt940);
        assert_eq!(statement.id, "STARTUMS");
        assert_eq!(statement.account.iban.as_ref(), Some(&account().iban));
        assert_eq!(statement.account.currency, Some(Currency::EUR));
        assert_eq!(statement.entries, day.entries());
        let opening = statement.balance(&BalanceKind::OpeningBooked).unwrap();
        let closing = statement.balance(&BalanceKind::ClosingBooked).unwrap();
        assert_eq!(
            (opening.amount, opening.date),
            (day.opening_balance(), day.date())
        );
        assert_eq!(
            (closing.amount, closing.date),
            (day.closing_balance(), day.date())
        );
        assert_eq!(statement.check_balances(), Ok(()));
    }
    let numbers: Vec<u64> = statements
        .iter()
        .map(|s| s.electronic_sequence_number.unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4]);
}

#[test]
fn generated_lines_respect_swift_limits() {
    let ledger = ledger(8, date(2024, 3, 1), date(2024, 3, 3), 40);
    let text = mt940::generate(&ledger, &Mt940Request::new("A-VERY-LONG-REFERENCE-VALUE"));
    assert!(text.contains(":20:A-VERY-LONG-REFE\r\n"));
    for line in text.split("\r\n") {
        assert!(line.chars().count() <= 65, "line too long: {line}");
        assert!(line.is_ascii(), "non-SWIFT character in {line}");
    }
    assert!(!text.replace("\r\n", "").contains('\n'));
}

#[test]
fn same_seed_gives_byte_identical_mt940() {
    let make = |seed| {
        mt940::generate(
            &ledger(seed, date(2024, 4, 1), date(2024, 4, 2), 6),
            &Mt940Request::new("STARTUMS"),
        )
    };
    assert_eq!(make(1), make(1));
    assert_ne!(make(1), make(2));
}

/// A bank-style file: SWIFT envelope, BLZ/account in :25:, entry without booking date, a
/// reversal, funds code, year boundary, unstructured and structured :86:, statement-level :86:.
pub(crate) const BANK_FILE: &str =
    "{1:F01COBADEFFAXXX0000000000}{2:O9400000000000COBADEFFAXXX00000000000000000000N}{4:\r\n\
:20:940S231231\r\n\
:25:37040044/0532013000\r\n\
:28C:00123/001\r\n\
:60F:D231229EUR1500,\r\n\
:61:2401021231CR250,00NTRFNONREF//BANKREF-0001\r\n\
/OCMT/EUR250,00/\r\n\
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+INV-2023-12-001?21SVWZ+R\r\n\
echnung 2023-12-001 vom 0?221.12.2023?30GENODEF1S04?31DE02120300000000202051\r\n\
?32Beispiel Lieferant GmbH?33 Niederlassung Sued\r\n\
:61:231231RD100,50NDDTNONREF\r\n\
:86:Ruecklastschrift Vertrag 4711\r\n\
:62F:D231231EUR1350,50\r\n\
:86:Kontoauszug 123\r\n\
-}\r\n";

#[test]
fn bank_style_file_with_envelope_and_quirks_parses() {
    let statements = mt940::parse(BANK_FILE).unwrap();
    assert_eq!(statements.len(), 1);
    let s = &statements[0];
    assert_eq!(s.id, "940S231231");
    assert_eq!(s.electronic_sequence_number, Some(123));
    assert_eq!(s.account.iban, None);
    assert_eq!(s.account.other_id.as_deref(), Some("37040044/0532013000"));
    let opening = s.balance(&BalanceKind::OpeningBooked).unwrap();
    assert_eq!(opening.amount, Amount::parse("-1500").unwrap());
    assert_eq!(opening.date, date(2023, 12, 29));

    let credit = &s.entries[0];
    assert_eq!(credit.value_date, Some(date(2024, 1, 2)));
    assert_eq!(
        credit.booking_date,
        Some(date(2023, 12, 31)),
        "booking in the previous year"
    );
    assert_eq!(credit.credit_debit, CreditDebit::Credit);
    assert!(!credit.reversal);
    assert_eq!(credit.amount, Amount::parse("250").unwrap());
    assert_eq!(credit.bank_reference.as_deref(), Some("BANKREF-0001"));
    assert_eq!(credit.end_to_end_id.as_deref(), Some("INV-2023-12-001"));
    assert_eq!(
        credit.remittance.as_deref(),
        Some("Rechnung 2023-12-001 vom 01.12.2023")
    );
    assert_counterparty(
        credit,
        "Beispiel Lieferant GmbH Niederlassung Sued",
        "DE02120300000000202051",
        "GENODEF1S04",
    );
    assert_eq!(
        credit.bank_transaction_code,
        Some(BankTransactionCode::new("PMNT", "RCDT", "ESCT"))
    );
    assert_eq!(credit.proprietary_code.as_deref(), Some("NTRF+166"));
    assert_eq!(credit.additional_info.as_deref(), Some("SEPA-GUTSCHRIFT"));

    let reversal = &s.entries[1];
    assert!(reversal.reversal);
    assert_eq!(reversal.credit_debit, CreditDebit::Debit);
    assert_eq!(reversal.booking_date, Some(date(2023, 12, 31)));
    assert_eq!(reversal.bank_reference, None);
    assert_eq!(
        reversal.remittance.as_deref(),
        Some("Ruecklastschrift Vertrag 4711")
    );
    assert_eq!(reversal.proprietary_code.as_deref(), Some("NDDT"));
    assert_eq!(s.check_balances(), Ok(()));
}

#[test]
fn field_86_purpose_keeps_the_first_eref_and_svwz_sections_and_leading_text() {
    let text = ":20:P\n:25:DE89370400440532013000\n:28C:1\n:60F:C240603EUR0,\n\
:61:240603C1,NTRFNONREF\n\
:86:166?00 ?20Vorab?21EREF+E1?22 teil 2?23EREF+E2?24KREF+K\n?25SVWZ+Zweck? ja?26SVWZ+nein\n\
:61:240603C1,NTRFNONREF\n\
:86:166?20Nur Text?21 ohne Schluessel?22KREF+K\n\
:61:240603C1,NTRFNONREF\n\
:86:166?20EREF+notprovided?21SVWZ+\n\
:62F:C240603EUR3,\n-";
    let entries = &mt940::parse(text).unwrap()[0].entries;
    let read = |i: usize| {
        let e: &Entry = &entries[i];
        (
            e.end_to_end_id.as_deref(),
            e.remittance.as_deref(),
            e.additional_info.as_deref(),
        )
    };
    // A second EREF or SVWZ opens a section nobody reads; a `?` without two digits is text.
    assert_eq!(read(0), (Some("E1 teil 2"), Some("Zweck? ja"), None));
    // No SVWZ: the text before the first keyword.
    assert_eq!(read(1), (None, Some("Nur Text ohne Schluessel"), None));
    // NOTPROVIDED (any case) and an empty SVWZ are absent.
    assert_eq!(read(2), (None, None, None));
}

#[test]
fn multiple_statements_and_latin1_bytes_are_read() {
    let ledger = ledger(4, date(2024, 2, 1), date(2024, 2, 3), 2);
    let mut bytes = mt940::generate(&ledger, &Mt940Request::new("STARTUMS")).into_bytes();
    // A Latin-1 "ü" (0xFC) inside a remittance line must not make the file unreadable.
    bytes.extend_from_slice(
        b":20:X\r\n:25:DE89370400440532013000\r\n:28C:7\r\n:60F:C240204EUR0,\r\n\
:61:240204C1,NMSCNONREF\r\n:86:M\xFCller\r\n:62F:C240204EUR1,\r\n-\r\n",
    );
    let statements = mt940::parse_bytes(&bytes).unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(
        statements[3].entries[0].remittance.as_deref(),
        Some("Müller")
    );
    assert_eq!(statements[3].electronic_sequence_number, Some(7));
}

#[test]
fn two_digit_years_use_the_documented_century_window() {
    let text = ":20:A\r\n:25:X\r\n:28C:1/1\r\n:60F:C790101EUR0,\r\n:62F:C800101EUR0,\r\n-";
    let s = &mt940::parse(text).unwrap()[0];
    assert_eq!(s.balances[0].date, date(2079, 1, 1));
    assert_eq!(s.balances[1].date, date(1980, 1, 1));
}

#[test]
fn malformed_files_give_typed_errors() {
    assert_eq!(mt940::parse(""), Err(Mt940Error::NoStatements));
    assert_eq!(mt940::parse("hello world"), Err(Mt940Error::NoStatements));
    let no_account = ":20:A\r\n:28C:1\r\n:60F:C240101EUR0,\r\n:62F:C240101EUR0,\r\n-";
    assert!(matches!(
        mt940::parse(no_account),
        Err(Mt940Error::MissingField { tag: "25", .. })
    ));
    let no_closing = ":20:A\r\n:25:X\r\n:60F:C240101EUR0,\r\n-";
    assert!(matches!(
        mt940::parse(no_closing),
        Err(Mt940Error::MissingField { tag: "62F", .. })
    ));
    let bad_balance = ":20:A\r\n:25:X\r\n:60F:X240101EUR0,\r\n:62F:C240101EUR0,\r\n-";
    assert!(matches!(
        mt940::parse(bad_balance),
        Err(Mt940Error::InvalidField { line: 3, .. })
    ));
    let bad_amount =
        ":20:A\r\n:25:X\r\n:60F:C240101EUR0,\r\n:61:240101C1.5NTRFNONREF\r\n:62F:C240101EUR0,\r\n-";
    let err = mt940::parse(bad_amount).unwrap_err();
    assert!(
        matches!(err, Mt940Error::InvalidField { line: 4, .. }),
        "{err}"
    );
    let bad_date = ":20:A\r\n:25:X\r\n:60F:C241301EUR0,\r\n:62F:C240101EUR0,\r\n-";
    assert!(mt940::parse(bad_date).is_err());
}
