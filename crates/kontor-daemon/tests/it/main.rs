//! The integration tests of kontor-daemon, in one binary, by what they test:
//! - [`api`]: the admin HTTP API (access table, input, behaviour);
//! - [`services`]: the business workflows (onboarding, orders, statements, the scheduler,
//!   VEU), with fakes of the bank and against the bank emulator;
//! - [`ebics`]: the EBICS client (transfers, recovery, transport);
//! - [`architecture`]: the invariants of the three floors.
//!
//! Database tests run on SQLite and, with `KONTOR_TEST_POSTGRES_URL`, on PostgreSQL
//! ([`on_both_databases!`]); [`support`] is the one fixture they all start from.

#[macro_use]
mod support;

mod api;
mod architecture;
mod ebics;
mod services;
