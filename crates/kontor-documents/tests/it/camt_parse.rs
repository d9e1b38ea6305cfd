//! Parsing camt documents written by hand in the shapes banks use, and rejecting broken ones.

use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::statement::Statement;
use kontor_documents::{
    Amount, BalanceKind, BankTransactionCode, CreditDebit, EntryStatus, IbanError, ReadError,
    StatementFormat, XmlError,
};

use crate::support::{account, assert_counterparty, date, datetime, ledger};

const V02: &str = include_str!("../fixtures/camt053_v02_bank.xml");

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

#[test]
fn camt053_version_02_from_a_bank_parses() {
    let statements = camt::parse(V02).unwrap();
    assert_eq!(statements.len(), 1);
    let s = &statements[0];
    assert_eq!(s.format, StatementFormat::Camt053);
    assert_eq!(s.message_id.as_deref(), Some("053D2024030100000001"));
    assert_eq!(s.id, "0352C5320240301220000");
    assert_eq!(s.electronic_sequence_number, Some(42));
    assert_eq!(
        s.created,
        Some(datetime(2024, 3, 1, 22, 10) + chrono::Duration::seconds(5))
    );
    assert_eq!(s.period.unwrap().to.date(), date(2024, 3, 1));
    assert_eq!(s.account.iban, Some(account().iban));
    assert_eq!(s.account.servicer_bic, Some(account().bic));

    let prcd = s.opening_balance().unwrap();
    assert_eq!(prcd.kind, BalanceKind::PreviouslyClosedBooked);
    assert_eq!(prcd.amount, amount("-1000"));
    assert_eq!(prcd.date, date(2024, 2, 29));
    assert_eq!(s.balances[2].kind, BalanceKind::Other("XBAL".into()));
    assert_eq!(s.balances[2].date, date(2024, 3, 1));
    assert_eq!(s.check_balances(), Ok(()), "pending entries do not count");

    let credit = &s.entries[0];
    assert_eq!(credit.status, EntryStatus::Booked);
    assert_eq!(credit.end_to_end_id.as_deref(), Some("RE-2024-0042"));
    assert_counterparty(
        credit,
        "Kunde & Partner KG",
        "DE02120300000000202051",
        "BYLADEM1001",
    );
    assert_eq!(
        credit.remittance.as_deref(),
        Some("Rechnung RE-2024-0042 Kunde 4711")
    );
    assert_eq!(credit.proprietary_code.as_deref(), Some("NTRF+166+00931"));
    assert_eq!(
        credit.bank_transaction_code,
        Some(BankTransactionCode::new("PMNT", "RCDT", "ESCT"))
    );

    let batch = &s.entries[1];
    assert_eq!(batch.credit_debit, CreditDebit::Debit);
    assert_eq!(
        batch.end_to_end_id, None,
        "batch entries keep only entry-level data"
    );
    assert_eq!(batch.counterparty_name, None);
    assert_eq!(
        batch.additional_info.as_deref(),
        Some("SAMMLER-UEBERWEISUNG")
    );

    let reversal = &s.entries[2];
    assert!(reversal.reversal);
    assert_eq!(reversal.end_to_end_id, None, "NOTPROVIDED means absent");
    assert_eq!(
        reversal.counterparty_name.as_deref(),
        Some("Energie Versorger AG")
    );
    assert_eq!(reversal.value_date, Some(date(2024, 2, 28)));

    let pending = &s.entries[3];
    assert_eq!(pending.status, EntryStatus::Pending);
    assert_eq!(pending.bank_transaction_code, None);
    assert_eq!(pending.booking_date, None);
}

/// A statement serialises its directions and balance types as their ISO 20022 codes (as
/// Kontor stores and serves them), a proprietary type too, and reads them back.
#[test]
fn statement_codes_serialise_as_iso_codes() {
    let s = camt::parse(V02).unwrap().remove(0);
    let json = serde_json::to_value(&s).unwrap();
    // The `field` of every item of the list `list`, as the JSON has it.
    let texts = |list: &str, field: &str| -> Vec<String> {
        let items = json[list].as_array().unwrap().iter();
        items
            .map(|item| item[field].as_str().unwrap().to_owned())
            .collect()
    };
    let kinds = texts("balances", "kind");
    let expected: Vec<&str> = s.balances.iter().map(|b| b.kind.code()).collect();
    assert_eq!(kinds, expected);
    assert!(kinds.contains(&"PRCD".into()) && kinds.contains(&"XBAL".into()));
    let directions = texts("entries", "credit_debit");
    let expected: Vec<&str> = s
        .entries
        .iter()
        .map(|e| e.credit_debit.iso_code())
        .collect();
    assert_eq!(directions, expected);
    assert!(directions.contains(&"CRDT".into()) && directions.contains(&"DBIT".into()));
    assert_eq!(serde_json::from_value::<Statement>(json).unwrap(), s);
}

