//! MT940 writer.

use chrono::NaiveDate;

use super::codes::gvc_for_iso;
use crate::amount::Amount;
use crate::currency::Currency;
use crate::ledger::{swift_safe, Ledger, LedgerDay};
use crate::statement::{CreditDebit, Entry};

/// Longest line of an MT940 field (SWIFT `65x`).
const LINE: usize = 65;
/// Length of one field 86 subfield (`?20`–`?29`, `?32`, `?33`).
const SUBFIELD: usize = 27;

/// Parameters of a generated MT940 file beyond the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mt940Request {
    /// Field 20, transaction reference (`16x`; longer values are cut).
    pub transaction_reference: String,
    /// Statement number (field 28C) of the first day; following days count up, modulo 100000.
    pub first_statement_number: u32,
}

impl Mt940Request {
    pub fn new(transaction_reference: &str) -> Mt940Request {
        Mt940Request {
            transaction_reference: transaction_reference.to_string(),
            first_statement_number: 1,
        }
    }
}

/// Writes one MT940 statement per ledger day, lines separated by CRLF, each statement ended by
/// a `-` line.
///
/// Texts are mapped to the SWIFT character set (umlauts transliterated, others become `.`).
/// The entry's `additional_info` goes to `?00`, end-to-end id and remittance to `?20`–`?29` as
/// `EREF+` and `SVWZ+`, counterparty BIC/IBAN/name to `?30`/`?31`/`?32`–`?33` (54 characters at
/// most). The GVC comes from `proprietary_code` (`NTRF+166`) or else from the ISO code.
pub fn generate(ledger: &Ledger, request: &Mt940Request) -> String {
    let mut out = String::with_capacity(256 + ledger.entry_count() * 330);
    let reference: String = swift_safe(&request.transaction_reference)
        .chars()
        .take(16)
        .collect();
    let reference = if reference.is_empty() {
        "NONREF".to_string()
    } else {
        reference
    };
    for (index, day) in ledger.days().iter().enumerate() {
        let number = (u64::from(request.first_statement_number) + index as u64) % 100_000;
        write_statement(&mut out, ledger, day, &reference, number);
    }
    out
}

fn write_statement(
    out: &mut String,
    ledger: &Ledger,
    day: &LedgerDay,
    reference: &str,
    number: u64,
) {
    let currency = ledger.account().currency;
    line(out, &format!(":20:{reference}"));
    line(out, &format!(":25:{}", ledger.account().iban.electronic()));
    line(out, &format!(":28C:{number:05}/001"));
    line(
        out,
        &format!(
            ":60F:{}",
            balance(day.opening_balance(), currency, day.date())
        ),
    );
    for entry in day.entries() {
        write_entry(out, entry);
    }
    line(
        out,
        &format!(
            ":62F:{}",
            balance(day.closing_balance(), currency, day.date())
        ),
    );
    line(out, "-");
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push_str("\r\n");
}

fn balance(amount: Amount, currency: Currency, date: NaiveDate) -> String {
    let mark = if amount.is_negative() { 'D' } else { 'C' };
    format!(
        "{mark}{}{currency}{}",
        date.format("%y%m%d"),
        amount.format_swift(currency)
    )
}

fn write_entry(out: &mut String, entry: &Entry) {
    let (gvc, kind) = codes_for(entry);
    let mark = match (entry.reversal, entry.credit_debit) {
        (false, CreditDebit::Credit) => "C",
        (false, CreditDebit::Debit) => "D",
        (true, CreditDebit::Credit) => "RC",
        (true, CreditDebit::Debit) => "RD",
    };
    let value_date = entry.value_date.or(entry.booking_date);
    let mut field61 = String::from(":61:");
    if let Some(value) = value_date {
        field61.push_str(&value.format("%y%m%d").to_string());
    }
    if let Some(booking) = entry.booking_date {
        field61.push_str(&booking.format("%m%d").to_string());
    }
    field61.push_str(mark);
    field61.push_str(&entry.amount.format_swift(entry.currency));
    field61.push_str(&kind);
    field61.push_str("NONREF");
    if let Some(reference) = &entry.bank_reference {
        let reference: String = swift_safe(reference).chars().take(16).collect();
        field61.push_str("//");
        field61.push_str(&reference);
    }
    line(out, &field61);

    let mut field86 = format!(":86:{gvc}");
    if let Some(text) = &entry.additional_info {
        push_subfield(&mut field86, "00", text);
    }
    let mut purpose = Vec::new();
    if let Some(e2e) = &entry.end_to_end_id {
        purpose.extend(split(&format!("EREF+{}", swift_safe(e2e)), SUBFIELD));
    }
    if let Some(remittance) = &entry.remittance {
        purpose.extend(split(&format!("SVWZ+{}", swift_safe(remittance)), SUBFIELD));
    }
    for (i, part) in purpose.iter().take(10).enumerate() {
        field86.push_str(&format!("?2{i}{part}"));
    }
    if let Some(bic) = &entry.counterparty_bic {
        field86.push_str(&format!("?30{bic}"));
    }
    if let Some(iban) = &entry.counterparty_iban {
        field86.push_str(&format!("?31{}", iban.electronic()));
    }
    if let Some(name) = &entry.counterparty_name {
        let parts = split(&swift_safe(name), SUBFIELD);
        for (tag, part) in ["32", "33"].iter().zip(parts.iter()) {
            field86.push_str(&format!("?{tag}{part}"));
        }
    }
    for chunk in wrap(&field86) {
        line(out, &chunk);
    }
}

/// GVC and field 61 type: from a `TYPE+GVC` proprietary code when present, else from the ISO
/// bank transaction code.
fn codes_for(entry: &Entry) -> (String, String) {
    if let Some((kind, gvc)) = entry
        .proprietary_code
        .as_deref()
        .and_then(|c| c.split_once('+'))
    {
        let kind_ok = kind.len() == 4 && kind.bytes().all(|b| b.is_ascii_alphanumeric());
        let gvc_ok = gvc.len() == 3 && gvc.bytes().all(|b| b.is_ascii_digit());
        if kind_ok && gvc_ok {
            return (gvc.to_string(), kind.to_string());
        }
    }
    let (gvc, kind) = gvc_for_iso(entry.bank_transaction_code.as_ref());
    (gvc.to_string(), kind.to_string())
}

fn push_subfield(field: &mut String, tag: &str, text: &str) {
    let text: String = swift_safe(text).chars().take(SUBFIELD).collect();
    field.push('?');
    field.push_str(tag);
    field.push_str(&text);
}

fn split(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Breaks a field into lines of at most 65 characters. A continuation line never starts with
/// `:` or `-`, which would read as a new field or the end of the statement, and no line starts
/// or ends with a space.
fn wrap(field: &str) -> Vec<String> {
    let chars: Vec<char> = field.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + LINE).min(chars.len());
        // Breaking next to a space would leave it at a line end or start, where file
        // transfers and editors like to strip it.
        while end < chars.len()
            && end > start + 1
            && (matches!(chars[end], ':' | '-' | ' ') || chars[end - 1] == ' ')
        {
            end -= 1;
        }
        lines.push(chars[start..end].iter().collect());
        start = end;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_never_start_like_a_tag() {
        let field = format!(":86:{}x", "ab:- ".repeat(60));
        let lines = wrap(&field);
        assert!(lines.len() > 4);
        assert!(lines.iter().all(|l| l.chars().count() <= LINE));
        assert!(lines
            .iter()
            .skip(1)
            .all(|l| !l.starts_with([':', '-', ' '])));
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
        assert_eq!(lines.concat(), field);
    }
}
