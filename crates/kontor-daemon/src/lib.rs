//! # kontor-daemon
//!
//! The long-running part of Kontor: configuration, the EBICS engine, the scheduler and the
//! admin HTTP API. It reaches data only through `kontor-storage`'s tenant scopes and speaks
//! EBICS only through `kontor-protocol`.

pub mod api;
pub mod config;
pub mod engine;
pub mod runtime;

pub use config::{Config, ConfigError};
