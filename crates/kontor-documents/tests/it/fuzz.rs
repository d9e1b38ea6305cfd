//! No document reader panics on arbitrary or mutated input: every call ends in `Ok` or the
//! reader's typed error (the stable-toolchain counterpart of the cargo-fuzz targets in
//! `fuzz/`). Covers pain.001/008, camt.052/053/054, MT940 and pain.002.

use std::sync::OnceLock;

use kontor_documents::{Limit, ReadError, DOCUMENT_LIMITS};
use proptest::prelude::*;

use crate::support::hostile::{mutated, mutation};
use crate::support::samples::{all_samples, Reader, Sample};

fn samples() -> &'static [Sample] {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(all_samples)
}

/// Feeds the bytes to every reader; an error must say something.
fn feed_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    for reader in Reader::ALL {
        if let Err(message) = reader.read(bytes) {
            prop_assert!(!message.is_empty(), "{reader:?} failed without a message");
        }
    }
    Ok(())
}

/// Token-level edits that keep documents mostly well-formed, so mutations reach past the XML
/// parser into the document readers.
const TOKENS: &[(&str, &str)] = &[
    ("EUR", "XXX"),
    ("EUR", "eur"),
    ("CRDT", "DBIT"),
    ("BOOK", "PDNG"),
    ("DE89", "DE00"),
    ("2024-", "2024/"),
    ("-01", "-32"),
    (">1<", ">0<"),
    (">3<", ">99999999999999999999<"),
    (".01<", ".011<"),
    ("</", "<"),
    ("/>", ">"),
    ("Ccy=\"", "Ccy=\"&amp;"),
    ("001.", "002."),
    ("xmlns", "xmlnx"),
    ("<Ntry>", "<Ntry><Ntry>"),
    ("<TxDtls>", "<TxDtls/><TxDtls>"),
    ("OrgnlPmtInfId", "OrgnlPmtInfIdX"),
    ("RJCT", "ACCP"),
    (":61:", ":62:"),
    (":60F:", ":60M:"),
    (":86:", ""),
    ("\r\n", "\n"),
    ("C", ""),
    ("<?xml", "<!DOCTYPE d [<!ENTITY a \"b\">]><?xml"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic_any_reader(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let sample = &samples()[index % samples().len()];
        let bytes = mutated(&sample.bytes, &mutations, TOKENS);
        feed_everything(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        feed_everything(&bytes)?;
    }

    #[test]
    fn arbitrary_text_after_a_document_prefix_never_panics(index in any::<usize>(), tail in ".{0,300}") {
        let sample = &samples()[index % samples().len()];
        let text = String::from_utf8_lossy(&sample.bytes);
        let cut = text.char_indices().nth(200).map_or(text.len(), |(i, _)| i);
        feed_everything(format!("{}{tail}", &text[..cut]).as_bytes())?;
    }

    /// Deep nesting spliced into the content of any XML sample (after any `>`) is refused by
    /// the depth limit before a tree is built.
    #[test]
    fn deep_nesting_in_any_document_is_a_depth_error(
        index in any::<usize>(),
        occurrence in any::<usize>(),
        depth in 257usize..3_000,
    ) {
        let xml: Vec<&Sample> = samples().iter().filter(|s| s.reader != Reader::Mt940).collect();
        let sample = xml[index % xml.len()];
        let text = std::str::from_utf8(&sample.bytes).unwrap();
        let ends: Vec<usize> = text.match_indices('>').map(|(i, _)| i + 1).collect();
        let at = ends[occurrence % ends.len()];
        let nested = format!(
            "{}{}{}{}",
            &text[..at],
            "<Ustrd>".repeat(depth),
            "</Ustrd>".repeat(depth),
            &text[at..]
        );
        prop_assert_eq!(
            sample.reader.read_error(nested.as_bytes()),
            Some(ReadError::LimitExceeded {
                what: Limit::Depth,
                limit: DOCUMENT_LIMITS.depth as u64,
            }),
            "{} at byte {}", sample.name, at
        );
    }
}

#[test]
fn unmutated_samples_are_read_by_their_own_reader() {
    // Makes sure the mutations start from documents that reach the deep reader paths.
    for sample in samples() {
        assert_eq!(sample.reader.read(&sample.bytes), Ok(()), "{}", sample.name);
    }
}
