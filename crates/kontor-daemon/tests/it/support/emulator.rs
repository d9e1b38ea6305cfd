//! The bank emulator world: `kontor-bank` on a loopback port, and the seed's user with keys,
//! an EBICS client and the services over it.

use chrono::{DateTime, Utc};
use kontor_bank::{
    BankConfig, FaultAction, FaultMatcher, FaultRule, RunningBank, TransactionPhase as BankPhase,
};
use kontor_daemon::ebics::{
    Client, ClientConfig, DownloadOutcome, DownloadRequest, EbicsError, Files, RetryPolicy,
};
use kontor_daemon::services::hosts;
use kontor_daemon::services::onboarding::{self, OnboardingError};
use kontor_daemon::services::orders::{
    add_signature, create_order, submit, CreateOrder, OrderError, SignatureSubmission,
    SubmitOutcome, Submitter,
};
use kontor_daemon::services::Services;
use kontor_protocol::keys::{KeyHash, PrivateKey};
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::*;
use kontor_testkit::bank::{
    bank_with_segments, days_before_today, decide_bank_keys, signing_key, start_bank,
};
use kontor_testkit::payments::DEBTOR;

use super::seed::{self, give_keys, Seed, IBAN};
use super::TestDb;

/// A bank whose segments are 4 KiB, so small downloads and uploads span several segments.
pub fn small_segment_bank() -> BankConfig {
    bank_with_segments(4096)
}

/// The daemon side of one test: EBICS client and services, and the seeded tenant whose user
/// has stored keys.
pub struct World {
    pub db: TestDb,
    pub bank: RunningBank,
    pub client: Client,
    pub services: Services,
    pub scope: TenantScope,
    pub host: BankHostId,
    pub connection: ConnectionId,
    pub user: EbicsUserId,
    pub partner_id: String,
    pub user_id: String,
    pub data_dir: tempfile::TempDir,
}

pub struct Setup {
    pub version: ProtocolVersion,
    pub user: &'static str,
    pub bank: BankConfig,
    pub retry: RetryPolicy,
}

impl Setup {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            user: "USER1",
            bank: BankConfig::demo().unwrap(),
            retry: RetryPolicy::immediate(4),
        }
    }
}

pub async fn world(db: TestDb, setup: Setup) -> World {
    let bank = start_bank(setup.bank).await;
    let mut seed = Seed::new("ACME Treasury").at(bank.ebics_url(), setup.version);
    seed.user = setup.user.into();
    let partner_id = seed.partner.clone();
    let tenant = seed::plant(&db.store, seed).await;
    give_keys(&db.store, &tenant.scope, tenant.user, "Erika Mustermann").await;
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
        scope: tenant.scope,
        host: tenant.host,
        connection: tenant.connection,
        user: tenant.user,
        partner_id,
        user_id: setup.user.into(),
        data_dir,
    }
}

/// A world on the emulator's default setup for `version` whose user is READY.
pub async fn ready_world(db: TestDb, version: ProtocolVersion) -> World {
    let w = world(db, Setup::new(version)).await;
    w.ready().await;
    w
}

/// The tenant's audit records as `tx` sees them, newest first.
pub async fn audit_trail(tx: &mut ScopedTx<'_>) -> Vec<AuditEvent> {
    tx.audit()
        .search(&AuditFilter::default(), Newest::first(200))
        .await
        .unwrap()
}

/// How many of `events` record `action`.
pub fn count_of(events: &[AuditEvent], action: AuditAction) -> usize {
    events.iter().filter(|e| e.action == action).count()
}

/// The user's current key pair of `usage` (there must be one).
pub async fn current_key(tx: &mut ScopedTx<'_>, user: EbicsUserId, usage: KeyUsage) -> KeyPair {
    let current = tx.key_pairs().current(user, usage).await.unwrap();
    current.expect("a current key pair")
}

