//! MT940 reader.

use chrono::{Datelike, NaiveDate};

use super::codes::iso_for_gvc;
use super::fields::{Fields, Token};
use crate::amount::Amount;
use crate::bic::Bic;
use crate::currency::Currency;
use crate::iban::Iban;
use crate::statement::{
    Balance, BalanceKind, CreditDebit, Entry, EntryStatus, Statement, StatementAccount,
    StatementFormat,
};

/// SWIFT amounts are `15d`: at most 15 characters including the decimal comma.
const MAX_AMOUNT_LEN: usize = 15;

/// Why an MT940 file could not be read. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mt940Error {
    #[error("no MT940 statement found (no field :20:)")]
    NoStatements,
    #[error("statement starting on line {line}: mandatory field :{tag}: is missing")]
    MissingField { line: usize, tag: &'static str },
    #[error("line {line}: field :{tag}: {value:?} is invalid: {reason}")]
    InvalidField {
        line: usize,
        tag: String,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: field :{tag}: is not expected here")]
    UnexpectedField { line: usize, tag: String },
}

/// Parses MT940 bytes: UTF-8 when valid, otherwise ISO 8859-1 (what German banks deliver).
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Statement>, Mt940Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text.strip_prefix('\u{FEFF}').unwrap_or(text)),
        Err(_) => {
            let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
            parse(&latin1)
        }
    }
}

/// Parses all statements of an MT940 file.
///
/// Two-digit years are read as 2000–2079 for `00`–`79` and 1980–1999 for `80`–`99`. The booking
/// date (`MMDD` of field 61) takes the year of the value date, moved by one year when the two lie
/// more than six months apart (bookings around New Year). Without a booking date the value date
/// is used. Field 86 is read in the German DK structure (`GVC?00…?20…`); unstructured text becomes
/// the remittance information. Each page (`:60M:`/`:62M:`) is returned as its own statement.
pub fn parse(text: &str) -> Result<Vec<Statement>, Mt940Error> {
    let mut statements = Vec::new();
    let mut current: Option<Builder> = None;
    let mut act = |token: Token<'_>| -> Result<(), Mt940Error> {
        match token {
            Token::End => {
                if let Some(builder) = current.take() {
                    statements.push(builder.finish()?);
                }
            }
            Token::Field { line, tag, value } => {
                if tag == "20" {
                    if let Some(builder) = current.take() {
                        statements.push(builder.finish()?);
                    }
                    current = Some(Builder::new(line, value));
                } else if let Some(builder) = current.as_mut() {
                    builder.field(line, tag, value)?;
                }
                // Fields before the first :20: (e.g. a ":940:" header line) are ignored.
            }
        }
        Ok(())
    };
    let mut fields = Fields::default();
    for (index, raw_line) in lines(text).enumerate() {
        fields.line(index + 1, raw_line, &mut act)?;
    }
    fields.flush(&mut act)?;
    if let Some(builder) = current.take() {
        statements.push(builder.finish()?);
    }
    if statements.is_empty() {
        return Err(Mt940Error::NoStatements);
    }
    Ok(statements)
}

pub(super) struct Builder {
    start_line: usize,
    id: String,
    account: Option<StatementAccount>,
    sequence: Option<u64>,
    balances: Vec<Balance>,
    currency: Option<Currency>,
    has_opening: bool,
    has_closing: bool,
    pub(super) entries: Vec<Entry>,
    /// Whether the last field was a :61: that a following :86: describes.
    awaiting_details: bool,
    /// Reused for a field 86 whose subfields span lines.
    joined: String,
}

impl Builder {
    pub(super) fn new(line: usize, id: &str) -> Builder {
        Builder {
            start_line: line,
            id: id.trim().to_string(),
            account: None,
            sequence: None,
            balances: Vec::new(),
            currency: None,
            has_opening: false,
            has_closing: false,
            entries: Vec::new(),
            awaiting_details: false,
            joined: String::new(),
        }
    }

