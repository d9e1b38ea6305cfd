//! The streaming readers give what the whole-document parsers give, in bounded batches, under
//! the same reading policy.

use std::io::{BufReader, Read};

use kontor_documents::camt::{self, CamtKind, CamtReader, StatementRequest};
use kontor_documents::mt940::{self, Mt940Error, Mt940Reader, Mt940Request, Mt940StreamError};
use kontor_documents::{collect_statements, Limit, ReadError, Statement, StatementPart, XmlError};
use proptest::prelude::*;

use crate::support::{date, datetime, ledger};

const V02: &str = include_str!("../fixtures/camt053_v02_bank.xml");

/// Streams `xml` through a `BufReader` of `buffer` bytes (so events straddle refills).
fn streamed(xml: &[u8], batch: usize, buffer: usize) -> Result<Vec<Statement>, XmlError> {
    let reader = CamtReader::new(BufReader::with_capacity(buffer, xml))?.with_batch_size(batch);
    collect_statements(reader)
}

fn generated(kind: CamtKind, seed: u64, days: u32, per_day: usize) -> String {
    camt::generate(
        &ledger(seed, date(2024, 3, 1), date(2024, 3, days), per_day),
        &StatementRequest::new(kind, "M1", datetime(2024, 3, 9, 6, 0)),
    )
}

/// The same document with every element in prefix `n:` instead of the default namespace.
fn prefixed(xml: &str) -> String {
    xml.replace("</", "\u{0}")
        .replace('<', "<n:")
        .replace('\u{0}', "</n:")
        .replace("<n:?xml", "<?xml")
        .replace("xmlns=", "xmlns:n=")
}

#[test]
fn a_bank_statement_streams_like_it_parses() {
    let whole = camt::parse(V02).expect("fixture parses");
    for (batch, buffer) in [(1, 7), (2, 64), (1000, 8192)] {
        assert_eq!(streamed(V02.as_bytes(), batch, buffer), Ok(whole.clone()));
    }
}

#[test]
fn prefixes_entities_cdata_comments_and_crlf_read_like_the_tree() {
    let base = generated(CamtKind::Camt053, 3, 2, 4);
    let variants = [
        prefixed(&base),
        base.replace('\n', "\r\n"),
        base.replacen("<Ustrd>", "<Ustrd>A &amp; B &#x41;<![CDATA[ <raw> ]]>", 2),
        base.replacen("<Ustrd>", "<Ustrd><!-- note -->", 1),
        base.replacen("<Ustrd>", "<Ustrd><?pi x?>", 1),
        base.replacen(
            "<Amt Ccy=\"EUR\">",
            "<Amt Ccy=\"EUR\" xmlns:o=\"urn:o\" o:Ccy=\"USD\">",
            1,
        ),
    ];
    for xml in variants {
        let whole = camt::parse(&xml).expect("variant parses");
        assert_eq!(
            streamed(xml.as_bytes(), 3, 128),
            Ok(whole),
            "{}",
            &xml[..200]
        );
    }
}

#[test]
fn namespace_declarations_are_scoped_like_in_the_tree() {
    let base = generated(CamtKind::Camt053, 4, 2, 3);
    let ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";
    let variants = [
        // A default namespace redeclared on a child hides its subtree, up to its end tag only.
        base.replacen(
            "<AcctSvcrRef>",
            "<X xmlns=\"urn:other\"><AcctSvcrRef>hidden</AcctSvcrRef></X><AcctSvcrRef>",
            2,
        ),
        base.replacen("<AcctSvcrRef>", "<X xmlns=\"urn:other\"/><AcctSvcrRef>", 2),
        // A prefix declared on an entry's element and used below it.
        base.replacen(
            "<RmtInf>",
            &format!("<RmtInf xmlns:q=\"{ns}\"><q:Ustrd>prefixed</q:Ustrd>"),
            2,
        ),
        // The document namespace undeclared below the root: names there have none.
        base.replacen("<NtryDtls>", "<NtryDtls xmlns=\"\">", 1),
    ];
    for xml in variants {
        let whole = camt::parse(&xml).expect("variant parses");
        assert_eq!(streamed(xml.as_bytes(), 2, 97), Ok(whole), "{xml}");
    }
    let unbound = [
        // Undeclared, and used after the declaring element closed.
        base.replacen("<AcctSvcrRef>", "<q:X/><AcctSvcrRef>", 1),
        base.replacen(
            "<AcctSvcrRef>",
            &format!("<X xmlns:q=\"{ns}\"/><q:X/><AcctSvcrRef>"),
            1,
        ),
        // A prefix undeclared (`xmlns:q=""`, not allowed in Namespaces 1.0), used or not.
        base.replacen(
            "<AcctSvcrRef>",
            "<X xmlns:q=\"\"><q:X/></X><AcctSvcrRef>",
            1,
        ),
        base.replacen(
            "<RmtInf>",
            &format!("<RmtInf xmlns:q=\"{ns}\"><Y xmlns:q=\"\"/><q:Ustrd>x</q:Ustrd>"),
            1,
        ),
        base.replacen("<AcctSvcrRef>", "<X xmlns:q=\"\"/><AcctSvcrRef>", 1),
    ];
    for xml in unbound {
        assert!(
            matches!(
                camt::parse(&xml),
                Err(XmlError::Unreadable(ReadError::Malformed { .. }))
            ),
            "{xml}"
        );
        assert!(
            matches!(
                streamed(xml.as_bytes(), 2, 97),
                Err(XmlError::Unreadable(ReadError::Malformed { .. }))
            ),
            "{xml}"
        );
    }
}

