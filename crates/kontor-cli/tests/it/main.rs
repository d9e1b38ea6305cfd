//! The `kontor` command's integration tests, one binary (every test binary is linked on its own,
//! which costs CI minutes). Modules are named after what they test; `support` holds the
//! fixtures they share.

#[macro_use]
mod support;

mod crash_recovery;
mod demo;
#[cfg(unix)]
mod file_modes;
mod key_file;
mod key_rotation;
mod signer_cli;
mod signer_key_change;
mod signer_suspension;
