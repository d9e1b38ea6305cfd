//! The limits a document must stay within, and the names of the limits for error messages.

use std::fmt;

/// Bounds on the shape of a document. Every value is inclusive: a document exactly at a limit
/// is accepted.
///
/// [`Limits::DEFAULT`] is generous: real EBICS and ISO 20022 documents stay far below every
/// value (they nest about a dozen levels, use a handful of attributes per element and short
/// names). Only the node count depends on the document's size, so each call site sets the
/// node limit it needs, e.g. statements of 100 000s of bookings:
///
/// ```
/// use kontor_xml::Limits;
///
/// const STATEMENTS: Limits = Limits {
///     nodes: 100_000_000,
///     ..Limits::DEFAULT
/// };
/// ```
///
/// The overall input size is not limited here: callers decide how many bytes they accept
/// before parsing (HTTP body limits, download size limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting; the root element is level 1.
    pub depth: usize,
    /// Most nodes in the tree (elements, text, comments, processing instructions).
    pub nodes: u32,
    /// Most attributes on one element, namespace declarations included.
    pub attributes: usize,
    /// Largest attribute value, in bytes as written (before entity references are resolved).
    pub attribute_bytes: usize,
    /// Largest text node (adjacent text and CDATA together), comment or processing
    /// instruction, in bytes as written.
    pub text_bytes: usize,
    /// Longest element or attribute name, prefix included, in bytes.
    pub name_bytes: usize,
}

impl Limits {
    /// The policy for protocol messages and small documents; business documents raise
    /// [`Limits::nodes`].
    pub const DEFAULT: Limits = Limits {
        depth: 256,
        nodes: 1_000_000,
        attributes: 64,
        attribute_bytes: 64 * 1024,
        // EBICS segments are at most 1 MB of base64 (one text node of an envelope); 16 times
        // that leaves room for any bank that stretches the rule.
        text_bytes: 16 * 1024 * 1024,
        name_bytes: 256,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which limit a document exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`Limits::depth`].
    Depth,
    /// [`Limits::nodes`].
    Nodes,
    /// [`Limits::attributes`].
    Attributes,
    /// [`Limits::attribute_bytes`].
    AttributeBytes,
    /// [`Limits::text_bytes`].
    TextBytes,
    /// [`Limits::name_bytes`].
    NameBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Depth => "XML element nesting depth",
            Limit::Nodes => "number of XML nodes",
            Limit::Attributes => "number of attributes of one XML element",
            Limit::AttributeBytes => "size of an XML attribute value in bytes",
            Limit::TextBytes => "size of an XML text, comment or processing instruction in bytes",
            Limit::NameBytes => "length of an XML element or attribute name in bytes",
        })
    }
}
