//! Payment orders: permissions, verified signatures, and submission that uploads exactly once
//! across retries, crashes and concurrent instances.

mod ops_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use kontor_daemon::services::orders::{
    add_signature, create_order, submit, CreateOrder, OrderError, OrderUploader,
    SignatureSubmission, SubmitOutcome, Submitter, UploadFailure, UploadReceipt,
};
use kontor_documents::pain::{
    self, AccountParty, PainVersion, PaymentInfo, PaymentOrder, Transaction as PainTx,
};
use kontor_documents::{Amount, Currency, Iban};
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    Direction, EbicsUserId, KeyUsage, NewEbicsUser, NewKeyPair, NewPermission, NewTransaction,
    Order, OrderId, OrderStatus, SignatureClass, SignatureRule, Store, TenantScope, Transaction,
    TransactionEventKind, TransactionPhase, TransferEffect,
};
use ops_support::{tenant, Tenant, TestDb, IBAN};
use zeroize::Zeroizing;

struct Signer {
    user: EbicsUserId,
    key: PrivateKey,
}

struct Fixture {
    t: Tenant,
    signer_a: Signer,
    signer_b: Signer,
}

fn key() -> PrivateKey {
    PrivateKey::generate(&mut rand::rngs::OsRng, KeySize::Bits2048).unwrap()
}

async fn signer(store: &Store, t: &Tenant, name: &str, class: SignatureClass) -> Signer {
    let key = key();
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: t.connection,
            user_id: name.to_uppercase(),
            system_id: None,
            name: name.into(),
            signature_class: class,
        })
        .await
        .unwrap()
        .id;
    tx.key_pairs()
        .create(NewKeyPair {
            ebics_user_id: user,
            usage: KeyUsage::Signature,
            version: "A006".into(),
            public_key: key.public_key().to_spki_der().unwrap(),
            private_key_pkcs8: Zeroizing::new(b"held by the signer, not here".to_vec()),
            key_hash: "00".into(),
            certificate: None,
        })
        .await
        .unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: user,
            order_type: "CCT".into(),
            account_id: None,
            authorisation_level: class,
            max_amount: None,
            currency: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Signer { user, key }
}

async fn fixture(store: &Store) -> Fixture {
    let t = tenant(store, "acme", IBAN).await;
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    tx.connections()
        .set_order_types(t.connection, &["CCT".into(), "CDD".into(), "C53".into()])
        .await
        .unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: t.user,
            order_type: "CCT".into(),
            account_id: Some(t.account),
            authorisation_level: SignatureClass::E,
            max_amount: Some("5000.00".into()),
            currency: Some("EUR".into()),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let signer_a = signer(store, &t, "anna", SignatureClass::A).await;
    let signer_b = signer(store, &t, "bert", SignatureClass::B).await;
    Fixture {
        t,
        signer_a,
        signer_b,
    }
}