    pub(super) fn field(&mut self, line: usize, tag: &str, value: &str) -> Result<(), Mt940Error> {
        let awaiting = std::mem::replace(&mut self.awaiting_details, false);
        match tag {
            "21" => {}
            "25" => self.account = Some(parse_account(value)),
            "28" | "28C" => {
                let number = value.trim().split('/').next().unwrap_or("");
                self.sequence =
                    Some(number.parse().map_err(|_| {
                        invalid(line, tag, value, "statement number must be numeric")
                    })?);
            }
            "60F" | "60M" | "62F" | "62M" | "64" | "65" => {
                let kind = match tag {
                    "60F" => BalanceKind::OpeningBooked,
                    "62F" => BalanceKind::ClosingBooked,
                    "64" => BalanceKind::ClosingAvailable,
                    "65" => BalanceKind::ForwardAvailable,
                    _ => BalanceKind::InterimBooked,
                };
                let balance = parse_balance(line, tag, value, kind)?;
                if tag.starts_with("60") {
                    self.currency = Some(balance.currency);
                    self.has_opening = true;
                }
                if tag.starts_with("62") {
                    self.has_closing = true;
                }
                self.balances.push(balance);
            }
            "61" => {
                let currency = self.currency.ok_or(Mt940Error::UnexpectedField {
                    line,
                    tag: tag.to_string(),
                })?;
                self.entries.push(parse_entry_line(line, value, currency)?);
                self.awaiting_details = true;
            }
            "86" if awaiting => {
                if let Some(entry) = self.entries.last_mut() {
                    apply_details(entry, value, &mut self.joined);
                }
            }
            // Anything else, e.g. a :86: after the closing balance (statement-level
            // information), is ignored.
            _ => {}
        }
        Ok(())
    }

