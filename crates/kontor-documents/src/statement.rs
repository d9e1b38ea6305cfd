//! The account statement model shared by camt.052/053/054 and MT940.
//!
//! Parsers of every format produce [`Statement`]s; generators consume a [`crate::ledger::Ledger`]
//! whose entries are the same [`Entry`] type, so a generate → parse round trip can be checked with
//! plain equality.

use std::borrow::Cow;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::amount::Amount;
use crate::bic::Bic;
use crate::currency::Currency;
use crate::iban::Iban;

/// The format a statement was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum StatementFormat {
    /// camt.052 intraday account report.
    Camt052,
    /// camt.053 end-of-day statement.
    Camt053,
    /// camt.054 debit/credit notification.
    Camt054,
    /// SWIFT MT940 customer statement.
    Mt940,
}

/// Direction of an entry or the sign of a balance; serialised as its ISO 20022 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum CreditDebit {
    #[serde(rename = "CRDT")]
    Credit,
    #[serde(rename = "DBIT")]
    Debit,
}

impl CreditDebit {
    /// ISO 20022 code (`CRDT` / `DBIT`).
    pub fn iso_code(&self) -> &'static str {
        match self {
            CreditDebit::Credit => "CRDT",
            CreditDebit::Debit => "DBIT",
        }
    }

    pub fn from_iso_code(code: &str) -> Option<CreditDebit> {
        match code {
            "CRDT" => Some(CreditDebit::Credit),
            "DBIT" => Some(CreditDebit::Debit),
            _ => None,
        }
    }

    /// `amount` with the sign this direction gives it (debits negative).
    pub fn apply(&self, amount: Amount) -> Amount {
        match self {
            CreditDebit::Credit => amount,
            CreditDebit::Debit => -amount,
        }
    }
}

/// ISO 20022 balance type (`BalanceType12Code`); serialised as its code ([`BalanceKind::code`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BalanceKind {
    /// OPBD
    OpeningBooked,
    /// CLBD
    ClosingBooked,
    /// ITBD
    InterimBooked,
    /// PRCD — closing booked balance of the previous statement.
    PreviouslyClosedBooked,
    /// OPAV
    OpeningAvailable,
    /// CLAV
    ClosingAvailable,
    /// ITAV
    InterimAvailable,
    /// FWAV
    ForwardAvailable,
    /// XPCD
    Expected,
    /// INFO
    Information,
    /// Any other code or a proprietary type.
    Other(String),
}

impl BalanceKind {
    pub fn code(&self) -> &str {
        match self {
            BalanceKind::OpeningBooked => "OPBD",
            BalanceKind::ClosingBooked => "CLBD",
            BalanceKind::InterimBooked => "ITBD",
            BalanceKind::PreviouslyClosedBooked => "PRCD",
            BalanceKind::OpeningAvailable => "OPAV",
            BalanceKind::ClosingAvailable => "CLAV",
            BalanceKind::InterimAvailable => "ITAV",
            BalanceKind::ForwardAvailable => "FWAV",
            BalanceKind::Expected => "XPCD",
            BalanceKind::Information => "INFO",
            BalanceKind::Other(code) => code,
        }
    }

    pub fn from_code(code: &str) -> BalanceKind {
        match code {
            "OPBD" => BalanceKind::OpeningBooked,
            "CLBD" => BalanceKind::ClosingBooked,
            "ITBD" => BalanceKind::InterimBooked,
            "PRCD" => BalanceKind::PreviouslyClosedBooked,
            "OPAV" => BalanceKind::OpeningAvailable,
            "CLAV" => BalanceKind::ClosingAvailable,
            "ITAV" => BalanceKind::InterimAvailable,
            "FWAV" => BalanceKind::ForwardAvailable,
            "XPCD" => BalanceKind::Expected,
            "INFO" => BalanceKind::Information,
            other => BalanceKind::Other(other.to_string()),
        }
    }
}

