//! Tenant-scoped repositories, one module per entity group. Each is reached from a
//! [`ScopedTx`](crate::ScopedTx), so every statement carries the scope's tenant.

pub mod audit;
pub mod connections;
pub mod hosts;
pub mod memberships;
pub mod orders;
pub mod payment_transfers;
pub mod schedules;
pub mod statement_files;
pub mod statements;
pub mod transactions;
pub mod users;
pub mod veu;
pub mod webhooks;

/// Implements [`Entity`](crate::Entity) and [`EntityId`](crate::EntityId) for a record type.
macro_rules! entity {
    ($ty:ident, $id:ident, $table:literal, $name:literal $(, $deletable:ident)?) => {
        impl crate::store::Entity for $ty {
            const TABLE: &'static str = $table;
            const NAME: &'static str = $name;
            type Id = $id;
            fn from_row(row: &crate::db::RowReader<'_>) -> crate::error::Result<Self> {
                $ty::read(row)
            }
        }

        impl crate::store::EntityId for $id {
            type Entity = $ty;
            fn db_value(&self) -> String {
                self.to_db()
            }
            fn fresh() -> Self {
                $id::new()
            }
        }

        $(impl crate::store::$deletable for $ty {})?
    };
}
pub(crate) use entity;

/// Declares a repository accessor on `ScopedTx`: `tx.name()` returns `Repo` borrowing the tx.
macro_rules! repository {
    ($(#[$meta:meta])* $repo:ident, $accessor:ident) => {
        $(#[$meta])*
        pub struct $repo<'t, 's> {
            pub(crate) tx: &'t mut crate::store::ScopedTx<'s>,
        }

        impl<'s> crate::store::ScopedTx<'s> {
            $(#[$meta])*
            pub fn $accessor(&mut self) -> $repo<'_, 's> {
                $repo { tx: self }
            }
        }
    };
}
pub(crate) use repository;

/// Which column names the EBICS user of each per-user record (listings of operators
/// restricted by grants filter on it).
macro_rules! of_ebics_user {
    ($($ty:ty => $column:literal),+ $(,)?) => {$(
        impl crate::store::OfEbicsUser for $ty {
            const USER_COLUMN: &'static str = $column;
        }
    )+};
}

of_ebics_user! {
    users::EbicsUser => "id",
    orders::Order => "ebics_user_id",
    transactions::Transaction => "ebics_user_id",
    schedules::Schedule => "ebics_user_id",
    statement_files::StatementFile => "ebics_user_id",
}
