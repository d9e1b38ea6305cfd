//! Hostile nesting gets a typed error from every XML reader, quickly and without touching the
//! stack limit (issue #10: 22 KB of pain.001 nested 3 000 levels deep aborted the daemon);
//! real documents with deep but sane extensions still parse.

use kontor_documents::{camt, pain, status_report, Limit, ReadError, DOCUMENT_LIMITS};

use crate::support::hostile::nested_at;
use crate::support::samples::{all_samples, Reader, Sample};

const HOSTILE_DEPTH: usize = 100_000;

fn depth_exceeded() -> Option<ReadError> {
    Some(ReadError::LimitExceeded {
        what: Limit::Depth,
        limit: DOCUMENT_LIMITS.depth as u64,
    })
}

fn xml_samples() -> Vec<Sample> {
    all_samples()
        .into_iter()
        .filter(|s| s.reader != Reader::Mt940)
        .collect()
}

/// The sample with `depth` levels of `element` inserted right after the first start tag that
/// begins with `after`.
fn nested(sample: &Sample, after: &str, element: &str, depth: usize) -> Vec<u8> {
    let text = std::str::from_utf8(&sample.bytes).unwrap();
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {}", sample.name));
    let at = start + text[start..].find('>').unwrap() + 1;
    nested_at(text, at, element, depth)
}

#[test]
fn every_xml_reader_refuses_a_document_nested_100_000_levels_deep() {
    for sample in xml_samples() {
        for (after, element) in [("<Document", "Document"), ("<GrpHdr", "MsgId")] {
            let hostile = nested(&sample, after, element, HOSTILE_DEPTH);
            assert_eq!(
                sample.reader.read_error(&hostile),
                depth_exceeded(),
                "{} nested after {after}",
                sample.name
            );
        }
    }
}

#[test]
fn a_bare_deeply_nested_document_is_refused_with_a_message_naming_the_limit() {
    let body = format!(
        "{}{}",
        "<CstmrCdtTrfInitn>".repeat(HOSTILE_DEPTH),
        "</CstmrCdtTrfInitn>".repeat(HOSTILE_DEPTH)
    );
    let doc = |ns: &str| {
        format!("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:{ns}\">{body}</Document>")
    };
    let message = "XML element nesting depth exceeds the limit of 256";
    let pain = pain::parse(&doc("pain.001.001.03")).unwrap_err();
    assert_eq!(pain.to_string(), message);
    let camt = camt::parse(&doc("camt.053.001.02")).unwrap_err();
    assert_eq!(camt.to_string(), message);
    let report = status_report::parse(&doc("pain.002.001.03")).unwrap_err();
    assert_eq!(report.to_string(), message);
    // Unclosed: refused by depth before the missing end tags are noticed.
    let unclosed = "<Document>".repeat(HOSTILE_DEPTH);
    assert_eq!(camt::parse(&unclosed).unwrap_err().to_string(), message);
}

#[test]
fn documents_with_unknown_extensions_nested_within_the_limit_still_parse() {
    // Banks add proprietary blocks; 200 levels is far deeper than any of them.
    for sample in xml_samples() {
        let extended = nested(&sample, "<GrpHdr", "Xtnsn", 200);
        assert_eq!(sample.reader.read(&extended), Ok(()), "{}", sample.name);
    }
}