impl Serialize for BalanceKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for BalanceKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(BalanceKind::from_code(&code))
    }
}

string_schema!(
    BalanceKind,
    "ISO 20022 balance type code (OPBD, CLBD, ITBD, PRCD, OPAV, CLAV, ITAV, FWAV, XPCD, INFO) or a bank's proprietary code"
);

/// A balance; `amount` is signed (negative when the document says debit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Balance {
    pub kind: BalanceKind,
    pub amount: Amount,
    pub currency: Currency,
    pub date: NaiveDate,
}

/// Entry status (`Sts`): only booked entries move the booked balance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum EntryStatus {
    /// BOOK
    Booked,
    /// PDNG
    Pending,
    /// INFO
    Information,
    Other(String),
}

impl EntryStatus {
    pub fn code(&self) -> &str {
        match self {
            EntryStatus::Booked => "BOOK",
            EntryStatus::Pending => "PDNG",
            EntryStatus::Information => "INFO",
            EntryStatus::Other(code) => code,
        }
    }

    pub fn from_code(code: &str) -> EntryStatus {
        match code {
            "BOOK" => EntryStatus::Booked,
            "PDNG" => EntryStatus::Pending,
            "INFO" => EntryStatus::Information,
            other => EntryStatus::Other(other.to_string()),
        }
    }
}

/// ISO 20022 bank transaction code: domain / family / sub-family (e.g. `PMNT/RCDT/ESCT`).
///
/// The parts are `Cow`s so that the common codes are shared, not copied for every booking of
/// a statement (three allocations per entry otherwise); any other text is kept as read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BankTransactionCode {
    pub domain: Cow<'static, str>,
    pub family: Cow<'static, str>,
    pub sub_family: Cow<'static, str>,
}

/// Codes of the ISO 20022 external code sets that most bookings carry: the SEPA payment and
/// account management domains, families and sub-families.
const COMMON_CODES: &[&str] = &[
    "PMNT", "ACMT", "CAMT", "RCDT", "ICDT", "IDDT", "RDDT", "MDOP", "ACCB", "CCRD", "MCRD", "CNTR",
    "ESCT", "ESDD", "BBDD", "CHRG", "SWEP", "STDO", "INTR", "OTHR", "NTAV", "FEES", "DMCT", "XBCT",
    "RRTN", "UPDD", "PMDD", "POSD", "CWDL", "BCDP",
];

/// `code` as a shared common code when it is one, else a copy.
fn shared_code(code: &str) -> Cow<'static, str> {
    match COMMON_CODES.iter().find(|common| **common == code) {
        Some(common) => Cow::Borrowed(common),
        None => Cow::Owned(code.to_owned()),
    }
}

impl BankTransactionCode {
    pub fn new(domain: &str, family: &str, sub_family: &str) -> BankTransactionCode {
        BankTransactionCode {
            domain: shared_code(domain),
            family: shared_code(family),
            sub_family: shared_code(sub_family),
        }
    }

    /// A code from constants, without allocating (for tables of known codes).
    pub const fn from_static(
        domain: &'static str,
        family: &'static str,
        sub_family: &'static str,
    ) -> BankTransactionCode {
        BankTransactionCode {
            domain: Cow::Borrowed(domain),
            family: Cow::Borrowed(family),
            sub_family: Cow::Borrowed(sub_family),
        }
    }
}

impl fmt::Display for BankTransactionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.domain, self.family, self.sub_family)
    }
}

