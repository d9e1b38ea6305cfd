//! The SQLite compiled into Kontor (libsqlite3-sys, bundled).

use crate::support::TestDb;

/// The bundled SQLite must carry the fix for CVE-2025-6965 (memory corruption through
/// aggregate terms), released in 3.50.2.
#[tokio::test]
async fn bundled_sqlite_is_at_least_3_50_2() {
    let db = TestDb::sqlite().await;
    let version = db.store.raw_text("SELECT sqlite_version()").await.unwrap();
    let parts: Vec<u32> = version
        .split('.')
        .map(|part| part.parse().expect("a numeric version part"))
        .collect();
    assert!(
        parts >= vec![3, 50, 2],
        "bundled SQLite {version} is older than 3.50.2"
    );
}