    /// The statement as known so far, without entries (a streamed statement's `Begin`).
    pub(super) fn preview(&self) -> Statement {
        Statement {
            format: StatementFormat::Mt940,
            message_id: None,
            id: self.id.clone(),
            electronic_sequence_number: self.sequence,
            created: None,
            period: None,
            account: StatementAccount {
                currency: self.currency,
                ..self.account.clone().unwrap_or_default()
            },
            balances: self.balances.clone(),
            entries: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> Result<Statement, Mt940Error> {
        let line = self.start_line;
        let account = self
            .account
            .ok_or(Mt940Error::MissingField { line, tag: "25" })?;
        if !self.has_opening {
            return Err(Mt940Error::MissingField { line, tag: "60F" });
        }
        if !self.has_closing {
            return Err(Mt940Error::MissingField { line, tag: "62F" });
        }
        let account = StatementAccount {
            currency: self.currency,
            ..account
        };
        Ok(Statement {
            format: StatementFormat::Mt940,
            message_id: None,
            id: self.id,
            electronic_sequence_number: self.sequence,
            created: None,
            period: None,
            account,
            balances: self.balances,
            entries: self.entries,
        })
    }
}

fn invalid(line: usize, tag: &str, value: &str, reason: &'static str) -> Mt940Error {
    Mt940Error::InvalidField {
        line,
        tag: tag.to_string(),
        value: value.chars().take(80).collect(),
        reason,
    }
}

/// Field 25: `IBAN`, `BIC/IBAN`, `BLZ/account` (optionally followed by a currency).
fn parse_account(value: &str) -> StatementAccount {
    let value = value.trim();
    let (first, last) = match value.rsplit_once('/') {
        Some((first, last)) => (Some(first.trim()), last.trim()),
        None => (None, value),
    };
    let iban = Iban::parse(value).ok().or_else(|| Iban::parse(last).ok());
    let servicer_bic = first.and_then(|f| Bic::parse(f).ok());
    StatementAccount {
        other_id: iban.is_none().then(|| value.to_string()),
        iban,
        currency: None,
        owner_name: None,
        servicer_bic,
    }
}

/// Century window for two-digit years.
fn year_from_two_digits(yy: u32) -> i32 {
    if yy < 80 {
        2000 + yy as i32
    } else {
        1900 + yy as i32
    }
}

fn parse_yymmdd(text: &str) -> Option<NaiveDate> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: u32 = text[0..2].parse().ok()?;
    let mm: u32 = text[2..4].parse().ok()?;
    let dd: u32 = text[4..6].parse().ok()?;
    NaiveDate::from_ymd_opt(year_from_two_digits(yy), mm, dd)
}

/// `:60F:`-style balance: `C|D`, `YYMMDD`, currency, amount.
fn parse_balance(
    line: usize,
    tag: &str,
    value: &str,
    kind: BalanceKind,
) -> Result<Balance, Mt940Error> {
    let value = value.trim();
    let err = |reason| invalid(line, tag, value, reason);
    let mark = value.get(0..1).ok_or_else(|| err("too short"))?;
    let direction = match mark {
        "C" => CreditDebit::Credit,
        "D" => CreditDebit::Debit,
        _ => return Err(err("must start with C or D")),
    };
    let date = value
        .get(1..7)
        .and_then(parse_yymmdd)
        .ok_or_else(|| err("invalid date"))?;
    let currency = value
        .get(7..10)
        .and_then(|c| Currency::parse(c).ok())
        .ok_or_else(|| err("invalid currency"))?;
    let amount = value
        .get(10..)
        .filter(|a| a.len() <= MAX_AMOUNT_LEN)
        .and_then(|a| Amount::parse_swift(a).ok())
        .ok_or_else(|| err("invalid amount"))?;
    Ok(Balance {
        kind,
        amount: direction.apply(amount),
        currency,
        date,
    })
}

/// Field 61: `YYMMDD[MMDD](C|D|RC|RD)[funds code]amount(N|S|F)XXX customer-ref[//bank-ref]`,
/// optionally followed by a line of supplementary details.
fn parse_entry_line(line: usize, value: &str, currency: Currency) -> Result<Entry, Mt940Error> {
    let first = lines(value).next().unwrap_or("").trim_end();
    let err = |reason| invalid(line, "61", value, reason);
    let value_date = first
        .get(0..6)
        .and_then(parse_yymmdd)
        .ok_or_else(|| err("invalid value date"))?;
    let mut rest = &first[6..];
    let mut booking_date = value_date;
    if rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        let mm: u32 = rest[0..2]
            .parse()
            .map_err(|_| err("invalid booking date"))?;
        let dd: u32 = rest[2..4]
            .parse()
            .map_err(|_| err("invalid booking date"))?;
        booking_date =
            booking_date_near(value_date, mm, dd).ok_or_else(|| err("invalid booking date"))?;
        rest = &rest[4..];
    }
    let (reversal, direction, after_mark) = if let Some(r) = rest.strip_prefix("RC") {
        (true, CreditDebit::Credit, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        (true, CreditDebit::Debit, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (false, CreditDebit::Credit, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (false, CreditDebit::Debit, r)
    } else {
        return Err(err("credit/debit mark must be C, D, RC or RD"));
    };
    rest = after_mark;
    // Optional funds code: the third letter of the currency code.
    if rest.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        rest = &rest[1..];
    }
    let amount_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',')
        .count();
    if amount_len > MAX_AMOUNT_LEN {
        return Err(err("amount longer than 15 characters"));
    }
    let amount = Amount::parse_swift(&rest[..amount_len]).map_err(|_| err("invalid amount"))?;
    rest = &rest[amount_len..];
    let kind = rest
        .get(0..4)
        .ok_or_else(|| err("missing transaction type"))?;
    if !matches!(kind.as_bytes()[0], b'N' | b'S' | b'F') {
        return Err(err("transaction type must start with N, S or F"));
    }
    rest = &rest[4..];
    let bank_reference = split_at_double_slash(rest)
        .map(|(_, bank)| bank.trim())
        .filter(|bank| !bank.is_empty() && *bank != "NONREF")
        .map(str::to_string);
    Ok(Entry {
        booking_date: Some(booking_date),
        value_date: Some(value_date),
        amount,
        currency,
        credit_debit: direction,
        reversal,
        status: EntryStatus::Booked,
        bank_reference,
        end_to_end_id: None,
        counterparty_name: None,
        counterparty_iban: None,
        counterparty_bic: None,
        remittance: None,
        bank_transaction_code: None,
        // Room for the `+GVC` a field 86 adds.
        proprietary_code: Some({
            let mut code = String::with_capacity(kind.len() + 4);
            code.push_str(kind);
            code
        }),
        additional_info: None,
    })
}

/// `text.split('\n')`, with a vectorised search for the line ends: splitting is a good part
/// of the parsers' time.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .chain([text.len()])
        .map(move |end| {
            let line = &text[start..end];
            start = end + 1;
            line
        })
}

