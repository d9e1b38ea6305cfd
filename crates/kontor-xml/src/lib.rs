//! # kontor-xml
//!
//! One reading policy for every XML document that comes from outside: business documents
//! uploaded by operators (pain.001/008), statements and status reports from banks
//! (camt.052/053/054, pain.002), EBICS envelopes and order data in both directions, and the
//! requests the bank emulator receives.
//!
//! [`parse`] returns a [`roxmltree::Document`] only after the input passed the policy:
//!
//! - **UTF-8** only; [`decode`] skips a UTF-8 byte order mark (roxmltree and the pre-scan skip
//!   it too when it is still in the text, so node offsets always refer to the text passed in);
//! - **no DTD**: a document type declaration could define entities (billion laughs) or change
//!   attribute values behind a signer's back; EBICS and ISO 20022 documents never carry one;
//! - **[`Limits`]** on element nesting, node count, attributes per element, attribute value
//!   size, text size and name length.
//!
//! Why a pre-scan: roxmltree's tokenizer recurses once per element level, so a small document
//! nested 100 000 levels deep overflows the thread's stack — an abort of the whole process, not
//! an error anyone can catch. [`scan`] walks the input with quick-xml's streaming reader
//! (iterative, no allocation per level) and rejects it before roxmltree runs; roxmltree then
//! enforces the node limit while it builds the tree. Code that walks a parsed tree recursively
//! may therefore rely on its depth being at most [`Limits::depth`].
//!
//! Invariant: this crate performs no I/O; no input makes it panic.
//!
//! ```
//! use kontor_xml::{Limit, Limits, ReadError};
//!
//! let doc = kontor_xml::parse("<a><b>x</b></a>", &Limits::DEFAULT).unwrap();
//! assert_eq!(doc.root_element().tag_name().name(), "a");
//!
//! let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
//! assert_eq!(
//!     kontor_xml::parse(&deep, &Limits::DEFAULT).unwrap_err(),
//!     ReadError::LimitExceeded { what: Limit::Depth, limit: 256 }
//! );
//! ```

mod error;
mod limits;
mod scan;

pub use error::ReadError;
pub use limits::{Limit, Limits};
pub use quick_xml;
pub use roxmltree;
pub use scan::{has_attributes, scan, PolicyCheck};

use roxmltree::{Document, ParsingOptions};

/// The UTF-8 byte order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes bytes as UTF-8 text, skipping a leading UTF-8 byte order mark.
///
/// Other encodings (UTF-16 with its byte order mark, Latin-1) are refused: EBICS order data,
/// envelopes and the ISO 20022 documents Kontor reads are UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, ReadError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// Parses text into a tree after checking it against `limits` (see the crate docs).
pub fn parse<'input>(text: &'input str, limits: &Limits) -> Result<Document<'input>, ReadError> {
    scan(text, limits)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.nodes,
    };
    Document::parse_with_options(text, options).map_err(|e| ReadError::from_tree(e, limits))
}

