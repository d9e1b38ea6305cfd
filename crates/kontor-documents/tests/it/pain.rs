use kontor_documents::pain::{
    self, AccountParty, Mandate, PainError, PainVersion, PaymentInfo, PaymentKind, PaymentOrder,
    SequenceType, Transaction,
};
use kontor_documents::{Amount, AmountError, Bic, Currency, Iban, IbanError, ReadError, XmlError};

use crate::support::{date, datetime};

fn iban(s: &str) -> Iban {
    Iban::parse(s).unwrap()
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn transfer(e2e: &str, value: &str, name: &str, account: &str, bic: Option<&str>) -> Transaction {
    Transaction {
        end_to_end_id: e2e.to_string(),
        instruction_id: None,
        amount: amount(value),
        currency: Currency::EUR,
        counterparty: AccountParty::new(name, iban(account), bic.map(|b| Bic::parse(b).unwrap())),
        mandate: None,
        remittance: Some(format!("Rechnung {e2e}")),
    }
}

fn credit_transfer_order(version: PainVersion) -> PaymentOrder {
    let debtor = AccountParty::new(
        "Muster Treasury GmbH",
        iban("DE89370400440532013000"),
        Some(Bic::parse("COBADEFFXXX").unwrap()),
    );
    PaymentOrder {
        version,
        message_id: "MSG-CT-0001".into(),
        created: datetime(2024, 3, 1, 9, 15),
        initiating_party: Some("Muster Treasury GmbH".into()),
        payment_infos: vec![
            PaymentInfo {
                id: "PMT-1".into(),
                batch_booking: Some(true),
                service_level: Some("SEPA".into()),
                local_instrument: None,
                sequence_type: None,
                category_purpose: None,
                requested_date: date(2024, 3, 4),
                account: debtor.clone(),
                creditor_scheme_id: None,
                charge_bearer: Some("SLEV".into()),
                transactions: vec![
                    transfer(
                        "E2E-1",
                        "1250.00",
                        "Alpha & Söhne <GmbH>",
                        "FR1420041010050500013M02606",
                        Some("BNPAFRPP"),
                    ),
                    transfer("E2E-2", "0.01", "Beta AG", "GB82WEST12345698765432", None),
                ],
            },
            PaymentInfo {
                id: "PMT-2".into(),
                batch_booking: None,
                service_level: Some("SEPA".into()),
                local_instrument: Some("INST".into()),
                sequence_type: None,
                category_purpose: Some("SALA".into()),
                requested_date: date(2024, 3, 5),
                account: debtor,
                creditor_scheme_id: None,
                charge_bearer: None,
                transactions: vec![Transaction {
                    instruction_id: Some("INSTR-3".into()),
                    remittance: None,
                    ..transfer(
                        "E2E-3",
                        "99.9",
                        "Beta AG",
                        "NL91ABNA0417164300",
                        Some("ABNANL2A"),
                    )
                }],
            },
        ],
    }
}

fn direct_debit_order(version: PainVersion) -> PaymentOrder {
    let debit =
        |e2e: &str, value: &str, name: &str, account: &str, bic: Option<&str>| Transaction {
            mandate: Some(Mandate {
                id: format!("MANDATE-{e2e}"),
                signature_date: date(2023, 11, 20),
            }),
            ..transfer(e2e, value, name, account, bic)
        };
    PaymentOrder {
        version,
        message_id: "MSG-DD-0001".into(),
        created: datetime(2024, 3, 1, 9, 30),
        initiating_party: Some("Muster Abo GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "DD-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: Some("CORE".into()),
            sequence_type: Some(SequenceType::Recurring),
            category_purpose: None,
            requested_date: date(2024, 3, 8),
            account: AccountParty::new(
                "Muster Abo GmbH",
                iban("DE89370400440532013000"),
                Some(Bic::parse("COBADEFF").unwrap()),
            ),
            creditor_scheme_id: Some("DE98ZZZ09999999999".into()),
            charge_bearer: Some("SLEV".into()),
            transactions: vec![
                debit(
                    "DD-E2E-1",
                    "19.99",
                    "Kunde Eins",
                    "AT611904300234573201",
                    Some("BKAUATWW"),
                ),
                debit("DD-E2E-2", "5", "Kunde Zwei", "BE68539007547034", None),
            ],
        }],
    }
}

