//! The `kontor-bank` binary: `serve` on port 0 prints its URL; `activate` reports refusals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kontor-bank");

fn demo_config() -> String {
    format!("{}/demo-bank.toml", env!("CARGO_MANIFEST_DIR"))
}

/// Kills the server process when the test ends, even on failure.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> (Server, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--config",
            &demo_config(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (server, url)
}

#[test]
fn serve_prints_its_url_and_activate_reports_a_refusal() {
    let (_server, url) = start_server();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let out = Command::new(BIN)
        .args([
            "activate",
            "--url",
            &url,
            "--partner",
            "PARTNER1",
            "--user",
            "USER1",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success(), "USER1 has sent no INI/HIA yet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 409"), "{stderr}");
}

#[test]
fn check_config_accepts_the_demo_and_rejects_nonsense() {
    let out = Command::new(BIN)
        .args(["check-config", "--config", &demo_config()])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("host KONTORBANK"));
    let bad = std::env::temp_dir().join(format!("kontor-bank-bad-{}.toml", std::process::id()));
    std::fs::write(
        &bad,
        "[bank]\nhost_id = \"X\"\nname = \"x\"\nprotocol_versions = []\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol_versions is empty"));
}
