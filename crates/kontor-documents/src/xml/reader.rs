//! Namespace-aware reading of ISO 20022 documents.
//!
//! A [`Cursor`] is an element plus the namespace its children must be in: documents may use a
//! default namespace or any prefix, and only the namespace URI counts. Errors carry the element
//! path (e.g. `Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf[1]/CdtrAcct/Id/IBAN`), computed only
//! when an error occurs.

use chrono::{NaiveDate, NaiveDateTime};
use kontor_xml::{Limits, ReadError};
use roxmltree::Node;

use crate::amount::{Amount, AmountError};
use crate::bic::{Bic, BicError};
use crate::currency::{Currency, CurrencyError};
use crate::datetime::{parse_iso_date, parse_iso_datetime};
use crate::iban::{Iban, IbanError};

/// The reading policy for business documents: [`Limits::DEFAULT`] except the node count.
/// Documents are bulk files — a busy account's camt.053 or a payroll pain.001 holds 100 000s
/// of entries at 10 to 60 nodes each — so only their size (which callers bound) limits the
/// tree, up to roughly a gigabyte of XML.
pub const DOCUMENT_LIMITS: Limits = Limits {
    nodes: 100_000_000,
    ..Limits::DEFAULT
};

/// Why an XML business document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not UTF-8, not well-formed, a DTD, or beyond [`DOCUMENT_LIMITS`].
    #[error(transparent)]
    Unreadable(#[from] ReadError),
    #[error("root element must be Document, found {found}")]
    UnexpectedRoot { found: String },
    #[error("unsupported namespace {found:?}; expected one of: {expected}")]
    UnsupportedNamespace { found: String, expected: String },
    #[error("mandatory element {path} is missing")]
    MissingElement { path: String },
    #[error("element {path} is empty")]
    EmptyElement { path: String },
    #[error("{path}: {source}")]
    InvalidIban { path: String, source: IbanError },
    #[error("{path}: {source}")]
    InvalidBic { path: String, source: BicError },
    #[error("{path}: {source}")]
    InvalidAmount { path: String, source: AmountError },
    #[error("{path}: {source}")]
    InvalidCurrency { path: String, source: CurrencyError },
    #[error("{path}: {value:?} is not a valid {expected}")]
    InvalidValue {
        path: String,
        value: String,
        expected: &'static str,
    },
}

/// Parses text into a `roxmltree` document under [`DOCUMENT_LIMITS`] (no DTD, bounded
/// nesting: the cursor's recursion-free walks and error paths rely on it).
pub(crate) fn parse_document(text: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    Ok(kontor_xml::parse(text, &DOCUMENT_LIMITS)?)
}

/// Decodes bytes as UTF-8 (a byte order mark is skipped).
pub(crate) fn decode_utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    Ok(kontor_xml::decode(bytes)?)
}

/// The root element, which must be `Document`, and its namespace URI (empty when none).
pub(crate) fn document_root<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
) -> Result<(Node<'a, 'input>, &'a str), XmlError> {
    let root = doc.root_element();
    if root.tag_name().name() != "Document" {
        return Err(XmlError::UnexpectedRoot {
            found: root.tag_name().name().chars().take(80).collect(),
        });
    }
    Ok((root, root.tag_name().namespace().unwrap_or("")))
}

#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a, 'input> {
    node: Node<'a, 'input>,
    ns: &'a str,
}

impl<'a, 'input> Cursor<'a, 'input> {
    pub(crate) fn new(node: Node<'a, 'input>, ns: &'a str) -> Self {
        Cursor { node, ns }
    }

    fn matches(&self, node: &Node<'a, 'input>, name: &str) -> bool {
        node.is_element()
            && node.tag_name().name() == name
            && node.tag_name().namespace().unwrap_or("") == self.ns
    }
}

impl<'a, 'input: 'a> Element<'a> for Cursor<'a, 'input> {
    fn child(&self, name: &str) -> Option<Self> {
        self.node
            .children()
            .find(|n| self.matches(n, name))
            .map(|node| Cursor { node, ns: self.ns })
    }

    fn children(self, name: &'a str) -> impl Iterator<Item = Self> + 'a {
        let ns = self.ns;
        self.node.children().filter_map(move |node| {
            (node.is_element()
                && node.tag_name().name() == name
                && node.tag_name().namespace().unwrap_or("") == ns)
                .then_some(Cursor { node, ns })
        })
    }

    fn node_text(&self) -> Option<&'a str> {
        self.node.text()
    }

