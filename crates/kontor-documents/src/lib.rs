//! # kontor-documents
//!
//! The business documents that travel inside EBICS orders:
//!
//! - [`pain`]: pain.001 credit transfers and pain.008 direct debits — parse, validate, summarise
//!   and build;
//! - [`camt`]: camt.052/053/054 account reports, statements and notifications — generate from a
//!   [`Ledger`] and parse into [`Statement`]s;
//! - [`status_report`]: pain.002 customer payment status reports (EBICS HAC) — build and parse;
//! - [`mt940`]: SWIFT MT940 statements — generate and parse into the same [`Statement`] model;
//! - validated building blocks: [`Iban`], [`Bic`], [`Currency`], [`Amount`].
//!
//! Invariant: this crate performs no I/O and reads no clock. Callers pass bytes, strings and dates
//! in, and get values or typed errors back; no input makes it panic. XML is read under the
//! shared policy of `kontor-xml` with [`DOCUMENT_LIMITS`] (no DTD, nesting at most 256 levels,
//! node count scaled for bulk files), so hostile nesting is a [`ReadError`], not a stack
//! overflow.

/// Implements `schemars::JsonSchema` for a type serialised as a string, optionally matching
/// `pattern`: its OpenAPI schema names the type and says what the text is.
///
/// Shared with `kontor-protocol`, so the pure crates describe their string types one way. It
/// expands in the calling crate: the impl exists when *that* crate's `schemars` feature is on.
#[doc(hidden)]
#[macro_export]
macro_rules! string_schema {
    ($ty:ident, pattern = $pattern:literal, $description:literal) => {
        $crate::string_schema!(@impl $ty, { "type": "string", "pattern": $pattern, "description": $description });
    };
    ($ty:ident, $description:literal) => {
        $crate::string_schema!(@impl $ty, { "type": "string", "description": $description });
    };
    (@impl $ty:ident, $schema:tt) => {
        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

/// Implements `Debug` (`Type(text)`), `AsRef<str>`, `FromStr` and serde as a string for a validated text
/// newtype, through its `parse` constructor and its `$text` accessor: what is read back is
/// validated exactly as what is parsed; its JSON schema is a string matching `$pattern`.
macro_rules! validated_text {
    ($ty:ident, $err:ty, $text:ident, $pattern:literal, $description:literal) => {
        string_schema!($ty, pattern = $pattern, $description);

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.$text())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.$text()
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.$text())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(deserializer)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod amount;
pub mod bic;
pub mod camt;
pub mod currency;
mod datetime;
pub mod iban;
mod inline_code;
pub mod ledger;
pub mod mt940;
pub mod pain;
mod rng;
pub mod sizing;
pub mod statement;
pub mod status_report;
mod xml;

pub use amount::{Amount, AmountError};
pub use bic::{Bic, BicError};
pub use currency::{Currency, CurrencyError};
pub use iban::{Iban, IbanError};
pub use kontor_xml::{Limit, Limits, ReadError};
pub use ledger::{AccountInfo, Ledger, LedgerDay, LedgerError};
pub use sizing::ExportFormat;
pub use statement::{collect_statements, StatementPart, DEFAULT_BATCH};
pub use statement::{
    Balance, BalanceKind, BalanceMismatch, BankTransactionCode, CreditDebit, DateTimePeriod, Entry,
    EntryStatus, Statement, StatementAccount, StatementFormat,
};
pub use xml::reader::{XmlError, DOCUMENT_LIMITS};
