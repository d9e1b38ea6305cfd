//! Interoperability with an independent client: the Node package `ebics-client` 5.0.0 (H004)
//! drives INI, HIA, activation, HPB with the bank key hash check, and STA + C53 downloads
//! against an in-process emulator (`tests/interop-node/run.mjs`).
//!
//! Skips with a printed reason when `tests/interop-node/node_modules` or `node` is missing,
//! unless `KONTOR_REQUIRE_NODE=1` (set by `.ci/run` after `npm ci`), which turns that into a
//! failure.

use crate::support;

use std::path::PathBuf;
use std::process::Command;

use kontor_protocol::envelope::DateRange;
use support::bank_with;

fn harness_dir() -> PathBuf {
    support::workspace_tests("interop-node")
}

/// `Some(reason)` when the Node side is not installed.
fn missing_prerequisite() -> Option<String> {
    let dir = harness_dir();
    if !dir.join("node_modules/ebics-client").is_dir() {
        return Some(format!(
            "{} has no node_modules/ebics-client (run `npm ci` there)",
            dir.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("no `node` executable on PATH".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_ebics_client_initialises_downloads_statements_and_uploads_a_cct() {
    if support::skip_interop(missing_prerequisite(), "KONTOR_REQUIRE_NODE", "Node") {
        return;
    }
    let bank = bank_with(kontor_bank::BankConfig::demo().expect("demo")).await;
    let out = tempfile::tempdir().expect("tempdir");
    let DateRange { start, end } = support::last_days(5);
    let mut command = Command::new("node");
    command
        .arg(harness_dir().join("run.mjs"))
        .env("START_DATE", start.to_string())
        .env("END_DATE", end.to_string())
        .env("UPLOAD_CCT_FILE", support::cct_fixture());
    let output = support::run_harness(command, &bank, out.path()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "run.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("JSON summary");
    let succeeded: Vec<&str> = summary["succeeded"]
        .as_array()
        .expect("succeeded")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for step in ["INI", "HIA", "ACTIVATE", "HPB", "STA", "C53", "CCT"] {
        assert!(succeeded.contains(&step), "{step} failed: {stdout}");
    }
    // What the Node client stored is byte for byte what the bank generates for that range.
    for (order, extension) in [("STA", "mt940"), ("C53", "zip")] {
        let stored = std::fs::read(
            out.path()
                .join(format!("{order}-{start}_{end}.{extension}")),
        )
        .expect("downloaded file");
        let expected = support::admin_get(
            &bank,
            &format!("/statements?partner=PARTNER1&order_type={order}&from={start}&to={end}"),
        )
        .await;
        assert_eq!(stored, expected, "{order} content");
    }
    // The client ignores upload return codes, so check the bank's side: one accepted order,
    // A006-signed by USER1, holding the file (the client strips CR/LF before signing/sending).
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].status, kontor_bank::state::OrderStatus::Accepted);
    assert_eq!(orders[0].signatures[0].version, "A006");
    let sent: Vec<u8> = std::fs::read(support::cct_fixture())
        .expect("fixture")
        .into_iter()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    assert_eq!(orders[0].content, sent);
    bank.shutdown().await;
}
