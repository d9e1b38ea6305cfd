//! One valid document for every reader of the crate, and a way to feed bytes to that reader:
//! the starting points of the fuzz and hostile-input tests.

use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::status_report::{
    self, OrderStatus, OrderStatusEntry, StatusReport, TransactionStatusEntry,
};
use kontor_documents::{pain, Amount, Currency, Iban, ReadError, XmlError};

use super::{account, date, datetime, ledger};

/// The readers that take documents from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// pain.001 / pain.008 (`pain::parse_bytes`).
    Pain,
    /// camt.052 / 053 / 054 (`camt::parse_bytes`).
    Camt,
    /// MT940 (`mt940::parse_bytes`).
    Mt940,
    /// pain.002 (`status_report::parse_bytes`).
    StatusReport,
}

impl Reader {
    pub const ALL: [Reader; 4] = [
        Reader::Pain,
        Reader::Camt,
        Reader::Mt940,
        Reader::StatusReport,
    ];

    /// Reads `bytes` with this reader: `Ok(())` or the reader's typed error, as text.
    pub fn read(self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Reader::Pain => outcome(pain::parse_bytes(bytes)),
            Reader::Camt => outcome(camt::parse_bytes(bytes)),
            Reader::Mt940 => outcome(mt940::parse_bytes(bytes)),
            Reader::StatusReport => outcome(status_report::parse_bytes(bytes)),
        }
    }

    /// The XML reading error behind this reader's error, if that is what it failed on.
    pub fn read_error(self, bytes: &[u8]) -> Option<ReadError> {
        let xml = match self {
            Reader::Pain => match pain::parse_bytes(bytes) {
                Err(pain::PainError::Xml(e)) => e,
                _ => return None,
            },
            Reader::Camt => camt::parse_bytes(bytes).err()?,
            Reader::Mt940 => return None,
            Reader::StatusReport => match status_report::parse_bytes(bytes) {
                Err(status_report::StatusReportError::Xml(e)) => e,
                _ => return None,
            },
        };
        match xml {
            XmlError::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// A valid document and the reader it is for.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: &'static str,
    pub reader: Reader,
    pub bytes: Vec<u8>,
}

/// One sample per pain version, per camt kind, MT940 and pain.002.
pub fn all_samples() -> Vec<Sample> {
    let ledger = ledger(77, date(2024, 1, 31), date(2024, 2, 1), 3);
    let mut samples = Vec::new();
    for version in pain::PainVersion::ALL {
        samples.push(Sample {
            name: version.namespace(),
            reader: Reader::Pain,
            bytes: pain::build(&sample_order(version)).unwrap().into_bytes(),
        });
    }
    for kind in [CamtKind::Camt052, CamtKind::Camt053, CamtKind::Camt054] {
        let request = StatementRequest::new(kind, "M", datetime(2024, 2, 2, 6, 0));
        samples.push(Sample {
            name: kind.message_name(),
            reader: Reader::Camt,
            bytes: camt::generate(&ledger, &request).into_bytes(),
        });
    }
    samples.push(Sample {
        name: "MT940",
        reader: Reader::Mt940,
        bytes: mt940::generate(&ledger, &Mt940Request::new("STARTUMS")).into_bytes(),
    });
    samples.push(Sample {
        name: "pain.002",
        reader: Reader::StatusReport,
        bytes: status_report::build(&sample_status_report()).into_bytes(),
    });
    samples
}

pub fn sample_order(version: pain::PainVersion) -> pain::PaymentOrder {
    let dd = version.kind() == pain::PaymentKind::DirectDebit;
    let party = pain::AccountParty::new("Muster GmbH", account().iban, Some(account().bic));
    let tx = |n: u32| pain::Transaction {
        end_to_end_id: format!("E2E-{n}"),
        instruction_id: None,
        amount: Amount::from_minor_units(1000 + i64::from(n), 2),
        currency: Currency::EUR,
        counterparty: pain::AccountParty::new(
            "Gegenpartei",
            Iban::parse("AT611904300234573201").unwrap(),
            None,
        ),
        mandate: dd.then(|| pain::Mandate {
            id: format!("M-{n}"),
            signature_date: date(2023, 1, 1),
        }),
        remittance: Some("Rechnung & Co <1>".into()),
    };
    pain::PaymentOrder {
        version,
        message_id: "MSG-1".into(),
        created: datetime(2024, 1, 1, 12, 0),
        initiating_party: Some("Muster GmbH".into()),
        payment_infos: vec![pain::PaymentInfo {
            id: "P-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: dd.then(|| "CORE".to_string()),
            sequence_type: dd.then_some(pain::SequenceType::First),
            category_purpose: None,
            requested_date: date(2024, 1, 3),
            account: party,
            creditor_scheme_id: dd.then(|| "DE98ZZZ09999999999".to_string()),
            charge_bearer: Some("SLEV".into()),
            transactions: (1..=3).map(tx).collect(),
        }],
    }
}

pub fn sample_status_report() -> StatusReport {
    StatusReport {
        message_id: "HAC-P1-0003".into(),
        created: datetime(2026, 11, 23, 12, 0),
        initiating_party: Some("Kontor Emulator Bank".into()),
        original_message_id: "HAC".into(),
        original_message_name: "pain.002".into(),
        orders: vec![
            OrderStatusEntry {
                order_id: "A001".into(),
                order_type: Some("CCT".into()),
                status: OrderStatus::Accepted,
                reason_code: None,
                reason_text: Some("Order type CCT, order id A001: accepted".into()),
                timestamp: Some(datetime(2026, 11, 23, 9, 30)),
                transactions: vec![],
            },
            OrderStatusEntry {
                order_id: "A002".into(),
                order_type: Some("CCT".into()),
                status: OrderStatus::Rejected,
                reason_code: Some("AM04".into()),
                reason_text: Some("insufficient funds".into()),
                timestamp: None,
                transactions: vec![
                    TransactionStatusEntry {
                        end_to_end_id: "E2E-1".into(),
                        status: OrderStatus::Accepted,
                        reason_code: None,
                    },
                    TransactionStatusEntry {
                        end_to_end_id: "E2E-2".into(),
                        status: OrderStatus::Rejected,
                        reason_code: Some("AC04".into()),
                    },
                ],
            },
        ],
    }
}

/// A reader's result with its error as text.
fn outcome<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), String> {
    result.map(drop).map_err(|e| e.to_string())
}
