//! ISO 20022 customer payment initiation: pain.001 (credit transfers) and pain.008 (direct
//! debits).
//!
//! [`parse`] reads pain.001.001.03 / .001.09 (and the German pain.001.003.03) and
//! pain.008.001.02 / .001.08 (and pain.008.003.02) into a [`PaymentOrder`] and only returns
//! it when it is consistent: declared `NbOfTxs`/`CtrlSum` match the transactions, IBANs and BICs
//! are valid, amounts are positive with no more decimals than the currency allows.
//! [`build`] writes a [`PaymentOrder`] in the version it names, after the same validation, so
//! `parse(build(order)) == order`.

mod build;
pub mod calendar;
mod parse;
pub mod request;
mod validate;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub use build::build;
pub use parse::{parse, parse_bytes};

use crate::amount::{Amount, AmountError};
use crate::bic::Bic;
use crate::currency::Currency;
use crate::iban::Iban;
use crate::xml::reader::XmlError;

/// Credit transfer or direct debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum PaymentKind {
    /// pain.001 — money leaves the ordering account.
    CreditTransfer,
    /// pain.008 — money is collected into the ordering account.
    DirectDebit,
}

/// Supported message versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum PainVersion {
    Pain001_001_03,
    Pain001_001_09,
    /// German DK variant of .001.03 (same structure).
    Pain001_003_03,
    Pain008_001_02,
    Pain008_001_08,
    /// German DK variant of .001.02 (same structure).
    Pain008_003_02,
}

impl PainVersion {
    pub const ALL: [PainVersion; 6] = [
        PainVersion::Pain001_001_03,
        PainVersion::Pain001_001_09,
        PainVersion::Pain001_003_03,
        PainVersion::Pain008_001_02,
        PainVersion::Pain008_001_08,
        PainVersion::Pain008_003_02,
    ];

    pub fn namespace(&self) -> &'static str {
        match self {
            PainVersion::Pain001_001_03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
            PainVersion::Pain001_001_09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
            PainVersion::Pain001_003_03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.003.03",
            PainVersion::Pain008_001_02 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02",
            PainVersion::Pain008_001_08 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08",
            PainVersion::Pain008_003_02 => "urn:iso:std:iso:20022:tech:xsd:pain.008.003.02",
        }
    }

    pub fn from_namespace(namespace: &str) -> Option<PainVersion> {
        PainVersion::ALL
            .into_iter()
            .find(|v| v.namespace() == namespace)
    }

    pub fn kind(&self) -> PaymentKind {
        match self {
            PainVersion::Pain001_001_03
            | PainVersion::Pain001_001_09
            | PainVersion::Pain001_003_03 => PaymentKind::CreditTransfer,
            PainVersion::Pain008_001_02
            | PainVersion::Pain008_001_08
            | PainVersion::Pain008_003_02 => PaymentKind::DirectDebit,
        }
    }

    /// Newer versions name the BIC element `BICFI` (older: `BIC`).
    pub(crate) fn bic_element(&self) -> &'static str {
        match self {
            PainVersion::Pain001_001_09 | PainVersion::Pain008_001_08 => "BICFI",
            _ => "BIC",
        }
    }

    /// pain.001.001.09 wraps the execution date in `DateAndDateTime2Choice` (`<Dt>`).
    pub(crate) fn execution_date_is_choice(&self) -> bool {
        matches!(self, PainVersion::Pain001_001_09)
    }

    pub(crate) fn message_element(&self) -> &'static str {
        match self.kind() {
            PaymentKind::CreditTransfer => "CstmrCdtTrfInitn",
            PaymentKind::DirectDebit => "CstmrDrctDbtInitn",
        }
    }

    pub(crate) fn transaction_element(&self) -> &'static str {
        match self.kind() {
            PaymentKind::CreditTransfer => "CdtTrfTxInf",
            PaymentKind::DirectDebit => "DrctDbtTxInf",
        }
    }
}

/// SEPA direct debit sequence type (`SeqTp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum SequenceType {
    /// FRST
    First,
    /// RCUR
    Recurring,
    /// OOFF
    OneOff,
    /// FNAL
    Final,
}

