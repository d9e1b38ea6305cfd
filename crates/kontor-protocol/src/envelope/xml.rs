//! Small helpers for writing (quick-xml) and reading (roxmltree) envelopes.

use std::io;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use kontor_xml::Limits;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use roxmltree::{Document, Node};

use super::EnvelopeError;
use crate::version::ProtocolVersion;
use crate::xmldsig::DS_NAMESPACE;

/// The reading policy of envelopes: the shared defaults, with a node limit for messages that
/// have a few dozen nodes (order data is one base64 text node), which stops node floods early.
const LIMITS: Limits = Limits {
    nodes: 100_000,
    ..Limits::DEFAULT
};

/// The HEV namespace (`ebics_hev.xsd`).
pub const HEV_NAMESPACE: &str = "http://www.ebics.org/H000";

/// Writes an envelope with quick-xml. Every element is in the default namespace of the root.
pub(crate) struct XmlOut {
    writer: Writer<Vec<u8>>,
}

fn write_err(e: io::Error) -> EnvelopeError {
    EnvelopeError::Write(e.to_string())
}

impl XmlOut {
    /// Starts a document with an XML declaration.
    pub(crate) fn new() -> Result<Self, EnvelopeError> {
        let mut writer = Writer::new(Vec::with_capacity(4096));
        writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(write_err)?;
        Ok(Self { writer })
    }

    /// Starts an H004/H005 envelope `name`: the declaration, the root element and the opened
    /// `header authenticate="true"` every such envelope begins with (the schemas require the
    /// attribute). Other versions are refused before anything is written.
    pub(crate) fn envelope(name: &str, version: ProtocolVersion) -> Result<Self, EnvelopeError> {
        if !matches!(version, ProtocolVersion::H004 | ProtocolVersion::H005) {
            return Err(EnvelopeError::UnsupportedVersion(
                version.as_str().to_owned(),
            ));
        }
        let mut out = Self::new()?;
        out.root(name, version)?;
        out.start("header", &[("authenticate", "true")])?;
        Ok(out)
    }

    /// Opens the root element of an EBICS envelope with namespaces, `Version` and `Revision`.
    fn root(&mut self, name: &str, version: ProtocolVersion) -> Result<(), EnvelopeError> {
        let revision = version.revision().to_string();
        self.start(
            name,
            &[
                ("xmlns", version.namespace()),
                ("xmlns:ds", DS_NAMESPACE),
                ("Version", version.as_str()),
                ("Revision", &revision),
            ],
        )
    }

    fn write(&mut self, event: Event<'_>) -> Result<(), EnvelopeError> {
        self.writer.write_event(event).map_err(write_err)
    }

    pub(crate) fn start(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
    ) -> Result<(), EnvelopeError> {
        self.write(Event::Start(tag(name, attrs)))
    }

    pub(crate) fn end(&mut self, name: &str) -> Result<(), EnvelopeError> {
        self.write(Event::End(BytesEnd::new(name)))
    }

    /// An element with only attributes, as an empty-element tag.
    pub(crate) fn empty(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
    ) -> Result<(), EnvelopeError> {
        self.write(Event::Empty(tag(name, attrs)))
    }

    /// An element with text content (escaped).
    pub(crate) fn text(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> Result<(), EnvelopeError> {
        self.start(name, attrs)?;
        self.write(Event::Text(BytesText::new(text)))?;
        self.end(name)
    }

    /// An element with base64 content.
    pub(crate) fn base64(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        data: &[u8],
    ) -> Result<(), EnvelopeError> {
        self.text(name, attrs, &B64.encode(data))
    }

    pub(crate) fn finish(self) -> Result<String, EnvelopeError> {
        String::from_utf8(self.writer.into_inner()).map_err(|e| EnvelopeError::Write(e.to_string()))
    }
}

fn tag<'a>(name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
    BytesStart::new(name).with_attributes(attrs.iter().copied())
}

