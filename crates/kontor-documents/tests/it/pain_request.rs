//! JSON payment requests: every field checked in one pass and named by its JSON path; a valid
//! request builds the pain version the bank's protocol expects and parses back unchanged.

use kontor_documents::pain::request::{
    MessageContext, PaymentRequest, RequestErrors, Scheme, MAX_REPORTED_ERRORS,
};
use kontor_documents::pain::{self, PainVersion};
use serde_json::{json, Value};

use crate::support::{date, datetime};

/// Wednesday, 2 December 2026.
fn context(ebics_3: bool) -> MessageContext {
    MessageContext {
        message_id: "KMSG-1".into(),
        created: datetime(2026, 12, 2, 9, 0),
        today: date(2026, 12, 2),
        ebics_3,
    }
}

fn check(body: Value, ebics_3: bool) -> Result<pain::PaymentOrder, RequestErrors> {
    let request: PaymentRequest = serde_json::from_value(body).unwrap();
    request.check(&context(ebics_3)).map(|c| c.order)
}

fn errors(body: Value) -> Vec<(String, &'static str)> {
    check(body, true)
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| (e.path, e.code))
        .collect()
}

fn credit(id: &str, amount: &str) -> Value {
    json!({"end_to_end_id": id, "amount": amount,
           "counterparty": {"name": "Beta AG", "iban": "GB82 WEST 1234 5698 7654 32", "bic": "NWBKGB2L"},
           "remittance_information": "Rechnung 4711"})
}

fn debit(id: &str) -> Value {
    json!({"end_to_end_id": id, "amount": "49.90",
           "counterparty": {"name": "Kunde Müller", "iban": "GB82WEST12345698765432"},
           "mandate": {"id": "MANDAT-7", "signature_date": "2025-06-30"}})
}

fn sct(transactions: Vec<Value>) -> Value {
    json!({"scheme": "SCT", "account": {"name": "Muster GmbH", "iban": "DE89370400440532013000"},
           "transactions": transactions})
}

fn sdd(date: &str) -> Value {
    json!({"scheme": "SDD_B2B", "account": {"name": "Muster GmbH", "iban": "DE89370400440532013000"},
           "requested_date": date, "creditor_scheme_id": "DE98ZZZ09999999999",
           "sequence_type": "RCUR", "transactions": [debit("DD-1")]})
}