impl SequenceType {
    pub fn code(&self) -> &'static str {
        match self {
            SequenceType::First => "FRST",
            SequenceType::Recurring => "RCUR",
            SequenceType::OneOff => "OOFF",
            SequenceType::Final => "FNAL",
        }
    }

    pub fn from_code(code: &str) -> Option<SequenceType> {
        match code {
            "FRST" => Some(SequenceType::First),
            "RCUR" => Some(SequenceType::Recurring),
            "OOFF" => Some(SequenceType::OneOff),
            "FNAL" => Some(SequenceType::Final),
            _ => None,
        }
    }
}

/// A party with its account: name, IBAN and (optional) BIC of its bank.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct AccountParty {
    pub name: String,
    pub iban: Iban,
    pub bic: Option<Bic>,
}

impl AccountParty {
    pub fn new(name: &str, iban: Iban, bic: Option<Bic>) -> AccountParty {
        AccountParty {
            name: name.to_string(),
            iban,
            bic,
        }
    }
}

/// SEPA mandate reference of a direct debit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Mandate {
    pub id: String,
    pub signature_date: NaiveDate,
}

/// One transaction (`CdtTrfTxInf` / `DrctDbtTxInf`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Transaction {
    pub end_to_end_id: String,
    pub instruction_id: Option<String>,
    /// Instructed amount, positive.
    pub amount: Amount,
    pub currency: Currency,
    /// The creditor of a credit transfer, the debtor of a direct debit.
    pub counterparty: AccountParty,
    /// Direct debits only.
    pub mandate: Option<Mandate>,
    /// Unstructured remittance information (at most 140 characters).
    pub remittance: Option<String>,
}

/// One payment information block (`PmtInf`): transactions sharing account and date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PaymentInfo {
    pub id: String,
    pub batch_booking: Option<bool>,
    /// `PmtTpInf/SvcLvl/Cd`, usually `SEPA`.
    pub service_level: Option<String>,
    /// `PmtTpInf/LclInstrm/Cd`: `CORE`/`B2B` for direct debits, `INST` for instant transfers.
    pub local_instrument: Option<String>,
    /// Direct debits only (required there).
    pub sequence_type: Option<SequenceType>,
    /// `PmtTpInf/CtgyPurp/Cd`, e.g. `SALA`.
    pub category_purpose: Option<String>,
    /// Requested execution date (credit transfer) or collection date (direct debit).
    pub requested_date: NaiveDate,
    /// The ordering party: the debtor of a credit transfer, the creditor of a direct debit.
    pub account: AccountParty,
    /// Creditor scheme identification; direct debits only (required there).
    pub creditor_scheme_id: Option<String>,
    /// `ChrgBr`, e.g. `SLEV`.
    pub charge_bearer: Option<String>,
    pub transactions: Vec<Transaction>,
}

/// A whole pain.001 or pain.008 message.
///
/// `NbOfTxs` and `CtrlSum` are not stored: a parsed order has been checked against them and
/// [`build`] computes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PaymentOrder {
    pub version: PainVersion,
    pub message_id: String,
    /// `CreDtTm` wall-clock time as written (a zone suffix is accepted and dropped).
    pub created: NaiveDateTime,
    pub initiating_party: Option<String>,
    pub payment_infos: Vec<PaymentInfo>,
}

/// What a person approving a payment order needs to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PaymentSummary {
    pub kind: PaymentKind,
    pub number_of_transactions: usize,
    /// Sum of all amounts regardless of currency, as in `CtrlSum`.
    pub control_sum: Amount,
    pub totals: BTreeMap<Currency, Amount>,
    /// Distinct creditor names in order of appearance (payees of transfers; the ordering party
    /// of direct debits).
    pub creditor_names: Vec<String>,
    /// Distinct debtor IBANs in order of appearance (the ordering account of transfers; the
    /// payers of direct debits).
    pub debtor_accounts: Vec<Iban>,
    /// Distinct requested execution/collection dates, ascending.
    pub requested_dates: Vec<NaiveDate>,
}

