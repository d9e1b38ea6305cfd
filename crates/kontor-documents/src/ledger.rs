//! Deterministic synthetic account ledgers, the source of generated statements.
//!
//! [`Ledger::generate`] derives every entry from `(seed, account IBAN, date, index)` and every
//! balance from `(seed, account IBAN, month)`, never from the requested period. Two ledgers for
//! overlapping periods therefore agree on the overlapping days — entries, references and
//! balances — just as two statements downloaded from a real bank do.
//!
//! Balances follow a monthly target: each month opens at a balance drawn for that month, entries
//! move it day by day, and on the last day of the month a cash-pool sweep (`CAMT/ACCB/SWEP`)
//! brings the closing balance to the next month's opening. All text is restricted to the SWIFT
//! `x` character set so the same ledger exports losslessly to MT940.

use chrono::{Datelike, NaiveDate};

use crate::amount::Amount;
use crate::bic::Bic;
use crate::currency::Currency;
use crate::iban::Iban;
use crate::rng::{stable_hash, SplitMix64};
use crate::statement::{BankTransactionCode, CreditDebit, Entry, EntryStatus};

/// Longest period [`Ledger::generate`] accepts, to keep mistakes from exhausting memory.
pub const MAX_LEDGER_DAYS: i64 = 3660;

/// The account whose ledger is generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub iban: Iban,
    pub bic: Bic,
    pub currency: Currency,
    pub holder: String,
}

/// Why a ledger cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("period {from} to {to} is empty: the start is after the end")]
    InvalidPeriod { from: NaiveDate, to: NaiveDate },
    #[error("period {from} to {to} exceeds {MAX_LEDGER_DAYS} days")]
    PeriodTooLong { from: NaiveDate, to: NaiveDate },
    #[error("a ledger needs at least one day")]
    NoDays,
    #[error("ledger day {date} does not follow {previous} directly")]
    DaysNotConsecutive {
        previous: NaiveDate,
        date: NaiveDate,
    },
    #[error("entry {index} of {date} is in {found}, the account is in {expected}")]
    CurrencyMismatch {
        date: NaiveDate,
        index: usize,
        expected: Currency,
        found: Currency,
    },
    #[error("entry {index} of {date} has a non-positive amount {amount}")]
    NonPositiveAmount {
        date: NaiveDate,
        index: usize,
        amount: Amount,
    },
}

/// One calendar day of a ledger. Invariant: `closing = opening + Σ signed entry amounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDay {
    date: NaiveDate,
    opening_balance: Amount,
    closing_balance: Amount,
    entries: Vec<Entry>,
}

