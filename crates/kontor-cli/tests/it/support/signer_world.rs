//! A READY user whose signature key a signer holds, against the bank emulator: the daemon's
//! API served in-process, the signer's key file made and registered with `kontor sign`.

use kontor_bank::{BankConfig, RunningBank};
use kontor_daemon::ebics::{Client, ClientConfig, RetryPolicy};
use kontor_daemon::services::keys::ensure_user_keys;
use kontor_daemon::services::Services;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion;
use kontor_storage::testing::TestDb;
use kontor_storage::{EbicsUserId, KeyPair, Role, TenantScope};
use kontor_testkit::bank::start_bank;

use super::setup::{demo_subscriber, onboard, operator_token, DEBTOR};
use super::{kontor_sign, post_order};

const PASSPHRASE: &str = "correct horse battery";

pub struct World {
    _db: TestDb,
    pub bank: RunningBank,
    pub client: Client,
    pub api: String,
    pub token: String,
    pub scope: TenantScope,
    pub store: kontor_storage::Store,
    pub user: EbicsUserId,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn sign(&self, args: &[&str]) -> std::process::Output {
        kontor_sign(&self.api, &self.token, PASSPHRASE, args).await
    }

    pub async fn sign_ok(&self, args: &[&str]) -> String {
        let out = self.sign(args).await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn key(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    pub async fn http(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.token)
    }

    /// The JSON answer of `method path` as the operator.
    pub async fn json(&self, method: reqwest::Method, path: &str) -> serde_json::Value {
        let response = self.http(method, path).await.send().await.unwrap();
        response.json().await.unwrap()
    }

    /// An order created through the API, approved with `key` by the CLI and submitted.
    pub async fn pay_with(&self, key: &str, message_id: &str) -> serde_json::Value {
        let user = self.user.to_string();
        let order = post_order(&self.api, &self.token, &user, payment(message_id)).await;
        let id = order["id"]
            .as_str()
            .unwrap_or_else(|| panic!("order created: {order}"))
            .to_owned();
        self.sign_ok(&["approve", &id, "--key", key, "--signer", &user])
            .await;
        let submitted: serde_json::Value = self
            .json(reqwest::Method::POST, &format!("/v1/orders/{id}/submit"))
            .await;
        assert!(
            ["PROCESSING", "COMPLETED"].contains(&submitted["status"].as_str().unwrap_or("")),
            "{submitted}"
        );
        submitted
    }

    /// The user as the bank holds it.
    pub fn at_bank(&self) -> kontor_bank::state::Subscriber {
        self.bank
            .state()
            .subscriber(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
            .unwrap()
    }

    pub fn bank_signature_hash(&self) -> KeyHash {
        self.bank_hashes()[0]
    }

    /// The hashes of the signature, authentication and encryption keys the bank holds.
    pub fn bank_hashes(&self) -> [KeyHash; 3] {
        let keys = self.at_bank().keys;
        [keys.signature, keys.authentication, keys.encryption].map(|k| k.unwrap().hash)
    }

    /// Every key pair of the user, oldest first.
    pub async fn key_pairs(&self) -> Vec<KeyPair> {
        let mut tx = self.store.scope(&self.scope).begin().await.unwrap();
        tx.key_pairs().list_for_user(self.user).await.unwrap()
    }

    /// Every audit event of the tenant (the first page, newest first).
    pub async fn audit_events(&self) -> Vec<serde_json::Value> {
        let audit: serde_json::Value = self
            .json(reqwest::Method::GET, "/v1/audit-events?limit=1000")
            .await;
        audit["items"].as_array().cloned().unwrap_or_default()
    }
}

fn payment(message_id: &str) -> Vec<u8> {
    use kontor_documents::pain::PainVersion;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    super::setup::payment_file(
        PainVersion::Pain001_001_09,
        message_id,
        date.and_hms_opt(9, 0, 0).unwrap(),
        date + chrono::Days::new(3),
        DEBTOR,
        vec![super::setup::transfer(message_id, "Beta AG", "10.00", None)],
    )
}

/// A READY user whose signature key a signer holds (registered with `kontor sign`).
pub async fn world(db: TestDb, version: ProtocolVersion) -> World {
    let bank = start_bank(BankConfig::demo().unwrap()).await;
    let store = db.store.clone();
    let offer = [OrderType::CCT, OrderType::HAC];
    let subscriber =
        demo_subscriber(&store, "Muster", bank.ebics_url(), version, &offer, None).await;
    let scope = subscriber.scope.clone();
    let token = operator_token(&store, scope.tenant(), "treasury@x", Role::Admin).await;

    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(store.clone(), {
        let mut config = ClientConfig::new(dir.path());
        config.retry = RetryPolicy::immediate(3);
        config
    })
    .unwrap();
    let services = Services::new(store.clone()).with_client(client.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(services));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let w = World {
        _db: db,
        bank,
        client: client.clone(),
        api: format!("http://{address}"),
        token,
        scope,
        store,
        user: subscriber.user,
        dir,
    };

    // The signer's key exists only on their side; the daemon generates the other two.
    let old = w.key("old.key");
    w.sign_ok(&["keygen", "--out", &old, "--name", "Erika Mustermann"])
        .await;
    let user = subscriber.user;
    w.sign_ok(&["register", &old, "--signer", &user.to_string()])
        .await;
    ensure_user_keys(&w.store, &w.scope, user).await.unwrap();
    onboard(&client, &w.bank, &subscriber).await;
    w
}
