//! The demo's payment: a pain.001 with a few SEPA transfers from the main account.

use chrono::{Datelike, NaiveDate, Utc, Weekday};
use kontor_documents::pain::{
    self, AccountParty, PainVersion, PaymentInfo, PaymentOrder, Transaction,
};
use kontor_documents::{Amount, Currency, Iban};

/// Creditors and amounts: all under USER3's (class B) limit of 100 000 EUR.
const TRANSFERS: [(&str, &str, &str); 3] = [
    (
        "Alpha Zulieferer AG",
        "FR1420041010050500013M02606",
        "12500.00",
    ),
    ("Beta Logistik GmbH", "DE02120300000000202051", "4870.25"),
    ("Gamma Energie SE", "DE02500105170137075030", "980.40"),
];

/// The pain.001.001.09 file paying [`TRANSFERS`] from `debtor_iban`.
pub fn credit_transfers(debtor_iban: &str) -> anyhow::Result<Vec<u8>> {
    let party = |name: &str, iban: &str| -> anyhow::Result<AccountParty> {
        Ok(AccountParty::new(name, Iban::parse(iban)?, None))
    };
    let transactions = TRANSFERS
        .iter()
        .enumerate()
        .map(|(i, (name, iban, amount))| {
            Ok(Transaction {
                end_to_end_id: format!("DEMO-E2E-{}", i + 1),
                instruction_id: None,
                amount: Amount::parse(amount)?,
                currency: Currency::EUR,
                counterparty: party(name, iban)?,
                mandate: None,
                remittance: Some(format!("Invoice 2026-{}", 101 + i)),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = Utc::now();
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_09,
        message_id: format!("DEMO-{}", now.format("%Y%m%d%H%M%S")),
        created: now.naive_utc(),
        initiating_party: None,
        payment_infos: vec![PaymentInfo {
            id: "DEMO-PMT-1".into(),
            batch_booking: None,
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: next_business_day(now.date_naive()),
            account: party("Muster Maschinenbau GmbH", debtor_iban)?,
            creditor_scheme_id: None,
            charge_bearer: None,
            transactions,
        }],
    };
    Ok(pain::build(&order)?.into_bytes())
}

/// Total of [`TRANSFERS`] as the API reports it.
pub fn expected_total() -> &'static str {
    "18350.65"
}

fn next_business_day(today: NaiveDate) -> NaiveDate {
    let mut day = today.succ_opt().unwrap_or(today);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day.succ_opt().unwrap_or(day);
    }
    day
}