/// One booking line of a statement.
///
/// `amount` is always positive; `credit_debit` gives the direction. For credits the
/// counterparty is the debtor of the underlying transaction, for debits the creditor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Entry {
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    pub amount: Amount,
    pub currency: Currency,
    pub credit_debit: CreditDebit,
    /// `RvslInd` in camt, `RC`/`RD` in MT940: this entry reverses an earlier one.
    pub reversal: bool,
    pub status: EntryStatus,
    /// The account servicer's reference (`AcctSvcrRef`; MT940 field 61 after `//`).
    pub bank_reference: Option<String>,
    /// `EndToEndId`; `NOTPROVIDED` is read as absent.
    pub end_to_end_id: Option<String>,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<Iban>,
    pub counterparty_bic: Option<Bic>,
    /// Unstructured remittance information.
    pub remittance: Option<String>,
    pub bank_transaction_code: Option<BankTransactionCode>,
    /// Proprietary transaction code (camt `BkTxCd/Prtry/Cd`; MT940 `<type>+<GVC>`, e.g. `NTRF+166`).
    pub proprietary_code: Option<String>,
    /// Posting text (camt `AddtlNtryInf`; MT940 field 86 subfield `?00`).
    pub additional_info: Option<String>,
}

impl Entry {
    /// The amount signed by direction (debits negative).
    pub fn signed_amount(&self) -> Amount {
        self.credit_debit.apply(self.amount)
    }

    /// A stable identity for de-duplicating the same booking across downloads.
    ///
    /// The same booking appears in overlapping statements (today's camt.053 and tomorrow's, a
    /// camt.052 and the later camt.053, a camt.053 and an MT940 of the same day). The key is:
    ///
    /// 1. **`r1:` + SHA-256 hex of (account IBAN, booking date, bank reference)** when the entry has
    ///    a bank reference (`AcctSvcrRef` / MT940 `//` reference). The bank assigns it once per
    ///    booking and repeats it in every format; the booking date is included because some banks
    ///    restart their reference counters.
    /// 2. Otherwise **`h1:` + SHA-256 hex of (account IBAN, booking date, value date, amount,
    ///    currency, direction incl. reversal, end-to-end id, counterparty IBAN, remittance)**.
    ///    Amounts are normalised (`10.5` = `10.50`), `NOTPROVIDED` counts as no end-to-end id,
    ///    and all whitespace is removed from the remittance because MT940 splits it into
    ///    27-character chunks that banks rejoin differently.
    ///
    /// Fields are separated by U+001F so no field can run into the next. Two genuinely different
    /// bookings without bank reference and with identical fields get the same `h1:` key; banks
    /// that omit `AcctSvcrRef` give no better identity.
    ///
    /// Both rules include the booking date, so a pending camt.052 entry without `BookgDt` is keyed
    /// differently from its later booked version: de-duplicate booked entries. An MT940 `:61:`
    /// without entry date is read with the value date as booking date (see [`crate::mt940::parse`]).
    pub fn dedupe_key(&self, account_iban: &Iban) -> String {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut hasher = Sha256::new();
        let mut field = |value: &str| {
            hasher.update(value.as_bytes());
            hasher.update([0x1f]);
        };
        let prefix = match self.bank_reference.as_deref().map(str::trim) {
            Some(reference) if !reference.is_empty() => {
                field("r1");
                field(account_iban.electronic());
                field(&date(self.booking_date));
                field(reference);
                "r1"
            }
            _ => {
                field("h1");
                field(account_iban.electronic());
                field(&date(self.booking_date));
                field(&date(self.value_date));
                field(&self.amount.abs().as_decimal().normalize().to_string());
                field(self.currency.as_str());
                field(match (self.reversal, self.credit_debit) {
                    (false, CreditDebit::Credit) => "C",
                    (false, CreditDebit::Debit) => "D",
                    (true, CreditDebit::Credit) => "RC",
                    (true, CreditDebit::Debit) => "RD",
                });
                let e2e = self
                    .end_to_end_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|id| !id.eq_ignore_ascii_case("NOTPROVIDED"))
                    .unwrap_or("");
                field(e2e);
                field(
                    self.counterparty_iban
                        .as_ref()
                        .map(Iban::electronic)
                        .unwrap_or(""),
                );
                let remittance: String = self
                    .remittance
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                field(&remittance);
                "h1"
            }
        };
        format!("{prefix}:{}", hex::encode(hasher.finalize()))
    }
}