/// Formats a timestamp as `xs:dateTime` in UTC with millisecond precision.
pub(crate) fn format_timestamp(ts: &DateTime<Utc>) -> String {
    ts.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an `xs:dateTime`; a value without zone is taken as UTC.
pub(crate) fn parse_timestamp(
    element: &'static str,
    s: &str,
) -> Result<DateTime<Utc>, EnvelopeError> {
    let s = s.trim();
    if let Ok(ts) = DateTime::parse_from_rfc3339(s) {
        return Ok(ts.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| n.and_utc())
        .map_err(|_| EnvelopeError::InvalidValue {
            element,
            reason: format!("not an xs:dateTime: {s:?}"),
        })
}

pub(crate) fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(element: &'static str, s: &str) -> Result<NaiveDate, EnvelopeError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| EnvelopeError::InvalidValue {
        element,
        reason: format!("not an xs:date: {s:?}"),
    })
}

/// Decodes envelope bytes as UTF-8 text (a leading BOM is ignored).
pub(crate) fn as_text(bytes: &[u8]) -> Result<&str, EnvelopeError> {
    kontor_xml::decode(bytes).map_err(|_| EnvelopeError::NotUtf8)
}

/// Parses envelope text under the shared XML policy (no DTD, bounded nesting and nodes).
pub(crate) fn parse_document(text: &str) -> Result<Document<'_>, EnvelopeError> {
    Ok(kontor_xml::parse(text, &LIMITS)?)
}

/// Identifies the protocol version from the root's namespace and checks the `Version`
/// attribute agrees.
pub(crate) fn root_version(
    root: Node<'_, '_>,
    expected_name: &'static str,
) -> Result<ProtocolVersion, EnvelopeError> {
    let ns = root.tag_name().namespace().unwrap_or("");
    let version = [ProtocolVersion::H004, ProtocolVersion::H005]
        .into_iter()
        .find(|v| v.namespace() == ns)
        .ok_or_else(|| EnvelopeError::WrongNamespace {
            expected: "urn:org:ebics:H004 or urn:org:ebics:H005",
            found: ns.to_owned(),
        })?;
    if root.tag_name().name() != expected_name {
        return Err(EnvelopeError::WrongRootElement {
            expected: expected_name,
            found: root.tag_name().name().to_owned(),
        });
    }
    let attr = root
        .attribute("Version")
        .ok_or(EnvelopeError::MissingAttribute {
            element: expected_name,
            attribute: "Version",
        })?;
    if attr != version.as_str() {
        return Err(EnvelopeError::InvalidValue {
            element: expected_name,
            reason: format!("Version {attr:?} does not match namespace {ns}"),
        });
    }
    Ok(version)
}

/// The frame every H004/H005 envelope shares: root `header` (marked `authenticate="true"`)
/// with `static` and `mutable`, an `AuthSignature` where the envelope is signed, and `body`.
pub(crate) struct Frame<'a, 'input> {
    pub(crate) version: ProtocolVersion,
    pub(crate) ns: &'static str,
    pub(crate) static_node: Node<'a, 'input>,
    pub(crate) mutable_node: Node<'a, 'input>,
    pub(crate) body: Node<'a, 'input>,
}

/// Parses `bytes` as the envelope `root_name` and hands its frame to `read`; `signed`
/// envelopes carry `AuthSignature` between `header` and `body` (it is verified separately,
/// here it only has to stand where the schema puts it).
pub(crate) fn parse_envelope<T>(
    bytes: &[u8],
    root_name: &'static str,
    signed: bool,
    read: impl FnOnce(Frame<'_, '_>) -> Result<T, EnvelopeError>,
) -> Result<T, EnvelopeError> {
    let doc = parse_document(as_text(bytes)?)?;
    read(parse_frame(doc.root_element(), root_name, signed)?)
}

/// Checks the root and the frame's order (see [`parse_envelope`]).
fn parse_frame<'a, 'input>(
    root: Node<'a, 'input>,
    root_name: &'static str,
    signed: bool,
) -> Result<Frame<'a, 'input>, EnvelopeError> {
    let version = root_version(root, root_name)?;
    let ns = version.namespace();
    let mut top = Children::of(root, root_name, ns);
    let header = top.required("header")?;
    require_authenticated(header, "header")?;
    if signed {
        top.required("AuthSignature")?;
    }
    let body = top.required("body")?;
    top.finish()?;
    let mut h = Children::of(header, "header", ns);
    let static_node = h.required("static")?;
    let mutable_node = h.required("mutable")?;
    h.finish()?;
    Ok(Frame {
        version,
        ns,
        static_node,
        mutable_node,
        body,
    })
}

/// Walks the element children of one element in schema order.
pub(crate) struct Children<'a, 'input> {
    parent: &'static str,
    ns: &'a str,
    nodes: Vec<Node<'a, 'input>>,
    pos: usize,
}

