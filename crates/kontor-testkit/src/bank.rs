//! The bank emulator on loopback, and what a test does as the bank's clerk or the signer.

use std::sync::{Arc, OnceLock};

use chrono::{Days, NaiveDate, Utc};
use kontor_bank::{Bank, BankConfig, BankKeyPairs, RunningBank};
use kontor_protocol::keys::PrivateKey;
use kontor_storage::{
    BankHostId, BankKeyVerification, EbicsUserId, EbicsUserStatus, KeyUsage, ScopedTx, Store,
    TenantScope, VerificationMethod,
};

/// One set of bank keys per test process (RSA generation is the slow part of starting a bank).
pub fn bank_keys() -> Arc<BankKeyPairs> {
    static KEYS: OnceLock<Arc<BankKeyPairs>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Arc::new(BankKeyPairs::generate(&"KONTORBANK".parse().unwrap(), Utc::now()).unwrap())
    })
    .clone()
}

/// A bank whose download segments are `bytes` long, so small downloads and uploads span
/// several segments.
pub fn bank_with_segments(bytes: usize) -> BankConfig {
    let mut config = BankConfig::demo().unwrap();
    config.limits.segment_size_bytes = bytes;
    config
}

/// The emulator with `config` on a loopback port, with the process's [`bank_keys`].
pub async fn start_bank(config: BankConfig) -> RunningBank {
    Bank::builder(config)
        .keys(bank_keys())
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The operator's decision on every unverified bank key of `host`, by fingerprint.
pub async fn decide_bank_keys(
    store: &Store,
    scope: &TenantScope,
    host: BankHostId,
    outcome: BankKeyVerification,
) {
    let mut tx = store.scope(scope).begin().await.unwrap();
    for key in tx.bank_keys().list_for_host(host).await.unwrap() {
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

/// `user`'s current signature private key, as the signer CLI holds it.
pub async fn signing_key(store: &Store, scope: &TenantScope, user: EbicsUserId) -> PrivateKey {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let pair = tx
        .key_pairs()
        .current(user, KeyUsage::Signature)
        .await
        .unwrap()
        .unwrap();
    let der = tx.key_pairs().load_private_key(pair.id).await.unwrap();
    tx.commit().await.unwrap();
    PrivateKey::from_pkcs8_der(&der).unwrap()
}

/// A NEW user made READY in `tx` as the bank's INI/HIA and its activation would
/// (NEW → INITIALISED → READY).
pub async fn ready_user(tx: &mut ScopedTx<'_>, user: EbicsUserId) {
    use EbicsUserStatus::{Initialised, New, Ready};
    for (from, to) in [(New, Initialised), (Initialised, Ready)] {
        tx.ebics_users().set_status(user, from, to).await.unwrap();
    }
}

/// What an instance that missed `user`'s suspension believes: the user READY again (the
/// bank's next refusal must correct it).
pub async fn missed_suspension(store: &Store, scope: &TenantScope, user: EbicsUserId) {
    let mut tx = store.scope(scope).begin().await.unwrap();
    tx.ebics_users()
        .set_status(user, EbicsUserStatus::Suspended, EbicsUserStatus::Ready)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The `n` days before today, first and last: the period a test's download asks for.
pub fn days_before_today(n: u64) -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    let ago = |days| today.checked_sub_days(Days::new(days)).unwrap();
    (ago(n), ago(1))
}
