//! The README's first command must keep working: `kontor demo` tells the whole story (two
//! signers onboarded, statements downloaded, a payment signed A+B and sent to the bank once)
//! and exits 0, on SQLite and on PostgreSQL.

use std::process::Output;

use kontor_storage::testing::TestDb;

use crate::support::kontor;

fn run_demo(extra: &[&str]) -> (Output, String) {
    let output = kontor()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_tells_the_whole_story_on_postgres() {
    let Some(database) = TestDb::postgres().await else {
        return;
    };
    let url = database.url().to_owned();
    let (_, stdout) = tokio::task::spawn_blocking(move || run_demo(&["--database-url", &url]))
        .await
        .unwrap();
    assert!(stdout.contains("database Postgres"), "{stdout}");
    assert_whole_story(&stdout);
}
