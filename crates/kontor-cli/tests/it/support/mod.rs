//! Fixtures shared by every test module: the `kontor` binary, databases and daemon processes,
//! and the tenant set-up and payment files the end-to-end tests start from.

pub mod daemon;
pub mod setup;
pub mod signer_world;

use std::process::Command;

use kontor_storage::testing::TestDb;

/// One test per `name: backend version` case, each running `body(db, version)` on a fresh
/// database of that backend (`sqlite` or `postgres`); the PostgreSQL cases are skipped
/// without `KONTOR_TEST_POSTGRES_URL` (and fail with `KONTOR_REQUIRE_POSTGRES=1`).
macro_rules! cases {
    ($body:ident { $($name:ident: $backend:ident $version:ident,)+ }) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some(db) = $crate::support::test_db(stringify!($backend)).await {
                $body(db, kontor_protocol::ProtocolVersion::$version).await;
            }
        }
    )+};
}

/// A fresh database of `backend`; `None` where [`TestDb::postgres`] skips.
pub async fn test_db(backend: &str) -> Option<TestDb> {
    match backend {
        "sqlite" => Some(TestDb::sqlite().await),
        "postgres" => TestDb::postgres().await,
        other => panic!("no test database {other}"),
    }
}

/// The `kontor` binary of this build.
pub fn kontor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
}

/// `kontor sign <args>` against the API at `api` as the holder of `token`, with `passphrase`
/// for the signer's key files.
pub async fn kontor_sign(
    api: &str,
    token: &str,
    passphrase: &str,
    args: &[&str],
) -> std::process::Output {
    tokio::process::Command::from(kontor())
        .arg("sign")
        .args(args)
        .env("KONTOR_API_URL", api)
        .env("KONTOR_TOKEN", token)
        .env("KONTOR_SIGNER_PASSPHRASE", passphrase)
        .output()
        .await
        .unwrap()
}

/// A CCT order of `user` created through the API at `api` from the payment file `content`;
/// the API's answer.
pub async fn post_order(api: &str, token: &str, user: &str, content: Vec<u8>) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!(
            "{api}/v1/orders?ebics_user_id={user}&order_type=CCT"
        ))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(content)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A local TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
