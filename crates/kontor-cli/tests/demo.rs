//! The README's first command must keep working: `kontor demo` runs to the end and exits 0.

use std::process::Command;

#[test]
fn demo_runs_to_the_end() {
    let output = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .arg("demo")
        .output()
        .expect("run kontor demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("bank supports H004 (02.50), H005 (03.00)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("EBICS user USER1 with 3 key pairs"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("BEGIN PRIVATE KEY"),
        "private key material printed"
    );
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
