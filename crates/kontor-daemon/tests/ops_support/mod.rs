//! Shared fixtures of the ops tests: one test body, run on SQLite and on PostgreSQL.
#![allow(dead_code)]

use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AccountId, ConnectionId, EbicsUserId, NewAccount, NewBankHost, NewConnection, NewEbicsUser,
    SignatureClass, Store, TenantScope,
};

pub use kontor_storage::testing::TestDb;

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
            ca_bundle_pem: None,
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
