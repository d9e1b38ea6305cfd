//! Namespace-aware reading (roxmltree) and prefix-configurable writing (quick-xml) shared by
//! every order-data document, plus the lexical codecs and schema facet checks for simple values.
//!
//! Reading matches elements by namespace URI and local name only, so a bank may use a default
//! namespace, an `ebics:` prefix or any other prefix. Writing emits unprefixed elements under a
//! default namespace unless a caller embeds a fragment under its own prefix.

use std::io::Write;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use kontor_documents::Currency;
use kontor_xml::Limits;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use roxmltree::Node;
use rust_decimal::Decimal;

use super::error::{OrderDataError, Result};
use crate::version::ProtocolVersion;

/// XML-DSig namespace (`ds:`), used for RSA key values and X.509 data.
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// EBICS 2.5 order-data namespace.
pub(crate) const NS_H004: &str = "urn:org:ebics:H004";
/// EBICS 3.0 order-data namespace.
pub(crate) const NS_H005: &str = "urn:org:ebics:H005";
/// Signature namespace used with H004 (`ebics_signature.xsd`).
pub(crate) const NS_S001: &str = "http://www.ebics.org/S001";
/// Signature namespace used with H005 (`ebics_signature_S002.xsd`).
pub(crate) const NS_S002: &str = "http://www.ebics.org/S002";

/// The reading policy of order data: the shared defaults, with a node limit generous for real
/// HVT/HKD data that still keeps hostile input from exhausting memory.
const LIMITS: Limits = Limits {
    nodes: 2_000_000,
    ..Limits::DEFAULT
};

/// The namespace family a document's root element belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `urn:org:ebics:H004` / `urn:org:ebics:H005`.
    Ebics,
    /// `http://www.ebics.org/S001` / `http://www.ebics.org/S002`.
    Signature,
}

impl Family {
    /// The namespace URI of this family in `version`.
    pub(crate) fn namespace(self, version: ProtocolVersion) -> Result<&'static str> {
        match (self, version) {
            (Family::Ebics, ProtocolVersion::H004) => Ok(NS_H004),
            (Family::Ebics, ProtocolVersion::H005) => Ok(NS_H005),
            (Family::Signature, ProtocolVersion::H004) => Ok(NS_S001),
            (Family::Signature, ProtocolVersion::H005) => Ok(NS_S002),
            (_, other) => Err(OrderDataError::UnsupportedVersion(other)),
        }
    }

    /// The protocol version a namespace URI of this family stands for.
    pub(crate) fn version_of(self, namespace: &str) -> Option<ProtocolVersion> {
        match (self, namespace) {
            (Family::Ebics, NS_H004) | (Family::Signature, NS_S001) => Some(ProtocolVersion::H004),
            (Family::Ebics, NS_H005) | (Family::Signature, NS_S002) => Some(ProtocolVersion::H005),
            _ => None,
        }
    }
}

/// Parses `xml` (UTF-8, optional BOM) into a roxmltree document.
pub(crate) fn parse_xml(xml: &[u8]) -> Result<roxmltree::Document<'_>> {
    let text = kontor_xml::decode(xml).map_err(|_| OrderDataError::NotUtf8)?;
    parse_xml_str(text)
}

/// Parses XML text under the shared XML policy (no DTD, bounded nesting and nodes).
pub(crate) fn parse_xml_str(text: &str) -> Result<roxmltree::Document<'_>> {
    Ok(kontor_xml::parse(text, &LIMITS)?)
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// An element writer bound to a protocol version and to the prefix of the document's namespace.
pub struct Out<'w, W: Write> {
    writer: &'w mut Writer<W>,
    prefix: Option<String>,
    version: ProtocolVersion,
}

impl<'w, W: Write> Out<'w, W> {
    pub(crate) fn new(
        writer: &'w mut Writer<W>,
        prefix: Option<&str>,
        version: ProtocolVersion,
    ) -> Self {
        Self {
            writer,
            prefix: prefix.filter(|p| !p.is_empty()).map(str::to_owned),
            version,
        }
    }

    /// Whether the document is written in the H004 dialect (otherwise H005).
    pub(crate) fn is_h004(&self) -> bool {
        self.version == ProtocolVersion::H004
    }

