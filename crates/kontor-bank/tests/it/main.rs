//! The integration tests of kontor-bank: one binary, one module per area, shared fixtures in
//! `support` (bank start-up, a protocol-level EBICS client, admin helpers).
//!
//! `interop_node` and `interop_painfree` drive independent clients; they skip with a printed
//! reason unless `KONTOR_REQUIRE_NODE=1` / `KONTOR_REQUIRE_PAINFREE=1` make them required.

mod admin_api;
mod cli;
mod ebics_download;
mod ebics_faults;
mod ebics_key_changes;
mod ebics_keys;
mod ebics_status;
mod ebics_upload;
mod ebicsweb;
mod interop_node;
mod interop_painfree;
mod support;
mod veu_state;
