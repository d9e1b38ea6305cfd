//! Fixtures shared by every test module: the `kontor` binary, databases and daemon processes,
//! and the tenant set-up and payment files the end-to-end tests start from.

pub mod daemon;
pub mod setup;
pub mod signer_world;

use std::process::Command;

/// The `kontor` binary of this build.
pub fn kontor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
}

/// A local TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