    /// [`OrderDataError::RequiredInVersion`] for `field` in the version being written.
    pub(crate) fn required(&self, field: &'static str) -> OrderDataError {
        OrderDataError::RequiredInVersion {
            field,
            version: self.version,
        }
    }

    /// [`OrderDataError::NotInVersion`] for `field` in the version being written.
    pub(crate) fn not_expressible(&self, field: &'static str) -> OrderDataError {
        OrderDataError::NotInVersion {
            field,
            version: self.version,
        }
    }

    /// Fails with [`OrderDataError::RequiredInVersion`] when `value` is `None`.
    pub(crate) fn require<'v, T>(
        &self,
        field: &'static str,
        value: Option<&'v T>,
    ) -> Result<&'v T> {
        value.ok_or(OrderDataError::RequiredInVersion {
            field,
            version: self.version,
        })
    }

    /// Fails with [`OrderDataError::NotInVersion`] when `present` is true.
    pub(crate) fn forbid(&self, field: &'static str, present: bool) -> Result<()> {
        if present {
            Err(OrderDataError::NotInVersion {
                field,
                version: self.version,
            })
        } else {
            Ok(())
        }
    }

    fn qualify(&self, local: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}:{local}"),
            None => local.to_owned(),
        }
    }

    fn emit(&mut self, event: Event<'_>) -> Result<()> {
        self.writer
            .write_event(event)
            .map_err(|e| OrderDataError::Write(e.to_string()))
    }

    fn start_event(&self, local: &str, attrs: &[(&str, &str)]) -> Result<BytesStart<'static>> {
        let mut start = BytesStart::new(self.qualify(local));
        for (name, value) in attrs {
            check_xml_chars(&format!("{local}/@{name}"), value)?;
            start.push_attribute((*name, *value));
        }
        Ok(start)
    }

    /// Writes a start tag in the document namespace.
    pub(crate) fn start(&mut self, local: &str, attrs: &[(&str, &str)]) -> Result<()> {
        let start = self.start_event(local, attrs)?;
        self.emit(Event::Start(start))
    }

    /// Writes the end tag matching [`Out::start`].
    pub(crate) fn end(&mut self, local: &str) -> Result<()> {
        let name = self.qualify(local);
        self.emit(Event::End(BytesEnd::new(name)))
    }

    /// Writes an element without content.
    pub(crate) fn empty(&mut self, local: &str, attrs: &[(&str, &str)]) -> Result<()> {
        let start = self.start_event(local, attrs)?;
        self.emit(Event::Empty(start))
    }

    /// Writes `<local attrs>text</local>`.
    pub(crate) fn leaf_attrs(
        &mut self,
        local: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> Result<()> {
        check_xml_chars(local, text)?;
        self.start(local, attrs)?;
        self.emit(Event::Text(BytesText::new(text)))?;
        self.end(local)
    }

    /// Writes `<local>text</local>`.
    pub(crate) fn leaf(&mut self, local: &str, text: &str) -> Result<()> {
        self.leaf_attrs(local, &[], text)
    }

    /// Writes `<local>text</local>` when `text` is present.
    pub(crate) fn opt_leaf(&mut self, local: &str, text: Option<&str>) -> Result<()> {
        match text {
            Some(text) => self.leaf(local, text),
            None => Ok(()),
        }
    }

    /// Runs `f` with elements written under `prefix` (e.g. `ds`), then restores the prefix.
    pub(crate) fn with_prefix<T>(
        &mut self,
        prefix: Option<&str>,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let saved = std::mem::replace(&mut self.prefix, prefix.map(str::to_owned));
        let result = f(self);
        self.prefix = saved;
        result
    }
}

