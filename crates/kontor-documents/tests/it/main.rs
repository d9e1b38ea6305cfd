//! kontor-documents' integration tests, one binary for the whole crate (every test binary is
//! linked on its own, which costs CI minutes). Modules are named after what they test;
//! `support` holds the fixtures they share.

mod camt_parse;
mod camt_roundtrip;
mod dedupe;
mod fuzz;
mod large_documents;
mod mt940_roundtrip;
mod nesting_limits;
mod pain;
mod pain_request;
mod robustness;
mod schema_structure;
mod status_report;
mod streaming;
mod support;
