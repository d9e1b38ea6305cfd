//! The size knob produces multi-MiB documents that still round-trip.

use kontor_documents::camt::{self, CamtKind};
use kontor_documents::mt940;
use kontor_documents::{ExportFormat, Ledger, Limit, Limits, ReadError, DOCUMENT_LIMITS};

use crate::support::{account, date};

const MIB: usize = 1024 * 1024;

/// A ledger generated for `size` bytes of `format` over June 2024 from `first` to `last`, and
/// its rendering.
fn sized(
    seed: u64,
    format: ExportFormat,
    (first, last): (u32, u32),
    size: usize,
) -> (Ledger, String) {
    let ledger = Ledger::generate_sized(
        seed,
        account(),
        date(2024, 6, first),
        date(2024, 6, last),
        format,
        size,
    )
    .unwrap();
    let text = format.render(&ledger);
    (ledger, text)
}

#[test]
fn sized_camt053_of_twelve_mib_is_close_to_target_and_parses_back() {
    let (ledger, xml) = sized(17, ExportFormat::Camt(CamtKind::Camt053), (3, 5), 12 * MIB);
    let size = xml.len();
    assert!(
        (11 * MIB..13 * MIB).contains(&size),
        "size {size} is not within 12 MiB ± 1 MiB"
    );
    let statements = camt::parse(&xml).unwrap();
    assert_eq!(statements.len(), 3);
    for (statement, day) in statements.iter().zip(ledger.days()) {
        assert_eq!(statement.entries.len(), day.entries().len());
        assert_eq!(statement.check_balances(), Ok(()));
        assert_eq!(
            statement.closing_balance().unwrap().amount,
            day.closing_balance()
        );
    }
}

/// Statements are bulk data: a camt.053 of tens of MiB has millions of XML nodes, far more than
/// the protocol default allows, and must still parse under the documents' own limits.
#[test]
fn camt053_of_fifty_six_mib_exceeds_the_protocol_node_limit_and_still_parses() {
    let (ledger, xml) = sized(19, ExportFormat::Camt(CamtKind::Camt053), (3, 7), 56 * MIB);
    assert!(xml.len() > 50 * MIB, "{}", xml.len());
    assert_eq!(
        kontor_xml::parse(&xml, &Limits::DEFAULT).unwrap_err(),
        ReadError::LimitExceeded {
            what: Limit::Nodes,
            limit: u64::from(Limits::DEFAULT.nodes)
        }
    );
    let nodes = kontor_xml::parse(&xml, &DOCUMENT_LIMITS)
        .unwrap()
        .descendants()
        .count();
    let statements = camt::parse(&xml).unwrap();
    let entries: usize = statements.iter().map(|s| s.entries.len()).sum();
    assert_eq!(entries, ledger.entry_count());
    println!(
        "camt.053 of {} bytes: {nodes} nodes, {entries} entries",
        xml.len()
    );
}

#[test]
fn sized_mt940_of_four_mib_is_close_to_target_and_parses_back() {
    let (ledger, text) = sized(18, ExportFormat::Mt940, (1, 2), 4 * MIB);
    assert!(
        (3 * MIB + MIB / 2..4 * MIB + MIB / 2).contains(&text.len()),
        "{}",
        text.len()
    );
    let statements = mt940::parse(&text).unwrap();
    let parsed: usize = statements.iter().map(|s| s.entries.len()).sum();
    assert_eq!(parsed, ledger.entry_count());
}

#[test]
fn tiny_targets_give_a_ledger_without_regular_entries() {
    let (ledger, _) = sized(1, ExportFormat::Camt(CamtKind::Camt054), (1, 2), 10);
    assert_eq!(ledger.entry_count(), 0);
}