/// Rejects characters XML 1.0 cannot carry (control characters, U+FFFE/U+FFFF).
pub(crate) fn check_xml_chars(path: &str, value: &str) -> Result<()> {
    let bad = value.chars().any(|c| {
        let c = c as u32;
        (c < 0x20 && !matches!(c, 0x9 | 0xA | 0xD)) || c == 0xFFFE || c == 0xFFFF
    });
    if bad {
        Err(OrderDataError::invalid(
            path,
            value,
            "contains a character XML cannot carry",
        ))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// An element being read, with the namespace its children are looked up in.
#[derive(Clone, Copy)]
pub struct El<'a, 'i> {
    pub(crate) node: Node<'a, 'i>,
    pub(crate) ns: &'static str,
}

impl<'a, 'i> El<'a, 'i> {
    pub(crate) fn new(node: Node<'a, 'i>, ns: &'static str) -> Self {
        Self { node, ns }
    }

    /// Slash-separated local names from the root to this element.
    pub(crate) fn path(&self) -> String {
        let mut names: Vec<&str> = self
            .node
            .ancestors()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        names.reverse();
        names.join("/")
    }

    fn is(node: &Node<'_, '_>, ns: &str, local: &str) -> bool {
        node.is_element()
            && node.tag_name().name() == local
            && node.tag_name().namespace() == Some(ns)
    }

    /// All child elements in this element's namespace, in document order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = El<'a, 'i>> + 'a {
        let ns = self.ns;
        self.node
            .children()
            .filter(move |n| n.is_element() && n.tag_name().namespace() == Some(ns))
            .map(move |node| El { node, ns })
    }

    /// The element's local name.
    pub(crate) fn local_name(&self) -> &'a str {
        self.node.tag_name().name()
    }

    /// All child elements named `local` in namespace `ns`.
    pub(crate) fn children_ns(
        &self,
        ns: &'static str,
        local: &'static str,
    ) -> impl Iterator<Item = El<'a, 'i>> + 'a {
        self.node
            .children()
            .filter(move |n| Self::is(n, ns, local))
            .map(move |node| El { node, ns })
    }

    /// All child elements named `local` in this element's namespace.
    pub(crate) fn children(&self, local: &'static str) -> impl Iterator<Item = El<'a, 'i>> + 'a {
        self.children_ns(self.ns, local)
    }

    /// Reads every child element named `local` with `read`, in document order.
    pub(crate) fn read_children<T>(
        &self,
        local: &'static str,
        mut read: impl FnMut(&El<'a, 'i>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.children(local).map(|el| read(&el)).collect()
    }

    /// Like [`Self::read_children`], for a list the schema wants at least one entry of.
    pub(crate) fn read_nonempty_children<T>(
        &self,
        local: &'static str,
        read: impl FnMut(&El<'a, 'i>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let items = self.read_children(local, read)?;
        self.nonempty(local, items)
    }

    /// `items`, read from the children named `local`, unless there are none.
    pub(crate) fn nonempty<T>(&self, local: &str, items: Vec<T>) -> Result<Vec<T>> {
        if items.is_empty() {
            Err(OrderDataError::MissingElement {
                element: local.to_owned(),
                parent: self.path(),
            })
        } else {
            Ok(items)
        }
    }

    /// Reads the optional child element `local` with `read`.
    pub(crate) fn read_opt_child<T>(
        &self,
        local: &'static str,
        read: impl FnOnce(&El<'a, 'i>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.opt_child(local).map(|el| read(&el)).transpose()
    }

    /// The first child element named `local` in namespace `ns`, if any.
    pub(crate) fn opt_child_ns(&self, ns: &'static str, local: &'static str) -> Option<El<'a, 'i>> {
        self.children_ns(ns, local).next()
    }

    /// The first child element named `local` in this element's namespace, if any.
    pub(crate) fn opt_child(&self, local: &'static str) -> Option<El<'a, 'i>> {
        self.opt_child_ns(self.ns, local)
    }

    /// The first child element named `local` in namespace `ns`.
    pub(crate) fn child_ns(&self, ns: &'static str, local: &'static str) -> Result<El<'a, 'i>> {
        self.opt_child_ns(ns, local)
            .ok_or_else(|| OrderDataError::MissingElement {
                element: local.to_owned(),
                parent: self.path(),
            })
    }

    /// The first child element named `local` in this element's namespace.
    pub(crate) fn child(&self, local: &'static str) -> Result<El<'a, 'i>> {
        self.child_ns(self.ns, local)
    }

    /// The element's character data exactly as written (text and CDATA, comments skipped).
    pub(crate) fn raw_text(&self) -> String {
        self.node
            .children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect()
    }

    /// The element's character data without leading/trailing XML whitespace.
    pub(crate) fn text(&self) -> String {
        trim_xml(&self.raw_text()).to_owned()
    }

    /// The trimmed text, which must not be empty.
    pub(crate) fn nonempty_text(&self) -> Result<String> {
        let text = self.text();
        if text.is_empty() {
            Err(OrderDataError::invalid(
                self.path(),
                "",
                "must not be empty",
            ))
        } else {
            Ok(text)
        }
    }

    /// Trimmed, non-empty text of the mandatory child `local`.
    pub(crate) fn child_text(&self, local: &'static str) -> Result<String> {
        self.child(local)?.nonempty_text()
    }

    /// Trimmed text of the optional child `local` (`None` when absent).
    pub(crate) fn opt_child_text(&self, local: &'static str) -> Option<String> {
        self.opt_child(local).map(|el| el.text())
    }

    /// Parses the trimmed text with `parse`, reporting failures at this element.
    pub(crate) fn value<T>(
        &self,
        parse: impl FnOnce(&str) -> std::result::Result<T, &'static str>,
    ) -> Result<T> {
        let text = self.text();
        parse(&text).map_err(|reason| OrderDataError::invalid(self.path(), &text, reason))
    }

    /// Parses the mandatory child `local` with `parse`.
    pub(crate) fn child_value<T>(
        &self,
        local: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, &'static str>,
    ) -> Result<T> {
        self.child(local)?.value(parse)
    }

    /// Parses the optional child `local` with `parse`.
    pub(crate) fn opt_child_value<T>(
        &self,
        local: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, &'static str>,
    ) -> Result<Option<T>> {
        self.opt_child(local).map(|el| el.value(parse)).transpose()
    }

    /// The unqualified attribute `name`, trimmed.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.node.attribute(name).map(|v| trim_xml(v).to_owned())
    }

    /// The mandatory unqualified attribute `name`.
    pub(crate) fn req_attr(&self, name: &'static str) -> Result<String> {
        self.attr(name)
            .ok_or_else(|| OrderDataError::MissingElement {
                element: format!("@{name}"),
                parent: self.path(),
            })
    }

    /// Parses the optional attribute `name` with `parse`.
    pub(crate) fn attr_value<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> std::result::Result<T, &'static str>,
    ) -> Result<Option<T>> {
        match self.attr(name) {
            None => Ok(None),
            Some(raw) => parse(&raw).map(Some).map_err(|reason| {
                OrderDataError::invalid(format!("{}/@{name}", self.path()), &raw, reason)
            }),
        }
    }

    /// Parses the mandatory attribute `name` with `parse`.
    pub(crate) fn req_attr_value<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, &'static str>,
    ) -> Result<T> {
        self.attr_value(name, parse)?
            .ok_or_else(|| OrderDataError::MissingElement {
                element: format!("@{name}"),
                parent: self.path(),
            })
    }
}