impl World {
    pub async fn tx(&self) -> ScopedTx<'_> {
        self.db.store.scope(&self.scope).begin().await.unwrap()
    }

    /// The operator's decision on a bank key, in a transaction of its own: `hash` as read
    /// from the bank's letter (or mistyped).
    pub async fn verify_bank_key(&self, key: BankKeyId, hash: KeyHash) -> BankKey {
        let mut tx = self.tx().await;
        let decided = hosts::verify_key(&mut tx, key, hash, "ops@acme.example")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        decided
    }

    /// The tenant's audit records, newest first.
    pub async fn audit_events(&self) -> Vec<AuditEvent> {
        audit_trail(&mut self.tx().await).await
    }

    /// Every key of the world's bank host, stored from HPB (all generations).
    pub async fn host_keys(&self) -> Vec<BankKey> {
        let mut tx = self.tx().await;
        tx.bank_keys().list_for_host(self.host).await.unwrap()
    }

    /// Changes the world's bank host (e.g. its certificate settings) and commits.
    pub async fn change_host(&self, changes: BankHostChanges) {
        let mut tx = self.tx().await;
        tx.bank_hosts().update(self.host, changes).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn user_status(&self) -> EbicsUserStatus {
        let mut tx = self.tx().await;
        let user: EbicsUser = tx.get(self.user).await.unwrap();
        user.status
    }

    /// INI and HIA for `user` (the bank's `user_id`), then the bank clerk activates the
    /// subscriber.
    pub async fn initialise_at_bank(&self, user: EbicsUserId, user_id: &str) {
        self.client.send_ini(&self.scope, user).await.unwrap();
        self.client.send_hia(&self.scope, user).await.unwrap();
        self.bank
            .activate_user(&self.partner_id.parse().unwrap(), &user_id.parse().unwrap())
            .unwrap();
    }

    /// INI and HIA, then the bank clerk activates the subscriber, then HPB.
    pub async fn initialise_and_fetch_bank_keys(&self) -> Vec<BankKey> {
        self.initialise_at_bank(self.user, &self.user_id).await;
        self.fetch_bank_keys().await
    }

    /// HPB: the bank's current keys, stored for the operator's decision.
    pub async fn fetch_bank_keys(&self) -> Vec<BankKey> {
        let fetched = self.client.fetch_bank_keys(&self.scope, self.user).await;
        fetched.unwrap()
    }

    /// The operator's decision on every unverified bank key of the host.
    pub async fn decide_bank_keys(&self, outcome: BankKeyVerification) {
        decide_bank_keys(&self.db.store, &self.scope, self.host, outcome).await;
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

    /// Onboards another user of the partner (e.g. a co-signer) to READY.
    pub async fn ready_user(&self, user_id: &str, class: SignatureClass) -> EbicsUserId {
        let user = self
            .tenant()
            .add_user(&self.db.store, user_id, "Anna Beispiel", class)
            .await;
        give_keys(&self.db.store, &self.scope, user, "Anna Beispiel").await;
        self.initialise_at_bank(user, user_id).await;
        self.client
            .fetch_bank_keys(&self.scope, user)
            .await
            .unwrap();
        self.decide_bank_keys(BankKeyVerification::Verified).await;
        assert_eq!(
            self.client.activate(&self.scope, user).await.unwrap(),
            EbicsUserStatus::Ready
        );
        user
    }

    fn tenant(&self) -> seed::Tenant {
        seed::Tenant {
            scope: self.scope.clone(),
            host: self.host,
            connection: self.connection,
            user: self.user,
            account: None,
        }
    }

    /// The order types the bank offers on the world's connection (as its HTD/HKD said).
    pub async fn offer(&self, order_types: &[OrderType]) {
        self.tenant().offer(&self.db.store, order_types).await;
    }

    /// The tenant's view of the emulator's partner: the order types it offers and the main
    /// account. Returns the account.
    pub async fn describe_bank(&self, order_types: &[&str]) -> AccountId {
        let order_types: Vec<OrderType> = order_types
            .iter()
            .map(|t| OrderType::parse_lenient(t).unwrap())
            .collect();
        self.offer(&order_types).await;
        let mut tx = self.tx().await;
        let account = tx
            .accounts()
            .create(self.connection, seed::account(IBAN, DEBTOR.0))
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        account
    }

    /// The daemon's onboarding of the user, from wherever it stands.
    pub async fn onboard(&self) -> Result<EbicsUserStatus, OnboardingError> {
        onboarding::onboard(&self.db.store, &self.client, &self.scope, self.user).await
    }

    /// The user's permission for `order_type` on every account, without a limit.
    pub async fn permit(&self, order_type: &str, class: SignatureClass) {
        let order_type = OrderType::parse_lenient(order_type).unwrap();
        let mut tx = self.tx().await;
        tx.permissions()
            .create(seed::permission(self.user, order_type, class))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Makes the emulator's main account book `entries_per_day` entries a day, so a week of
    /// statements is megabytes and spans many segments.
    pub async fn busy_main_account(&self, entries_per_day: u32) {
        let knob = reqwest::Client::new()
            .put(format!(
                "{}/accounts/ACC-EUR-MAIN/ledger",
                self.bank.admin_url()
            ))
            .header("content-type", "application/json")
            .body(format!(r#"{{"entries_per_day": {entries_per_day}}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(knob.status(), 200);
    }

    /// A C53 download schedule for `account`, due at `next_run_at`.
    pub async fn c53_schedule(&self, account: AccountId, next_run_at: DateTime<Utc>) -> Schedule {
        seed::c53_schedule(&self.db.store, &self.tenant(), account, next_run_at).await
    }

    /// The user's signature private key, as the signer CLI holds it.
    pub async fn signing_key(&self, user: EbicsUserId) -> PrivateKey {
        signing_key(&self.db.store, &self.scope, user).await
    }

    /// Creates an order of `content` and signs it with the user's own key, as the signer CLI
    /// would.
    pub async fn signed_order(&self, content: &[u8], rule: SignatureRule) -> Order {
        self.signed_order_as(content, rule, None, None).await
    }

    /// Creates an order of `content` for the user, unsigned, to send as `order_type` (and
    /// BTF `service`) when given.
    pub async fn new_order(
        &self,
        content: Vec<u8>,
        rule: SignatureRule,
        order_type: Option<OrderType>,
        service: Option<BtfService>,
    ) -> Result<Order, OrderError> {
        let files = self.services.files();
        self.new_order_kept_by(files, content, rule, order_type, service)
            .await
    }

    /// Creates an unsigned order of `content`, its file kept by `files` (e.g.
    /// `Files::inline_only()`, as earlier versions kept every payment file).
    pub async fn new_order_kept_by(
        &self,
        files: &Files,
        content: Vec<u8>,
        rule: SignatureRule,
        order_type: Option<OrderType>,
        service: Option<BtfService>,
    ) -> Result<Order, OrderError> {
        let new = CreateOrder {
            user: self.user,
            content,
            signature_rule: rule,
            idempotency_key: None,
            order_type,
            service,
        };
        let created = create_order(&self.db.store, files, &self.scope, new).await?;
        Ok(created.order)
    }

    /// Creates an order of `content` to send as `order_type` (and BTF `service`), and signs
    /// it with the user's own key.
    pub async fn signed_order_as(
        &self,
        content: &[u8],
        rule: SignatureRule,
        order_type: Option<OrderType>,
        service: Option<BtfService>,
    ) -> Order {
        let order = self
            .new_order(content.to_vec(), rule, order_type, service)
            .await
            .unwrap();
        self.signed_by_user(order.id, content).await
    }

    /// Signs `order` (of `content`) with the user's own key, as the signer CLI would.
    pub async fn signed_by_user(&self, order: OrderId, content: &[u8]) -> Order {
        self.signed_by(self.user, order, content).await
    }

    /// Adds `signer`'s A006 signature over `content` to `order`, with the key the daemon holds.
    pub async fn signed_by(&self, signer: EbicsUserId, order: OrderId, content: &[u8]) -> Order {
        let key = self.signing_key(signer).await;
        let mut tx = self.tx().await;
        let order = add_signature(
            self.services.files(),
            &mut tx,
            SignatureSubmission {
                order,
                signer,
                version: SignatureVersion::A006,
                value: sign_order_data(SignatureVersion::A006, &key, content).unwrap(),
                key_hash: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        order
    }

    /// Submits `order` as the daemon instance `instance` (without the status sync that
    /// follows in `submit_order`).
    pub async fn submit_as(&self, instance: &str, order: OrderId) -> SubmitOutcome {
        let submitter = Submitter::new(instance);
        submit(&self.db.store, &self.client, &submitter, &self.scope, order)
            .await
            .unwrap()
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

    /// The SHA-256 of the last download the bank served, as the bank generated it.
    pub fn last_served_sha256(&self) -> String {
        self.bank
            .state()
            .served_downloads()
            .last()
            .expect("the bank served a download")
            .sha256
            .clone()
    }

    /// Sets the emulator's fault `action` (its admin API's JSON) on the next C53
    /// initialisation, through the admin API as an operator of the test bank would.
    pub async fn next_c53_gets(&self, action: &str) {
        let rule = format!(
            r#"{{"times": 1, "match": {{"order_type": "C53", "phase": "Initialisation"}}, "action": {action}}}"#
        );
        let response = reqwest::Client::new()
            .post(format!("{}/faults", self.bank.admin_url()))
            .header("content-type", "application/json")
            .body(rule)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_success(), "{:?}", response.text().await);
    }

    /// Before INI: the signer takes over the signature key (the daemon's is revoked, the
    /// signer's public key registered, A006 on H004); returns the signer's key pair.
    pub async fn hand_signature_key_to_signer(&self) -> kontor_protocol::keys::KeyPair {
        let signer = tokio::task::spawn_blocking(|| {
            kontor_protocol::keys::KeyPair::generate(
                &mut rand::rngs::OsRng,
                kontor_protocol::keys::KeySize::Bits2048,
            )
            .unwrap()
        })
        .await
        .unwrap();
        let hash = kontor_protocol::keys::public_key_hash(
            ProtocolVersion::H004,
            signer.public_key(),
            None,
        )
        .unwrap();
        let mut tx = self.tx().await;
        let daemon_key = current_key(&mut tx, self.user, KeyUsage::Signature).await;
        tx.key_pairs()
            .set_status(daemon_key.id, KeyStatus::Pending, KeyStatus::Revoked)
            .await
            .unwrap();
        tx.key_pairs()
            .register_signer_key(NewSignerKey {
                ebics_user_id: self.user,
                version: SignatureVersion::A006,
                public_key: signer.public_key().to_spki_der().unwrap(),
                key_hash: hash,
                certificate: None,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        signer
    }

    /// The bank clerk rolls the bank's keys through the emulator's admin API
    /// (`POST /admin/bank-keys/roll`); returns the new keys as it publishes them.
    pub async fn roll_bank_keys_via_admin(&self) -> serde_json::Value {
        let response = reqwest::Client::new()
            .post(format!("{}/bank-keys/roll", self.bank.admin_url()))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A statement download (STA) of the user, for the bank's default period.
    pub async fn download_sta(&self) -> Result<DownloadOutcome, EbicsError> {
        self.download(OrderType::STA).await
    }

    /// A download of `order_type` by the user, with the request's defaults.
    pub async fn download(&self, order_type: OrderType) -> Result<DownloadOutcome, EbicsError> {
        let request = DownloadRequest::new(order_type);
        self.client.download(&self.scope, self.user, request).await
    }

    /// The user's download of `order_type` for the `n` days before today.
    pub async fn download_days(
        &self,
        order_type: OrderType,
        n: u64,
    ) -> Result<DownloadOutcome, EbicsError> {
        let (from, to) = days_before_today(n);
        let request = DownloadRequest::new(order_type).with_period(from, to);
        self.client.download(&self.scope, self.user, request).await
    }

    /// A fault `action` on the bank's answers in `phase`, `times` times (every time with
    /// `None`).
    pub fn fault_in(&self, phase: BankPhase, action: FaultAction, times: Option<u32>) {
        let matcher = FaultMatcher {
            phase: Some(phase),
            ..Default::default()
        };
        self.fault(matcher, action, times);
    }

    /// A fault on the bank's handling of `order_type`.
    pub fn fault_on(&self, order_type: &str, action: FaultAction, times: Option<u32>) {
        let matcher = FaultMatcher {
            order_type: Some(order_type.into()),
            ..Default::default()
        };
        self.fault(matcher, action, times);
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

    /// An operator's API token in the world's tenant.
    pub async fn token(&self, email: &str, role: Role) -> String {
        seed::operator_token(&self.db.store, self.scope.tenant(), email, role).await
    }
}