    fn attr(&self, name: &str) -> Option<&'a str> {
        self.node.attribute(name)
    }

    fn path(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for node in self.node.ancestors().filter(Node::is_element) {
            let name = node.tag_name().name();
            let same = |n: &Node| n.is_element() && n.tag_name().name() == name;
            let before = node.prev_siblings().skip(1).filter(same).count();
            let after = node.next_siblings().skip(1).filter(same).count();
            if before + after > 0 {
                parts.push(format!("{name}[{}]", before + 1));
            } else {
                parts.push(name.to_string());
            }
        }
        parts.reverse();
        parts.join("/")
    }
}

/// An element of a document being read, whether from a whole tree ([`Cursor`]) or a fragment
/// of a streamed document ([`crate::xml::fragment`]): the few primitives each provides, and
/// the typed accessors all readers share, so both give the same values and errors.
pub(crate) trait Element<'a>: Copy + Sized {
    /// First child element `name` in the document namespace.
    fn child(&self, name: &str) -> Option<Self>;
    /// All child elements `name` in the document namespace, in document order.
    fn children(self, name: &'a str) -> impl Iterator<Item = Self> + 'a;
    /// The element's text as roxmltree defines it: its first child when that is text.
    fn node_text(&self) -> Option<&'a str>;
    fn attr(&self, name: &str) -> Option<&'a str>;
    /// Slash-separated path of local names from the root, with 1-based indexes where a name
    /// repeats among siblings.
    fn path(&self) -> String;

    /// Follows a path of child names.
    fn descend(&self, names: &[&str]) -> Option<Self> {
        let mut current = *self;
        for name in names {
            current = current.child(name)?;
        }
        Some(current)
    }

    /// A mandatory child.
    fn req(&self, name: &str) -> Result<Self, XmlError> {
        self.child(name).ok_or_else(|| XmlError::MissingElement {
            path: format!("{}/{name}", self.path()),
        })
    }

    /// A mandatory path of children.
    fn req_path(&self, names: &[&str]) -> Result<Self, XmlError> {
        let mut current = *self;
        for name in names {
            current = current.req(name)?;
        }
        Ok(current)
    }

    /// Trimmed text content, `None` when empty or absent.
    fn text_opt(&self) -> Option<&'a str> {
        self.node_text().map(str::trim).filter(|t| !t.is_empty())
    }

    /// Text content exactly as written (entities resolved), empty when absent.
    fn raw_text(&self) -> &'a str {
        self.node_text().unwrap_or("")
    }

    /// Trimmed, non-empty text content.
    fn text(&self) -> Result<&'a str, XmlError> {
        self.text_opt()
            .ok_or_else(|| XmlError::EmptyElement { path: self.path() })
    }

    /// Text of an optional child; an empty child counts as absent.
    fn child_text(&self, name: &str) -> Option<&'a str> {
        self.child(name).and_then(|c| c.text_opt())
    }

    /// Text of an optional descendant path.
    fn path_text(&self, names: &[&str]) -> Option<&'a str> {
        self.descend(names).and_then(|c| c.text_opt())
    }

    /// Text of a mandatory child.
    fn req_text(&self, name: &str) -> Result<&'a str, XmlError> {
        self.req(name)?.text()
    }

    /// Parses the text with `parse`; `error` builds the error from this element's path and the
    /// parser's.
    fn parse_text<T, E>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, E>,
        error: impl FnOnce(String, E) -> XmlError,
    ) -> Result<T, XmlError> {
        parse(self.text()?).map_err(|source| error(self.path(), source))
    }

    fn iban(&self) -> Result<Iban, XmlError> {
        self.parse_text(Iban::parse, |path, source| XmlError::InvalidIban {
            path,
            source,
        })
    }

    fn bic(&self) -> Result<Bic, XmlError> {
        self.parse_text(Bic::parse, |path, source| XmlError::InvalidBic {
            path,
            source,
        })
    }

    /// An amount of at most 18 significant digits (`totalDigits` of the ISO 20022 types).
    fn amount(&self) -> Result<Amount, XmlError> {
        self.parse_text(
            |text| {
                Amount::parse(text).and_then(|amount| amount.check_total_digits().map(|()| amount))
            },
            |path, source| XmlError::InvalidAmount { path, source },
        )
    }

    /// The mandatory `Ccy` attribute of an amount element.
    fn currency_attr(&self) -> Result<Currency, XmlError> {
        let raw = self.attr("Ccy").ok_or_else(|| XmlError::MissingElement {
            path: format!("{}/@Ccy", self.path()),
        })?;
        Currency::parse(raw).map_err(|source| XmlError::InvalidCurrency {
            path: format!("{}/@Ccy", self.path()),
            source,
        })
    }

    fn currency(&self) -> Result<Currency, XmlError> {
        self.parse_text(Currency::parse, |path, source| XmlError::InvalidCurrency {
            path,
            source,
        })
    }

    fn date(&self) -> Result<NaiveDate, XmlError> {
        let text = self.text()?;
        parse_iso_date(text).ok_or_else(|| self.invalid(text, "ISO date (YYYY-MM-DD)"))
    }

    fn datetime(&self) -> Result<NaiveDateTime, XmlError> {
        let text = self.text()?;
        parse_iso_datetime(text)
            .ok_or_else(|| self.invalid(text, "ISO date-time (YYYY-MM-DDThh:mm:ss)"))
    }

    /// A date given either directly or as `DateAndDateTime2Choice` (`<Dt>` or `<DtTm>`).
    fn date_or_choice(&self) -> Result<NaiveDate, XmlError> {
        if let Some(dt) = self.child("Dt") {
            return dt.date();
        }
        if let Some(dttm) = self.child("DtTm") {
            return dttm.datetime().map(|d| d.date());
        }
        self.date()
    }

    fn unsigned(&self) -> Result<u64, XmlError> {
        let text = self.text()?;
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid(text, "non-negative integer"));
        }
        text.parse()
            .map_err(|_| self.invalid(text, "non-negative integer"))
    }

    fn boolean(&self) -> Result<bool, XmlError> {
        match self.text()? {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(self.invalid(other, "boolean")),
        }
    }

    fn invalid(&self, value: &str, expected: &'static str) -> XmlError {
        XmlError::InvalidValue {
            path: self.path(),
            value: value.chars().take(80).collect(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:test";

    #[test]
    fn prefixed_and_default_namespaces_are_equivalent() {
        let a = r#"<Document xmlns="urn:test"><A><B>x</B></A></Document>"#;
        let b = r#"<p:Document xmlns:p="urn:test"><p:A><p:B>x</p:B></p:A></p:Document>"#;
        for text in [a, b] {
            let doc = parse_document(text).unwrap();
            let (root, ns) = document_root(&doc).unwrap();
            assert_eq!(ns, NS);
            let cur = Cursor::new(root, ns);
            assert_eq!(cur.path_text(&["A", "B"]), Some("x"));
        }
    }

    #[test]
    fn elements_in_another_namespace_are_ignored() {
        let text = r#"<Document xmlns="urn:test" xmlns:o="urn:other"><o:A>x</o:A></Document>"#;
        let doc = parse_document(text).unwrap();
        let (root, ns) = document_root(&doc).unwrap();
        let err = Cursor::new(root, ns).req("A").err().unwrap();
        assert_eq!(
            err,
            XmlError::MissingElement {
                path: "Document/A".into()
            }
        );
    }

    #[test]
    fn error_paths_index_repeated_siblings() {
        let text = r#"<Document xmlns="urn:test"><R><E/><E><V>abc</V></E></R></Document>"#;
        let doc = parse_document(text).unwrap();
        let (root, ns) = document_root(&doc).unwrap();
        let second = Cursor::new(root, ns)
            .req("R")
            .unwrap()
            .children("E")
            .nth(1)
            .unwrap();
        let err = second.req("V").unwrap().unsigned().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Document/R/E[2]/V: \"abc\" is not a valid non-negative integer"
        );
    }

    #[test]
    fn wrong_root_and_dtd_are_rejected() {
        let doc = parse_document(r#"<Doc xmlns="urn:test"/>"#).unwrap();
        assert!(matches!(
            document_root(&doc),
            Err(XmlError::UnexpectedRoot { .. })
        ));
        let dtd = r#"<!DOCTYPE d [<!ENTITY a "aaaa">]><Document xmlns="urn:test">&a;</Document>"#;
        assert_eq!(
            parse_document(dtd).unwrap_err(),
            XmlError::Unreadable(ReadError::DtdNotAllowed)
        );
    }
}
