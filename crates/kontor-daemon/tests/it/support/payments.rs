//! Payment files.

use chrono::Utc;
use kontor_documents::pain::{
    self, AccountParty, Mandate, PainVersion, PaymentInfo, PaymentOrder, SequenceType,
};
use kontor_documents::{Amount, Currency, Iban};

use super::seed::IBAN;

/// One transaction per `(counterparty, amount)` with a GB counterparty account; direct debits
/// carry a mandate signed 30 days ago.
fn transactions(
    parties: &[(&str, &str)],
    end_to_end_prefix: &str,
    remittance: &str,
    mandates: bool,
) -> Vec<pain::Transaction> {
    parties
        .iter()
        .enumerate()
        .map(|(i, (name, amount))| pain::Transaction {
            end_to_end_id: format!("{end_to_end_prefix}-{i}"),
            instruction_id: None,
            amount: Amount::parse(amount).unwrap(),
            currency: Currency::EUR,
            counterparty: AccountParty::new(
                name,
                Iban::parse("GB82WEST12345698765432").unwrap(),
                None,
            ),
            mandate: mandates.then(|| Mandate {
                id: format!("MANDATE-{i}"),
                signature_date: Utc::now().date_naive() - chrono::Duration::days(30),
            }),
            remittance: Some(format!("{remittance} {i}")),
        })
        .collect()
}

/// The documents' creation time: fixed within a day, so the same call builds the same bytes
/// (a retry with the same idempotency key must send the same document, even under load).
fn creation_time() -> chrono::NaiveDateTime {
    Utc::now().date_naive().and_hms_opt(9, 0, 0).unwrap()
}

/// A valid pain.001 from the seeded account, one transfer per `(creditor, amount)`, due today.
pub fn pain001(message_id: &str, creditors: &[(&str, &str)]) -> Vec<u8> {
    let transactions = transactions(creditors, "E2E", "Invoice", false);
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_09,
        message_id: message_id.into(),
        created: creation_time(),
        initiating_party: Some("ACME GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: Utc::now().date_naive(),
            account: AccountParty::new("ACME GmbH", Iban::parse(IBAN).unwrap(), None),
            creditor_scheme_id: None,
            charge_bearer: Some("SLEV".into()),
            transactions,
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

/// A valid pain.008 (SEPA core direct debit) collecting for the seeded account, one debit
/// per `(debtor, amount)`, due in five days.
pub fn pain008(message_id: &str, debtors: &[(&str, &str)]) -> Vec<u8> {
    let transactions = transactions(debtors, "E2E-DD", "Subscription", true);
    let order = PaymentOrder {
        version: PainVersion::Pain008_001_08,
        message_id: message_id.into(),
        created: creation_time(),
        initiating_party: Some("ACME GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "DD-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: Some("CORE".into()),
            sequence_type: Some(SequenceType::Recurring),
            category_purpose: None,
            requested_date: Utc::now().date_naive() + chrono::Duration::days(5),
            account: AccountParty::new("ACME GmbH", Iban::parse(IBAN).unwrap(), None),
            creditor_scheme_id: Some("DE98ZZZ09999999999".into()),
            charge_bearer: Some("SLEV".into()),
            transactions,
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

/// The payment file the Node interoperability test sends to the emulator's partner.
pub fn interop_payment() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop-node/tools/fixtures/pain.001-kontorbank.xml"),
    )
    .unwrap()
}
