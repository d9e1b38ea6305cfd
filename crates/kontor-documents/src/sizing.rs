//! The size knob: ledgers whose exported document has roughly a requested size, so tests can ask
//! for multi-segment downloads of tens of MiB.

use chrono::NaiveDate;

use crate::camt::{self, CamtKind, StatementRequest};
use crate::ledger::{days_in_period, AccountInfo, Ledger, LedgerError};
use crate::mt940::{self, Mt940Request};

/// Entries used to measure the bytes one entry takes in a format.
const PROBE_ENTRIES: usize = 256;

/// A document format a ledger can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    Camt(CamtKind),
    Mt940,
}

impl ExportFormat {
    /// Renders a ledger with default request parameters (as used for size probing).
    pub fn render(&self, ledger: &Ledger) -> String {
        let created = ledger.from().and_hms_opt(0, 0, 0).unwrap_or_default();
        match self {
            ExportFormat::Camt(kind) => camt::generate(
                ledger,
                &StatementRequest::new(*kind, "KONTOR-GENERATED", created),
            ),
            ExportFormat::Mt940 => mt940::generate(ledger, &Mt940Request::new("STARTUMS")),
        }
    }
}

impl Ledger {
    /// Like [`Ledger::generate`], choosing `entries_per_day` so that the ledger rendered in
    /// `format` (with default request parameters) is about `target_bytes` long — typically
    /// within a few percent. Deterministic: same inputs, same ledger.
    pub fn generate_sized(
        seed: u64,
        account: AccountInfo,
        from: NaiveDate,
        to: NaiveDate,
        format: ExportFormat,
        target_bytes: usize,
    ) -> Result<Ledger, LedgerError> {
        let per_day = entries_per_day_for_size(seed, &account, from, to, format, target_bytes)?;
        Ledger::generate(seed, account, from, to, per_day)
    }
}

/// The `entries_per_day` that [`Ledger::generate_sized`] uses.
pub fn entries_per_day_for_size(
    seed: u64,
    account: &AccountInfo,
    from: NaiveDate,
    to: NaiveDate,
    format: ExportFormat,
    target_bytes: usize,
) -> Result<usize, LedgerError> {
    let days = days_in_period(from, to)? as usize;
    let empty = format
        .render(&Ledger::generate(seed, account.clone(), from, from, 0)?)
        .len();
    let probe = format
        .render(&Ledger::generate(
            seed,
            account.clone(),
            from,
            from,
            PROBE_ENTRIES,
        )?)
        .len();
    let per_entry = (probe.saturating_sub(empty) / PROBE_ENTRIES).max(1);
    let fixed = days.saturating_mul(empty);
    let variable = target_bytes.saturating_sub(fixed);
    Ok(variable.div_ceil(per_entry.saturating_mul(days)))
}
