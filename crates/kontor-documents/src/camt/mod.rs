//! ISO 20022 cash management reports: camt.052 (intraday account report), camt.053 (end-of-day
//! statement) and camt.054 (debit/credit notification).
//!
//! - [`generate`] writes version `.001.08` documents from a [`crate::Ledger`], one report per
//!   ledger day. Output is a pure function of ledger and request: same input, same bytes.
//! - [`parse`] reads versions `.001.02` to `.001.13` of all three messages (tested with `.02` and
//!   `.08`), with any namespace prefix, into [`crate::Statement`]s; [`CamtReader`] reads the same
//!   as a stream from any `BufRead`, in bounded batches.

mod generate;
mod parse;
mod stream;

pub use generate::generate;
pub use parse::{parse, parse_bytes};
pub use stream::CamtReader;

use chrono::NaiveDateTime;

/// Which camt message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CamtKind {
    /// camt.052 — `BkToCstmrAcctRpt` / `Rpt`.
    Camt052,
    /// camt.053 — `BkToCstmrStmt` / `Stmt`.
    Camt053,
    /// camt.054 — `BkToCstmrDbtCdtNtfctn` / `Ntfctn`.
    Camt054,
}

impl CamtKind {
    /// Message number as in the namespace (`camt.053`).
    pub fn message_name(&self) -> &'static str {
        match self {
            CamtKind::Camt052 => "camt.052",
            CamtKind::Camt053 => "camt.053",
            CamtKind::Camt054 => "camt.054",
        }
    }

    /// The message element under `Document` (`BkToCstmrStmt`).
    pub fn root_element(&self) -> &'static str {
        match self {
            CamtKind::Camt052 => "BkToCstmrAcctRpt",
            CamtKind::Camt053 => "BkToCstmrStmt",
            CamtKind::Camt054 => "BkToCstmrDbtCdtNtfctn",
        }
    }

    /// The element of one report, statement or notification (`Stmt`).
    pub fn report_element(&self) -> &'static str {
        match self {
            CamtKind::Camt052 => "Rpt",
            CamtKind::Camt053 => "Stmt",
            CamtKind::Camt054 => "Ntfctn",
        }
    }

    /// Namespace of the version this crate generates (`.001.08`).
    pub fn generated_namespace(&self) -> String {
        format!(
            "urn:iso:std:iso:20022:tech:xsd:{}.001.08",
            self.message_name()
        )
    }
}

/// How the opening balance of each generated statement is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OpeningBalanceType {
    /// `OPBD` dated on the statement day.
    #[default]
    OpeningBooked,
    /// `PRCD` (previous day's closing booked balance) dated on the previous day, as many German
    /// banks report it.
    PreviouslyClosedBooked,
}

/// Parameters of a generated camt document beyond the ledger itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRequest {
    pub kind: CamtKind,
    /// `GrpHdr/MsgId` (at most 35 characters; longer values are cut).
    pub message_id: String,
    /// `CreDtTm` of the message and of every report in it (no clock is read).
    pub created: NaiveDateTime,
    /// `ElctrncSeqNb` of the first ledger day; following days count up.
    pub first_sequence_number: u64,
    pub opening_balance: OpeningBalanceType,
}

impl StatementRequest {
    /// A request with sequence numbers starting at 1 and `OPBD` opening balances.
    pub fn new(kind: CamtKind, message_id: &str, created: NaiveDateTime) -> StatementRequest {
        StatementRequest {
            kind,
            message_id: message_id.to_string(),
            created,
            first_sequence_number: 1,
            opening_balance: OpeningBalanceType::OpeningBooked,
        }
    }
}
