//! Valid SEPA payment files for the seeded account.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use kontor_documents::pain::{
    self, AccountParty, Mandate, PainVersion, PaymentInfo, PaymentOrder, SequenceType,
};
use kontor_documents::{Amount, Currency, Iban};
use kontor_storage::testing::seed::IBAN;

/// The account holder and IBAN of the emulator's demo subscriber: the debtor of its payments.
pub const DEBTOR: (&str, &str) = ("Muster Maschinenbau GmbH", IBAN);

/// The seeded tenant's account as the debtor (and creditor of direct debits).
const ACME: (&str, &str) = ("ACME GmbH", IBAN);

/// A transaction of `amount` EUR with `name` at `iban`.
fn transaction(
    end_to_end_id: String,
    name: &str,
    iban: &str,
    amount: &str,
    remittance: Option<String>,
) -> pain::Transaction {
    pain::Transaction {
        end_to_end_id,
        instruction_id: None,
        amount: Amount::parse(amount).unwrap(),
        currency: Currency::EUR,
        counterparty: AccountParty::new(name, Iban::parse(iban).unwrap(), None),
        mandate: None,
        remittance,
    }
}

/// A credit transfer of `amount` to `name` (a French account).
pub fn transfer(
    end_to_end_id: &str,
    name: &str,
    amount: &str,
    remittance: Option<String>,
) -> pain::Transaction {
    let iban = "FR1420041010050500013M02606";
    transaction(end_to_end_id.into(), name, iban, amount, remittance)
}

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
            mandate: mandates.then(|| Mandate {
                id: format!("MANDATE-{i}"),
                signature_date: Utc::now().date_naive() - chrono::Duration::days(30),
            }),
            ..transaction(
                format!("{end_to_end_prefix}-{i}"),
                name,
                "GB82WEST12345698765432",
                amount,
                Some(format!("{remittance} {i}")),
            )
        })
        .collect()
}

/// A SEPA payment information block `id` of `debtor` (name, IBAN), as credit transfers
/// (a direct debit adds its instrument, sequence and creditor id).
fn payment_info(
    id: &str,
    requested_date: NaiveDate,
    debtor: (&str, &str),
    transactions: Vec<pain::Transaction>,
) -> PaymentInfo {
    PaymentInfo {
        id: id.into(),
        batch_booking: Some(true),
        service_level: Some("SEPA".into()),
        local_instrument: None,
        sequence_type: None,
        category_purpose: None,
        requested_date,
        account: AccountParty::new(debtor.0, Iban::parse(debtor.1).unwrap(), None),
        creditor_scheme_id: None,
        charge_bearer: Some("SLEV".into()),
        transactions,
    }
}

fn document(
    version: PainVersion,
    message_id: &str,
    created: NaiveDateTime,
    party: &str,
    info: PaymentInfo,
) -> Vec<u8> {
    let order = PaymentOrder {
        version,
        message_id: message_id.into(),
        created,
        initiating_party: Some(party.into()),
        payment_infos: vec![info],
    };
    pain::build(&order).unwrap().into_bytes()
}

/// A SEPA pain.001 with one payment information block from `debtor` (name, IBAN).
pub fn payment_file(
    version: PainVersion,
    message_id: &str,
    created: NaiveDateTime,
    requested_date: NaiveDate,
    debtor: (&str, &str),
    transactions: Vec<pain::Transaction>,
) -> Vec<u8> {
    let info = payment_info("PMT-1", requested_date, debtor, transactions);
    document(version, message_id, created, debtor.0, info)
}

/// The documents' creation time: fixed within a day, so the same call builds the same bytes
/// (a retry with the same idempotency key must send the same document, even under load).
fn creation_time() -> NaiveDateTime {
    Utc::now().date_naive().and_hms_opt(9, 0, 0).unwrap()
}

/// A valid pain.001 from the seeded account, one transfer per `(creditor, amount)`, due today.
pub fn pain001(message_id: &str, creditors: &[(&str, &str)]) -> Vec<u8> {
    payment_file(
        PainVersion::Pain001_001_09,
        message_id,
        creation_time(),
        Utc::now().date_naive(),
        ACME,
        transactions(creditors, "E2E", "Invoice", false),
    )
}

/// A valid pain.008 (SEPA core direct debit) collecting for the seeded account, one debit
/// per `(debtor, amount)`, due in five days.
pub fn pain008(message_id: &str, debtors: &[(&str, &str)]) -> Vec<u8> {
    let due = Utc::now().date_naive() + chrono::Duration::days(5);
    let transactions = transactions(debtors, "E2E-DD", "Subscription", true);
    let info = PaymentInfo {
        local_instrument: Some("CORE".into()),
        sequence_type: Some(SequenceType::Recurring),
        creditor_scheme_id: Some("DE98ZZZ09999999999".into()),
        ..payment_info("DD-1", due, ACME, transactions)
    };
    document(
        PainVersion::Pain008_001_08,
        message_id,
        creation_time(),
        ACME.0,
        info,
    )
}

/// The payment file the Node interoperability test sends to the emulator's partner.
pub fn interop_payment() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop-node/tools/fixtures/pain.001-kontorbank.xml"),
    )
    .unwrap()
}