#[test]
fn entries_arrive_in_bounded_batches_after_the_header() {
    let xml = generated(CamtKind::Camt053, 5, 3, 25);
    let reader = CamtReader::new(xml.as_bytes())
        .expect("root")
        .with_batch_size(10);
    let mut open = false;
    let mut batches = 0;
    for part in reader {
        match part.expect("valid document") {
            StatementPart::Begin(header) => {
                assert!(!open);
                assert!(
                    header.account.iban.is_some(),
                    "account known before entries"
                );
                assert!(header.entries.is_empty());
                open = true;
            }
            StatementPart::Entries(batch) => {
                assert!(open);
                assert!(!batch.is_empty() && batch.len() <= 10);
                batches += 1;
            }
            StatementPart::End(statement) => {
                assert!(open && statement.entries.is_empty());
                open = false;
            }
        }
    }
    assert_eq!(batches, 3 * 3, "25 entries a day in batches of 10");
}

/// Counts the bytes taken from the underlying input.
struct Counting<'a> {
    input: &'a [u8],
    taken: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.taken.set(self.taken.get() + n);
        Ok(n)
    }
}

#[test]
fn the_first_batch_comes_before_the_document_is_read() {
    let xml = generated(CamtKind::Camt053, 6, 1, 5000);
    let taken = std::rc::Rc::new(std::cell::Cell::new(0));
    let input = BufReader::with_capacity(
        8192,
        Counting {
            input: xml.as_bytes(),
            taken: taken.clone(),
        },
    );
    let mut reader = CamtReader::new(input).expect("root").with_batch_size(100);
    let mut first_batch = None;
    while let Some(part) = reader.next_part().expect("valid") {
        if let StatementPart::Entries(batch) = part {
            first_batch = Some(batch.len());
            break;
        }
    }
    assert_eq!(first_batch, Some(100));
    assert!(
        taken.get() < xml.len() / 10,
        "read {} of {}",
        taken.get(),
        xml.len()
    );
}

#[test]
fn the_reading_policy_applies_while_streaming() {
    let nested = format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">{}{}</Document>",
        "<Ntry>".repeat(100_000),
        "</Ntry>".repeat(100_000)
    );
    let depth = |r: Result<Vec<Statement>, XmlError>| {
        matches!(
            r,
            Err(XmlError::Unreadable(ReadError::LimitExceeded {
                what: Limit::Depth,
                ..
            }))
        )
    };
    assert!(depth(camt::parse(&nested)));
    assert!(depth(streamed(nested.as_bytes(), 10, 4096)));

    let dtd = format!(
        "<!DOCTYPE d [<!ENTITY a \"aaaa\">]>{}",
        generated(CamtKind::Camt053, 1, 1, 1)
            .replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "")
    );
    assert_eq!(
        streamed(dtd.as_bytes(), 10, 4096),
        Err(XmlError::Unreadable(ReadError::DtdNotAllowed))
    );
    let unclosed = generated(CamtKind::Camt053, 1, 1, 2).replace("</Document>", "");
    assert!(camt::parse(&unclosed).is_err());
    assert!(streamed(unclosed.as_bytes(), 10, 4096).is_err());
}

#[test]
fn an_error_in_an_entry_names_it_like_the_tree() {
    let base = generated(CamtKind::Camt053, 1, 1, 3);
    // The amount of the second entry gets a letter in front.
    let second = base.match_indices("<Ntry>").nth(1).expect("two entries").0;
    let amount = second + base[second..].find("<Amt ").expect("amount");
    let text = amount + base[amount..].find('>').expect("tag end") + 1;
    let xml = format!("{}x{}", &base[..text], &base[text..]);
    let whole = camt::parse(&xml).expect_err("broken amount");
    assert!(
        whole
            .to_string()
            .starts_with("Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt:"),
        "{whole}"
    );
    assert_eq!(streamed(xml.as_bytes(), 2, 97), Err(whole));
}

