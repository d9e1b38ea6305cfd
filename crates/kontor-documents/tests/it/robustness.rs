//! Property tests: validation catches what it must, and no input makes a parser panic.

use std::sync::OnceLock;

use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::pain;
use kontor_documents::{Amount, Bic, Currency, Iban, IbanError};
use proptest::prelude::*;

use crate::support::samples::sample_order;
use crate::support::{date, datetime, ledger};

/// (country, BBAN length) of IBANs with all-numeric BBANs.
const NUMERIC_COUNTRIES: &[(&str, usize)] = &[
    ("DE", 18),
    ("AT", 16),
    ("BE", 12),
    ("ES", 20),
    ("FR", 23),
    ("PL", 24),
    ("NO", 11),
    ("SI", 15),
];

fn valid_iban() -> impl Strategy<Value = Iban> {
    (0..NUMERIC_COUNTRIES.len())
        .prop_flat_map(|i| {
            let (country, len) = NUMERIC_COUNTRIES[i];
            (
                Just(country),
                proptest::string::string_regex(&format!("[0-9]{{{len}}}")).unwrap(),
            )
        })
        .prop_map(|(country, bban)| {
            Iban::from_bban(country, &bban).expect("numeric BBAN of the right length")
        })
}

proptest! {
    #[test]
    fn changing_one_digit_of_a_valid_iban_is_always_detected(
        iban in valid_iban(),
        position in 2usize..34,
        delta in 1u32..10,
    ) {
        let mut chars: Vec<char> = iban.electronic().chars().collect();
        let position = 2 + position % (chars.len() - 2);
        let digit = chars[position].to_digit(10).unwrap();
        chars[position] = char::from_digit((digit + delta) % 10, 10).unwrap();
        let changed: String = chars.into_iter().collect();
        let result = Iban::parse(&changed);
        prop_assert!(
            matches!(result, Err(IbanError::InvalidChecksum { .. }) | Err(IbanError::InvalidCheckDigits { .. })),
            "{changed} was accepted"
        );
    }

    #[test]
    fn swapping_two_adjacent_different_digits_is_detected(iban in valid_iban(), position in 4usize..30) {
        let mut chars: Vec<char> = iban.electronic().chars().collect();
        let position = 4 + position % (chars.len() - 5);
        prop_assume!(chars[position] != chars[position + 1]);
        chars.swap(position, position + 1);
        let swapped: String = chars.into_iter().collect();
        prop_assert!(Iban::parse(&swapped).is_err());
    }

    #[test]
    fn valid_ibans_survive_display_lower_case_and_spacing(iban in valid_iban(), spaces in proptest::collection::vec(0usize..40, 0..5)) {
        let grouped = format!("{iban}");
        prop_assert!(grouped.contains(' '));
        prop_assert_eq!(&Iban::parse(&grouped).unwrap(), &iban);
        let mut text = iban.electronic().to_ascii_lowercase();
        for position in spaces {
            let at = position % (text.len() + 1);
            text.insert(at, ' ');
        }
        prop_assert_eq!(Iban::parse(&text).unwrap(), iban);
    }

    #[test]
    fn amounts_round_trip_through_their_text_forms(units in -10_000_000_000i64..10_000_000_000, scale in 0u32..6) {
        let amount = Amount::from_minor_units(units, scale);
        prop_assert_eq!(Amount::parse(&amount.format_for(Currency::EUR)).unwrap(), amount);
        prop_assert_eq!(Amount::parse_swift(&amount.format_swift(Currency::EUR)).unwrap(), amount.abs());
    }

    #[test]
    fn value_parsers_never_panic(text in "\\PC{0,40}") {
        let _ = Iban::parse(&text);
        let _ = Bic::parse(&text);
        let _ = Currency::parse(&text);
        let _ = Amount::parse(&text);
        let _ = Amount::parse_swift(&text);
    }

    #[test]
    fn document_parsers_never_panic_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = camt::parse(&text);
        let _ = pain::parse(&text);
        let _ = mt940::parse(&text);
    }

    #[test]
    fn document_parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = camt::parse_bytes(&bytes);
        let _ = pain::parse_bytes(&bytes);
        let _ = mt940::parse_bytes(&bytes);
        let _ = kontor_documents::status_report::parse_bytes(&bytes);
    }

    #[test]
    fn generated_ledgers_balance_every_day(seed in any::<u64>(), per_day in 0usize..6, start in 0u32..360) {
        let from = date(2023, 1, 1) + chrono::Duration::days(i64::from(start));
        let ledger = ledger(seed, from, from + chrono::Duration::days(3), per_day);
        for day in ledger.days() {
            let movement: Amount = day.entries().iter().map(|e| e.signed_amount()).sum();
            prop_assert_eq!(day.opening_balance() + movement, day.closing_balance());
        }
    }
}

