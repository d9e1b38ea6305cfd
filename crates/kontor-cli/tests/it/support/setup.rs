//! What the end-to-end tests prepare in a tenant: the emulator's demo subscriber planted from
//! the shared seed and its onboarding, an operator's API token, and pain.001 payment files
//! (the shared builders of `kontor_testkit`).

use kontor_bank::RunningBank;
use kontor_daemon::ebics::Client;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{BankKeyVerification, EbicsUserStatus, NewPermission, SignatureClass, Store};
use kontor_testkit::bank::decide_bank_keys;
use kontor_testkit::seed::{self, Seed, Tenant};

pub use kontor_testkit::payments::{payment_file, transfer, DEBTOR};
pub use kontor_testkit::seed::operator_token;

/// The emulator's demo subscriber at the bank served at `url`, in a new tenant `name`: host
/// KONTORBANK speaking `version`, PARTNER1's connection offering `order_types`, user USER1
/// (Erika Mustermann, class E) who may send CCT up to `max_amount` EUR (any amount with
/// `None`), and the [`DEBTOR`] account.
pub async fn demo_subscriber(
    store: &Store,
    name: &str,
    url: String,
    version: ProtocolVersion,
    order_types: &[OrderType],
    max_amount: Option<&str>,
) -> Tenant {
    let seed = Seed {
        account_holder: DEBTOR.0.into(),
        ..Seed::new(name).at(url, version).with_account(DEBTOR.1)
    };
    let who = seed::plant(store, seed).await;
    who.offer(store, order_types).await;
    let mut tx = store.scope(&who.scope).begin().await.unwrap();
    tx.permissions()
        .create(NewPermission {
            max_amount: max_amount.map(|a| a.parse().expect("a test limit")),
            currency: max_amount.map(|_| "EUR".parse().unwrap()),
            ..seed::permission(who.user, OrderType::CCT, SignatureClass::E)
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    who
}

/// The demo subscriber's onboarding, as an operator does it: INI and HIA with the keys the
/// user has, activation by the bank clerk, HPB, the bank keys verified by fingerprint, READY.
pub async fn onboard(client: &Client, bank: &RunningBank, who: &Tenant) {
    let scope = &who.scope;
    client.send_ini(scope, who.user).await.unwrap();
    client.send_hia(scope, who.user).await.unwrap();
    bank.activate_user(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    client.fetch_bank_keys(scope, who.user).await.unwrap();
    let verified = BankKeyVerification::Verified;
    decide_bank_keys(client.store(), scope, who.host, verified).await;
    assert_eq!(
        client.activate(scope, who.user).await.unwrap(),
        EbicsUserStatus::Ready
    );
}