/// `text` split at its first `//` (as `split_once("//")`, without setting up a substring
/// search for two bytes).
fn split_at_double_slash(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = memchr::memchr(b'/', &bytes[from..]) {
        let at = from + offset;
        if bytes.get(at + 1) == Some(&b'/') {
            return Some((&text[..at], &text[at + 2..]));
        }
        from = at + 1;
    }
    None
}

/// The date with month/day `mm`/`dd` closest to `value_date` (same year, or the one before or
/// after across New Year).
fn booking_date_near(value_date: NaiveDate, mm: u32, dd: u32) -> Option<NaiveDate> {
    let year = value_date.year();
    let month_distance = mm as i32 - value_date.month() as i32;
    let year = if month_distance > 6 {
        year - 1
    } else if month_distance < -6 {
        year + 1
    } else {
        year
    };
    NaiveDate::from_ymd_opt(year, mm, dd)
}

/// Reads field 86 into the entry: German structured form `GVC?00...?20...` or free text.
/// `joined` is a buffer for the value without its line breaks.
fn apply_details(entry: &mut Entry, value: &str, joined: &mut String) {
    let bytes = value.as_bytes();
    let structured =
        bytes.len() >= 4 && bytes[..3].iter().all(u8::is_ascii_digit) && bytes[3] == b'?';
    if !structured {
        let text: String = lines(value).map(str::trim).collect::<Vec<_>>().join(" ");
        let text = text.trim();
        if !text.is_empty() {
            entry.remittance = Some(text.to_string());
        }
        return;
    }
    // Line breaks inside a structured field carry no meaning: subfields are delimited by ?NN.
    let joined = if memchr::memchr(b'\n', value.as_bytes()).is_some() {
        joined.clear();
        lines(value).for_each(|part| joined.push_str(part));
        joined.as_str()
    } else {
        value
    };
    let gvc = &joined[..3];
    entry.bank_transaction_code = iso_for_gvc(gvc);
    if let Some(mut code) = entry.proprietary_code.take() {
        code.push('+');
        code.push_str(gvc);
        entry.proprietary_code = Some(code);
    }
    let mut purpose = Purpose::default();
    let mut name = String::new();
    for (tag, content) in Subfields::of(&joined[3..]) {
        match tag {
            0 => entry.additional_info = non_empty(content.trim()).map(str::to_string),
            20..=29 | 60..=63 => purpose.line(content),
            30 => entry.counterparty_bic = Bic::parse(content).ok(),
            31 => entry.counterparty_iban = Iban::parse(content).ok(),
            32 | 33 => name.push_str(content),
            _ => {}
        }
    }
    entry.counterparty_name = trimmed(name);
    entry.end_to_end_id = purpose
        .end_to_end
        .and_then(trimmed)
        .filter(|v| !v.eq_ignore_ascii_case("NOTPROVIDED"));
    // The first SVWZ section, else the text before any keyword.
    entry.remittance = purpose.remittance.or(purpose.leading).and_then(trimmed);
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// `text` without surrounding whitespace, `None` when nothing is left (reuses `text`'s
/// allocation when there was none to remove).
fn trimmed(text: String) -> Option<String> {
    let inner = text.trim();
    if inner.is_empty() {
        None
    } else if inner.len() == text.len() {
        Some(text)
    } else {
        Some(inner.to_string())
    }
}

/// `?NNcontent?NNcontent…` as (NN, content); text before the first tag is dropped. A `?` not
/// followed by two digits is text. (`?` and digits are ASCII, so byte offsets never split a
/// character.)
struct Subfields<'a> {
    text: &'a str,
    /// Where the next tag starts (`text.len()` when there is none).
    next: usize,
}

