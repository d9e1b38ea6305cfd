//! Payment documents the upload and status tests submit.

use chrono::NaiveDate;
use kontor_documents::pain::{
    self, AccountParty, Mandate, PainVersion, PaymentInfo, PaymentOrder, SequenceType, Transaction,
};
use kontor_documents::{Amount, Currency};

/// A pain.001.001.03 credit transfer (or, with `kind_debit`, a pain.008.001.02 direct debit)
/// from `debtor_iban` with `transactions` transactions of `amount` EUR each.
pub fn document(
    kind_debit: bool,
    message_id: &str,
    debtor_iban: &str,
    amount: &str,
    transactions: usize,
) -> Vec<u8> {
    let party = |name: &str, iban: &str| {
        AccountParty::new(
            name,
            iban.parse().expect("iban"),
            Some("COBADEFFXXX".parse().expect("bic")),
        )
    };
    let tx = |i: usize| Transaction {
        end_to_end_id: format!("E2E-{i}"),
        instruction_id: None,
        amount: amount.parse::<Amount>().expect("amount"),
        currency: "EUR".parse::<Currency>().expect("currency"),
        counterparty: party("Lieferant GmbH", "DE02120300000000202051"),
        mandate: kind_debit.then(|| Mandate {
            id: format!("M-{i}"),
            signature_date: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        }),
        remittance: Some(format!(
            "Rechnung {i} mit einem etwas laengeren Verwendungszweck fuer Volumen"
        )),
    };
    let order = PaymentOrder {
        version: if kind_debit {
            PainVersion::Pain008_001_02
        } else {
            PainVersion::Pain001_001_03
        },
        message_id: message_id.into(),
        created: NaiveDate::from_ymd_opt(2026, 1, 5)
            .expect("date")
            .and_hms_opt(9, 0, 0)
            .expect("time"),
        initiating_party: Some("Muster Maschinenbau GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: kind_debit.then(|| "CORE".into()),
            sequence_type: kind_debit.then_some(SequenceType::OneOff),
            category_purpose: None,
            requested_date: NaiveDate::from_ymd_opt(2026, 1, 6).expect("date"),
            account: party("Muster Maschinenbau GmbH", debtor_iban),
            creditor_scheme_id: kind_debit.then(|| "DE98ZZZ09999999999".into()),
            charge_bearer: Some("SLEV".into()),
            transactions: (0..transactions).map(tx).collect(),
        }],
    };
    pain::build(&order).expect("pain builds").into_bytes()
}
