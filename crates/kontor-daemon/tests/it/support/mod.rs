//! The one fixture of the integration tests. Every world starts from the same seed
//! ([`seed::plant`]: a tenant with a bank host, a connection, an EBICS user and optionally an
//! account) and adds what its floor needs: [`api`] a second tenant, operators of every role
//! and one record of every kind; [`emulator`] the bank emulator on loopback with the user's
//! keys; [`transport`] TLS, plain HTTP and proxy servers.

pub mod api;
pub mod child;
pub mod emulator;
pub mod openapi;
pub mod payments;
pub mod seed;
pub mod transport;
pub mod webhooks;

pub use kontor_storage::testing::TestDb;

/// Generates `sqlite::<name>` and `postgres::<name>` tests from one async body taking a
/// [`TestDb`]: `name => body;` with a function name or a closure, or `name;` alone when the
/// body is the test module's function of the test's own name. The PostgreSQL variant is
/// skipped without `KONTOR_TEST_POSTGRES_URL` (and fails when `KONTOR_REQUIRE_POSTGRES=1`).
macro_rules! on_both_databases {
    (@body $name:ident) => {
        $name
    };
    (@body $name:ident $body:expr) => {
        $body
    };
    ($($name:ident $(=> $body:expr)?;)+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite().await;
                    // The body is named in the test module (the test may share its name).
                    let body = {
                        use super::*;
                        on_both_databases!(@body $name $($body)?)
                    };
                    (body)(db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::support::TestDb::postgres().await {
                        let body = {
                            use super::*;
                            on_both_databases!(@body $name $($body)?)
                        };
                        (body)(db).await;
                    }
                }
            )+
        }
    };
}

/// Polls `check` until it yields, for at most 30 s (the bound keeps a broken test from
/// hanging; it measures nothing).
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