#[test]
fn credit_transfers_build_pain001_03_for_ebics_2_5_and_09_for_ebics_3() {
    for (ebics_3, version) in [
        (false, PainVersion::Pain001_001_03),
        (true, PainVersion::Pain001_001_09),
    ] {
        let order = check(
            sct(vec![credit("E-1", "10.5"), credit("E-2", "0.01")]),
            ebics_3,
        )
        .unwrap();
        assert_eq!(order.version, version);
        let info = &order.payment_infos[0];
        assert_eq!(info.requested_date, date(2026, 12, 2), "today by default");
        assert_eq!(info.local_instrument, None);
        assert_eq!(
            info.transactions[0].counterparty.iban.electronic(),
            "GB82WEST12345698765432"
        );
        let xml = pain::build(&order).unwrap();
        assert!(
            xml.contains(r#"<InstdAmt Ccy="EUR">10.50</InstdAmt>"#),
            "{xml}"
        );
        assert_eq!(pain::parse(&xml).unwrap(), order);
    }
}

#[test]
fn instant_transfers_carry_inst_and_execute_today_only() {
    let mut body = sct(vec![credit("I-1", "99.99")]);
    body["scheme"] = json!("SCT_INST");
    let order = check(body.clone(), false).unwrap();
    let info = &order.payment_infos[0];
    assert_eq!(
        (
            info.service_level.as_deref(),
            info.local_instrument.as_deref()
        ),
        (Some("SEPA"), Some("INST"))
    );
    body["requested_date"] = json!("2026-12-03");
    assert_eq!(
        errors(body),
        [("$.requested_date".to_string(), "invalid_date")]
    );
}

#[test]
fn direct_debits_are_collected_on_a_later_target_day() {
    let order = check(sdd("2026-12-03"), true).unwrap();
    assert_eq!(order.version, PainVersion::Pain008_001_08);
    assert_eq!(
        order.payment_infos[0].local_instrument.as_deref(),
        Some("B2B")
    );
    let xml = pain::build(&order).unwrap();
    assert_eq!(pain::parse(&xml).unwrap(), order);
    assert_eq!(
        check(sdd("2026-12-03"), false).unwrap().version,
        PainVersion::Pain008_001_02
    );
    for (day, code) in [
        ("2026-12-01", "date_in_the_past"),
        ("2026-12-02", "date_too_early"),
        ("2026-12-05", "not_a_business_day"),
        ("2026-12-25", "not_a_business_day"),
        ("2026-12-3", "invalid_date"),
    ] {
        assert_eq!(
            errors(sdd(day)),
            [("$.requested_date".to_string(), code)],
            "{day}"
        );
    }
}

#[test]
fn direct_debit_fields_are_required_in_debits_and_refused_in_transfers() {
    let mut body = sdd("2026-12-04");
    body["creditor_scheme_id"] = json!("DE97ZZZ09999999999");
    body.as_object_mut().unwrap().remove("sequence_type");
    body["transactions"][0]
        .as_object_mut()
        .unwrap()
        .remove("mandate");
    assert_eq!(
        errors(body),
        [
            ("$.creditor_scheme_id".to_string(), "invalid_creditor_id"),
            ("$.sequence_type".to_string(), "missing_field"),
            ("$.transactions[0].mandate".to_string(), "missing_field"),
        ]
    );
    let mut transfer = sct(vec![credit("E-1", "1.00")]);
    transfer["sequence_type"] = json!("RCUR");
    transfer["transactions"][0]["mandate"] = json!({"id": "M", "signature_date": "2025-01-01"});
    assert_eq!(
        errors(transfer),
        [
            ("$.sequence_type".to_string(), "not_allowed"),
            ("$.transactions[0].mandate".to_string(), "not_allowed"),
        ]
    );
}

#[test]
fn references_text_and_amounts_follow_the_sepa_rules() {
    let long = "x".repeat(141);
    let body = sct(vec![
        json!({"end_to_end_id": "A//B", "amount": "1,00",
               "counterparty": {"name": "Preis in €", "iban": "DE89370400440532013001"},
               "remittance_information": long}),
        json!({"end_to_end_id": "B-1", "amount": 5, "currency": "CHF",
               "counterparty": {"name": "Straße & Söhne", "iban": "GB82WEST12345698765432", "bic": "NWBK"}}),
        json!({"end_to_end_id": "C-1", "amount": "1000000000.00",
               "counterparty": {"name": "Gamma", "iban": "GB82WEST12345698765432"}}),
        json!({"end_to_end_id": "B-1", "amount": "0.001",
               "counterparty": {"name": "Delta", "iban": "GB82WEST12345698765432"}}),
    ]);
    assert_eq!(
        errors(body),
        [
            (
                "$.transactions[0].end_to_end_id".to_string(),
                "invalid_reference"
            ),
            ("$.transactions[0].amount".to_string(), "invalid_amount"),
            (
                "$.transactions[0].counterparty.name".to_string(),
                "invalid_characters"
            ),
            (
                "$.transactions[0].counterparty.iban".to_string(),
                "invalid_iban"
            ),
            (
                "$.transactions[0].remittance_information".to_string(),
                "invalid_length"
            ),
            ("$.transactions[1].currency".to_string(), "invalid_currency"),
            ("$.transactions[1].amount".to_string(), "not_a_string"),
            (
                "$.transactions[1].counterparty.bic".to_string(),
                "invalid_bic"
            ),
            ("$.transactions[2].amount".to_string(), "invalid_amount"),
            (
                "$.transactions[3].end_to_end_id".to_string(),
                "duplicate_end_to_end_id"
            ),
            ("$.transactions[3].amount".to_string(), "invalid_amount"),
        ]
    );
}

#[test]
fn errors_are_listed_up_to_the_cap_and_counted_beyond_it() {
    let transactions = (0..150)
        .map(|i| credit(&format!("E/{i}/"), "1.00"))
        .collect();
    let invalid = check(sct(transactions), true).unwrap_err();
    assert_eq!(invalid.total, 150);
    assert_eq!(invalid.errors.len(), MAX_REPORTED_ERRORS);
    assert_eq!(
        invalid.to_string(),
        "$.transactions[0].end_to_end_id: must not start or end with '/' nor contain '//' (and 149 more invalid field(s))"
    );
}

#[test]
fn missing_and_mistyped_fields_are_reported_not_guessed() {
    assert_eq!(
        errors(json!({"scheme": 1, "transactions": []})),
        [
            ("$.scheme".to_string(), "not_a_string"),
            ("$.account".to_string(), "missing_field"),
            ("$.transactions".to_string(), "invalid_length"),
        ]
    );
    let unknown = serde_json::from_value::<PaymentRequest>(json!({"scheme": "SCT", "amount": "1"}));
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `amount`"));
    assert_eq!(Scheme::from_code("SDD_CORE"), Some(Scheme::SddCore));
}
