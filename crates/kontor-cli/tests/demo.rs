//! The README's first command must keep working: `kontor demo` tells the whole story (two
//! signers onboarded, statements downloaded, a payment signed A+B and sent to the bank once)
//! and exits 0, on SQLite and on PostgreSQL.

use kontor_storage::testing::replace_database;
use std::process::{Command, Output};

fn run_demo(extra: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .arg("demo")
        .args(extra)
        .output()
        .expect("run kontor demo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output, stdout)
}

/// The story's observable results, as the demo's final state prints them.
fn assert_whole_story(stdout: &str) {
    for signer in ["USER2 (Anna Schmidt) READY", "USER3 (Bernd Weber) READY"] {
        assert!(stdout.contains(signer), "{signer} missing:\n{stdout}");
    }
    let bookings: usize = value_after(stdout, "booked transactions stored: ")
        .parse()
        .expect("booking count");
    assert!(bookings > 0, "no bookings stored:\n{stdout}");
    assert!(
        stdout.contains("is now PENDING_SIGNATURE") && stdout.contains("is now SIGNED"),
        "both signers approved through `kontor sign`:\n{stdout}"
    );
    assert!(
        stdout.contains("the bank received 1 order(s)"),
        "order accepted once by the bank:\n{stdout}"
    );
    assert!(
        stdout.contains("order COMPLETED: bank order id"),
        "the bank's status report (HAC) completed the order:\n{stdout}"
    );
    assert!(
        !value_after(stdout, ", bank order id ").starts_with('-'),
        "the bank gave an order id:\n{stdout}"
    );
    assert!(
        !stdout.contains("PRIVATE KEY"),
        "private key material printed"
    );
}

fn value_after<'s>(stdout: &'s str, label: &str) -> &'s str {
    let start = stdout
        .rfind(label)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
        + label.len();
    stdout[start..]
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()
        .unwrap_or_default()
}

#[test]
fn demo_tells_the_whole_story_on_sqlite() {
    let (_, stdout) = run_demo(&[]);
    assert!(stdout.contains("registered (H005"), "{stdout}");
    assert_whole_story(&stdout);
}

#[test]
fn demo_tells_the_whole_story_on_an_ebics_2_5_host() {
    let (_, stdout) = run_demo(&["--protocol", "H004"]);
    assert!(stdout.contains("registered (H004"), "{stdout}");
    assert_whole_story(&stdout);
}

#[test]
fn demo_tells_the_whole_story_on_postgres() {
    let Some(database) = FreshPostgres::create() else {
        return;
    };
    let (_, stdout) = run_demo(&["--database-url", &database.url]);
    assert!(stdout.contains("database Postgres"), "{stdout}");
    assert_whole_story(&stdout);
}

/// A database of its own on the server of `KONTOR_TEST_POSTGRES_URL`, dropped afterwards.
struct FreshPostgres {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshPostgres {
    /// `None` (skip) without `KONTOR_TEST_POSTGRES_URL`, unless `KONTOR_REQUIRE_POSTGRES=1`.
    fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("KONTOR_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("KONTOR_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "KONTOR_REQUIRE_POSTGRES=1 but KONTOR_TEST_POSTGRES_URL is not set"
            );
            eprintln!("SKIP postgres: KONTOR_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("kontor_demo_{}", uuid::Uuid::new_v4().simple());
        execute(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = replace_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = kontor_storage::Store::connect(
            url,
            std::sync::Arc::new(kontor_storage::MasterKey::generate()),
        )
        .await
        .expect("connect to PostgreSQL");
        store.raw_execute(sql).await.expect(sql);
        store.close().await;
    });
}

#[test]
fn bad_master_key_file_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    std::fs::write(&key, "not a key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .arg("migrate")
        .env("KONTOR_KEY_FILE", &key)
        .env("KONTOR_DATA_DIR", dir.path().join("data"))
        .env_remove("KONTOR_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("malformed"), "{stderr}");
    assert!(
        !dir.path().join("data/kontor.db").exists(),
        "nothing is created with a bad key file"
    );
}
