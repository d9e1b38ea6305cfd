//! camt.052/053/054 `.001.08` writer.

use chrono::{NaiveDate, NaiveTime};

use super::{CamtKind, OpeningBalanceType, StatementRequest};
use crate::amount::Amount;
use crate::currency::Currency;
use crate::datetime::{format_iso_date, format_iso_datetime};
use crate::ledger::{Ledger, LedgerDay};
use crate::statement::{CreditDebit, Entry};
use crate::xml::writer::XmlWriter;

/// Upper bound of bytes one entry takes, used to size the output buffer up front.
const BYTES_PER_ENTRY_ESTIMATE: usize = 1_900;

/// Writes one camt document with one report per ledger day.
///
/// Texts longer than the schema allows (`Max35Text` ids, `Max140Text` names) are cut to fit;
/// a remittance longer than 140 characters is split over several `Ustrd` elements.
pub fn generate(ledger: &Ledger, request: &StatementRequest) -> String {
    let capacity =
        2_000 + ledger.days().len() * 1_500 + ledger.entry_count() * BYTES_PER_ENTRY_ESTIMATE;
    let mut w = XmlWriter::new(capacity);
    let namespace = request.kind.generated_namespace();
    w.open_with(
        "Document",
        &[
            ("xmlns", namespace.as_str()),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ],
    );
    w.open(request.kind.root_element());
    w.open("GrpHdr");
    w.leaf("MsgId", &max_chars(&request.message_id, 35));
    w.leaf("CreDtTm", &format_iso_datetime(&request.created));
    w.open("MsgPgntn");
    w.leaf("PgNb", "1");
    w.leaf("LastPgInd", "true");
    w.close();
    w.close();
    for (index, day) in ledger.days().iter().enumerate() {
        let sequence = request.first_sequence_number.saturating_add(index as u64);
        write_report(&mut w, ledger, day, sequence, request);
    }
    w.finish()
}

fn write_report(
    w: &mut XmlWriter,
    ledger: &Ledger,
    day: &LedgerDay,
    sequence: u64,
    request: &StatementRequest,
) {
    let account = ledger.account();
    let currency = account.currency;
    let date = day.date();
    w.open(request.kind.report_element());
    w.leaf("Id", &format!("{}-{sequence}", date.format("%Y%m%d")));
    w.leaf("ElctrncSeqNb", &sequence.to_string());
    w.leaf("CreDtTm", &format_iso_datetime(&request.created));
    w.open("FrToDt");
    w.leaf(
        "FrDtTm",
        &format_iso_datetime(&date.and_time(NaiveTime::MIN)),
    );
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    w.leaf("ToDtTm", &format_iso_datetime(&date.and_time(end_of_day)));
    w.close();
    w.open("Acct");
    w.open("Id");
    w.leaf("IBAN", account.iban.electronic());
    w.close();
    w.leaf("Ccy", currency.as_str());
    w.open("Ownr");
    w.leaf("Nm", &max_chars(&account.holder, 140));
    w.close();
    w.open("Svcr");
    w.open("FinInstnId");
    w.leaf("BICFI", account.bic.as_str());
    w.close();
    w.close();
    w.close();

    match request.kind {
        CamtKind::Camt053 => {
            write_opening(w, day, currency, request.opening_balance);
            write_balance(w, "CLBD", day.closing_balance(), currency, date);
        }
        CamtKind::Camt052 => {
            write_opening(w, day, currency, request.opening_balance);
            write_balance(w, "ITBD", day.closing_balance(), currency, date);
        }
        CamtKind::Camt054 => {}
    }
    write_summary(w, day.entries(), currency);
    for entry in day.entries() {
        write_entry(w, entry, ledger);
    }
    w.close();
}

fn write_opening(w: &mut XmlWriter, day: &LedgerDay, currency: Currency, kind: OpeningBalanceType) {
    match kind {
        OpeningBalanceType::OpeningBooked => {
            write_balance(w, "OPBD", day.opening_balance(), currency, day.date())
        }
        OpeningBalanceType::PreviouslyClosedBooked => {
            let previous = day.date().pred_opt().unwrap_or(day.date());
            write_balance(w, "PRCD", day.opening_balance(), currency, previous)
        }
    }
}

fn write_balance(
    w: &mut XmlWriter,
    code: &str,
    amount: Amount,
    currency: Currency,
    date: NaiveDate,
) {
    w.open("Bal");
    w.open("Tp");
    w.open("CdOrPrtry");
    w.leaf("Cd", code);
    w.close();
    w.close();
    write_amount(w, amount, currency);
    w.leaf("CdtDbtInd", direction_of(amount).iso_code());
    w.open("Dt");
    w.leaf("Dt", &format_iso_date(&date));
    w.close();
    w.close();
}

fn write_amount(w: &mut XmlWriter, amount: Amount, currency: Currency) {
    w.leaf_with(
        "Amt",
        &[("Ccy", currency.as_str())],
        &amount.abs().format_for(currency),
    );
}

fn direction_of(amount: Amount) -> CreditDebit {
    if amount.is_negative() {
        CreditDebit::Debit
    } else {
        CreditDebit::Credit
    }
}

