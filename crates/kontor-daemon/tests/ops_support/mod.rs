//! Shared fixtures of the ops tests: one test body, run on SQLite and on PostgreSQL.
#![allow(dead_code)]

use std::sync::Arc;

use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AccountId, ConnectionId, EbicsUserId, MasterKey, NewAccount, NewBankHost, NewConnection,
    NewEbicsUser, SignatureClass, Store, TenantScope,
};

/// A migrated store on a fresh database; dropping it removes the database.
pub struct TestDb {
    pub store: Store,
    url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
        let store = Store::connect(&url, Arc::new(MasterKey::generate()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            url,
            cleanup: None,
            _dir: Some(dir),
        }
    }

    /// `None` (test skipped) without `KONTOR_TEST_POSTGRES_URL`, unless KONTOR_REQUIRE_POSTGRES=1.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("KONTOR_TEST_POSTGRES_URL") else {
            if std::env::var("KONTOR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("KONTOR_REQUIRE_POSTGRES=1 but KONTOR_TEST_POSTGRES_URL is not set");
            }
            eprintln!("SKIP postgres: KONTOR_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("kontor_ops_{}", uuid::Uuid::new_v4().simple());
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
            url,
            cleanup: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// A second, independent connection pool to the same database: another daemon instance.
    pub async fn second_instance(&self) -> Store {
        Store::connect(&self.url, Arc::new(MasterKey::generate()))
            .await
            .unwrap()
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

/// Generates `sqlite::<name>` and `postgres::<name>` tests from one async fn taking `&TestDb`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::ops_support::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::ops_support::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )+
        }
    };
}

/// A tenant with one bank connection, one EBICS user and one account.
pub struct Tenant {
    pub scope: TenantScope,
    pub connection: ConnectionId,
    pub user: EbicsUserId,
    pub account: AccountId,
}

pub const IBAN: &str = "DE89370400440532013000";

pub async fn tenant(store: &Store, name: &str, iban: &str) -> Tenant {
    let created = store.admin().create_tenant(name).await.unwrap();
    let scope = TenantScope::system_job(created.id, "test");
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "KONTORBANK".into(),
            name: "Test Bank".into(),
            url: "http://127.0.0.1:1/ebicsweb".into(),
            protocol_version: ProtocolVersion::H005,
            btf: true,
            production: false,
        })
        .await
        .unwrap()
        .id;
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host,
            partner_id: "PARTNER1".into(),
            display_name: "Main".into(),
        })
        .await
        .unwrap()
        .id;
    let account = tx
        .accounts()
        .create(
            connection,
            NewAccount {
                iban: Some(iban.into()),
                holder_name: "ACME GmbH".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection,
            user_id: "USER1".into(),
            system_id: None,
            name: "Alice".into(),
            signature_class: SignatureClass::E,
        })
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    Tenant {
        scope,
        connection,
        user,
        account,
    }
}