/// [`decode`] then [`parse`].
pub fn parse_bytes<'input>(
    bytes: &'input [u8],
    limits: &Limits,
) -> Result<Document<'input>, ReadError> {
    parse(decode(bytes)?, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    fn depth_error(limit: usize) -> ReadError {
        ReadError::LimitExceeded {
            what: Limit::Depth,
            limit: limit as u64,
        }
    }

    #[test]
    fn nesting_up_to_the_limit_parses_and_one_more_level_is_refused() {
        let limits = Limits::DEFAULT;
        assert!(parse(&nested(limits.depth), &limits).is_ok());
        assert_eq!(
            parse(&nested(limits.depth + 1), &limits).unwrap_err(),
            depth_error(limits.depth)
        );
    }

    #[test]
    fn hostile_nesting_is_refused_without_exhausting_the_stack() {
        // A million levels: far beyond what any thread stack survives in a recursive parser.
        for depth in [100_000, 1_000_000] {
            assert_eq!(
                parse(&nested(depth), &Limits::DEFAULT).unwrap_err(),
                depth_error(256)
            );
        }
        // Unclosed, and self-closing at the bottom: still refused by depth, not by syntax.
        let unclosed = "<a>".repeat(100_000);
        assert_eq!(
            parse(&unclosed, &Limits::DEFAULT).unwrap_err(),
            depth_error(256)
        );
        let empty_at_bottom = format!("{}<b/>{}", "<a>".repeat(256), "</a>".repeat(256));
        assert_eq!(
            parse(&empty_at_bottom, &Limits::DEFAULT).unwrap_err(),
            depth_error(256)
        );
    }

    #[test]
    fn markup_inside_comments_cdata_and_attribute_values_does_not_count_as_nesting() {
        let limits = Limits {
            depth: 2,
            ..Limits::DEFAULT
        };
        let doc = r#"<a x="/>" y='>'><!-- <b><b><b> --><![CDATA[<b><b><b>]]><?pi <b><b>?><b/></a>"#;
        assert!(parse(doc, &limits).is_ok());
        assert!(parse("<a><b></b><b><c/></b></a>", &limits).is_err());
        assert!(parse("<a><b></b><b/></a>", &limits).is_ok());
    }

    #[test]
    fn node_count_is_limited_and_the_limit_is_set_per_call() {
        let many = format!("<a>{}</a>", "<b/>".repeat(1_000));
        let small = Limits {
            nodes: 500,
            ..Limits::DEFAULT
        };
        assert_eq!(
            parse(&many, &small).unwrap_err(),
            ReadError::LimitExceeded {
                what: Limit::Nodes,
                limit: 500
            }
        );
        assert!(parse(&many, &Limits::DEFAULT).is_ok());
    }

    #[test]
    fn a_prefix_cannot_be_undeclared() {
        // Namespaces in XML 1.0 §3: the value of `xmlns:p` must not be empty, used or not.
        for doc in [
            r#"<a xmlns:q="urn:q"><b xmlns:q=""><q:c/></b></a>"#,
            r#"<a xmlns:q=""/>"#,
            r#"<a><b xmlns:q=''/></a>"#,
        ] {
            assert!(
                matches!(
                    parse(doc, &Limits::DEFAULT),
                    Err(ReadError::Malformed { .. })
                ),
                "{doc}"
            );
        }
        // Undeclaring the default namespace is allowed.
        assert!(parse(r#"<a xmlns="urn:a"><b xmlns=""/></a>"#, &Limits::DEFAULT).is_ok());
    }

    #[test]
    fn a_tag_has_attributes_when_anything_but_white_space_follows_its_name() {
        use quick_xml::events::Event;
        let cases = [
            ("<a>", false),
            ("<a \t\r\n>", false),
            ("<a/>", false),
            ("<a x=\"1\">", true),
            ("<a xmlns=\"urn:x\">", true),
            // Not XML white space: quick-xml's iterator reads it as the start of a key.
            ("<a \u{c}>", true),
        ];
        for (tag, expected) in cases {
            let mut reader = quick_xml::Reader::from_str(tag);
            let (Ok(Event::Start(start)) | Ok(Event::Empty(start))) = reader.read_event() else {
                panic!("{tag} is a start tag");
            };
            assert_eq!(has_attributes(&start), expected, "{tag}");
            assert_eq!(start.attributes().next().is_some(), expected, "{tag}");
        }
    }

    #[test]
    fn attributes_per_element_and_their_size_are_limited() {
        let limits = Limits {
            attributes: 3,
            attribute_bytes: 8,
            ..Limits::DEFAULT
        };
        assert!(parse(r#"<a x="1" y="2" xmlns="urn:x"/>"#, &limits).is_ok());
        assert_eq!(
            parse(r#"<a w="0" x="1" y="2" z="3"/>"#, &limits).unwrap_err(),
            ReadError::LimitExceeded {
                what: Limit::Attributes,
                limit: 3
            }
        );
        assert_eq!(
            parse(r#"<a><b x="123456789"/></a>"#, &limits).unwrap_err(),
            ReadError::LimitExceeded {
                what: Limit::AttributeBytes,
                limit: 8
            }
        );
    }

    #[test]
    fn text_comment_and_pi_sizes_are_limited() {
        let limits = Limits {
            text_bytes: 10,
            ..Limits::DEFAULT
        };
        assert!(parse("<a>0123456789</a>", &limits).is_ok());
        let too_long = |what: Limit| ReadError::LimitExceeded { what, limit: 10 };
        for doc in [
            "<a>0123456789x</a>",
            // Text and CDATA next to each other are one text node.
            "<a>012345<![CDATA[6789x]]></a>",
            "<a><!--0123456789x--></a>",
            "<a><?pi 0123456789x?></a>",
        ] {
            assert_eq!(
                parse(doc, &limits).unwrap_err(),
                too_long(Limit::TextBytes),
                "{doc}"
            );
        }
        // Text interrupted by an element is two nodes.
        assert!(parse("<a>0123456789<b/>0123456789</a>", &limits).is_ok());
    }

    #[test]
    fn names_are_limited() {
        let limits = Limits {
            name_bytes: 8,
            ..Limits::DEFAULT
        };
        assert!(parse(r#"<p:abcdef xmlns:p="urn:x"/>"#, &limits).is_ok());
        let too_long = ReadError::LimitExceeded {
            what: Limit::NameBytes,
            limit: 8,
        };
        assert_eq!(
            parse("<abcdefghi/>", &limits).unwrap_err(),
            too_long.clone()
        );
        assert_eq!(
            parse(r#"<a abcdefghi="1"/>"#, &limits).unwrap_err(),
            too_long
        );
    }

    #[test]
    fn a_dtd_is_refused() {
        let dtd = r#"<!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>"#;
        assert_eq!(
            parse(dtd, &Limits::DEFAULT).unwrap_err(),
            ReadError::DtdNotAllowed
        );
    }

    #[test]
    fn a_utf8_byte_order_mark_is_skipped_and_other_encodings_are_refused() {
        let with_bom = b"\xEF\xBB\xBF<?xml version=\"1.0\"?><a>x</a>";
        let doc = parse_bytes(with_bom, &Limits::DEFAULT).unwrap();
        assert_eq!(doc.root_element().text(), Some("x"));
        // The BOM still in the text: node ranges keep pointing into the text passed in.
        let text = "\u{FEFF}<a>x</a>";
        let doc = parse(text, &Limits::DEFAULT).unwrap();
        assert_eq!(&text[doc.root_element().range()], "<a>x</a>");

        let utf16 = b"\xFF\xFE<\x00a\x00/\x00>\x00";
        assert_eq!(
            parse_bytes(utf16, &Limits::DEFAULT).unwrap_err(),
            ReadError::NotUtf8 { offset: 0 }
        );
    }

    #[test]
    fn malformed_input_is_an_error_with_a_reason() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a x=1/>",
            "<a x='1' x='2'/>",
            "</a>",
            "<a/><b/>",
        ] {
            let err = parse(bad, &Limits::DEFAULT).unwrap_err();
            assert!(matches!(err, ReadError::Malformed { .. }), "{bad}: {err:?}");
            assert!(
                err.to_string().starts_with("not well-formed XML: "),
                "{err}"
            );
        }
    }

    #[test]
    fn limit_errors_read_as_a_sentence() {
        assert_eq!(
            depth_error(256).to_string(),
            "XML element nesting depth exceeds the limit of 256"
        );
    }
}
