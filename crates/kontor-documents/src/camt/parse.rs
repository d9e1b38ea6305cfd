//! camt.052/053/054 reader.

use super::CamtKind;
use crate::statement::{
    Balance, BalanceKind, BankTransactionCode, CreditDebit, DateTimePeriod, Entry, EntryStatus,
    Statement, StatementAccount, StatementFormat,
};
use crate::xml::reader::{decode_utf8, document_root, parse_document, Cursor, Element, XmlError};

pub(super) const PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";
/// Accepted `.001.NN` versions. The parser reads the union of the structures (e.g. `<Sts>BOOK`
/// in .02–.06 and `<Sts><Cd>BOOK` from .07 on, `BIC` and `BICFI`, `Dbtr/Nm` and `Dbtr/Pty/Nm`).
pub(super) const VERSIONS: std::ops::RangeInclusive<u32> = 2..=13;

/// Parses camt bytes (UTF-8, optional byte order mark).
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Statement>, XmlError> {
    parse(decode_utf8(bytes)?)
}

/// Parses a camt.052, camt.053 or camt.054 document into one [`Statement`] per
/// `Rpt` / `Stmt` / `Ntfctn`.
///
/// Each `Ntry` becomes one [`Entry`]. Transaction details (end-to-end id, counterparty,
/// remittance) are taken from `NtryDtls/TxDtls` when the entry has exactly one; batch entries
/// with several transactions keep only the entry-level data.
pub fn parse(xml: &str) -> Result<Vec<Statement>, XmlError> {
    let doc = parse_document(xml)?;
    let (root, namespace) = document_root(&doc)?;
    let kind = kind_of_namespace(namespace).ok_or_else(|| XmlError::UnsupportedNamespace {
        found: namespace.to_string(),
        expected: format!(
            "{PREFIX}camt.052/053/054.001.{:02} to .{:02}",
            VERSIONS.start(),
            VERSIONS.end()
        ),
    })?;
    let document = Cursor::new(root, namespace);
    let message = document.req(kind.root_element())?;
    let header = message.req("GrpHdr")?;
    let message_id = header.req_text("MsgId")?.to_string();
    let header_created = header.req("CreDtTm")?.datetime()?;
    let format = match kind {
        CamtKind::Camt052 => StatementFormat::Camt052,
        CamtKind::Camt053 => StatementFormat::Camt053,
        CamtKind::Camt054 => StatementFormat::Camt054,
    };
    let mut statements = Vec::new();
    for report in message.children(kind.report_element()) {
        let mut statement = parse_report(report, format)?;
        statement.message_id = Some(message_id.clone());
        statement.created = statement.created.or(Some(header_created));
        statements.push(statement);
    }
    if statements.is_empty() {
        return Err(XmlError::MissingElement {
            path: format!("Document/{}/{}", kind.root_element(), kind.report_element()),
        });
    }
    Ok(statements)
}

pub(super) fn kind_of_namespace(namespace: &str) -> Option<CamtKind> {
    let rest = namespace.strip_prefix(PREFIX)?;
    let (message, version) = rest.split_once(".001.")?;
    let kind = match message {
        "camt.052" => CamtKind::Camt052,
        "camt.053" => CamtKind::Camt053,
        "camt.054" => CamtKind::Camt054,
        _ => return None,
    };
    let version_ok =
        version.len() == 2 && version.parse::<u32>().is_ok_and(|v| VERSIONS.contains(&v));
    version_ok.then_some(kind)
}