/// The account a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct StatementAccount {
    pub iban: Option<Iban>,
    /// Identification when it is not an IBAN (camt `Othr/Id`, MT940 `BLZ/account`).
    pub other_id: Option<String>,
    pub currency: Option<Currency>,
    pub owner_name: Option<String>,
    pub servicer_bic: Option<Bic>,
}

/// Reporting period (`FrToDt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct DateTimePeriod {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

/// One statement, report or notification for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Statement {
    pub format: StatementFormat,
    /// Group header message id (camt only).
    pub message_id: Option<String>,
    /// `Stmt/Id` (`Rpt/Id`, `Ntfctn/Id`) or MT940 field 20.
    pub id: String,
    /// `ElctrncSeqNb`, or the statement number of MT940 field 28C.
    pub electronic_sequence_number: Option<u64>,
    pub created: Option<NaiveDateTime>,
    pub period: Option<DateTimePeriod>,
    pub account: StatementAccount,
    pub balances: Vec<Balance>,
    pub entries: Vec<Entry>,
}

/// Booked entries do not add up from the opening to the closing balance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "statement {statement_id}: opening {opening} + booked entries {movement} = {expected}, but the closing balance is {closing}"
)]
pub struct BalanceMismatch {
    pub statement_id: String,
    pub opening: Amount,
    pub movement: Amount,
    pub expected: Amount,
    pub closing: Amount,
}

impl Statement {
    pub fn balance(&self, kind: &BalanceKind) -> Option<&Balance> {
        self.balances.iter().find(|b| &b.kind == kind)
    }

    /// OPBD, else PRCD, else the opening interim balance of an MT940 continuation page.
    pub fn opening_balance(&self) -> Option<&Balance> {
        self.balance(&BalanceKind::OpeningBooked)
            .or_else(|| self.balance(&BalanceKind::PreviouslyClosedBooked))
            .or_else(|| {
                self.balances
                    .iter()
                    .find(|b| b.kind == BalanceKind::InterimBooked)
            })
    }

    /// CLBD, else the last interim booked balance (camt.052, MT940 continuation page).
    pub fn closing_balance(&self) -> Option<&Balance> {
        self.balance(&BalanceKind::ClosingBooked).or_else(|| {
            self.balances
                .iter()
                .rev()
                .find(|b| b.kind == BalanceKind::InterimBooked)
        })
    }

    /// Checks opening + booked entries = closing when both balances are present.
    pub fn check_balances(&self) -> Result<(), BalanceMismatch> {
        let (Some(opening), Some(closing)) = (self.opening_balance(), self.closing_balance())
        else {
            return Ok(());
        };
        let movement: Amount = self
            .entries
            .iter()
            .filter(|e| e.status == EntryStatus::Booked)
            .map(Entry::signed_amount)
            .sum();
        let expected = opening.amount + movement;
        if expected == closing.amount {
            Ok(())
        } else {
            Err(BalanceMismatch {
                statement_id: self.id.clone(),
                opening: opening.amount,
                movement,
                expected,
                closing: closing.amount,
            })
        }
    }
}

/// Entries per [`StatementPart::Entries`] of the streaming readers unless set otherwise.
pub const DEFAULT_BATCH: usize = 1000;

/// A piece of a streamed statement document (camt or MT940).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementPart {
    /// A statement begins: its header as known before its first entry, `entries` empty.
    Begin(Statement),
    /// The next entries of the current statement, at most the batch size.
    Entries(Vec<Entry>),
    /// The statement is complete: its whole header (balances after the entries included),
    /// `entries` empty.
    End(Statement),
}