#[test]
fn broken_documents_fail_with_the_same_kind_of_error() {
    let base = generated(CamtKind::Camt053, 1, 2, 3);
    let broken = [
        "<<<".to_owned(),
        base.replacen("<Acct>", "<Acct2>", 1)
            .replacen("</Acct>", "</Acct2>", 1),
        base.replacen(
            "<CdtDbtInd>CRDT</CdtDbtInd>",
            "<CdtDbtInd>PLUS</CdtDbtInd>",
            1,
        ),
        base.replacen("<Amt Ccy=\"EUR\">", "<Amt Ccy=\"EUR\">x", 2),
        base.replacen("<Amt Ccy=\"EUR\">", "<Amt>", 3),
        base.replacen("DE89370400440532013000", "DE89370400440532013001", 1),
        base.replace("camt.053.001.08", "camt.053.001.99"),
        base.replacen("<MsgId>M1</MsgId>", "", 1),
        base.replace("<Stmt>", "<Stmt2>")
            .replace("</Stmt>", "</Stmt2>"),
        base.replacen("<Document", "<Doc", 1)
            .replacen("</Document>", "</Doc>", 1),
    ];
    for xml in broken {
        let whole = camt::parse(&xml).expect_err("broken");
        let stream = streamed(xml.as_bytes(), 2, 256).expect_err("broken");
        assert_eq!(
            std::mem::discriminant(&whole),
            std::mem::discriminant(&stream),
            "{whole} / {stream}"
        );
    }
}

fn streamed_mt940(
    text: &[u8],
    batch: usize,
    buffer: usize,
) -> Result<Vec<Statement>, Mt940StreamError> {
    collect_statements(
        Mt940Reader::new(BufReader::with_capacity(buffer, text)).with_batch_size(batch),
    )
}

fn generated_mt940(seed: u64, days: u32, per_day: usize) -> String {
    mt940::generate(
        &ledger(seed, date(2024, 3, 1), date(2024, 3, days), per_day),
        &Mt940Request::new("STARTUMS"),
    )
}

#[test]
fn bank_style_and_latin1_mt940_stream_like_they_parse() {
    let mut latin1 = generated_mt940(4, 2, 3).into_bytes();
    latin1.extend_from_slice(
        b":20:X\r\n:25:DE89370400440532013000\r\n:28C:7\r\n:60F:C240204EUR0,\r\n\
:61:240204C1,NMSCNONREF\r\n:86:M\xFCller\r\n:62F:C240204EUR1,\r\n-\r\n",
    );
    let bank = crate::mt940_roundtrip::BANK_FILE.as_bytes();
    let bom = [&b"\xEF\xBB\xBF"[..], bank].concat();
    for text in [bank, &latin1[..], &bom[..]] {
        let whole = mt940::parse_bytes(text).expect("parses");
        for (batch, buffer) in [(1, 3), (2, 64), (1000, 8192)] {
            let stream = streamed_mt940(text, batch, buffer).expect("streams");
            assert_eq!(stream, whole);
        }
    }
}

#[test]
fn broken_mt940_fails_with_the_same_error() {
    let base = generated_mt940(2, 2, 3);
    let broken = [
        String::new(),
        "no fields here\n".to_owned(),
        base.replacen(":62F:", ":99:", 1),
        base.replacen(":25:", ":26:", 2),
        base.replacen(":61:", ":61:X", 3),
        base.replacen(":28C:", ":28C:x", 1),
    ];
    for text in broken {
        let whole = mt940::parse(&text).expect_err("broken");
        match streamed_mt940(text.as_bytes(), 2, 64) {
            Err(Mt940StreamError::Mt940(stream)) => assert_eq!(stream, whole),
            other => panic!("{whole}: {other:?}"),
        }
    }
    assert!(matches!(
        streamed_mt940(b"", 1, 1),
        Err(Mt940StreamError::Mt940(Mt940Error::NoStatements))
    ));
}

#[test]
fn mt940_entries_arrive_in_bounded_batches() {
    let text = generated_mt940(8, 2, 23);
    let mut counts = Vec::new();
    for part in Mt940Reader::new(text.as_bytes()).with_batch_size(5) {
        if let StatementPart::Entries(batch) = part.expect("valid") {
            counts.push(batch.len());
        }
    }
    assert!(counts.iter().all(|&n| (1..=5).contains(&n)), "{counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), 2 * 23);
}

/// A generated statement (seed, days, entries a day) and the streaming reader's batch and
/// buffer sizes.
fn streaming_case() -> impl Strategy<Value = (u64, u32, usize, usize, usize)> {
    (0u64..1000, 1u32..4, 0usize..30, 1usize..40, 1usize..2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn generated_documents_stream_like_they_parse(
        kind in prop::sample::select(vec![CamtKind::Camt052, CamtKind::Camt053, CamtKind::Camt054]),
        (seed, days, per_day, batch, buffer) in streaming_case(),
        prefix in any::<bool>(),
    ) {
        let mut xml = generated(kind, seed, days, per_day);
        if prefix {
            xml = prefixed(&xml);
        }
        let whole = camt::parse(&xml).expect("generated parses");
        prop_assert_eq!(streamed(xml.as_bytes(), batch, buffer), Ok(whole));
    }

    #[test]
    fn generated_mt940_streams_like_it_parses(
        (seed, days, per_day, batch, buffer) in streaming_case(),
        crlf in any::<bool>(),
    ) {
        let mut text = generated_mt940(seed, days, per_day);
        if crlf {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        } else {
            text = text.replace("\r\n", "\n");
        }
        let whole = mt940::parse(&text).expect("generated parses");
        prop_assert_eq!(streamed_mt940(text.as_bytes(), batch, buffer).expect("streams"), whole);
    }
}