pub(super) fn parse_report<'a>(
    report: impl Element<'a>,
    format: StatementFormat,
) -> Result<Statement, XmlError> {
    let id = report.req_text("Id")?.to_string();
    let electronic_sequence_number = report
        .child("ElctrncSeqNb")
        .map(|c| c.unsigned())
        .transpose()?;
    let created = report.child("CreDtTm").map(|c| c.datetime()).transpose()?;
    let period = match report.child("FrToDt") {
        Some(c) => Some(DateTimePeriod {
            from: c.req("FrDtTm")?.datetime()?,
            to: c.req("ToDtTm")?.datetime()?,
        }),
        None => None,
    };
    let account = parse_account(report.req("Acct")?)?;
    let mut balances = Vec::new();
    for balance in report.children("Bal") {
        balances.push(parse_balance(balance)?);
    }
    let mut entries = Vec::new();
    for entry in report.children("Ntry") {
        entries.push(parse_entry(entry)?);
    }
    Ok(Statement {
        format,
        message_id: None,
        id,
        electronic_sequence_number,
        created,
        period,
        account,
        balances,
        entries,
    })
}

pub(super) fn parse_account<'a>(acct: impl Element<'a>) -> Result<StatementAccount, XmlError> {
    let id = acct.req("Id")?;
    let iban = id.child("IBAN").map(|c| c.iban()).transpose()?;
    let other_id = id.path_text(&["Othr", "Id"]).map(str::to_string);
    if iban.is_none() && other_id.is_none() {
        return Err(XmlError::MissingElement {
            path: format!("{}/IBAN", id.path()),
        });
    }
    let currency = acct.child("Ccy").map(|c| c.currency()).transpose()?;
    let servicer_bic = match acct
        .descend(&["Svcr", "FinInstnId", "BICFI"])
        .or_else(|| acct.descend(&["Svcr", "FinInstnId", "BIC"]))
    {
        Some(c) => Some(c.bic()?),
        None => None,
    };
    Ok(StatementAccount {
        iban,
        other_id,
        currency,
        owner_name: acct.path_text(&["Ownr", "Nm"]).map(str::to_string),
        servicer_bic,
    })
}

pub(super) fn credit_debit<'a>(parent: impl Element<'a>) -> Result<CreditDebit, XmlError> {
    let indicator = parent.req("CdtDbtInd")?;
    let text = indicator.text()?;
    CreditDebit::from_iso_code(text)
        .ok_or_else(|| indicator.invalid(text, "CdtDbtInd (CRDT or DBIT)"))
}

pub(super) fn parse_balance<'a>(bal: impl Element<'a>) -> Result<Balance, XmlError> {
    let kind_choice = bal.req_path(&["Tp", "CdOrPrtry"])?;
    let kind = match kind_choice.child("Cd") {
        Some(code) => BalanceKind::from_code(code.text()?),
        None => BalanceKind::Other(kind_choice.req_text("Prtry")?.to_string()),
    };
    let amount_node = bal.req("Amt")?;
    let amount = amount_node.amount()?;
    let currency = amount_node.currency_attr()?;
    let direction = credit_debit(bal)?;
    let date = bal.req("Dt")?.date_or_choice()?;
    Ok(Balance {
        kind,
        amount: direction.apply(amount.abs()),
        currency,
        date,
    })
}