fn trim_xml(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

// ---------------------------------------------------------------------------------------------
// Lexical codecs
// ---------------------------------------------------------------------------------------------

/// `CurrencyBaseType` (`[A-Z]{3}`): the documents' [`Currency`], so a code is checked by one
/// rule wherever Kontor meets it.
pub(crate) fn parse_currency(s: &str) -> std::result::Result<Currency, &'static str> {
    Currency::parse(s).map_err(|_| "must match [A-Z]{3}")
}

/// `xs:boolean`.
pub(crate) fn parse_bool(s: &str) -> std::result::Result<bool, &'static str> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("not an xs:boolean"),
    }
}

pub(crate) fn format_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `xs:nonNegativeInteger` that fits in a `u64`.
pub(crate) fn parse_u64(s: &str) -> std::result::Result<u64, &'static str> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a non-negative integer");
    }
    digits.parse::<u64>().map_err(|_| "integer out of range")
}

/// `xs:nonNegativeInteger` that fits in a `u32`.
pub(crate) fn parse_u32(s: &str) -> std::result::Result<u32, &'static str> {
    u32::try_from(parse_u64(s)?).map_err(|_| "integer out of range")
}

/// `xs:positiveInteger` that fits in a `u64`.
pub(crate) fn parse_positive_u64(
    s: &str,
) -> std::result::Result<std::num::NonZeroU64, &'static str> {
    std::num::NonZeroU64::new(parse_u64(s)?).ok_or("must be positive")
}

/// `xs:positiveInteger` that fits in a `u32`.
pub(crate) fn parse_positive_u32(
    s: &str,
) -> std::result::Result<std::num::NonZeroU32, &'static str> {
    std::num::NonZeroU32::new(parse_u32(s)?).ok_or("must be positive")
}

