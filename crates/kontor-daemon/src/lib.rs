//! # kontor-daemon
//!
//! The long-running part of Kontor, in three floors (see ARCHITECTURE.md):
//! - [`api`]: the admin HTTP API, HTTP only; it reaches everything through [`services`].
//! - [`services`]: the business workflows (onboarding, orders, statements, VEU, schedules).
//! - [`ebics`]: the EBICS client, one user at one bank: typed requests in, persisted
//!   transactions out.
//!
//! [`runtime`] wires them into one daemon instance. Data is reached only through
//! `kontor-storage`'s tenant scopes, and EBICS is spoken only through `kontor-protocol`.

pub mod api;
pub mod config;
pub mod ebics;
pub mod metrics;
pub mod runtime;
pub mod services;

pub use config::{Config, ConfigError};
