//! The EBICS client against the bank emulator and test servers.

mod transfers;
mod transport;
