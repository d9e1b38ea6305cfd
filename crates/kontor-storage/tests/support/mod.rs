//! Test fixtures shared by the storage conformance suite: one suite, two backends.
#![allow(dead_code)]

pub mod fixture;

pub use kontor_storage::testing::TestDb;

/// Generates `sqlite_<name>` and `postgres_<name>` tests from one async fn taking `&Store`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::postgres().await else { return };
                    super::$name(&db.store).await;
                }
            )+
        }
    };
}