impl PaymentOrder {
    pub fn kind(&self) -> PaymentKind {
        self.version.kind()
    }

    pub fn transactions(&self) -> impl Iterator<Item = &Transaction> {
        self.payment_infos
            .iter()
            .flat_map(|p| p.transactions.iter())
    }

    pub fn number_of_transactions(&self) -> usize {
        self.payment_infos
            .iter()
            .map(|p| p.transactions.len())
            .sum()
    }

    /// Sum of all instructed amounts regardless of currency (`CtrlSum`).
    pub fn control_sum(&self) -> Amount {
        self.transactions().map(|t| t.amount).sum()
    }

    /// Checks everything [`parse`] checks apart from declared counts and sums.
    pub fn validate(&self) -> Result<(), PainError> {
        validate::validate(self)
    }

    /// What a signer sees: totals per currency, the counterparties in the order of their first
    /// appearance, the requested dates sorted. Linear in the transfers: a bulk file may hold
    /// hundreds of thousands, so no look-up here may walk the list built so far.
    pub fn summary(&self) -> PaymentSummary {
        let mut totals: BTreeMap<Currency, Amount> = BTreeMap::new();
        let mut creditor_names: Vec<String> = Vec::new();
        let mut debtor_accounts: Vec<Iban> = Vec::new();
        let mut requested_dates: BTreeSet<NaiveDate> = BTreeSet::new();
        let mut names_seen: HashSet<&str> = HashSet::new();
        let mut accounts_seen: HashSet<&Iban> = HashSet::new();
        let mut add_name = |name| {
            if names_seen.insert(name) {
                creditor_names.push(String::from(name));
            }
        };
        let mut add_account = |iban| {
            if accounts_seen.insert(iban) {
                debtor_accounts.push(Iban::clone(iban));
            }
        };
        for info in &self.payment_infos {
            requested_dates.insert(info.requested_date);
            if self.kind() == PaymentKind::CreditTransfer {
                add_account(&info.account.iban);
            } else {
                add_name(&info.account.name);
            }
            for tx in &info.transactions {
                *totals.entry(tx.currency).or_insert(Amount::ZERO) += tx.amount;
                if self.kind() == PaymentKind::CreditTransfer {
                    add_name(&tx.counterparty.name);
                } else {
                    add_account(&tx.counterparty.iban);
                }
            }
        }
        PaymentSummary {
            kind: self.kind(),
            number_of_transactions: self.number_of_transactions(),
            control_sum: self.control_sum(),
            totals,
            creditor_names,
            debtor_accounts,
            requested_dates: requested_dates.into_iter().collect(),
        }
    }
}

/// Why a payment order is unreadable or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PainError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("{scope}: NbOfTxs declares {declared} transactions, but there are {actual}")]
    TransactionCountMismatch {
        scope: String,
        declared: u64,
        actual: u64,
    },
    #[error("{scope}: CtrlSum declares {declared}, but the transactions add up to {actual}")]
    ControlSumMismatch {
        scope: String,
        declared: Amount,
        actual: Amount,
    },
    #[error("{location}: {source}")]
    InvalidAmount {
        location: String,
        source: AmountError,
    },
    #[error("{location}: {field} must have 1 to {max} characters, it has {actual}")]
    InvalidLength {
        location: String,
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("{location}: {field} contains characters that XML does not allow")]
    InvalidCharacters {
        location: String,
        field: &'static str,
    },
    #[error("{location}: {field} is required in a direct debit")]
    MissingDirectDebitField {
        location: String,
        field: &'static str,
    },
    #[error("{location}: {field} is only allowed in a direct debit")]
    UnexpectedDirectDebitField {
        location: String,
        field: &'static str,
    },
    #[error("{location}: {value:?} is not a valid {field}")]
    InvalidCode {
        location: String,
        field: &'static str,
        value: String,
    },
    #[error("the payment order contains no payment information")]
    NoPaymentInfos,
    #[error("{location}: the payment information contains no transactions")]
    NoTransactions { location: String },
}