impl<'a> Subfields<'a> {
    fn of(text: &'a str) -> Self {
        Self {
            text,
            next: next_tag(text.as_bytes(), 0),
        }
    }
}

impl<'a> Iterator for Subfields<'a> {
    type Item = (u32, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        let at = self.next;
        if at >= bytes.len() {
            return None;
        }
        let tag = u32::from(bytes[at + 1] - b'0') * 10 + u32::from(bytes[at + 2] - b'0');
        let end = next_tag(bytes, at + 3);
        self.next = end;
        Some((tag, &self.text[at + 3..end]))
    }
}

/// The position of the first `?NN` at or after `from`, else `bytes.len()`.
fn next_tag(bytes: &[u8], mut from: usize) -> usize {
    while let Some(offset) = bytes.get(from..).and_then(|b| memchr::memchr(b'?', b)) {
        let at = from + offset;
        if matches!(bytes.get(at + 1..at + 3), Some([tens, ones]) if tens.is_ascii_digit() && ones.is_ascii_digit())
        {
            return at;
        }
        from = at + 1;
    }
    bytes.len()
}

const SEPA_KEYWORDS: &[&str] = &[
    "EREF", "KREF", "MREF", "CRED", "DEBT", "COAM", "OAMT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC",
];

/// The purpose lines (subfields 20–29, 60–63) grouped by SEPA keyword (`EREF+`, `SVWZ+`, …): a
/// line starting with a keyword opens a section, other lines continue the current one, text
/// before any keyword is a section of its own. Only the sections an entry keeps are collected:
/// the first `EREF`, the first `SVWZ` and the leading text.
#[derive(Default)]
struct Purpose {
    /// The section later lines continue; `None` before the first line.
    current: Option<Section>,
    leading: Option<String>,
    end_to_end: Option<String>,
    remittance: Option<String>,
}

#[derive(Clone, Copy)]
enum Section {
    Leading,
    EndToEnd,
    Remittance,
    /// Another keyword, or a repeated `EREF`/`SVWZ`.
    Dropped,
}

impl Purpose {
    fn line(&mut self, line: &str) {
        let keyword = SEPA_KEYWORDS.iter().find_map(|k| {
            line.strip_prefix(k)
                .and_then(|rest| rest.strip_prefix('+'))
                .map(|rest| (*k, rest))
        });
        let Some((keyword, rest)) = keyword else {
            match self.current {
                None => {
                    self.leading = Some(line.to_string());
                    self.current = Some(Section::Leading);
                }
                Some(section) => {
                    if let Some(Some(text)) = self.text(section) {
                        text.push_str(line);
                    }
                }
            }
            return;
        };
        let section = match keyword {
            "EREF" => Section::EndToEnd,
            "SVWZ" => Section::Remittance,
            _ => Section::Dropped,
        };
        self.current = Some(match self.text(section) {
            Some(text @ None) => {
                *text = Some(rest.to_string());
                section
            }
            _ => Section::Dropped,
        });
    }

    fn text(&mut self, section: Section) -> Option<&mut Option<String>> {
        match section {
            Section::Leading => Some(&mut self.leading),
            Section::EndToEnd => Some(&mut self.end_to_end),
            Section::Remittance => Some(&mut self.remittance),
            Section::Dropped => None,
        }
    }
}
