//! What Kontor leaves on disk is its own user's only: the data directory and every directory
//! below it 0700, the SQLite database with its `-wal`/`-shm` files, the spooled bank transfers
//! and the key files 0600. `kontor serve` refuses a data directory or database that group or
//! others can open.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kontor_storage::MasterKey;

use crate::support::{free_port, kontor};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory below `root` (root included).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_owned()];
    if root.is_dir() {
        for entry in std::fs::read_dir(root).unwrap() {
            out.extend(walk(&entry.unwrap().path()));
        }
    }
    out
}

fn assert_owner_only(root: &Path) {
    for path in walk(root) {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(
            mode(&path),
            expected,
            "{} is {:o}",
            path.display(),
            mode(&path)
        );
    }
}

#[test]
fn the_demo_leaves_only_owner_only_files() {
    let output = kontor()
        .args(["demo", "--keep"])
        .output()
        .expect("run kontor demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed: {stdout}");
    let kept = PathBuf::from(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("Kept "))
            .expect("the demo names the kept directory")
            .trim(),
    );
    let transfers = kept.join("data/transfers");
    let spooled: Vec<PathBuf> = walk(&transfers)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    let result = std::panic::catch_unwind(|| {
        assert!(kept.join("kontor.db").is_file());
        assert!(
            !spooled.is_empty(),
            "no spooled statements in {}",
            transfers.display()
        );
        assert_owner_only(&kept);
    });
    std::fs::remove_dir_all(&kept).unwrap();
    result.unwrap();
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `kontor serve`, which must refuse to start (`situation`); its error output.
fn refused(mut serve: Command, situation: &str) -> String {
    let output = serve.output().unwrap();
    assert!(!output.status.success(), "started {situation}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn serve(root: &Path, port: u16) -> Command {
    let mut command = kontor();
    command
        .arg("serve")
        .env("KONTOR_DATA_DIR", root.join("data"))
        .env("KONTOR_KEY_FILE", root.join("master.key"))
        .env("KONTOR_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("KONTOR_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("KONTOR_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[test]
fn serve_creates_owner_only_files_and_refuses_an_open_data_directory() {
    let root = tempfile::tempdir().unwrap();
    MasterKey::generate()
        .write_new(&root.path().join("master.key"))
        .unwrap();
    let port = free_port();
    let daemon = Serve(serve(root.path(), port).spawn().unwrap());
    let data = root.path().join("data");
    let db = data.join("kontor.db");
    // Running, with the database open: the WAL files exist now.
    let started = Instant::now();
    while !(data.join("kontor.db-wal").exists() && data.join("kontor.db-shm").exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "kontor serve never opened its database"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_owner_only(&data);
    assert_eq!(mode(&db), 0o600);
    drop(daemon);

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stderr = refused(serve(root.path(), port), "on an open data directory");
    assert!(stderr.contains("chmod 700"), "{stderr}");

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = refused(serve(root.path(), port), "on a world-readable database");
    assert!(stderr.contains("chmod 600"), "{stderr}");

    // The published example key is refused like a world-readable one.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let example = root.path().join("example.key");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys.example"),
        &example,
    )
    .unwrap();
    std::fs::set_permissions(&example, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut serve_with_example_key = serve(root.path(), port);
    serve_with_example_key.env("KONTOR_KEY_FILE", &example);
    let stderr = refused(serve_with_example_key, "with the example key");
    assert!(stderr.contains("example key"), "{stderr}");
}
