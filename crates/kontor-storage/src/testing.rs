//! Test support for every crate's database tests (feature `testing`, never in the daemon):
//! one suite, two backends, a fresh database per test.

use std::sync::Arc;

use crate::{MasterKey, Store};

pub mod seed;

/// A migrated store on a fresh database; dropping it removes the database.
pub struct TestDb {
    pub store: Store,
    /// Shared by every instance on this database: another instance must read the keys.
    master_key: Arc<MasterKey>,
    url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A SQLite database file in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("kontor.db").display()
        );
        let master_key = Arc::new(MasterKey::generate());
        Self {
            store: migrated(&url, &master_key).await,
            master_key,
            url,
            cleanup: None,
            _dir: Some(dir),
        }
    }

    /// A new database on the server of `KONTOR_TEST_POSTGRES_URL`. `None` (the test skips)
    /// when that is not set, unless `KONTOR_REQUIRE_POSTGRES=1`, which makes it a failure.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("KONTOR_TEST_POSTGRES_URL") else {
            if std::env::var("KONTOR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("KONTOR_REQUIRE_POSTGRES=1 but KONTOR_TEST_POSTGRES_URL is not set");
            }
            eprintln!("SKIP postgres: KONTOR_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("kontor_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url, &Arc::new(MasterKey::generate())).await;
        admin
            .raw_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        let master_key = Arc::new(MasterKey::generate());
        Some(Self {
            store: migrated(&url, &master_key).await,
            master_key,
            url,
            cleanup: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// The database URL (for a child process or a second instance).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The master key of this database's stores (e.g. to write the key file a daemon process
    /// started on this database reads).
    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    /// A second, independent connection pool to the same database with the same master key:
    /// another daemon instance.
    pub async fn second_instance(&self) -> Store {
        connect(&self.url, &self.master_key).await
    }
}

async fn connect(url: &str, master_key: &Arc<MasterKey>) -> Store {
    Store::connect(url, master_key.clone())
        .await
        .expect("connect to the test database")
}

async fn migrated(url: &str, master_key: &Arc<MasterKey>) -> Store {
    let store = connect(url, master_key).await;
    store.migrate().await.expect("migrate the test database");
    store
}

/// The same server URL naming another database (query parameters kept).
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = &base[..base.rfind('/').expect("a database URL has a path")];
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.cleanup.take() {
            let store = self.store.clone();
            // Drop cannot be async: drop the database from a runtime of its own.
            std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    store.close().await;
                    if let Ok(admin) =
                        Store::connect(&admin_url, Arc::new(MasterKey::generate())).await
                    {
                        let _ = admin
                            .raw_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                        admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}