fn pain001(total: &str, message_id: &str) -> Vec<u8> {
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_09,
        message_id: message_id.into(),
        created: NaiveDate::from_ymd_opt(2024, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        initiating_party: Some("ACME GmbH".into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: NaiveDate::from_ymd_opt(2024, 3, 4).unwrap(),
            account: AccountParty::new("ACME GmbH", Iban::parse(IBAN).unwrap(), None),
            creditor_scheme_id: None,
            charge_bearer: Some("SLEV".into()),
            transactions: vec![PainTx {
                end_to_end_id: "E2E-1".into(),
                instruction_id: None,
                amount: Amount::parse(total).unwrap(),
                currency: Currency::EUR,
                counterparty: AccountParty::new(
                    "Beta AG",
                    Iban::parse("GB82WEST12345698765432").unwrap(),
                    None,
                ),
                mandate: None,
                remittance: Some("Invoice 4711".into()),
            }],
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

async fn create(store: &Store, f: &Fixture, content: Vec<u8>) -> Result<Order, OrderError> {
    let created = create_order(
        store,
        &f.t.scope,
        CreateOrder {
            user: f.t.user,
            content,
            signature_rule: SignatureRule::Standard,
            idempotency_key: Some("client-request-1".into()),
            order_type: None,
        },
    )
    .await?;
    Ok(created.order)
}

async fn sign(
    store: &Store,
    f: &Fixture,
    order: OrderId,
    signer: &Signer,
) -> Result<Order, OrderError> {
    let content = pain001_of(store, &f.t.scope, order).await;
    let value = sign_order_data(SignatureVersion::A006, &signer.key, &content).unwrap();
    let mut tx = store.scope(&f.t.scope).begin().await.unwrap();
    let order = add_signature(
        &mut tx,
        SignatureSubmission {
            order,
            signer: signer.user,
            version: SignatureVersion::A006,
            value,
            key_hash: None,
        },
    )
    .await?;
    tx.commit().await.unwrap();
    Ok(order)
}

async fn pain001_of(store: &Store, scope: &TenantScope, order: OrderId) -> Vec<u8> {
    let mut tx = store.scope(scope).begin().await.unwrap();
    let order: Order = tx.get(order).await.unwrap();
    let file: kontor_storage::StoredFile = tx.get(order.content_file_id).await.unwrap();
    file.content.unwrap()
}

async fn signed_order(store: &Store, f: &Fixture) -> Order {
    let order = create(store, f, pain001("1250.00", "MSG-1")).await.unwrap();
    let order = sign(store, f, order.id, &f.signer_a).await.unwrap();
    assert_eq!(order.status, OrderStatus::PendingSignature);
    let order = sign(store, f, order.id, &f.signer_b).await.unwrap();
    assert_eq!(order.status, OrderStatus::Signed);
    order
}

/// Stands in for the engine: "uploads" by moving the persisted transaction to COMPLETED (as
/// the engine does) and counting what the bank received.
#[derive(Default)]
struct FakeBank {
    store: Option<Store>,
    received: AtomicUsize,
    /// Dies after the bank took the order, before the caller can record it.
    crash_after_upload: bool,
    /// Dies after initialisation was persisted, before anything reached the bank.
    crash_before_sending: bool,
}

impl FakeBank {
    fn new(store: &Store) -> Self {
        Self {
            store: Some(store.clone()),
            ..Default::default()
        }
    }
}

impl OrderUploader for FakeBank {
    async fn upload(
        &self,
        scope: &TenantScope,
        order: &Order,
        _content: Vec<u8>,
        _signatures: Vec<OrderSignatureData>,
    ) -> Result<UploadReceipt, UploadFailure> {
        if self.crash_before_sending {
            panic!("simulated crash before the transaction was written");
        }
        let store = self.store.as_ref().unwrap();
        // As the engine: the transaction is persisted, linked to the order, before sending.
        let mut tx = store.scope(scope).begin().await.unwrap();
        let transaction = tx
            .transactions()
            .create(NewTransaction {
                ebics_user_id: order.ebics_user_id,
                direction: Direction::Upload,
                order_type: order.order_type.clone(),
                btf_params: None,
                order_id: Some(order.id),
                file_id: None,
                num_segments: Some(1),
                effect: Some(TransferEffect::SettleOrder),
            })
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();

        let n = self.received.fetch_add(1, Ordering::SeqCst) + 1;
        let bank_order_id = format!("A{n:03}");
        let mut tx = store.scope(scope).begin().await.unwrap();
        tx.transactions()
            .set_recovery(
                transaction,
                &serde_json::json!({ "bank_order_id": bank_order_id }),
            )
            .await
            .unwrap();
        tx.transactions()
            .set_phase(
                transaction,
                TransactionPhase::Initialisation,
                TransactionPhase::Completed,
                TransactionEventKind::Completed,
                serde_json::json!({}),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if self.crash_after_upload {
            panic!("simulated crash between upload and status update");
        }
        Ok(UploadReceipt {
            transaction,
            bank_order_id: Some(bank_order_id),
            return_code: "000000".into(),
        })
    }

    async fn reconcile(
        &self,
        _scope: &TenantScope,
        _order: &Order,
        transaction: &Transaction,
    ) -> Result<Option<UploadReceipt>, UploadFailure> {
        Ok(transaction
            .recovery
            .get("bank_order_id")
            .and_then(|v| v.as_str())
            .map(|id| UploadReceipt {
                transaction: transaction.id,
                bank_order_id: Some(id.to_owned()),
                return_code: "000000".into(),
            }))
    }
}

async fn payment_signed_a_and_b_is_uploaded_once(db: &TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;
    let bank = FakeBank::new(&db.store);

    let outcome = submit(&db.store, &bank, &Submitter::new("a"), &f.t.scope, order.id)
        .await
        .unwrap();
    let SubmitOutcome::Accepted(order) = outcome else {
        panic!("not accepted: {outcome:?}")
    };
    assert_eq!(order.status, OrderStatus::Processing);
    assert_eq!(order.bank_order_id.as_deref(), Some("A001"));

    // A client retrying the request changes nothing.
    submit(&db.store, &bank, &Submitter::new("a"), &f.t.scope, order.id)
        .await
        .unwrap();
    assert_eq!(bank.received.load(Ordering::SeqCst), 1);
}

async fn retry_after_crash_between_upload_and_status_update_does_not_upload_again(db: &TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;

    let crashing = Arc::new(FakeBank {
        crash_after_upload: true,
        ..FakeBank::new(&db.store)
    });
    let (store, scope, bank) = (db.store.clone(), f.t.scope.clone(), crashing.clone());
    let crashed = tokio::spawn(async move {
        submit(
            &store,
            bank.as_ref(),
            &Submitter::new("crashing"),
            &scope,
            order.id,
        )
        .await
    })
    .await;
    assert!(crashed.is_err(), "the first attempt died");
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let stuck: Order = tx.get(order.id).await.unwrap();
    drop(tx);
    assert_eq!(stuck.status, OrderStatus::Submitted);

    let restarted = FakeBank::new(&db.store);
    let outcome = submit(
        &db.store,
        &restarted,
        &Submitter::new("restarted"),
        &f.t.scope,
        order.id,
    )
    .await
    .unwrap();
    let SubmitOutcome::Accepted(order) = outcome else {
        panic!("not accepted: {outcome:?}")
    };
    assert_eq!(order.bank_order_id.as_deref(), Some("A001"));
    assert_eq!(
        crashing.received.load(Ordering::SeqCst) + restarted.received.load(Ordering::SeqCst),
        1,
        "the bank received the payment once"
    );
}

async fn crash_before_sending_is_taken_over_after_the_lease_expires(db: &TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;
    let crashing = Arc::new(FakeBank {
        crash_before_sending: true,
        ..FakeBank::new(&db.store)
    });
    let (store, scope, bank) = (db.store.clone(), f.t.scope.clone(), crashing.clone());
    assert!(tokio::spawn(async move {
        submit(
            &store,
            bank.as_ref(),
            &Submitter::new("crashing"),
            &scope,
            order.id,
        )
        .await
    })
    .await
    .is_err());
    // While the crashed attempt's lease lives, another instance must assume it is in flight.
    let bank = FakeBank::new(&db.store);
    let outcome = submit(
        &db.store,
        &bank,
        &Submitter::new("other"),
        &f.t.scope,
        order.id,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, SubmitOutcome::InFlight(_)));
    assert_eq!(bank.received.load(Ordering::SeqCst), 0);

    // Once it expired, the attempt is taken over and sent in the same transaction.
    db.store
        .raw_execute("UPDATE orders SET submit_lease_expires_at = '2000-01-01T00:00:00.000000Z'")
        .await
        .unwrap();
    let outcome = submit(
        &db.store,
        &bank,
        &Submitter::new("other"),
        &f.t.scope,
        order.id,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, SubmitOutcome::Accepted(_)));
    assert_eq!(bank.received.load(Ordering::SeqCst), 1);
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let transactions = tx.transactions().list_for_order(order.id).await.unwrap();
    assert_eq!(transactions.len(), 1, "one order, one upload transaction");
}

async fn concurrent_submissions_from_two_instances_upload_once(db: &TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;
    let other = db.second_instance().await;
    let bank_a = FakeBank::new(&db.store);
    let bank_b = FakeBank::new(&other);
    let (submitter_a, submitter_b) = (Submitter::new("a"), Submitter::new("b"));
    let (a, b) = tokio::join!(
        submit(&db.store, &bank_a, &submitter_a, &f.t.scope, order.id),
        submit(&other, &bank_b, &submitter_b, &f.t.scope, order.id),
    );
    let uploads = bank_a.received.load(Ordering::SeqCst) + bank_b.received.load(Ordering::SeqCst);
    assert_eq!(uploads, 1);
    // The loser either saw the upload in flight or already settled; neither uploaded.
    for outcome in [a.unwrap(), b.unwrap()] {
        assert!(matches!(
            outcome,
            SubmitOutcome::Accepted(_) | SubmitOutcome::InFlight(_)
        ));
    }
}

async fn signature_must_verify_against_the_signers_registered_key(db: &TestDb) {
    let f = fixture(&db.store).await;
    let order = create(&db.store, &f, pain001("10.00", "MSG-2"))
        .await
        .unwrap();
    let content = pain001_of(&db.store, &f.t.scope, order.id).await;
    let forged = sign_order_data(SignatureVersion::A006, &key(), &content).unwrap();
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let result = add_signature(
        &mut tx,
        SignatureSubmission {
            order: order.id,
            signer: f.signer_a.user,
            version: SignatureVersion::A006,
            value: forged,
            key_hash: None,
        },
    )
    .await;
    assert!(matches!(result, Err(OrderError::InvalidSignature)));
    drop(tx);
    // One A signature alone does not authorise the payment.
    let order = sign(&db.store, &f, order.id, &f.signer_a).await.unwrap();
    assert_eq!(order.status, OrderStatus::PendingSignature);
    // Nor does the same signer twice.
    assert!(sign(&db.store, &f, order.id, &f.signer_a).await.is_err());
}

async fn orders_beyond_the_users_permissions_are_refused(db: &TestDb) {
    let f = fixture(&db.store).await;
    let over_limit = create(&db.store, &f, pain001("5000.01", "MSG-3")).await;
    assert!(matches!(over_limit, Err(OrderError::NotPermitted(_))));
    let within = create(&db.store, &f, pain001("5000.00", "MSG-3"))
        .await
        .unwrap();
    assert_eq!(within.order_type, "CCT");
    assert_eq!(within.amount_total.as_deref(), Some("5000.00"));
    // The client's retry of the same request gets the same order; other content under the
    // same key is refused.
    let again = create(&db.store, &f, pain001("5000.00", "MSG-3"))
        .await
        .unwrap();
    assert_eq!(again.id, within.id);
    let reused = create(&db.store, &f, pain001("1.00", "MSG-4")).await;
    assert!(matches!(reused, Err(OrderError::IdempotencyKeyReused)));
}

on_both_databases!(
    payment_signed_a_and_b_is_uploaded_once,
    retry_after_crash_between_upload_and_status_update_does_not_upload_again,
    crash_before_sending_is_taken_over_after_the_lease_expires,
    concurrent_submissions_from_two_instances_upload_once,
    signature_must_verify_against_the_signers_registered_key,
    orders_beyond_the_users_permissions_are_refused,
);
