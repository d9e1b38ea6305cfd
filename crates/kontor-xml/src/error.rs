//! Why a document was not read.

use crate::limits::{Limit, Limits};

/// Why a document was not read. Every failure of [`crate::parse`] is one of these; none is a
/// panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not UTF-8 (`offset`: where the first invalid sequence starts).
    #[error("XML is not UTF-8: invalid byte sequence at offset {offset}")]
    NotUtf8 { offset: usize },
    /// The document has a document type declaration.
    #[error("XML with a document type declaration (DTD) is not accepted")]
    DtdNotAllowed,
    /// The document exceeds one of the [`Limits`].
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded { what: Limit, limit: u64 },
    /// The text is not well-formed XML (or not namespace-well-formed).
    #[error("not well-formed XML: {reason}")]
    Malformed { reason: String },
}

impl ReadError {
    pub(crate) fn limit(what: Limit, limit: usize) -> Self {
        ReadError::LimitExceeded {
            what,
            limit: limit as u64,
        }
    }

    pub(crate) fn malformed(reason: impl ToString) -> Self {
        ReadError::Malformed {
            reason: reason.to_string(),
        }
    }

    /// Maps roxmltree's error (after the pre-scan passed) to the policy's vocabulary.
    pub(crate) fn from_tree(error: roxmltree::Error, limits: &Limits) -> Self {
        match error {
            roxmltree::Error::NodesLimitReached => ReadError::LimitExceeded {
                what: Limit::Nodes,
                limit: u64::from(limits.nodes),
            },
            roxmltree::Error::DtdDetected => ReadError::DtdNotAllowed,
            other => ReadError::malformed(other),
        }
    }
}