#[test]
fn prefixed_camt054_version_02_with_non_iban_account_parses() {
    let xml = r#"<n:Document xmlns:n="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
      <n:BkToCstmrDbtCdtNtfctn>
        <n:GrpHdr><n:MsgId>N1</n:MsgId><n:CreDtTm>2024-03-01T08:00:00</n:CreDtTm></n:GrpHdr>
        <n:Ntfctn>
          <n:Id>N1-1</n:Id>
          <n:Acct><n:Id><n:Othr><n:Id>0532013000</n:Id></n:Othr></n:Id></n:Acct>
          <n:Ntry>
            <n:Amt Ccy="CHF">12.5</n:Amt><n:CdtDbtInd>DBIT</n:CdtDbtInd><n:Sts>INFO</n:Sts>
            <n:BkTxCd><n:Prtry><n:Cd>XYZ</n:Cd></n:Prtry></n:BkTxCd>
          </n:Ntry>
        </n:Ntfctn>
      </n:BkToCstmrDbtCdtNtfctn>
    </n:Document>"#;
    let s = camt::parse(xml).unwrap().remove(0);
    assert_eq!(s.format, StatementFormat::Camt054);
    assert_eq!(s.account.iban, None);
    assert_eq!(s.account.other_id.as_deref(), Some("0532013000"));
    assert_eq!(
        s.created,
        Some(datetime(2024, 3, 1, 8, 0)),
        "falls back to GrpHdr/CreDtTm"
    );
    assert_eq!(s.entries[0].status, EntryStatus::Information);
    assert_eq!(s.entries[0].amount, amount("12.50"));
    assert_eq!(s.entries[0].proprietary_code.as_deref(), Some("XYZ"));
}

fn generated() -> String {
    camt::generate(
        &ledger(1, date(2024, 3, 1), date(2024, 3, 2), 3),
        &StatementRequest::new(CamtKind::Camt053, "M1", datetime(2024, 3, 3, 6, 0)),
    )
}

/// Parses the generated statement after its first `from` is changed to `to`.
fn parse_edited(from: &str, to: &str) -> Result<Vec<Statement>, XmlError> {
    let xml = generated();
    assert!(
        xml.contains(from),
        "{from:?} is not in the generated statement"
    );
    camt::parse(&xml.replacen(from, to, 1))
}

#[test]
fn unsupported_namespaces_are_rejected() {
    for ns in [
        "camt.053.001.99",
        "camt.053.001.1",
        "camt.055.001.08",
        "pain.001.001.09",
    ] {
        let xml = generated().replace("camt.053.001.08", ns);
        assert!(
            matches!(
                camt::parse(&xml),
                Err(XmlError::UnsupportedNamespace { .. })
            ),
            "{ns}"
        );
    }
    assert!(matches!(
        parse_edited(" xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"", ""),
        Err(XmlError::UnsupportedNamespace { ref found, .. }) if found.is_empty()
    ));
}

#[test]
fn broken_documents_give_typed_errors_with_paths() {
    assert!(matches!(
        camt::parse("<<<"),
        Err(XmlError::Unreadable(ReadError::Malformed { .. }))
    ));
    assert_eq!(
        camt::parse_bytes(b"\xC3\x28"),
        Err(XmlError::Unreadable(ReadError::NotUtf8 { offset: 0 }))
    );

    let no_account = generated()
        .replacen("<Acct>", "<Acct2>", 1)
        .replacen("</Acct>", "</Acct2>", 1);
    assert_eq!(
        camt::parse(&no_account).unwrap_err().to_string(),
        "mandatory element Document/BkToCstmrStmt/Stmt[1]/Acct is missing"
    );
    assert!(matches!(
        parse_edited("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>PLUS</CdtDbtInd>"),
        Err(XmlError::InvalidValue { .. })
    ));
    assert!(matches!(
        parse_edited("<Amt Ccy=\"EUR\">", "<Amt Ccy=\"EUR\">x"),
        Err(XmlError::InvalidAmount { .. })
    ));
    assert!(
        matches!(parse_edited("<Amt Ccy=\"EUR\">", "<Amt>"), Err(XmlError::MissingElement { ref path }) if path.ends_with("/Amt/@Ccy"))
    );
    assert!(matches!(
        parse_edited("DE89370400440532013000", "DE89370400440532013001"),
        Err(XmlError::InvalidIban {
            source: IbanError::InvalidChecksum { .. },
            ..
        })
    ));
    let no_statement = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>1</MsgId><CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr></BkToCstmrStmt></Document>"#;
    assert!(matches!(
        camt::parse(no_statement),
        Err(XmlError::MissingElement { .. })
    ));
}