impl<'a, 'input> Children<'a, 'input> {
    pub(crate) fn of(parent: Node<'a, 'input>, parent_name: &'static str, ns: &'a str) -> Self {
        Self {
            parent: parent_name,
            ns,
            nodes: parent.children().filter(|n| n.is_element()).collect(),
            pos: 0,
        }
    }

    fn peek_is(&self, name: &str) -> bool {
        self.nodes.get(self.pos).is_some_and(|n| {
            n.tag_name().name() == name && n.tag_name().namespace().unwrap_or("") == self.ns
        })
    }

    /// The next child, which must be `name` in the envelope namespace.
    pub(crate) fn required(
        &mut self,
        name: &'static str,
    ) -> Result<Node<'a, 'input>, EnvelopeError> {
        if self.peek_is(name) {
            self.pos += 1;
            Ok(self.nodes[self.pos - 1])
        } else {
            Err(EnvelopeError::MissingElement {
                parent: self.parent,
                element: name,
            })
        }
    }

    /// The next child if it is `name` in the envelope namespace.
    pub(crate) fn optional(&mut self, name: &str) -> Option<Node<'a, 'input>> {
        if self.peek_is(name) {
            self.pos += 1;
            Some(self.nodes[self.pos - 1])
        } else {
            None
        }
    }

    /// The next child whatever its name (for substitution groups such as `OrderParams`).
    pub(crate) fn optional_any(&mut self) -> Option<Node<'a, 'input>> {
        let node = self.nodes.get(self.pos).copied();
        if node.is_some() {
            self.pos += 1;
        }
        node
    }

    /// All consecutive children named `name`.
    pub(crate) fn repeated(&mut self, name: &str) -> Vec<Node<'a, 'input>> {
        let mut out = Vec::new();
        while let Some(n) = self.optional(name) {
            out.push(n);
        }
        out
    }

    /// Ends the walk: remaining children in other namespaces are the schema's `##other`
    /// extension points and are ignored; a remaining child in the envelope namespace is an
    /// error.
    pub(crate) fn finish(self) -> Result<(), EnvelopeError> {
        match self.nodes[self.pos..]
            .iter()
            .find(|n| n.tag_name().namespace().unwrap_or("") == self.ns)
        {
            Some(n) => Err(EnvelopeError::UnexpectedElement {
                parent: self.parent,
                element: n.tag_name().name().to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// All text content of an element (concatenated text children).
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// Text content with surrounding whitespace removed (`xs:token`-like values).
pub(crate) fn token_of(node: Node<'_, '_>) -> String {
    text_of(node).trim().to_owned()
}

/// Base64 content; whitespace (line breaks some banks insert) is ignored.
pub(crate) fn base64_of(
    node: Node<'_, '_>,
    element: &'static str,
) -> Result<Vec<u8>, EnvelopeError> {
    let compact: String = text_of(node)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    B64.decode(compact.as_bytes())
        .map_err(|_| EnvelopeError::InvalidBase64 { element })
}

/// A required attribute.
pub(crate) fn attr<'a>(
    node: Node<'a, '_>,
    element: &'static str,
    attribute: &'static str,
) -> Result<&'a str, EnvelopeError> {
    node.attribute(attribute)
        .ok_or(EnvelopeError::MissingAttribute { element, attribute })
}

/// Requires `authenticate="true"` exactly: the X002 reference selects elements by that literal
/// value, so a missing or different marker would silently exclude the element from the digest.
pub(crate) fn require_authenticated(
    node: Node<'_, '_>,
    element: &'static str,
) -> Result<(), EnvelopeError> {
    if node.attribute("authenticate") == Some("true") {
        Ok(())
    } else {
        Err(EnvelopeError::MissingAuthenticateMarker { element })
    }
}

/// Parses an `xs:boolean`.
pub(crate) fn parse_bool(element: &'static str, s: &str) -> Result<bool, EnvelopeError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(EnvelopeError::InvalidValue {
            element,
            reason: format!("not a boolean: {other:?}"),
        }),
    }
}

/// Parses an unsigned integer element or attribute value.
pub(crate) fn parse_u32(element: &'static str, s: &str) -> Result<u32, EnvelopeError> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| EnvelopeError::InvalidValue {
            element,
            reason: format!("not a number in range: {s:?}"),
        })
}