/// Base64 as banks send it: line breaks and spaces allowed, padding optional.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `xs:base64Binary`.
pub(crate) fn parse_base64(s: &str) -> std::result::Result<Vec<u8>, &'static str> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT_B64.decode(compact).map_err(|_| "not valid base64")
}

pub(crate) fn format_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// `xs:dateTime`; a timestamp without zone is taken as UTC (EBICS prescribes UTC timestamps).
pub(crate) fn parse_timestamp(s: &str) -> std::result::Result<DateTime<Utc>, &'static str> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|naive| naive.and_utc())
        .map_err(|_| "not an xs:dateTime")
}

pub(crate) fn format_timestamp(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `xs:date`, ignoring an optional zone suffix.
pub(crate) fn parse_date(s: &str) -> std::result::Result<NaiveDate, &'static str> {
    let date_part = s.get(..10).ok_or("not an xs:date")?;
    let zone = s.get(10..).ok_or("not an xs:date")?;
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.get(3..4) == Some(":"));
    if !zone_ok {
        return Err("not an xs:date");
    }
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| "not an xs:date")
}

pub(crate) fn format_date(date: &NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// `xs:decimal` (no exponent, at least one digit).
pub(crate) fn parse_decimal(s: &str) -> std::result::Result<Decimal, &'static str> {
    let (sign, unsigned) = match s.as_bytes().first() {
        Some(b'-') => ("-", &s[1..]),
        Some(b'+') => ("", &s[1..]),
        _ => ("", s),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err("not an xs:decimal");
    }
    let int = if int.is_empty() { "0" } else { int };
    let normalized = if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    };
    Decimal::from_str_exact(&normalized).map_err(|_| "decimal out of range")
}

