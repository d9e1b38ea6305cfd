//! SWIFT MT940 customer statements (as delivered by EBICS order types STA / `EOP`+`MT940`).
//!
//! - [`generate`] writes one statement per ledger day with fields `:20:`, `:25:`, `:28C:`,
//!   `:60F:`, `:61:`, `:86:` (German DK structure with `?` subfields), `:62F:`.
//! - [`parse`] reads any number of statements per file (with or without SWIFT `{1:…}{4:`
//!   envelopes) into [`crate::Statement`]s; [`Mt940Reader`] reads the same as a stream from any
//!   `BufRead`, in bounded batches.

mod codes;
mod fields;
mod generate;
mod parse;
mod stream;

pub use generate::{generate, Mt940Request};
pub use parse::{parse, parse_bytes, Mt940Error};
pub use stream::{Mt940Reader, Mt940StreamError};
