//! Onboarding against the bank emulator over loopback HTTP: INI, HIA, HPB, the operator's
//! bank-key verification, READY, and the HTD/HAA sync.

use crate::support::emulator::{world, Setup};
use crate::support::TestDb;
use kontor_daemon::ebics::{BankKeyBlock, EbicsError};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::*;

/// Why the bank's keys stop the user's orders, when `error` says they do.
fn bank_key_block(error: &EbicsError) -> Option<&BankKeyBlock> {
    match error {
        EbicsError::BankKeysNotVerified { reason, .. } => Some(reason),
        _ => None,
    }
}

async fn user_reaches_ready(db: TestDb, version: ProtocolVersion) {
    let w = world(db, Setup::new(version)).await;
    assert_eq!(
        w.client.send_ini(&w.scope, w.user).await.unwrap(),
        EbicsUserStatus::PartlyInitialisedIni
    );
    assert_eq!(
        w.client.send_hia(&w.scope, w.user).await.unwrap(),
        EbicsUserStatus::Initialised
    );
    w.bank
        .activate_user(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    let keys = w.fetch_bank_keys().await;
    assert_eq!(keys.len(), 2);
    assert!(keys
        .iter()
        .all(|k| k.verification_status == BankKeyVerification::Unverified));
    // Fetching again does not duplicate identical keys.
    assert_eq!(w.fetch_bank_keys().await.len(), 2);

    // Orders wait for the operator.
    let blocked = w.download(OrderType::HTD).await.unwrap_err();
    assert!(
        matches!(
            bank_key_block(&blocked),
            Some(BankKeyBlock::AwaitingVerification { .. })
        ),
        "{blocked}"
    );
    w.decide_bank_keys(BankKeyVerification::Verified).await;
    // `onboard` picks up from INITIALISED: activation and sync.
    assert_eq!(w.onboard().await.unwrap(), EbicsUserStatus::Ready);
    let mut tx = w.tx().await;
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    let connection: Connection = tx.get(user.connection_id).await.unwrap();
    // H005 lists administrative order types; statements come as BTD services.
    let statements = if version == H004 { "C53" } else { "BTD" };
    assert!(
        connection
            .order_types
            .iter()
            .any(|t| t.as_str() == statements),
        "{:?}",
        connection.order_types
    );
    let accounts = tx
        .accounts()
        .list_for_connection(connection.id)
        .await
        .unwrap();
    assert_eq!(accounts.len(), 3, "the seeded partner has three accounts");
    assert!(accounts
        .iter()
        .any(|a| a.iban.as_ref().map(|i| i.electronic()) == Some("DE89370400440532013000")));
    assert!(!tx
        .permissions()
        .list_for_user(w.user)
        .await
        .unwrap()
        .is_empty());
    for pair in tx.key_pairs().list_for_user(w.user).await.unwrap() {
        assert_eq!(pair.status, KeyStatus::Active, "{:?}", pair.usage);
    }
}

async fn rejected_key_flow(db: TestDb) {
    let w = world(db, Setup::new(H004)).await;
    w.initialise_and_fetch_bank_keys().await;
    w.decide_bank_keys(BankKeyVerification::Rejected).await;
    let activate = w.client.activate(&w.scope, w.user).await.unwrap_err();
    assert!(
        matches!(
            bank_key_block(&activate),
            Some(BankKeyBlock::Rejected { .. })
        ),
        "{activate}"
    );
    let download = w.download(OrderType::C53).await.unwrap_err();
    assert!(bank_key_block(&download).is_some(), "{download}");
    assert!(w.onboard().await.is_err());
    assert_eq!(w.user_status().await, EbicsUserStatus::Initialised);
    assert!(w.transactions().await.is_empty(), "nothing was sent");
}

async fn unknown_user_flow(db: TestDb) {
    let mut setup = Setup::new(H004);
    setup.user = "NOBODY";
    let w = world(db, setup).await;
    let refused = w.client.send_ini(&w.scope, w.user).await.unwrap_err();
    assert!(matches!(refused, EbicsError::Bank { .. }), "{refused}");
    assert_eq!(w.user_status().await, EbicsUserStatus::New);
}

/// The signer keeps the A006 private key: the daemon stores only the public key and still
/// sends INI with it.
async fn signer_held_key_flow(db: TestDb) {
    let w = world(db, Setup::new(H004)).await;
    let signer = w.hand_signature_key_to_signer().await;
    let hash = kontor_protocol::keys::public_key_hash(H004, signer.public_key(), None).unwrap();
    assert_eq!(
        w.client.send_ini(&w.scope, w.user).await.unwrap(),
        EbicsUserStatus::PartlyInitialisedIni
    );
    let at_bank = w
        .bank
        .state()
        .subscriber(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    assert_eq!(at_bank.keys.signature.unwrap().hash, hash);
}

on_both_databases! {
    ini_sends_a_signer_held_public_key => signer_held_key_flow;
    h004_user_reaches_ready_after_bank_key_verification => |db| user_reaches_ready(db, H004);
    h005_user_reaches_ready_after_bank_key_verification => |db| user_reaches_ready(db, H005);
    rejected_bank_key_blocks_every_order => rejected_key_flow;
    ini_is_refused_for_a_user_the_bank_does_not_know => unknown_user_flow;
}