/// Collects a stream of parts into whole statements (what the whole-document parsers return);
/// for tests and small documents.
pub fn collect_statements<E>(
    parts: impl IntoIterator<Item = Result<StatementPart, E>>,
) -> Result<Vec<Statement>, E> {
    let mut statements = Vec::new();
    let mut entries = Vec::new();
    for part in parts {
        match part? {
            StatementPart::Begin(_) => entries.clear(),
            StatementPart::Entries(batch) => entries.extend(batch),
            StatementPart::End(mut statement) => {
                statement.entries = std::mem::take(&mut entries);
                statements.push(statement);
            }
        }
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            booking_date: NaiveDate::from_ymd_opt(2024, 3, 1),
            value_date: NaiveDate::from_ymd_opt(2024, 3, 1),
            amount: Amount::parse("10.50").unwrap(),
            currency: Currency::EUR,
            credit_debit: CreditDebit::Credit,
            reversal: false,
            status: EntryStatus::Booked,
            bank_reference: None,
            end_to_end_id: Some("E2E-1".into()),
            counterparty_name: Some("Someone".into()),
            counterparty_iban: Iban::parse("DE89370400440532013000").ok(),
            counterparty_bic: None,
            remittance: Some("Invoice 4711 of March".into()),
            bank_transaction_code: None,
            proprietary_code: None,
            additional_info: None,
        }
    }

    fn account() -> Iban {
        Iban::parse("GB82WEST12345698765432").unwrap()
    }

    #[test]
    fn bank_reference_decides_the_key_when_present() {
        let mut a = entry();
        a.bank_reference = Some("REF123".into());
        let mut b = a.clone();
        b.remittance = Some("completely different text".into());
        assert_eq!(a.dedupe_key(&account()), b.dedupe_key(&account()));
        assert!(a.dedupe_key(&account()).starts_with("r1:"));
        b.bank_reference = Some("REF124".into());
        assert_ne!(a.dedupe_key(&account()), b.dedupe_key(&account()));
    }

    #[test]
    fn hash_key_ignores_amount_scale_whitespace_and_notprovided() {
        let a = entry();
        let mut b = entry();
        b.amount = Amount::parse("10.5").unwrap();
        b.remittance = Some("Invoice 4711 of\nMarch ".into());
        assert_eq!(a.dedupe_key(&account()), b.dedupe_key(&account()));
        assert!(a.dedupe_key(&account()).starts_with("h1:"));

        let mut c = entry();
        c.end_to_end_id = Some("NOTPROVIDED".into());
        let mut d = entry();
        d.end_to_end_id = None;
        assert_eq!(c.dedupe_key(&account()), d.dedupe_key(&account()));
    }

    #[test]
    fn hash_key_distinguishes_direction_amount_and_account() {
        let a = entry();
        let mut debit = entry();
        debit.credit_debit = CreditDebit::Debit;
        let mut more = entry();
        more.amount = Amount::parse("10.51").unwrap();
        let other_account = Iban::parse("DE89370400440532013000").unwrap();
        let key = a.dedupe_key(&account());
        assert_ne!(key, debit.dedupe_key(&account()));
        assert_ne!(key, more.dedupe_key(&account()));
        assert_ne!(key, a.dedupe_key(&other_account));
    }

    #[test]
    fn balance_check_detects_a_wrong_closing_balance() {
        let date = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let bal = |kind, amount: &str| Balance {
            kind,
            amount: Amount::parse(amount).unwrap(),
            currency: Currency::EUR,
            date,
        };
        let mut statement = Statement {
            format: StatementFormat::Camt053,
            message_id: None,
            id: "S1".into(),
            electronic_sequence_number: None,
            created: None,
            period: None,
            account: StatementAccount::default(),
            balances: vec![
                bal(BalanceKind::OpeningBooked, "100"),
                bal(BalanceKind::ClosingBooked, "110.50"),
            ],
            entries: vec![entry()],
        };
        assert_eq!(statement.check_balances(), Ok(()));
        statement.balances[1].amount = Amount::parse("110.49").unwrap();
        assert!(statement.check_balances().is_err());
    }
}