/// `TxsSummry`: counts and sums of all, credit and debit entries.
fn write_summary(w: &mut XmlWriter, entries: &[Entry], currency: Currency) {
    let credits: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.credit_debit == CreditDebit::Credit)
        .collect();
    let debits: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.credit_debit == CreditDebit::Debit)
        .collect();
    let credit_sum: Amount = credits.iter().map(|e| e.amount).sum();
    let debit_sum: Amount = debits.iter().map(|e| e.amount).sum();
    let net = credit_sum - debit_sum;
    w.open("TxsSummry");
    w.open("TtlNtries");
    w.leaf("NbOfNtries", &entries.len().to_string());
    w.leaf("Sum", &(credit_sum + debit_sum).format_for(currency));
    w.open("TtlNetNtry");
    w.leaf("Amt", &net.abs().format_for(currency));
    w.leaf("CdtDbtInd", direction_of(net).iso_code());
    w.close();
    w.close();
    for (element, list, sum) in [
        ("TtlCdtNtries", &credits, credit_sum),
        ("TtlDbtNtries", &debits, debit_sum),
    ] {
        w.open(element);
        w.leaf("NbOfNtries", &list.len().to_string());
        w.leaf("Sum", &sum.format_for(currency));
        w.close();
    }
    w.close();
}

fn write_entry(w: &mut XmlWriter, entry: &Entry, ledger: &Ledger) {
    let account = ledger.account();
    w.open("Ntry");
    write_amount(w, entry.amount, entry.currency);
    w.leaf("CdtDbtInd", entry.credit_debit.iso_code());
    if entry.reversal {
        w.leaf("RvslInd", "true");
    }
    w.open("Sts");
    w.leaf("Cd", &max_chars(entry.status.code(), 4));
    w.close();
    if let Some(date) = entry.booking_date {
        w.open("BookgDt");
        w.leaf("Dt", &format_iso_date(&date));
        w.close();
    }
    if let Some(date) = entry.value_date {
        w.open("ValDt");
        w.leaf("Dt", &format_iso_date(&date));
        w.close();
    }
    if let Some(reference) = &entry.bank_reference {
        w.leaf("AcctSvcrRef", &max_chars(reference, 35));
    }
    w.open("BkTxCd");
    if let Some(code) = &entry.bank_transaction_code {
        w.open("Domn");
        w.leaf("Cd", &code.domain);
        w.open("Fmly");
        w.leaf("Cd", &code.family);
        w.leaf("SubFmlyCd", &code.sub_family);
        w.close();
        w.close();
    }
    if let Some(code) = &entry.proprietary_code {
        w.open("Prtry");
        w.leaf("Cd", &max_chars(code, 35));
        w.close();
    }
    w.close();

    w.open("NtryDtls");
    w.open("TxDtls");
    if let Some(e2e) = &entry.end_to_end_id {
        w.open("Refs");
        w.leaf("EndToEndId", &max_chars(e2e, 35));
        w.close();
    }
    write_amount(w, entry.amount, entry.currency);
    w.leaf("CdtDbtInd", entry.credit_debit.iso_code());
    // The counterparty is the debtor of a credit and the creditor of a debit; a reversal keeps
    // the parties of the original transaction, so the roles swap.
    let counterparty_is_debtor = (entry.credit_debit == CreditDebit::Credit) != entry.reversal;
    let has_counterparty = entry.counterparty_name.is_some() || entry.counterparty_iban.is_some();
    if has_counterparty {
        w.open("RltdPties");
        let own = (
            Some(account.holder.as_str()),
            Some(account.iban.electronic()),
        );
        let other = (
            entry.counterparty_name.as_deref(),
            entry.counterparty_iban.as_ref().map(|i| i.electronic()),
        );
        let (debtor, creditor) = if counterparty_is_debtor {
            (other, own)
        } else {
            (own, other)
        };
        write_party(w, "Dbtr", "DbtrAcct", debtor);
        write_party(w, "Cdtr", "CdtrAcct", creditor);
        w.close();
    }
    if let Some(bic) = &entry.counterparty_bic {
        w.open("RltdAgts");
        w.open(if counterparty_is_debtor {
            "DbtrAgt"
        } else {
            "CdtrAgt"
        });
        w.open("FinInstnId");
        w.leaf("BICFI", bic.as_str());
        w.close();
        w.close();
        w.close();
    }
    if let Some(remittance) = &entry.remittance {
        w.open("RmtInf");
        for chunk in chunks(remittance, 140) {
            w.leaf("Ustrd", &chunk);
        }
        w.close();
    }
    w.close();
    w.close();
    if let Some(info) = &entry.additional_info {
        w.leaf("AddtlNtryInf", &max_chars(info, 500));
    }
    w.close();
}

fn write_party(
    w: &mut XmlWriter,
    party: &'static str,
    account: &'static str,
    (name, iban): (Option<&str>, Option<&str>),
) {
    if let Some(name) = name {
        w.open(party);
        w.open("Pty");
        w.leaf("Nm", &max_chars(name, 140));
        w.close();
        w.close();
    }
    if let Some(iban) = iban {
        w.open(account);
        w.open("Id");
        w.leaf("IBAN", iban);
        w.close();
        w.close();
    }
}

pub(crate) fn max_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}
