//! The master key file: a malformed one is refused before anything is created.

use crate::support::kontor;

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
    let output = kontor()
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
