//! The fixtures every crate's tests share, so each world is the same seed plus what its floor
//! needs: [`seed`] (a tenant with a bank host, a connection, an EBICS user and optionally an
//! account, from `kontor_storage::testing`, where the storage tests reach it too), [`bank`]
//! (the emulator on loopback, bank-key decisions, the user's signature key as a signer holds
//! it) and [`payments`] (valid pain.001/pain.008 files).
//!
//! Dev-only (`publish = false`); it depends on storage, the pure crates and the emulator,
//! never on the daemon or the CLI whose tests use it.

pub mod bank;
pub mod payments;

pub use kontor_storage::testing::{seed, TestDb};
