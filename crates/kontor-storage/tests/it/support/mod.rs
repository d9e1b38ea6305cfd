//! Fixtures shared by every test module: one suite, two backends.

pub mod fixture;

pub use kontor_storage::testing::TestDb;

/// Generates `sqlite::<name>` and `postgres::<name>` tests from async fns taking `&Store`.
///
/// Names after `postgres_only:` get only a PostgreSQL test, for properties SQLite does not have
/// (row-level security): no SQLite test exists that could pass without checking anything.
/// PostgreSQL tests skip (printing SKIP) without `KONTOR_TEST_POSTGRES_URL` and fail then
/// under `KONTOR_REQUIRE_POSTGRES=1`.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        $crate::support::conformance!($($name),+ ; postgres_only:);
    };
    ($($name:ident),+ ; postgres_only: $($postgres_only:ident),* $(,)?) => {
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
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $postgres_only() {
                    let Some(db) = $crate::support::TestDb::postgres().await else { return };
                    super::$postgres_only(&db.store).await;
                }
            )*
        }
    };
}

pub(crate) use conformance;