pub(super) fn parse_entry<'a>(ntry: impl Element<'a>) -> Result<Entry, XmlError> {
    let amount_node = ntry.req("Amt")?;
    let amount = amount_node.amount()?;
    if amount.is_negative() {
        return Err(amount_node.invalid(&amount.to_string(), "non-negative amount"));
    }
    let currency = amount_node.currency_attr()?;
    let credit_debit = credit_debit(ntry)?;
    let reversal = match ntry.child("RvslInd") {
        Some(c) => c.boolean()?,
        None => false,
    };
    let status_node = ntry.req("Sts")?;
    // From .07 on the status is a choice (`<Sts><Cd>BOOK</Cd></Sts>`), before it is a code.
    let status_text = match status_node
        .child("Cd")
        .or_else(|| status_node.child("Prtry"))
    {
        Some(inner) => inner.text()?,
        None => status_node.text()?,
    };
    let booking_date = ntry
        .child("BookgDt")
        .map(|c| c.date_or_choice())
        .transpose()?;
    let value_date = ntry
        .child("ValDt")
        .map(|c| c.date_or_choice())
        .transpose()?;
    let bank_transaction_code = ntry.descend(&["BkTxCd", "Domn"]).and_then(|domain| {
        let family = domain.child("Fmly")?;
        Some(BankTransactionCode::new(
            domain.child_text("Cd")?,
            family.child_text("Cd")?,
            family.child_text("SubFmlyCd")?,
        ))
    });
    let proprietary_code = ntry
        .path_text(&["BkTxCd", "Prtry", "Cd"])
        .map(str::to_string);

    let mut entry = Entry {
        booking_date,
        value_date,
        amount,
        currency,
        credit_debit,
        reversal,
        status: EntryStatus::from_code(status_text),
        bank_reference: ntry.child_text("AcctSvcrRef").map(str::to_string),
        end_to_end_id: None,
        counterparty_name: None,
        counterparty_iban: None,
        counterparty_bic: None,
        remittance: None,
        bank_transaction_code,
        proprietary_code,
        additional_info: ntry.child_text("AddtlNtryInf").map(str::to_string),
    };

    // Only an entry with exactly one transaction has its details read: look at two at most.
    let mut details = ntry.children("NtryDtls").flat_map(|d| d.children("TxDtls"));
    if let (Some(tx), None) = (details.next(), details.next()) {
        read_transaction_details(tx, &mut entry)?;
    }
    Ok(entry)
}

pub(super) fn read_transaction_details<'a>(
    tx: impl Element<'a>,
    entry: &mut Entry,
) -> Result<(), XmlError> {
    if entry.bank_reference.is_none() {
        entry.bank_reference = tx.path_text(&["Refs", "AcctSvcrRef"]).map(str::to_string);
    }
    entry.end_to_end_id = tx
        .path_text(&["Refs", "EndToEndId"])
        .filter(|id| !id.eq_ignore_ascii_case("NOTPROVIDED"))
        .map(str::to_string);
    // Parties of the underlying transaction: for a credit the counterparty is the debtor, for a
    // debit the creditor; a reversal swaps the roles back.
    let counterparty_is_debtor = (entry.credit_debit == CreditDebit::Credit) != entry.reversal;
    let (party, account, agent) = if counterparty_is_debtor {
        ("Dbtr", "DbtrAcct", "DbtrAgt")
    } else {
        ("Cdtr", "CdtrAcct", "CdtrAgt")
    };
    if let Some(parties) = tx.child("RltdPties") {
        if let Some(p) = parties.child(party) {
            // .08: Party40Choice (`Pty/Nm` or `Agt/...`); .02: PartyIdentification32 (`Nm`).
            entry.counterparty_name = p
                .path_text(&["Pty", "Nm"])
                .or_else(|| p.child_text("Nm"))
                .map(str::to_string);
        }
        if let Some(iban) = parties.descend(&[account, "Id", "IBAN"]) {
            entry.counterparty_iban = Some(iban.iban()?);
        }
    }
    if let Some(agents) = tx.child("RltdAgts") {
        if let Some(bic) = agents
            .descend(&[agent, "FinInstnId", "BICFI"])
            .or_else(|| agents.descend(&[agent, "FinInstnId", "BIC"]))
        {
            entry.counterparty_bic = Some(bic.bic()?);
        }
    }
    if let Some(remittance) = tx.child("RmtInf") {
        let mut text = String::new();
        let mut previous_len = 0;
        for line in remittance.children("Ustrd") {
            let raw = line.raw_text();
            // Lines cut at the 140 character limit are rejoined as they were; separate lines get
            // a space between them.
            let part = if previous_len == 140 { raw } else { raw.trim() };
            if part.trim().is_empty() {
                continue;
            }
            if !text.is_empty() && previous_len != 140 {
                text.push(' ');
            }
            previous_len = raw.chars().count();
            text.push_str(part);
        }
        let text = text.trim();
        if !text.is_empty() {
            entry.remittance = Some(text.to_string());
        }
    }
    Ok(())
}