/// A mutation of a valid document: delete, insert, replace or truncate.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Replace { at: usize, with: char },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), "[<>/&:?;\"' a-zA-Z0-9\\-,.\n\u{e4}]{1,12}")
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), any::<char>()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(original: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = original.chars().collect();
    for mutation in mutations {
        let len = chars.len().max(1);
        match mutation {
            Mutation::Delete { at, len: n } => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Insert { at, text } => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, text.chars());
            }
            Mutation::Replace { at, with } => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = *with;
                }
            }
            Mutation::Truncate { at } => chars.truncate(at % len),
        }
    }
    chars.into_iter().collect()
}

fn samples() -> &'static (String, String, String, String) {
    static SAMPLES: OnceLock<(String, String, String, String)> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let ledger = ledger(77, date(2024, 1, 31), date(2024, 2, 1), 3);
        let camt053 = camt::generate(
            &ledger,
            &StatementRequest::new(CamtKind::Camt053, "M", datetime(2024, 2, 2, 6, 0)),
        );
        let mt940 = mt940::generate(&ledger, &Mt940Request::new("STARTUMS"));
        let pain001 = pain::build(&sample_order(pain::PainVersion::Pain001_001_09)).unwrap();
        let pain008 = pain::build(&sample_order(pain::PainVersion::Pain008_001_08)).unwrap();
        (camt053, mt940, pain001, pain008)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn parsers_never_panic_on_mutated_documents(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let (camt053, mt940_text, pain001, pain008) = samples();
        let _ = camt::parse(&mutate(camt053, &mutations));
        let _ = mt940::parse(&mutate(mt940_text, &mutations));
        let _ = pain::parse(&mutate(pain001, &mutations));
        let _ = pain::parse(&mutate(pain008, &mutations));
        // Mutated MT940 is also fed as raw bytes (possibly invalid UTF-8 after a cut).
        let mut bytes = mt940_text.clone().into_bytes();
        if let Some(Mutation::Truncate { at }) = mutations.first() {
            bytes.truncate(at % (bytes.len() + 1));
        }
        let _ = mt940::parse_bytes(&bytes);
    }

    #[test]
    fn mutated_pain_is_either_rejected_or_still_consistent(mutations in proptest::collection::vec(mutation(), 1..3)) {
        let (_, _, pain001, _) = samples();
        if let Ok(order) = pain::parse(&mutate(pain001, &mutations)) {
            // Whatever survived parsing passed validation: rebuilding and re-parsing is stable.
            let rebuilt = pain::build(&order).unwrap();
            prop_assert_eq!(pain::parse(&rebuilt).unwrap(), order);
        }
    }
}

#[test]
fn sample_documents_are_valid_before_mutation() {
    let (camt053, mt940_text, pain001, pain008) = samples();
    assert!(camt::parse(camt053).is_ok());
    assert!(mt940::parse(mt940_text).is_ok());
    assert!(pain::parse(pain001).is_ok());
    assert!(pain::parse(pain008).is_ok());
}

#[test]
fn amounts_beyond_eighteen_digits_are_rejected_so_sums_cannot_overflow() {
    let (_, _, pain001, _) = samples();
    let huge = "9".repeat(27);
    let xml = pain001.replacen(">10.01<", &format!(">{huge}<"), 1);
    assert!(pain::parse(&xml).is_err());
    let text = format!(":20:A\r\n:25:X\r\n:60F:C240101EUR{huge},\r\n:62F:C240101EUR0,\r\n-");
    assert!(mt940::parse(&text).is_err());
}