#[test]
fn every_version_round_trips_through_build_and_parse() {
    let orders: [fn(PainVersion) -> PaymentOrder; 2] = [credit_transfer_order, direct_debit_order];
    let cases = [
        (PainVersion::Pain001_001_09, orders[0]),
        (PainVersion::Pain001_001_03, orders[0]),
        (PainVersion::Pain001_003_03, orders[0]),
        (PainVersion::Pain008_001_08, orders[1]),
        (PainVersion::Pain008_001_02, orders[1]),
        (PainVersion::Pain008_003_02, orders[1]),
    ];
    let wrong: Vec<String> = cases
        .into_iter()
        .filter_map(|(version, order)| {
            let order = order(version);
            let xml = pain::build(&order).unwrap();
            let parsed = pain::parse(&xml);
            let round_trips = xml.contains(version.namespace()) && parsed.as_ref() == Ok(&order);
            (!round_trips).then(|| format!("{version:?}: {parsed:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn built_documents_use_the_version_specific_elements() {
    let v09 = pain::build(&credit_transfer_order(PainVersion::Pain001_001_09)).unwrap();
    assert!(v09.contains("<BICFI>COBADEFFXXX</BICFI>"));
    assert!(v09.contains("<ReqdExctnDt>\n"));
    assert!(v09.contains("<Dt>2024-03-04</Dt>"));
    assert!(v09.contains("<NbOfTxs>3</NbOfTxs>"));
    assert!(v09.contains("<CtrlSum>1349.91</CtrlSum>"));
    assert!(v09.contains("<InstdAmt Ccy=\"EUR\">99.90</InstdAmt>"));
    assert!(v09.contains("<Nm>Alpha &amp; Söhne &lt;GmbH&gt;</Nm>"));
    // A creditor without BIC simply has no CdtrAgt (optional in pain.001).
    assert!(!v09.contains("NOTPROVIDED"));
    assert_eq!(v09.matches("<CdtrAgt>").count(), 2);
    let v03 = pain::build(&credit_transfer_order(PainVersion::Pain001_001_03)).unwrap();
    assert!(v03.contains("<BIC>COBADEFFXXX</BIC>"));
    assert!(v03.contains("<ReqdExctnDt>2024-03-04</ReqdExctnDt>"));
    let dd = pain::build(&direct_debit_order(PainVersion::Pain008_001_08)).unwrap();
    assert!(dd.contains("<SeqTp>RCUR</SeqTp>"));
    assert!(dd.contains("<Id>DE98ZZZ09999999999</Id>"));
    assert!(
        dd.contains("<Id>NOTPROVIDED</Id>"),
        "debtor agent without BIC"
    );
}

#[test]
fn summary_lists_totals_creditors_and_debtor_accounts() {
    let ct = credit_transfer_order(PainVersion::Pain001_001_09).summary();
    assert_eq!(ct.kind, PaymentKind::CreditTransfer);
    assert_eq!(ct.number_of_transactions, 3);
    assert_eq!(ct.control_sum, amount("1349.91"));
    assert_eq!(ct.totals.get(&Currency::EUR), Some(&amount("1349.91")));
    assert_eq!(ct.creditor_names, vec!["Alpha & Söhne <GmbH>", "Beta AG"]);
    assert_eq!(ct.debtor_accounts, vec![iban("DE89370400440532013000")]);
    assert_eq!(ct.requested_dates, vec![date(2024, 3, 4), date(2024, 3, 5)]);

    let dd = direct_debit_order(PainVersion::Pain008_001_08).summary();
    assert_eq!(dd.creditor_names, vec!["Muster Abo GmbH"]);
    assert_eq!(
        dd.debtor_accounts,
        vec![iban("AT611904300234573201"), iban("BE68539007547034")]
    );
}

#[test]
fn totals_are_kept_per_currency() {
    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.payment_infos[1].transactions[0].currency = Currency::USD;
    order.payment_infos[1].transactions[0].amount = amount("10.00");
    let parsed = pain::parse(&pain::build(&order).unwrap()).unwrap();
    let summary = parsed.summary();
    assert_eq!(summary.totals.len(), 2);
    assert_eq!(summary.totals[&Currency::EUR], amount("1250.01"));
    assert_eq!(summary.totals[&Currency::USD], amount("10"));
    assert_eq!(summary.control_sum, amount("1260.01"));
}

/// A hand-written pain.001.001.03 with a namespace prefix, German umlauts, IBAN-only debtor agent
/// and two remittance lines, as some ERP systems produce it.
const PREFIXED_PAIN_001_03: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <p:CstmrCdtTrfInitn>
  <p:GrpHdr>
   <p:MsgId>ERP-20240301-7</p:MsgId>
   <p:CreDtTm>2024-03-01T10:11:12.345+01:00</p:CreDtTm>
   <p:NbOfTxs>2</p:NbOfTxs>
   <p:CtrlSum>300.5</p:CtrlSum>
   <p:InitgPty><p:Nm>Müller Maschinenbau</p:Nm></p:InitgPty>
  </p:GrpHdr>
  <p:PmtInf>
   <p:PmtInfId>B1</p:PmtInfId>
   <p:PmtMtd>TRF</p:PmtMtd>
   <p:NbOfTxs>2</p:NbOfTxs>
   <p:PmtTpInf><p:SvcLvl><p:Cd>SEPA</p:Cd></p:SvcLvl></p:PmtTpInf>
   <p:ReqdExctnDt>2024-03-04</p:ReqdExctnDt>
   <p:Dbtr><p:Nm>Müller Maschinenbau</p:Nm></p:Dbtr>
   <p:DbtrAcct><p:Id><p:IBAN>DE89370400440532013000</p:IBAN></p:Id><p:Ccy>EUR</p:Ccy></p:DbtrAcct>
   <p:DbtrAgt><p:FinInstnId><p:Othr><p:Id>NOTPROVIDED</p:Id></p:Othr></p:FinInstnId></p:DbtrAgt>
   <p:ChrgBr>SLEV</p:ChrgBr>
   <p:CdtTrfTxInf>
    <p:PmtId><p:EndToEndId>A-1</p:EndToEndId></p:PmtId>
    <p:Amt><p:InstdAmt Ccy="EUR">100.25</p:InstdAmt></p:Amt>
    <p:Cdtr><p:Nm>Lieferant Eins</p:Nm></p:Cdtr>
    <p:CdtrAcct><p:Id><p:IBAN>DE02 1203 0000 0000 2020 51</p:IBAN></p:Id></p:CdtrAcct>
    <p:RmtInf><p:Ustrd>Rechnung 1</p:Ustrd><p:Ustrd>und 2</p:Ustrd></p:RmtInf>
   </p:CdtTrfTxInf>
   <p:CdtTrfTxInf>
    <p:PmtId><p:InstrId>I-2</p:InstrId><p:EndToEndId>A-2</p:EndToEndId></p:PmtId>
    <p:Amt><p:InstdAmt Ccy="EUR">200.25</p:InstdAmt></p:Amt>
    <p:CdtrAgt><p:FinInstnId><p:BIC>GENODEF1S04</p:BIC></p:FinInstnId></p:CdtrAgt>
    <p:Cdtr><p:Nm>Lieferant Zwei</p:Nm></p:Cdtr>
    <p:CdtrAcct><p:Id><p:IBAN>DE02120300000000202051</p:IBAN></p:Id></p:CdtrAcct>
   </p:CdtTrfTxInf>
  </p:PmtInf>
 </p:CstmrCdtTrfInitn>
</p:Document>"#;

#[test]
fn prefixed_pain_001_03_from_an_erp_parses() {
    let order = pain::parse(PREFIXED_PAIN_001_03).unwrap();
    assert_eq!(order.version, PainVersion::Pain001_001_03);
    assert_eq!(order.message_id, "ERP-20240301-7");
    assert_eq!(
        order.created,
        datetime(2024, 3, 1, 10, 11) + chrono::Duration::milliseconds(12_345)
    );
    assert_eq!(
        order.initiating_party.as_deref(),
        Some("Müller Maschinenbau")
    );
    let info = &order.payment_infos[0];
    assert_eq!(info.requested_date, date(2024, 3, 4));
    assert_eq!(info.account.bic, None);
    assert_eq!(
        info.transactions[0].counterparty.iban,
        iban("DE02120300000000202051")
    );
    assert_eq!(
        info.transactions[0].remittance.as_deref(),
        Some("Rechnung 1 und 2")
    );
    assert_eq!(info.transactions[1].instruction_id.as_deref(), Some("I-2"));
    assert_eq!(
        info.transactions[1]
            .counterparty
            .bic
            .as_ref()
            .map(Bic::as_str),
        Some("GENODEF1S04")
    );
    assert_eq!(order.summary().control_sum, amount("300.50"));
}

#[test]
fn pain_bytes_with_bom_parse() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(PREFIXED_PAIN_001_03.as_bytes());
    assert!(pain::parse_bytes(&bytes).is_ok());
    assert_eq!(
        pain::parse_bytes(b"\xFF\xFE<"),
        Err(PainError::Xml(XmlError::Unreadable(ReadError::NotUtf8 {
            offset: 0
        })))
    );
}

// ---- bad input: one table of edited documents, then what an edit cannot express ----

fn built(order: &PaymentOrder) -> String {
    pain::build(order).unwrap()
}

/// A document the parser must refuse: the one built from `order` with `edits` applied.
struct Refusal {
    case: &'static str,
    order: PaymentOrder,
    /// Each `(from, to)` replaces the first `from`, which must be in the document.
    edits: &'static [(&'static str, &'static str)],
    /// Whether the error is the expected one.
    expected: fn(&PainError) -> bool,
    /// The error's exact text, where it is part of the contract.
    message: Option<&'static str>,
}

/// `refusal!(case, order, edits => pattern [if guard] [, says message])`: a [`Refusal`] whose
/// error must match `pattern`.
macro_rules! refusal {
    ($case:expr, $order:expr, $edits:expr => $pattern:pat $(if $guard:expr)? $(, says $message:expr)?) => {
        Refusal {
            case: $case,
            order: $order,
            edits: $edits,
            expected: |e| matches!(e, $pattern $(if $guard)?),
            message: None $(.or(Some($message)))?,
        }
    };
}

/// What is wrong with the parser's answer to `row` (`None` when it is refused as expected).
fn refusal_failure(row: Refusal) -> Option<String> {
    let mut xml = built(&row.order);
    for (from, to) in row.edits {
        if !xml.contains(from) {
            return Some(format!("{}: {from:?} is not in the document", row.case));
        }
        xml = xml.replacen(from, to, 1);
    }
    match pain::parse(&xml) {
        Ok(_) => Some(format!("{}: accepted", row.case)),
        Err(err) if !(row.expected)(&err) => Some(format!("{}: {err:?}", row.case)),
        Err(err) => row
            .message
            .filter(|message| err.to_string() != *message)
            .map(|message| format!("{}: says {err}, expected {message}", row.case)),
    }
}

#[test]
fn edited_documents_are_refused_with_the_named_error() {
    let ct = || credit_transfer_order(PainVersion::Pain001_001_09);
    let dd = || direct_debit_order(PainVersion::Pain008_001_08);
    let rows = [
        refusal!("unknown namespace", ct(), &[("pain.001.001.09", "pain.001.001.05")] => PainError::Xml(XmlError::UnsupportedNamespace { found, .. }) if found.ends_with("pain.001.001.05")),
        refusal!("missing MsgId is named by its path", ct(), &[("<MsgId>MSG-CT-0001</MsgId>", "")] => PainError::Xml(XmlError::MissingElement { .. }), says "mandatory element Document/CstmrCdtTrfInitn/GrpHdr/MsgId is missing"),
        refusal!("missing EndToEndId is named by its path", ct(), &[("<EndToEndId>E2E-2</EndToEndId>", "")] => PainError::Xml(XmlError::MissingElement { path }) if path == "Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]/PmtId/EndToEndId"),
        refusal!("missing mandate id", dd(), &[("<MndtId>MANDATE-DD-E2E-1</MndtId>", "")] => PainError::Xml(XmlError::MissingElement { .. })),
        refusal!("IBAN with a wrong checksum, with its location", ct(), &[("GB82WEST12345698765432", "GB82WEST12345698765433")] => PainError::Xml(XmlError::InvalidIban { source: IbanError::InvalidChecksum { .. }, .. }), says "Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]/CdtrAcct/Id/IBAN: IBAN GB82 WEST 1234 5698 7654 33 has an invalid checksum"),
        refusal!("invalid BIC", ct(), &[("BNPAFRPP", "BNP-FRPP")] => PainError::Xml(XmlError::InvalidBic { .. })),
        refusal!("invalid date", ct(), &[("2024-03-04", "2024-02-30")] => PainError::Xml(XmlError::InvalidValue { .. })),
        refusal!("amount with a decimal comma", ct(), &[(">1250.00<", ">1.250,00<")] => PainError::Xml(XmlError::InvalidAmount { .. })),
        refusal!("lower-case currency", ct(), &[("Ccy=\"EUR\">0.01", "Ccy=\"eur\">0.01")] => PainError::Xml(XmlError::InvalidCurrency { .. })),
        refusal!("declared transaction count of the group header", ct(), &[("<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>4</NbOfTxs>")] => PainError::TransactionCountMismatch { scope, declared: 4, actual: 3 } if scope == "GrpHdr"),
        refusal!("declared transaction count of a payment", ct(), &[("<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>1</NbOfTxs>")] => PainError::TransactionCountMismatch { scope, .. } if scope == "PmtInf[1]"),
        refusal!("declared control sum of the group header", ct(), &[("<CtrlSum>1349.91</CtrlSum>", "<CtrlSum>1349.90</CtrlSum>")] => PainError::ControlSumMismatch { scope, .. } if scope == "GrpHdr", says "GrpHdr: CtrlSum declares 1349.90, but the transactions add up to 1349.91"),
        refusal!("declared control sum of a payment", dd(), &[("<CtrlSum>24.99</CtrlSum>\n      <PmtTpInf>", "<CtrlSum>25</CtrlSum>\n      <PmtTpInf>")] => PainError::ControlSumMismatch { scope, .. } if scope == "PmtInf[1]"),
        refusal!("zero amount", ct(), &[(">0.01</InstdAmt>", ">0.00</InstdAmt>"), ("1349.91", "1349.90"), ("<CtrlSum>1250.01</CtrlSum>", "<CtrlSum>1250.00</CtrlSum>")] => PainError::InvalidAmount { source: AmountError::NotPositive { .. }, location } if location == "PmtInf[1]/CdtTrfTxInf[2]"),
        refusal!("more decimals than the currency has", ct(), &[(">0.01</InstdAmt>", ">0.011</InstdAmt>"), ("1349.91", "1349.911"), ("<CtrlSum>1250.01</CtrlSum>", "<CtrlSum>1250.011</CtrlSum>")] => PainError::InvalidAmount { source: AmountError::TooManyDecimals { allowed: 2, .. }, .. }),
        refusal!("direct debit without sequence type", dd(), &[("<SeqTp>RCUR</SeqTp>", "")] => PainError::MissingDirectDebitField { field: "SeqTp", .. }),
        refusal!("unknown sequence type", dd(), &[("<SeqTp>RCUR</SeqTp>", "<SeqTp>XXXX</SeqTp>")] => PainError::Xml(XmlError::InvalidValue { .. })),
        refusal!("wrong payment method", ct(), &[("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>DD</PmtMtd>")] => PainError::Xml(XmlError::InvalidValue { .. })),
    ];
    let failures: Vec<String> = rows.into_iter().filter_map(refusal_failure).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn text_that_is_not_xml_is_rejected() {
    let err = pain::parse("this is not xml").unwrap_err();
    assert!(matches!(
        err,
        PainError::Xml(XmlError::Unreadable(ReadError::Malformed { .. }))
    ));
    assert!(err.to_string().starts_with("not well-formed XML"), "{err}");
    assert!(
        pain::parse("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">").is_err()
    );
}

#[test]
fn foreign_namespace_and_wrong_root_are_rejected() {
    let camt = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"/>";
    assert!(matches!(
        pain::parse(camt),
        Err(PainError::Xml(XmlError::UnsupportedNamespace { .. }))
    ));
    assert!(matches!(
        pain::parse("<Envelope/>"),
        Err(PainError::Xml(XmlError::UnexpectedRoot { .. }))
    ));
}

#[test]
fn builder_refuses_invalid_orders() {
    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.message_id = "X".repeat(36);
    assert!(matches!(
        pain::build(&order),
        Err(PainError::InvalidLength {
            field: "MsgId",
            max: 35,
            actual: 36,
            ..
        })
    ));

    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.payment_infos[0].transactions.clear();
    assert!(matches!(
        pain::build(&order),
        Err(PainError::NoTransactions { .. })
    ));

    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.payment_infos.clear();
    assert_eq!(pain::build(&order), Err(PainError::NoPaymentInfos));

    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.payment_infos[0].transactions[0].remittance = Some("bell\u{7}".into());
    assert!(matches!(
        pain::build(&order),
        Err(PainError::InvalidCharacters { .. })
    ));

    let mut order = credit_transfer_order(PainVersion::Pain001_001_03);
    order.payment_infos[0].transactions[1].counterparty.bic = Some(Bic::parse("1BANDEFF").unwrap());
    assert!(matches!(
        pain::build(&order),
        Err(PainError::InvalidCode { field: "BIC", .. })
    ));
    order.version = PainVersion::Pain001_001_09;
    assert!(
        pain::build(&order).is_ok(),
        "BICFI allows digits in the party prefix"
    );

    let mut order = credit_transfer_order(PainVersion::Pain001_001_09);
    order.payment_infos[0].charge_bearer = Some("NONE".into());
    assert!(matches!(
        pain::build(&order),
        Err(PainError::InvalidCode {
            field: "ChrgBr",
            ..
        })
    ));

    // A direct debit needs a sequence type, scheme id and mandates; a transfer must not have them.
    let mut order = direct_debit_order(PainVersion::Pain008_001_08);
    order.payment_infos[0].sequence_type = None;
    assert!(matches!(
        pain::build(&order),
        Err(PainError::MissingDirectDebitField { field: "SeqTp", .. })
    ));
    let mut order = direct_debit_order(PainVersion::Pain008_001_08);
    order.payment_infos[0].transactions[1].mandate = None;
    assert!(matches!(
        pain::build(&order),
        Err(PainError::MissingDirectDebitField {
            field: "MndtRltdInf",
            ..
        })
    ));
    let mut order = direct_debit_order(PainVersion::Pain008_001_08);
    order.version = PainVersion::Pain001_001_09;
    assert!(matches!(
        pain::build(&order),
        Err(PainError::UnexpectedDirectDebitField { .. })
    ));
}
