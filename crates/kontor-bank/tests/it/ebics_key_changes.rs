//! User key changes (HCA, HCS, PUB) against the real dispatcher, H004 and H005: the ES must be
//! the subscriber's own, by its current signature key; the document must name the subscriber
//! and carry acceptable keys; then the new keys replace the old ones at once. (The shared key
//! pool has eight slots: 5 to 7 are keys USER1 never had.)

use crate::support;

use kontor_bank::RunningBank;
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::envelope::OrderDetails;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AuthenticationPubKeyInfo, EncryptionPubKeyInfo, HCARequestOrderData, HCSRequestOrderData,
    PubKeyInfo, SignaturePubKeyOrderData,
};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_protocol::{AuthenticationVersion, EncryptionVersion, SignatureVersion};
use support::client::Subscriber;
use support::{demo_bank_with_user1, p, u};

fn hca(version: ProtocolVersion, keys: &Subscriber, partner: &str, user: &str) -> Vec<u8> {
    HCARequestOrderData {
        version,
        authentication: keys.authentication_info(),
        encryption: keys.encryption_info(),
        partner_id: partner.into(),
        user_id: user.into(),
    }
    .to_xml()
    .unwrap()
}

fn hcs(version: ProtocolVersion, keys: &Subscriber) -> Vec<u8> {
    HCSRequestOrderData {
        version,
        authentication: keys.authentication_info(),
        encryption: keys.encryption_info(),
        signature: keys.signature_info(),
        partner_id: "PARTNER1".into(),
        user_id: "USER1".into(),
    }
    .to_xml()
    .unwrap()
}

fn pub_document(version: ProtocolVersion, keys: &Subscriber) -> Vec<u8> {
    SignaturePubKeyOrderData {
        version,
        signature_pub_key_info: PubKeyInfo {
            key: keys.key_info(KeyPurpose::Signature),
            version: SignatureVersion::A006,
        },
        partner_id: "PARTNER1".into(),
        user_id: "USER1".into(),
    }
    .to_xml()
    .unwrap()
}

async fn send(
    s: &Subscriber,
    order_type: OrderType,
    document: &[u8],
    signer: &Subscriber,
) -> (String, String) {
    let details = OrderDetails::upload(s.version, &order_type).unwrap();
    let upload = s.upload(details, document, &[signer], None).await;
    (
        upload.technical.code().to_owned(),
        upload.business.code().to_owned(),
    )
}

fn bank_hash(bank: &RunningBank, purpose: KeyPurpose) -> [u8; 32] {
    let subscriber = bank
        .state()
        .subscriber(&p("PARTNER1"), &u("USER1"))
        .unwrap();
    *subscriber.keys.get(purpose).unwrap().hash.as_bytes()
}

async fn hca_hcs_and_pub_replace_the_keys(version: ProtocolVersion) {
    let (bank, mut s) = demo_bank_with_user1(version).await;
    let url = bank.ebics_url();

    // HCA, signed with the current signature key: authentication and encryption replaced.
    let second = Subscriber::new(&url, version, "PARTNER1", "USER1", 5);
    let ok = ("000000".to_owned(), "000000".to_owned());
    assert_eq!(
        send(
            &s,
            OrderType::HCA,
            &hca(version, &second, "PARTNER1", "USER1"),
            &s
        )
        .await,
        ok
    );
    assert_eq!(
        bank_hash(&bank, KeyPurpose::Authentication),
        *second.key_hash(KeyPurpose::Authentication).as_bytes()
    );
    assert_eq!(
        bank_hash(&bank, KeyPurpose::Encryption),
        *second.key_hash(KeyPurpose::Encryption).as_bytes()
    );
    // The old authentication key no longer opens a transaction.
    let (technical, _) = send(
        &s,
        OrderType::HCA,
        &hca(version, &second, "PARTNER1", "USER1"),
        &s,
    )
    .await;
    assert_eq!(technical, "061001", "old X002 key refused");
    s.adopt_key(&second, KeyPurpose::Authentication);
    s.adopt_key(&second, KeyPurpose::Encryption);

    // HCS: all three.
    let third = Subscriber::new(&url, version, "PARTNER1", "USER1", 6);
    assert_eq!(
        send(&s, OrderType::HCS, &hcs(version, &third), &s).await,
        ok
    );
    assert_eq!(
        bank_hash(&bank, KeyPurpose::Signature),
        *third.key_hash(KeyPurpose::Signature).as_bytes()
    );
    for purpose in [
        KeyPurpose::Signature,
        KeyPurpose::Authentication,
        KeyPurpose::Encryption,
    ] {
        s.adopt_key(&third, purpose);
    }

    // PUB: a change signed with the replaced signature key is refused, keys unchanged.
    let fourth = Subscriber::new(&url, version, "PARTNER1", "USER1", 7);
    let stale = send(&s, OrderType::PUB, &pub_document(version, &fourth), &second).await;
    assert_eq!(stale.1, "091301");
    assert_eq!(
        bank_hash(&bank, KeyPurpose::Signature),
        *third.key_hash(KeyPurpose::Signature).as_bytes()
    );
    // Signed with the current key it is taken.
    assert_eq!(
        send(&s, OrderType::PUB, &pub_document(version, &fourth), &s).await,
        ok
    );
    assert_eq!(
        bank_hash(&bank, KeyPurpose::Signature),
        *fourth.key_hash(KeyPurpose::Signature).as_bytes()
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn hca_hcs_and_pub_replace_the_keys_on_h004() {
    hca_hcs_and_pub_replace_the_keys(H004).await;
}

#[tokio::test]
async fn hca_hcs_and_pub_replace_the_keys_on_h005() {
    hca_hcs_and_pub_replace_the_keys(H005).await;
}

#[tokio::test]
async fn key_changes_naming_another_user_or_duplicating_keys_are_refused() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let before = bank_hash(&bank, KeyPurpose::Authentication);
    let other = Subscriber::new(&bank.ebics_url(), H004, "PARTNER1", "USER1", 7);
    // The document names another user.
    let foreign = send(
        &s,
        OrderType::HCA,
        &hca(H004, &other, "PARTNER1", "USER2"),
        &s,
    )
    .await;
    assert_eq!(foreign.1, "090004");
    // Authentication and encryption the same key.
    let auth = other.key_info(KeyPurpose::Authentication);
    let duplicate = HCARequestOrderData {
        version: H004,
        authentication: AuthenticationPubKeyInfo {
            key: auth.clone(),
            version: AuthenticationVersion::X002,
        },
        encryption: EncryptionPubKeyInfo {
            key: auth,
            version: EncryptionVersion::E002,
        },
        partner_id: "PARTNER1".into(),
        user_id: "USER1".into(),
    }
    .to_xml()
    .unwrap();
    let refused = send(&s, OrderType::HCA, &duplicate, &s).await;
    assert_eq!(refused.1, "091218");
    // A PUB document in an HCA order.
    let wrong = send(&s, OrderType::HCA, &pub_document(H004, &other), &s).await;
    assert_eq!(wrong.1, "090004");
    assert_eq!(bank_hash(&bank, KeyPurpose::Authentication), before);
    bank.shutdown().await;
}
