//! Test fixtures shared by the storage conformance suite: one suite, two backends.
#![allow(dead_code)]

use std::sync::Arc;

use kontor_storage::{MasterKey, Store};

pub mod fixture;

/// A migrated store on a fresh database; dropping it removes the database.
pub struct TestDb {
    pub store: Store,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("kontor.db").display()
        );
        let store = Store::connect(&url, Arc::new(MasterKey::generate()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            cleanup: None,
            _dir: Some(dir),
        }
    }

    /// `None` (test skipped) when no PostgreSQL is configured, unless KONTOR_REQUIRE_POSTGRES=1.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("KONTOR_TEST_POSTGRES_URL") else {
            if std::env::var("KONTOR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("KONTOR_REQUIRE_POSTGRES=1 but KONTOR_TEST_POSTGRES_URL is not set");
            }
            eprintln!("SKIP postgres: KONTOR_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("kontor_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Store::connect(&admin_url, Arc::new(MasterKey::generate()))
            .await
            .unwrap();
        admin
            .raw_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        let store = Store::connect(&url, Arc::new(MasterKey::generate()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Some(Self {
            store,
            cleanup: Some((admin_url, name)),
            _dir: None,
        })
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = &base[..base.rfind('/').unwrap()];
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.cleanup.take() {
            let store = self.store.clone();
            // Drop the database on a separate thread with its own runtime: Drop is synchronous.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
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

/// Generates `sqlite_<name>` and `postgres_<name>` tests from one async fn taking `&Store`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::postgres().await else { return };
                    super::$name(&db.store).await;
                }
            )+
        }
    };
}
