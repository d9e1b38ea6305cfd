//! The one error type of the order-data layer.

use crate::version::ProtocolVersion;

/// Why an order-data document could not be parsed or written.
///
/// Parsing never panics: every malformed, truncated or hostile input ends in one of these
/// variants. Writing fails, and yields no document, for any value the official schema would
/// reject, so Kontor never sends a document a bank could refuse as schema-invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderDataError {
    /// The bytes are not UTF-8 (EBICS order data is always UTF-8 encoded XML).
    #[error("order data is not valid UTF-8")]
    NotUtf8,
    /// The bytes are not readable under the XML policy: not well-formed, a DTD, or beyond the
    /// limits of `kontor-xml` (e.g. hostile nesting).
    #[error("order data: {0}")]
    Malformed(#[from] kontor_xml::ReadError),
    /// The root element is not the document that was asked for.
    #[error("expected root element {expected}, found {found}")]
    UnexpectedRoot {
        /// The local name that was expected.
        expected: &'static str,
        /// The local name that was found.
        found: String,
    },
    /// The root element is in no namespace Kontor knows for this document.
    #[error("namespace {namespace:?} of {element} is not a supported EBICS namespace")]
    UnknownNamespace {
        /// The element whose namespace is wrong.
        element: String,
        /// Its namespace URI (empty for none).
        namespace: String,
    },
    /// A mandatory element is absent.
    #[error("missing element {element} in {parent}")]
    MissingElement {
        /// Local name of the missing element.
        element: String,
        /// Slash-separated path of the parent element.
        parent: String,
    },
    /// A value does not have the shape the schema prescribes.
    #[error("invalid value {value:?} at {path}: {reason}")]
    InvalidValue {
        /// Slash-separated element path (attributes as `@name`).
        path: String,
        /// The offending value, shortened to 64 characters.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The target protocol version needs a field the model leaves empty.
    #[error("{field} is required in {version}")]
    RequiredInVersion {
        /// The schema element or attribute.
        field: &'static str,
        /// The document's protocol version.
        version: ProtocolVersion,
    },
    /// The model carries a field the target protocol version cannot express; writing it would
    /// silently drop data, so it is refused.
    #[error("{field} cannot be expressed in {version}")]
    NotInVersion {
        /// The schema element or attribute.
        field: &'static str,
        /// The document's protocol version.
        version: ProtocolVersion,
    },
    /// Kontor has no order-data schema for this protocol version (only H004 and H005).
    #[error("order data for protocol version {0} is not supported")]
    UnsupportedVersion(ProtocolVersion),
    /// The underlying writer failed.
    #[error("writing XML failed: {0}")]
    Write(String),
}

/// Result alias of this module.
pub type Result<T, E = OrderDataError> = std::result::Result<T, E>;

impl OrderDataError {
    pub(crate) fn invalid(path: impl Into<String>, value: &str, reason: impl Into<String>) -> Self {
        const MAX: usize = 64;
        let value = if value.chars().count() > MAX {
            let mut short: String = value.chars().take(MAX).collect();
            short.push('…');
            short
        } else {
            value.to_owned()
        };
        Self::InvalidValue {
            path: path.into(),
            value,
            reason: reason.into(),
        }
    }
}
