//! # kontor-storage
//!
//! Kontor's data model, migrations and tenant-scoped repositories, on SQLite (embedded
//! default) and PostgreSQL (production, several daemon instances).
//!
//! ## Tenant scoping
//! Tenant data is reachable only through [`Store::scope`], which needs a [`TenantScope`]. A scope
//! comes from an [`AuthenticatedOperator`] (made only by [`admin::Admin::authenticate_token`]) or
//! from [`TenantScope::system_job`] for the daemon's own jobs. Every repository hangs off the
//! resulting [`ScopedTx`]; its reads, updates and deletes filter on the scope's tenant and its
//! inserts write the scope's tenant. No repository method takes a bare record id without a
//! scope. On PostgreSQL, each scoped transaction also runs as the role `kontor_app` with
//! `kontor.tenant_id` set, and row-level security policies refuse other tenants' rows even to
//! a query that forgot its filter.
//!
//! ## Reads and writes
//! [`Scoped::begin`] opens a read-write transaction (on SQLite `BEGIN IMMEDIATE`: writers are
//! serialised). [`Scoped::read`] opens a read-only one with the same scoping, for work that
//! only reads: on SQLite from a separate pool of `query_only` connections over the same WAL
//! file, so reads neither take nor wait for the write lock; on PostgreSQL `READ ONLY`.

pub mod admin;
mod db;
mod engine;
pub mod error;
pub mod ids;
pub mod private_files;
pub mod repo;
pub mod status;
mod store;
pub mod system;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;

#[doc(hidden)]
pub use db::RowReader;
pub use error::{Result, StorageError};
pub use ids::*;
pub use repo::audit::*;
pub use repo::connections::*;
pub use repo::hosts::*;
pub use repo::memberships::*;
pub use repo::orders::*;
pub use repo::payment_transfers::*;
pub use repo::schedules::*;
pub use repo::statement_files::*;
pub use repo::statements::*;
pub use repo::transactions::*;
pub use repo::users::*;
pub use repo::veu::*;
pub use repo::webhooks::*;
pub use status::*;
pub use store::{
    Actor, AuthenticatedOperator, Backend, Deletable, Entity, EntityId, Newest, OfEbicsUser, Page,
    Savepoint, Scoped, ScopedTx, Store, TenantScope,
};
pub use vault::{KeyDecryptionFailed, MasterKey, MasterKeyError};