impl LedgerDay {
    fn new(date: NaiveDate, opening_balance: Amount, entries: Vec<Entry>) -> LedgerDay {
        let closing_balance = opening_balance + entries.iter().map(Entry::signed_amount).sum();
        LedgerDay {
            date,
            opening_balance,
            closing_balance,
            entries,
        }
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    pub fn opening_balance(&self) -> Amount {
        self.opening_balance
    }

    pub fn closing_balance(&self) -> Amount {
        self.closing_balance
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// Calendar days from `from` to `to` inclusive; refused when `to` is before `from`.
pub(crate) fn days_in_period(from: NaiveDate, to: NaiveDate) -> Result<i64, LedgerError> {
    if from > to {
        return Err(LedgerError::InvalidPeriod { from, to });
    }
    Ok((to - from).num_days() + 1)
}

/// A sequence of consecutive days of one account with consistent balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    account: AccountInfo,
    days: Vec<LedgerDay>,
}

impl Ledger {
    /// Generates `entries_per_day` entries for every calendar day from `from` to `to` inclusive
    /// (plus a sweep entry on month ends). Same inputs → identical ledger.
    pub fn generate(
        seed: u64,
        account: AccountInfo,
        from: NaiveDate,
        to: NaiveDate,
        entries_per_day: usize,
    ) -> Result<Ledger, LedgerError> {
        if days_in_period(from, to)? > MAX_LEDGER_DAYS {
            return Err(LedgerError::PeriodTooLong { from, to });
        }
        let generator = Generator::new(seed, &account);
        let mut days = Vec::new();
        let mut opening = generator.opening_balance(from, entries_per_day);
        let mut date = from;
        while date <= to {
            let entries = generator.entries_for(date, entries_per_day, opening);
            let day = LedgerDay::new(date, opening, entries);
            opening = day.closing_balance;
            days.push(day);
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        Ok(Ledger { account, days })
    }

    /// Builds a ledger from explicit entries, e.g. bookings of a bank emulator.
    pub fn from_days(
        account: AccountInfo,
        opening_balance: Amount,
        days: Vec<(NaiveDate, Vec<Entry>)>,
    ) -> Result<Ledger, LedgerError> {
        if days.is_empty() {
            return Err(LedgerError::NoDays);
        }
        let mut built: Vec<LedgerDay> = Vec::with_capacity(days.len());
        let mut opening = opening_balance;
        for (date, entries) in days {
            if let Some(previous) = built.last() {
                if previous.date.succ_opt() != Some(date) {
                    return Err(LedgerError::DaysNotConsecutive {
                        previous: previous.date,
                        date,
                    });
                }
            }
            for (index, entry) in entries.iter().enumerate() {
                if entry.currency != account.currency {
                    return Err(LedgerError::CurrencyMismatch {
                        date,
                        index,
                        expected: account.currency,
                        found: entry.currency,
                    });
                }
                if !entry.amount.is_positive() {
                    return Err(LedgerError::NonPositiveAmount {
                        date,
                        index,
                        amount: entry.amount,
                    });
                }
            }
            let day = LedgerDay::new(date, opening, entries);
            opening = day.closing_balance;
            built.push(day);
        }
        Ok(Ledger {
            account,
            days: built,
        })
    }

    pub fn account(&self) -> &AccountInfo {
        &self.account
    }

    /// Days in ascending order; never empty.
    pub fn days(&self) -> &[LedgerDay] {
        &self.days
    }

    pub fn from(&self) -> NaiveDate {
        self.days[0].date
    }

    pub fn to(&self) -> NaiveDate {
        self.days[self.days.len() - 1].date
    }

    pub fn opening_balance(&self) -> Amount {
        self.days[0].opening_balance
    }

    pub fn closing_balance(&self) -> Amount {
        self.days[self.days.len() - 1].closing_balance
    }

    pub fn day(&self, date: NaiveDate) -> Option<&LedgerDay> {
        self.days.iter().find(|d| d.date == date)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.days.iter().flat_map(|d| d.entries.iter())
    }

    pub fn entry_count(&self) -> usize {
        self.days.iter().map(|d| d.entries.len()).sum()
    }
}

/// What kind of booking an entry is, with its codes in every format.
#[derive(Clone, Copy)]
struct Kind {
    weight: u64,
    direction: CreditDebit,
    btc: (&'static str, &'static str, &'static str),
    /// MT940 field 61 transaction type and German GVC, joined as the proprietary code.
    proprietary: &'static str,
    posting_text: &'static str,
    /// Amount range in minor units (at two decimals).
    min: u64,
    max: u64,
    has_counterparty: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        weight: 40,
        direction: CreditDebit::Credit,
        btc: ("PMNT", "RCDT", "ESCT"),
        proprietary: "NTRF+166",
        posting_text: "SEPA-GUTSCHRIFT",
        min: 1_000,
        max: 2_500_000,
        has_counterparty: true,
    },
    Kind {
        weight: 35,
        direction: CreditDebit::Debit,
        btc: ("PMNT", "ICDT", "ESCT"),
        proprietary: "NTRF+116",
        posting_text: "SEPA-UEBERWEISUNG",
        min: 1_000,
        max: 2_000_000,
        has_counterparty: true,
    },
    Kind {
        weight: 10,
        direction: CreditDebit::Debit,
        btc: ("PMNT", "IDDT", "ESDD"),
        proprietary: "NDDT+105",
        posting_text: "SEPA-BASISLASTSCHRIFT",
        min: 500,
        max: 200_000,
        has_counterparty: true,
    },
    Kind {
        weight: 10,
        direction: CreditDebit::Credit,
        btc: ("PMNT", "RDDT", "ESDD"),
        proprietary: "NDDT+171",
        posting_text: "SEPA-LASTSCHRIFTEINZUG",
        min: 500,
        max: 150_000,
        has_counterparty: true,
    },
    Kind {
        weight: 5,
        direction: CreditDebit::Debit,
        btc: ("ACMT", "MDOP", "CHRG"),
        proprietary: "NCHG+805",
        posting_text: "ENTGELT",
        min: 10,
        max: 5_000,
        has_counterparty: false,
    },
];

const SWEEP: Kind = Kind {
    weight: 0,
    direction: CreditDebit::Credit,
    btc: ("CAMT", "ACCB", "SWEP"),
    proprietary: "NTRF+820",
    posting_text: "UEBERTRAG",
    min: 0,
    max: 0,
    has_counterparty: true,
};

#[derive(Clone)]
struct Counterparty {
    name: String,
    iban: Iban,
    bic: Bic,
}

const NAME_WORDS: &[&str] = &[
    "Nordlicht",
    "Alpenblick",
    "Rheinauen",
    "Hansekontor",
    "Isartal",
    "Elbufer",
    "Mainfeld",
    "Bodensee",
    "Spreewald",
    "Harzblick",
    "Moselgrund",
    "Weserbogen",
    "Lindenhof",
    "Eichenwald",
    "Sonnenberg",
    "Falkenstein",
    "Kranich",
    "Silberfels",
    "Blauwal",
    "Morgenrot",
];

const TRADES: &[&str] = &[
    "Logistik",
    "Maschinenbau",
    "Software",
    "Handel",
    "Energie",
    "Bau",
    "Consulting",
    "Textil",
    "Pharma",
    "Medien",
    "Feinkost",
    "Moebel",
    "Elektro",
    "Verpackung",
    "Solar",
];

/// Countries of counterparties: code, legal forms, and a BBAN shape (`9` digit, `A` letter).
const COUNTRIES: &[(&str, &[&str], &str)] = &[
    (
        "DE",
        &["GmbH", "AG", "KG", "SE", "e.K."],
        "999999999999999999",
    ),
    ("DE", &["GmbH", "AG"], "999999999999999999"),
    ("DE", &["GmbH", "GmbH und Co. KG"], "999999999999999999"),
    ("AT", &["GmbH", "AG"], "9999999999999999"),
    ("FR", &["SARL", "SAS", "SA"], "99999999999999999999999"),
    ("NL", &["B.V.", "N.V."], "AAAA9999999999"),
    ("IT", &["S.p.A.", "S.r.l."], "A9999999999999999999999"),
    ("ES", &["S.L.", "S.A."], "99999999999999999999"),
    ("BE", &["BV", "NV"], "999999999999"),
];

const COUNTERPARTY_POOL: u64 = 32;
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

struct Generator<'a> {
    seed: u64,
    account_hash: u64,
    account: &'a AccountInfo,
    scale: u32,
    counterparties: Vec<Counterparty>,
    pool_leader: Option<Counterparty>,
}

impl<'a> Generator<'a> {
    fn new(seed: u64, account: &'a AccountInfo) -> Generator<'a> {
        let account_hash = stable_hash(account.iban.electronic());
        let counterparties = (0..COUNTERPARTY_POOL)
            .filter_map(|i| {
                let mut rng = SplitMix64::from_parts(&[seed, account_hash, 1, i]);
                random_counterparty(&mut rng)
            })
            .collect();
        let mut rng = SplitMix64::from_parts(&[seed, account_hash, 2]);
        let mut holder: String = swift_safe(&account.holder).chars().take(40).collect();
        if holder.trim().is_empty() {
            holder = "Konzern".to_string();
        }
        let pool_leader = random_counterparty(&mut rng).map(|leader| Counterparty {
            name: format!("{} Cash Pool", holder.trim()),
            ..leader
        });
        Generator {
            seed,
            account_hash,
            account,
            scale: u32::from(account.currency.minor_units().unwrap_or(2)),
            counterparties,
            pool_leader,
        }
    }

    fn amount(&self, minor_units_at_two_decimals: u64) -> Amount {
        // Amounts are drawn at two decimals; other currencies keep the digits, scaled.
        Amount::from_minor_units(minor_units_at_two_decimals as i64, self.scale)
    }

    /// The balance a month opens with.
    fn month_anchor(&self, year: i32, month: u32) -> Amount {
        let mut base_rng = SplitMix64::from_parts(&[self.seed, self.account_hash, 3]);
        let base = 25_000_000 + base_rng.below(75_000_000);
        let month_index = (i64::from(year) * 12 + i64::from(month)) as u64;
        let mut rng = SplitMix64::from_parts(&[self.seed, self.account_hash, 4, month_index]);
        let swing = rng.below(20_000_000);
        self.amount(base + swing - 10_000_000)
    }

    /// Balance at the start of `date`: the month's anchor plus the movements of the earlier days
    /// of that month (sweeps only happen on the last day, so none fall in between).
    fn opening_balance(&self, date: NaiveDate, entries_per_day: usize) -> Amount {
        let mut balance = self.month_anchor(date.year(), date.month());
        let mut day = date.with_day(1).unwrap_or(date);
        while day < date {
            for index in 0..entries_per_day {
                let mut rng = self.entry_rng(day, index);
                let (kind, units) = draw_kind_and_amount(&mut rng);
                balance += kind.direction.apply(self.amount(units));
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        balance
    }

    fn entry_rng(&self, date: NaiveDate, index: usize) -> SplitMix64 {
        SplitMix64::from_parts(&[
            self.seed,
            self.account_hash,
            5,
            date.num_days_from_ce() as u64,
            index as u64,
        ])
    }

    fn entries_for(&self, date: NaiveDate, entries_per_day: usize, opening: Amount) -> Vec<Entry> {
        let mut entries: Vec<Entry> = (0..entries_per_day)
            .map(|index| self.entry(date, index))
            .collect();
        let next = date.succ_opt();
        if let Some(next) = next.filter(|n| n.month() != date.month()) {
            let closing = opening + entries.iter().map(Entry::signed_amount).sum();
            let target = self.month_anchor(next.year(), next.month());
            let sweep = target - closing;
            if !sweep.is_zero() {
                entries.push(self.sweep_entry(date, entries_per_day, sweep));
            }
        }
        entries
    }

    fn bank_reference(&self, date: NaiveDate, index: usize) -> String {
        // 16 characters: the limit of the MT940 field 61 bank reference.
        format!(
            "{}{}{}",
            date.format("%y%m%d"),
            base36(index as u64, 6),
            base36(self.account_hash, 4)
        )
    }

    fn entry(&self, date: NaiveDate, index: usize) -> Entry {
        let mut rng = self.entry_rng(date, index);
        let (kind, units) = draw_kind_and_amount(&mut rng);
        let value_date = match rng.below(20) {
            0 | 1 => date.succ_opt().unwrap_or(date),
            2 => date.pred_opt().unwrap_or(date),
            _ => date,
        };
        let pick = rng.below(self.counterparties.len() as u64) as usize;
        let counterparty = self.counterparties.get(pick).cloned();
        let reference_no = rng.range(1, 99_999);
        let customer_no = rng.range(1, 999_999);
        let stamp = date.format("%m/%Y").to_string();
        let (end_to_end_id, remittance) = match kind.proprietary {
            "NTRF+166" => {
                let e2e = (!rng.percent(10)).then(|| format!("E2E{}", rng.string(ALNUM, 16)));
                let text = match rng.below(4) {
                    0 => format!(
                        "Rechnung RE-{}-{reference_no:05} Kunde {customer_no:06}",
                        date.year()
                    ),
                    1 => format!(
                        "Invoice INV{reference_no:07} dated {}",
                        date.format("%d.%m.%Y")
                    ),
                    2 => format!("Zahlung Auftrag {customer_no:08}"),
                    _ => format!("Teilzahlung RE-{}-{reference_no:05}", date.year()),
                };
                (e2e, text)
            }
            "NTRF+116" => {
                let e2e = Some(format!("PAY-{}-{index:06}", date.format("%Y%m%d")));
                let text = match rng.below(4) {
                    0 => format!("Lieferantenrechnung {reference_no:08}"),
                    1 => format!("Miete {stamp} Objekt {:03}", customer_no % 1000),
                    2 => format!("Gehalt {stamp} PersNr {:05}", customer_no % 100_000),
                    _ => format!("Bestellung PO-{reference_no:07}"),
                };
                (e2e, text)
            }
            "NDDT+105" => {
                let e2e = Some(format!("DD-{customer_no:08}-{}", date.format("%m%y")));
                let text = match rng.below(3) {
                    0 => format!("Beitrag {stamp} Vertrag {customer_no:08}"),
                    1 => format!("Leasingrate {stamp} Vertrag LV-{customer_no:06}"),
                    _ => format!("Energieabschlag {stamp}"),
                };
                (e2e, text)
            }
            "NDDT+171" => {
                let e2e = Some(format!("COLL-{customer_no:07}-{}", date.format("%y%m")));
                let text = match rng.below(2) {
                    0 => format!("Abo {stamp} Kundennr {customer_no:07}"),
                    _ => format!("Mitgliedsbeitrag {} Mitglied {customer_no:06}", date.year()),
                };
                (e2e, text)
            }
            _ => {
                let text = match rng.below(3) {
                    0 => format!("Kontofuehrung {stamp}"),
                    1 => "Entgelt Auslandszahlung".to_string(),
                    _ => format!("Postenentgelt {}", date.format("%d.%m.")),
                };
                (None, text)
            }
        };
        self.make_entry(
            date,
            value_date,
            kind,
            kind.direction,
            self.amount(units),
            self.bank_reference(date, index),
            end_to_end_id,
            counterparty.filter(|_| kind.has_counterparty),
            remittance,
        )
    }

    fn sweep_entry(&self, date: NaiveDate, index: usize, signed: Amount) -> Entry {
        let direction = if signed.is_negative() {
            CreditDebit::Debit
        } else {
            CreditDebit::Credit
        };
        self.make_entry(
            date,
            date,
            SWEEP,
            direction,
            signed.abs(),
            self.bank_reference(date, index),
            None,
            self.pool_leader.clone(),
            format!("Cash-Pool Saldenausgleich {}", date.format("%m/%Y")),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn make_entry(
        &self,
        date: NaiveDate,
        value_date: NaiveDate,
        kind: Kind,
        direction: CreditDebit,
        amount: Amount,
        bank_reference: String,
        end_to_end_id: Option<String>,
        counterparty: Option<Counterparty>,
        remittance: String,
    ) -> Entry {
        let (name, iban, bic) = match counterparty {
            Some(c) => (Some(c.name), Some(c.iban), Some(c.bic)),
            None => (None, None, None),
        };
        Entry {
            booking_date: Some(date),
            value_date: Some(value_date),
            amount,
            currency: self.account.currency,
            credit_debit: direction,
            reversal: false,
            status: EntryStatus::Booked,
            bank_reference: Some(bank_reference),
            end_to_end_id,
            counterparty_name: name,
            counterparty_iban: iban,
            counterparty_bic: bic,
            remittance: Some(remittance),
            bank_transaction_code: Some(BankTransactionCode::new(
                kind.btc.0, kind.btc.1, kind.btc.2,
            )),
            proprietary_code: Some(kind.proprietary.to_string()),
            additional_info: Some(kind.posting_text.to_string()),
        }
    }
}

/// The first draws of every entry: its kind and amount. Kept separate so balances can be
/// computed without building whole entries.
fn draw_kind_and_amount(rng: &mut SplitMix64) -> (Kind, u64) {
    let total: u64 = KINDS.iter().map(|k| k.weight).sum();
    let mut roll = rng.below(total);
    let mut kind = KINDS[0];
    for candidate in KINDS {
        if roll < candidate.weight {
            kind = *candidate;
            break;
        }
        roll -= candidate.weight;
    }
    // Roughly log-uniform: pick a decade, then a value within it.
    let mut decades = Vec::new();
    let mut low = kind.min;
    while low < kind.max {
        decades.push((low, (low * 10).min(kind.max)));
        low *= 10;
    }
    let (lo, hi) = *rng.pick(&decades);
    (kind, rng.range(lo, hi))
}

fn random_counterparty(rng: &mut SplitMix64) -> Option<Counterparty> {
    let (country, forms, shape) = *rng.pick(COUNTRIES);
    let name = format!(
        "{} {} {}",
        rng.pick(NAME_WORDS),
        rng.pick(TRADES),
        rng.pick(forms)
    );
    let bban: String = shape
        .bytes()
        .map(|c| {
            if c == b'A' {
                char::from(*rng.pick(UPPER))
            } else {
                char::from(*rng.pick(DIGITS))
            }
        })
        .collect();
    let iban = Iban::from_bban(country, &bban);
    let bic = Bic::parse(&format!(
        "{}{country}{}{}",
        rng.string(UPPER, 4),
        rng.string(ALNUM, 2),
        if rng.percent(50) { "XXX" } else { "" }
    ));
    // The shapes above always give valid values (a unit test checks the whole pool).
    Some(Counterparty {
        name,
        iban: iban.ok()?,
        bic: bic.ok()?,
    })
}

fn base36(mut value: u64, width: usize) -> String {
    let mut chars = vec![b'0'; width];
    for slot in chars.iter_mut().rev() {
        let digit = (value % 36) as usize;
        *slot = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit];
        value /= 36;
    }
    String::from_utf8(chars).unwrap_or_default()
}

/// Maps text to the SWIFT `x` character set (letters, digits, space and `/-?:().,'+`, minus `?`
/// which MT940 field 86 uses as separator). German umlauts are transliterated.
pub(crate) fn swift_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'a'..='z'
            | 'A'..='Z'
            | '0'..='9'
            | ' '
            | '/'
            | '-'
            | ':'
            | '('
            | ')'
            | '.'
            | ','
            | '\''
            | '+' => out.push(c),
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            '&' => out.push('+'),
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push('.'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountInfo {
        AccountInfo {
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            bic: Bic::parse("COBADEFFXXX").unwrap(),
            currency: Currency::EUR,
            holder: "Muster Treasury GmbH".into(),
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn same_seed_gives_identical_ledger_and_other_seed_differs() {
        let a = Ledger::generate(7, account(), date(2024, 1, 1), date(2024, 1, 10), 5).unwrap();
        let b = Ledger::generate(7, account(), date(2024, 1, 1), date(2024, 1, 10), 5).unwrap();
        let c = Ledger::generate(8, account(), date(2024, 1, 1), date(2024, 1, 10), 5).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn every_day_closes_at_opening_plus_entries_and_next_day_opens_there() {
        let ledger =
            Ledger::generate(1, account(), date(2024, 1, 20), date(2024, 3, 5), 7).unwrap();
        let mut previous_closing = None;
        for day in ledger.days() {
            let sum: Amount = day.entries().iter().map(Entry::signed_amount).sum();
            assert_eq!(day.opening_balance() + sum, day.closing_balance());
            if let Some(prev) = previous_closing {
                assert_eq!(day.opening_balance(), prev);
            }
            previous_closing = Some(day.closing_balance());
        }
    }

    #[test]
    fn overlapping_periods_agree_on_shared_days_including_balances() {
        let a = Ledger::generate(3, account(), date(2024, 1, 25), date(2024, 2, 10), 4).unwrap();
        let b = Ledger::generate(3, account(), date(2024, 2, 5), date(2024, 2, 20), 4).unwrap();
        for d in 5..=10 {
            assert_eq!(a.day(date(2024, 2, d)), b.day(date(2024, 2, d)));
        }
    }

    #[test]
    fn month_end_sweep_reaches_next_month_anchor() {
        let ledger =
            Ledger::generate(5, account(), date(2024, 1, 30), date(2024, 2, 1), 3).unwrap();
        let jan31 = ledger.day(date(2024, 1, 31)).unwrap();
        let last = jan31.entries().last().unwrap();
        assert_eq!(
            last.bank_transaction_code,
            Some(BankTransactionCode::new("CAMT", "ACCB", "SWEP"))
        );
        assert_eq!(jan31.entries().len(), 4);
        assert_eq!(ledger.day(date(2024, 1, 30)).unwrap().entries().len(), 3);
    }

    #[test]
    fn references_are_unique_and_fit_mt940() {
        let ledger =
            Ledger::generate(9, account(), date(2024, 5, 1), date(2024, 5, 31), 50).unwrap();
        let mut refs: Vec<&str> = ledger
            .entries()
            .map(|e| e.bank_reference.as_deref().unwrap())
            .collect();
        assert!(refs.iter().all(|r| r.len() == 16));
        let total = refs.len();
        refs.sort_unstable();
        refs.dedup();
        assert_eq!(refs.len(), total);
    }

    #[test]
    fn generated_text_is_swift_safe() {
        let ledger =
            Ledger::generate(11, account(), date(2024, 6, 1), date(2024, 6, 30), 20).unwrap();
        for e in ledger.entries() {
            for text in [&e.counterparty_name, &e.remittance, &e.end_to_end_id]
                .into_iter()
                .flatten()
            {
                assert_eq!(&swift_safe(text), text);
            }
            assert!(e.amount.is_positive());
        }
    }

    #[test]
    fn counterparty_shapes_always_yield_valid_accounts() {
        let acct = account();
        for seed in 0..50 {
            let generator = Generator::new(seed, &acct);
            assert_eq!(generator.counterparties.len() as u64, COUNTERPARTY_POOL);
            assert!(generator.pool_leader.is_some());
        }
    }

    #[test]
    fn invalid_periods_are_rejected() {
        assert!(matches!(
            Ledger::generate(1, account(), date(2024, 2, 1), date(2024, 1, 1), 1),
            Err(LedgerError::InvalidPeriod { .. })
        ));
        assert!(matches!(
            Ledger::generate(1, account(), date(2000, 1, 1), date(2024, 1, 1), 1),
            Err(LedgerError::PeriodTooLong { .. })
        ));
    }

    #[test]
    fn from_days_requires_consecutive_days_and_account_currency() {
        let ledger = Ledger::generate(2, account(), date(2024, 1, 1), date(2024, 1, 2), 2).unwrap();
        let day1 = ledger.days()[0].entries().to_vec();
        let ok = Ledger::from_days(
            account(),
            Amount::ZERO,
            vec![(date(2024, 1, 1), day1.clone()), (date(2024, 1, 2), vec![])],
        )
        .unwrap();
        assert_eq!(
            ok.days()[1].opening_balance(),
            ok.days()[0].closing_balance()
        );
        assert!(matches!(
            Ledger::from_days(
                account(),
                Amount::ZERO,
                vec![(date(2024, 1, 1), vec![]), (date(2024, 1, 3), vec![])]
            ),
            Err(LedgerError::DaysNotConsecutive { .. })
        ));
        let mut usd = day1[0].clone();
        usd.currency = Currency::USD;
        assert!(matches!(
            Ledger::from_days(account(), Amount::ZERO, vec![(date(2024, 1, 1), vec![usd])]),
            Err(LedgerError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            Ledger::from_days(account(), Amount::ZERO, vec![]),
            Err(LedgerError::NoDays)
        );
    }
}