/// Formats an `AmountValueType` (at most 24 digits, 4 of them after the point).
pub(crate) fn format_amount(path: &str, value: &Decimal) -> Result<String> {
    let text = value.to_string();
    if value.scale() > 4 {
        return Err(OrderDataError::invalid(
            path,
            &text,
            "more than 4 fraction digits",
        ));
    }
    if value.mantissa().unsigned_abs().to_string().len() > 24 {
        return Err(OrderDataError::invalid(path, &text, "more than 24 digits"));
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// Schema facets checked before writing
// ---------------------------------------------------------------------------------------------

/// Checks of simple-type facets from `ebics_types_H00x.xsd`, applied before a value is written.
pub(crate) mod check {
    use super::{OrderDataError, Result};
    use crate::lexical;

    fn fail(path: &str, value: &str, reason: &str) -> Result<()> {
        Err(OrderDataError::invalid(path, value, reason))
    }

    fn all(value: &str, pred: impl Fn(char) -> bool) -> bool {
        value.chars().all(pred)
    }

    fn upper_digit(c: char) -> bool {
        c.is_ascii_uppercase() || c.is_ascii_digit()
    }

    /// A list the schema wants at least one entry of (`minOccurs` 1); `what` names an entry.
    pub(crate) fn nonempty<T>(path: &str, items: &[T], what: &str) -> Result<()> {
        if items.is_empty() {
            fail(path, "0", &format!("needs at least one {what}"))
        } else {
            Ok(())
        }
    }

    /// `PartnerIDType` / `UserIDType`: `[a-zA-Z0-9,=]{1,35}`.
    pub(crate) fn ebics_id(path: &str, value: &str) -> Result<()> {
        let len = value.chars().count();
        if (1..=35).contains(&len)
            && all(value, |c| c.is_ascii_alphanumeric() || c == ',' || c == '=')
        {
            Ok(())
        } else {
            fail(path, value, "must match [a-zA-Z0-9,=]{1,35}")
        }
    }

    /// An `xs:token` of `min..=max` characters (no leading, trailing or doubled spaces).
    pub(crate) fn token(path: &str, value: &str, min: usize, max: usize) -> Result<()> {
        let len = value.chars().count();
        if len < min || len > max {
            return fail(path, value, &format!("must have {min} to {max} characters"));
        }
        let collapsed = value.split(' ').all(|part| !part.is_empty()) || value.is_empty();
        if !collapsed || value.contains(['\t', '\n', '\r']) {
            return fail(path, value, "must be a whitespace-collapsed token");
        }
        Ok(())
    }

    /// `HostIDType`: token of at most 35 characters.
    pub(crate) fn host_id(path: &str, value: &str) -> Result<()> {
        token(path, value, 1, 35)
    }

    /// `OrderTBaseType`: `[A-Z0-9]{3}`.
    pub(crate) fn order_type(path: &str, value: &str) -> Result<()> {
        if value.len() == 3 && all(value, upper_digit) {
            Ok(())
        } else {
            fail(path, value, "must match [A-Z0-9]{3}")
        }
    }

    /// `OrderIDType`: `[A-Z][A-Z0-9]{3}`.
    pub(crate) fn order_id(path: &str, value: &str) -> Result<()> {
        let mut chars = value.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
        if value.len() == 4 && first_ok && chars.all(upper_digit) {
            Ok(())
        } else {
            fail(path, value, "must match [A-Z][A-Z0-9]{3}")
        }
    }

    /// At most `max` characters (normalizedString lengths).
    pub(crate) fn max_chars(path: &str, value: &str, max: usize) -> Result<()> {
        if value.chars().count() <= max {
            Ok(())
        } else {
            fail(path, value, &format!("longer than {max} characters"))
        }
    }

    /// `AccountNumberType`: `\d{3,10}` or an IBAN shape `[A-Z]{2}\d{2}[A-Za-z0-9]{3,30}`.
    pub(crate) fn account_number(path: &str, value: &str) -> Result<()> {
        let b = value.as_bytes();
        let national = (3..=10).contains(&b.len()) && b.iter().all(u8::is_ascii_digit);
        let iban = (7..=34).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..4].iter().all(u8::is_ascii_digit)
            && b[4..].iter().all(u8::is_ascii_alphanumeric);
        if national || iban {
            Ok(())
        } else {
            fail(path, value, "must be 3-10 digits or an IBAN")
        }
    }

    /// `BankCodeType`: `\d{8}` or a BIC `[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?`.
    pub(crate) fn bank_code(path: &str, value: &str) -> Result<()> {
        let b = value.as_bytes();
        let blz = b.len() == 8 && b.iter().all(u8::is_ascii_digit);
        let bic = (b.len() == 8 || b.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if blz || bic {
            Ok(())
        } else {
            fail(path, value, "must be 8 digits or a BIC")
        }
    }

    /// `CodeStringType` restricted to `min..=max`: `[A-Z0-9]`.
    pub(crate) fn code(path: &str, value: &str, min: usize, max: usize) -> Result<()> {
        if lexical::is_code(value, min, max) {
            Ok(())
        } else {
            fail(path, value, &format!("must match [A-Z0-9]{{{min},{max}}}"))
        }
    }

    /// `MessageNameStringType`: `[a-z.0-9]{1,10}`.
    pub(crate) fn msg_name(path: &str, value: &str) -> Result<()> {
        if lexical::is_message_name(value) {
            Ok(())
        } else {
            fail(path, value, "must match [a-z.0-9]{1,10}")
        }
    }

    /// `NumStringType`: `[0-9]{2,3}`.
    pub(crate) fn num_string(path: &str, value: &str) -> Result<()> {
        if lexical::is_num_string(value) {
            Ok(())
        } else {
            fail(path, value, "must match [0-9]{2,3}")
        }
    }

    /// A crypto version code such as `A005`, `X002`, `E002`, `H004`: `letter` + 3 digits.
    pub(crate) fn version_code(path: &str, value: &str, letter: char) -> Result<()> {
        let mut chars = value.chars();
        if value.len() == 4 && chars.next() == Some(letter) && chars.all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            fail(
                path,
                value,
                &format!("must be {letter} followed by three digits"),
            )
        }
    }

    /// `xs:integer`.
    pub(crate) fn integer(path: &str, value: &str) -> Result<()> {
        let digits = value.strip_prefix('-').unwrap_or(value);
        if !digits.is_empty() && all(digits, |c| c.is_ascii_digit()) {
            Ok(())
        } else {
            fail(path, value, "must be an integer")
        }
    }

    /// `xs:NCName` (ASCII subset, which is all EBICS uses).
    pub(crate) fn ncname(path: &str, value: &str) -> Result<()> {
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            Ok(())
        } else {
            fail(path, value, "must be an NCName")
        }
    }

    /// A count with at most 10 decimal digits (`totalDigits value="10"`).
    pub(crate) fn ten_digits(path: &str, value: u64) -> Result<()> {
        if value <= 9_999_999_999 {
            Ok(())
        } else {
            fail(path, &value.to_string(), "more than 10 digits")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_accepts_xsd_lexical_forms_and_rejects_exponents() {
        assert_eq!(
            parse_decimal("+1.50").map(|d| d.to_string()),
            Ok("1.50".into())
        );
        assert_eq!(parse_decimal(".5").map(|d| d.to_string()), Ok("0.5".into()));
        assert_eq!(parse_decimal("7.").map(|d| d.to_string()), Ok("7".into()));
        assert_eq!(
            parse_decimal("-0.0001").map(|d| d.to_string()),
            Ok("-0.0001".into())
        );
        assert!(parse_decimal("1e5").is_err());
        assert!(parse_decimal(".").is_err());
        assert!(parse_decimal("").is_err());
        assert!(parse_decimal("-").is_err());
    }

    #[test]
    fn amount_with_more_than_four_fraction_digits_is_refused() {
        assert!(format_amount("Amount", &Decimal::new(123_456, 5)).is_err());
        assert_eq!(
            format_amount("Amount", &Decimal::new(12_345, 4)),
            Ok("1.2345".into())
        );
    }

    #[test]
    fn timestamps_without_zone_are_utc() {
        let with_zone = parse_timestamp("2024-03-01T10:00:00+01:00");
        let naive = parse_timestamp("2024-03-01T09:00:00");
        assert_eq!(with_zone, naive);
        assert!(parse_timestamp("2024-03-01").is_err());
    }

    #[test]
    fn dates_accept_zone_suffixes() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1);
        assert_eq!(parse_date("2024-03-01").ok(), d);
        assert_eq!(parse_date("2024-03-01Z").ok(), d);
        assert_eq!(parse_date("2024-03-01+02:00").ok(), d);
        assert!(parse_date("2024-03-01T00:00").is_err());
        assert!(parse_date("2024-3-1").is_err());
    }

    #[test]
    fn base64_tolerates_line_breaks_and_missing_padding() {
        assert_eq!(parse_base64("AQID\r\nBA"), Ok(vec![1, 2, 3, 4]));
        assert!(parse_base64("***").is_err());
    }

    #[test]
    fn facet_checks_follow_the_schema_patterns() {
        assert!(check::ebics_id("p", "PARTNER1").is_ok());
        assert!(check::ebics_id("p", "user-1").is_err());
        assert!(check::ebics_id("p", "").is_err());
        assert!(check::order_id("p", "A0B1").is_ok());
        assert!(check::order_id("p", "0AB1").is_err());
        assert!(check::account_number("p", "DE89370400440532013000").is_ok());
        assert!(check::account_number("p", "1234567").is_ok());
        assert!(check::account_number("p", "DE8").is_err());
        assert!(check::bank_code("p", "COBADEFFXXX").is_ok());
        assert!(check::bank_code("p", "37040044").is_ok());
        assert!(check::bank_code("p", "COBADE").is_err());
        assert!(check::token("p", "a b", 1, 5).is_ok());
        assert!(check::token("p", " a", 1, 5).is_err());
        assert!(check::token("p", "a  b", 1, 5).is_err());
    }

    #[test]
    fn excessive_nesting_is_refused_before_tree_building() {
        let max = LIMITS.depth;
        let deep = format!("<a>{}{}</a>", "<b>".repeat(max), "</b>".repeat(max));
        assert_eq!(
            parse_xml_str(&deep).unwrap_err(),
            OrderDataError::Malformed(kontor_xml::ReadError::LimitExceeded {
                what: kontor_xml::Limit::Depth,
                limit: max as u64
            })
        );
        let ok = format!("<a>{}{}</a>", "<b>".repeat(max - 1), "</b>".repeat(max - 1));
        assert!(parse_xml_str(&ok).is_ok());
    }

    #[test]
    fn control_characters_cannot_be_written() {
        assert!(check_xml_chars("x", "a\u{1}b").is_err());
        assert!(check_xml_chars("x", "tab\tand\nnewline").is_ok());
    }
}
