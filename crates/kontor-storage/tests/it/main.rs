//! kontor-storage's integration tests, one binary for the whole crate (every test binary is
//! linked on its own, which costs CI minutes). Modules are named after what they test;
//! `support` holds the fixtures they share.

mod bundled_sqlite;
mod conformance;
mod isolation;
mod read_transactions;
mod support;
mod webhooks;
