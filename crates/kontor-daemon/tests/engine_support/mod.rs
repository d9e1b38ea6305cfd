//! Shared fixtures for the engine tests: a store on SQLite or PostgreSQL, the bank emulator on
//! a loopback port, and a tenant with one EBICS user whose keys are generated and stored.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use kontor_bank::{
    Bank, BankConfig, BankKeyPairs, FaultAction, FaultMatcher, FaultRule, RunningBank,
};
use kontor_daemon::ebics::{Client, ClientConfig, RetryPolicy};
use kontor_daemon::services::keys::{generate_key_material, store_user_keys};
use kontor_daemon::services::Services;
use kontor_protocol::certificate::CertificateSubject;
use kontor_protocol::keys::KeySize;
use kontor_protocol::ProtocolVersion;
use kontor_storage::*;

/// Generates `sqlite_<name>` and `postgres_<name>` tests from one async body taking a
/// [`TestDb`]. The PostgreSQL variant is skipped without `KONTOR_TEST_POSTGRES_URL`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident => $body:expr;)+) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = engine_support::TestDb::sqlite().await;
                    ($body)(db).await;
                }
            )+
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = engine_support::TestDb::postgres().await {
                        ($body)(db).await;
                    }
                }
            )+
        }
    };
}

pub use kontor_storage::testing::TestDb;

/// One set of bank keys per test binary (RSA generation is the slow part of starting a bank).
pub fn bank_keys() -> Arc<BankKeyPairs> {
    static KEYS: OnceLock<Arc<BankKeyPairs>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Arc::new(BankKeyPairs::generate(&"KONTORBANK".parse().unwrap(), Utc::now()).unwrap())
    })
    .clone()
}

pub async fn start_bank(config: BankConfig) -> RunningBank {
    Bank::builder(config)
        .keys(bank_keys())
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A bank whose segments are 4 KiB, so small downloads and uploads span several segments.
pub fn small_segment_bank() -> BankConfig {
    let mut config = BankConfig::demo().unwrap();
    config.limits.segment_size_bytes = 4096;
    config
}

/// The daemon side of one test: EBICS client and services, tenant and one EBICS user with
/// stored keys.
pub struct World {
    pub db: TestDb,
    pub bank: RunningBank,
    pub client: Client,
    pub services: Services,
    pub scope: TenantScope,
    pub host: BankHostId,
    pub user: EbicsUserId,
    pub partner_id: String,
    pub user_id: String,
    pub data_dir: tempfile::TempDir,
}

pub struct Setup {
    pub version: ProtocolVersion,
    pub partner: &'static str,
    pub user: &'static str,
    pub bank: BankConfig,
    pub retry: RetryPolicy,
}

impl Setup {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            partner: "PARTNER1",
            user: "USER1",
            bank: BankConfig::demo().unwrap(),
            retry: RetryPolicy::immediate(4),
        }
    }
}

pub async fn world(db: TestDb, setup: Setup) -> World {
    let bank = start_bank(setup.bank).await;
    let tenant = db
        .store
        .admin()
        .create_tenant("ACME Treasury")
        .await
        .unwrap();
    let scope = TenantScope::system_job(tenant.id, "engine-test");
    let mut tx = db.store.scope(&scope).begin().await.unwrap();
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "KONTORBANK".into(),
            name: "Kontor Demo Bank".into(),
            url: bank.ebics_url(),
            protocol_version: setup.version,
            btf: setup.version == ProtocolVersion::H005,
            production: false,
            ca_bundle_pem: None,
        })
        .await
        .unwrap();
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: setup.partner.into(),
            display_name: "Main".into(),
        })
        .await
        .unwrap();
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection.id,
            user_id: setup.user.into(),
            system_id: None,
            name: "Erika Mustermann".into(),
            signature_class: SignatureClass::E,
        })
        .await
        .unwrap();
    let subject = CertificateSubject {
        common_name: "Erika Mustermann".into(),
        organization: Some("ACME".into()),
        country: Some("DE".into()),
    };
    let material = tokio::task::spawn_blocking(move || {
        generate_key_material(&subject, KeySize::Bits2048, Utc::now()).unwrap()
    })
    .await
    .unwrap();
    store_user_keys(&mut tx, user.id, &material, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::new(data_dir.path());
    config.retry = setup.retry;
    let client = Client::new(db.store.clone(), config).unwrap();
    let services = Services::new(db.store.clone()).with_client(client.clone());
    World {
        db,
        bank,
        client,
        services,
        scope,
        host: host.id,
        user: user.id,
        partner_id: setup.partner.into(),
        user_id: setup.user.into(),
        data_dir,
    }
}

impl World {
    pub async fn tx(&self) -> ScopedTx<'_> {
        self.db.store.scope(&self.scope).begin().await.unwrap()
    }

    pub async fn user_status(&self) -> EbicsUserStatus {
        let mut tx = self.tx().await;
        let user: EbicsUser = tx.get(self.user).await.unwrap();
        user.status
    }

    /// INI and HIA, then the bank clerk activates the subscriber, then HPB.
    pub async fn initialise_and_fetch_bank_keys(&self) -> Vec<BankKey> {
        self.client.send_ini(&self.scope, self.user).await.unwrap();
        self.client.send_hia(&self.scope, self.user).await.unwrap();
        self.bank
            .activate_user(
                &self.partner_id.parse().unwrap(),
                &self.user_id.parse().unwrap(),
            )
            .unwrap();
        self.client
            .fetch_bank_keys(&self.scope, self.user)
            .await
            .unwrap()
    }

    /// The operator's decision on every unverified bank key of the host.
    pub async fn decide_bank_keys(&self, outcome: BankKeyVerification) {
        let mut tx = self.tx().await;
        for key in tx.bank_keys().list_for_host(self.host).await.unwrap() {
            if key.verification_status == BankKeyVerification::Unverified {
                tx.bank_keys()
                    .decide(
                        key.id,
                        outcome,
                        VerificationMethod::FingerprintConfirmed,
                        "ops@acme.example",
                    )
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }

    /// Onboards the user to READY (keys verified by the operator).
    pub async fn ready(&self) {
        self.initialise_and_fetch_bank_keys().await;
        self.decide_bank_keys(BankKeyVerification::Verified).await;
        assert_eq!(
            self.client.activate(&self.scope, self.user).await.unwrap(),
            EbicsUserStatus::Ready
        );
    }

    pub async fn transaction(&self, id: TransactionId) -> Transaction {
        let mut tx = self.tx().await;
        tx.get(id).await.unwrap()
    }

    pub async fn events(&self, id: TransactionId) -> Vec<TransactionEventKind> {
        let mut tx = self.tx().await;
        tx.transactions()
            .events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    pub async fn transactions(&self) -> Vec<Transaction> {
        let mut tx = self.tx().await;
        tx.list::<Transaction>(Page::first(100)).await.unwrap()
    }

    pub fn fault(&self, matcher: FaultMatcher, action: FaultAction, times: Option<u32>) {
        self.bank
            .faults()
            .install(vec![FaultRule {
                name: None,
                matcher,
                action,
                times,
                skip: 0,
            }])
            .unwrap();
    }
}
