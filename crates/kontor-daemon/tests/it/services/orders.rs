//! Payment orders: permissions, verified signatures, and submission that uploads exactly once
//! across retries, crashes and concurrent instances — with a bank that counts what it
//! receives, and end to end against the bank emulator through one or two daemon instances.

use kontor_protocol::order_type::OrderType;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kontor_bank::{FaultAction, FaultMatcher, TransactionPhase as BankPhase};
use kontor_daemon::ebics::{Files, RetryPolicy};
use kontor_daemon::runtime::{self, DaemonOptions, RunningDaemon};
use kontor_daemon::services::orders::orphans::{
    remove_orphans, spawn_orphan_cleanup, OrphanCleanup, OrphansRemoved,
};
use kontor_daemon::services::orders::{
    add_signature, create_order, submit, submit_order, CreateOrder, Created, OrderError,
    OrderUploader, SignatureSubmission, SubmitOutcome, Submitter, UploadFailure, UploadReceipt,
};
use kontor_protocol::keys::{KeyHash, KeySize, PrivateKey};
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_protocol::signature::sign_order_data;
use kontor_protocol::KeyVersion;
use kontor_protocol::ProtocolVersion::H004;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    Direction, EbicsUserId, KeyUsage, NewKeyPair, NewPermission, NewTransaction, Order, OrderId,
    OrderStatus, Role, SignatureClass, SignatureRule, Store, StoredFile, TenantScope, Transaction,
    TransactionEventKind, TransactionPhase, TransferEffect,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::support::emulator::{ready_world, small_segment_bank, world, Setup, World};
use crate::support::payments::pain001;
use crate::support::seed::{tenant, Tenant, IBAN};
use crate::support::{eventually, TestDb};

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
    let user = t.add_user(store, &name.to_uppercase(), name, class).await;
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    tx.key_pairs()
        .create(NewKeyPair {
            ebics_user_id: user,
            usage: KeyUsage::Signature,
            version: KeyVersion::A006,
            public_key: key.public_key().to_spki_der().unwrap(),
            private_key_pkcs8: Zeroizing::new(b"held by the signer, not here".to_vec()),
            key_hash: KeyHash::from_bytes([0; 32]),
            certificate: None,
        })
        .await
        .unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: user,
            order_type: OrderType::CCT,
            btf_service: None,
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
    t.offer(store, &[OrderType::CCT, OrderType::CDD, OrderType::C53])
        .await;
    let mut tx = store.scope(&t.scope).begin().await.unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: t.user,
            order_type: OrderType::CCT,
            btf_service: None,
            account_id: Some(t.account()),
            authorisation_level: SignatureClass::E,
            max_amount: Some("5000.00".parse().unwrap()),
            currency: Some("EUR".parse().unwrap()),
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

async fn create(store: &Store, f: &Fixture, content: Vec<u8>) -> Result<Order, OrderError> {
    let created = create_order(
        store,
        &Files::inline_only(),
        &f.t.scope,
        CreateOrder {
            user: f.t.user,
            content,
            signature_rule: SignatureRule::Standard,
            idempotency_key: Some("client-request-1".into()),
            order_type: None,
            service: None,
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
        &Files::inline_only(),
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
    let order = create(store, f, pain001("MSG-1", &[("Beta AG", "1250.00")]))
        .await
        .unwrap();
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
    crash: Option<Crash>,
}

/// Where a [`FakeBank`] dies during an upload.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// After initialisation was persisted, before anything reached the bank.
    BeforeSending,
    /// After the bank took the order, before the caller can record it.
    AfterUpload,
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
        _content: StoredFile,
        _signatures: Vec<OrderSignatureData>,
    ) -> Result<UploadReceipt, UploadFailure> {
        if self.crash == Some(Crash::BeforeSending) {
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
        if self.crash == Some(Crash::AfterUpload) {
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

/// Submits as the instance `name`.
async fn submit_as(
    store: &Store,
    bank: &FakeBank,
    name: &str,
    scope: &TenantScope,
    order: OrderId,
) -> Result<SubmitOutcome, OrderError> {
    submit(store, bank, &Submitter::new(name), scope, order).await
}

/// The order of a submission the bank accepted.
#[track_caller]
fn accepted(outcome: SubmitOutcome) -> Order {
    match outcome {
        SubmitOutcome::Accepted(order) => order,
        other => panic!("not accepted: {other:?}"),
    }
}

/// A submission of `order` whose bank dies at `crash` (the task panics, as a killed process
/// stops); that bank.
async fn crashed_submission(
    store: &Store,
    scope: &TenantScope,
    order: OrderId,
    crash: Crash,
) -> Arc<FakeBank> {
    let bank = Arc::new(FakeBank {
        crash: Some(crash),
        ..FakeBank::new(store)
    });
    let (store, scope, crashing) = (store.clone(), scope.clone(), bank.clone());
    let attempt = tokio::spawn(async move {
        submit(
            &store,
            crashing.as_ref(),
            &Submitter::new("crashing"),
            &scope,
            order,
        )
        .await
    });
    assert!(attempt.await.is_err(), "the first attempt died");
    bank
}

async fn payment_signed_a_and_b_is_uploaded_once(db: TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;
    let bank = FakeBank::new(&db.store);

    let order = accepted(
        submit_as(&db.store, &bank, "a", &f.t.scope, order.id)
            .await
            .unwrap(),
    );
    assert_eq!(order.status, OrderStatus::Processing);
    assert_eq!(order.bank_order_id.as_deref(), Some("A001"));

    // A client retrying the request changes nothing.
    submit_as(&db.store, &bank, "a", &f.t.scope, order.id)
        .await
        .unwrap();
    assert_eq!(bank.received.load(Ordering::SeqCst), 1);
}

async fn retry_after_crash_between_upload_and_status_update_does_not_upload_again(db: TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;

    let crashing = crashed_submission(&db.store, &f.t.scope, order.id, Crash::AfterUpload).await;
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let stuck: Order = tx.get(order.id).await.unwrap();
    drop(tx);
    assert_eq!(stuck.status, OrderStatus::Submitted);

    let restarted = FakeBank::new(&db.store);
    let order = accepted(
        submit_as(&db.store, &restarted, "restarted", &f.t.scope, order.id)
            .await
            .unwrap(),
    );
    assert_eq!(order.bank_order_id.as_deref(), Some("A001"));
    assert_eq!(
        crashing.received.load(Ordering::SeqCst) + restarted.received.load(Ordering::SeqCst),
        1,
        "the bank received the payment once"
    );
}

async fn crash_before_sending_is_taken_over_after_the_lease_expires(db: TestDb) {
    let f = fixture(&db.store).await;
    let order = signed_order(&db.store, &f).await;
    crashed_submission(&db.store, &f.t.scope, order.id, Crash::BeforeSending).await;
    // While the crashed attempt's lease lives, another instance must assume it is in flight.
    let bank = FakeBank::new(&db.store);
    let outcome = submit_as(&db.store, &bank, "other", &f.t.scope, order.id)
        .await
        .unwrap();
    assert!(matches!(outcome, SubmitOutcome::InFlight(_)));
    assert_eq!(bank.received.load(Ordering::SeqCst), 0);

    // Once it expired, the attempt is taken over and sent in the same transaction.
    db.store
        .raw_execute("UPDATE orders SET submit_lease_expires_at = '2000-01-01T00:00:00.000000Z'")
        .await
        .unwrap();
    let outcome = submit_as(&db.store, &bank, "other", &f.t.scope, order.id)
        .await
        .unwrap();
    assert!(matches!(outcome, SubmitOutcome::Accepted(_)));
    assert_eq!(bank.received.load(Ordering::SeqCst), 1);
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let transactions = tx.transactions().list_for_order(order.id).await.unwrap();
    assert_eq!(transactions.len(), 1, "one order, one upload transaction");
}

async fn concurrent_submissions_from_two_instances_upload_once(db: TestDb) {
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

async fn signature_must_verify_against_the_signers_registered_key(db: TestDb) {
    let f = fixture(&db.store).await;
    let order = create(&db.store, &f, pain001("MSG-2", &[("Beta AG", "10.00")]))
        .await
        .unwrap();
    let content = pain001_of(&db.store, &f.t.scope, order.id).await;
    let forged = sign_order_data(SignatureVersion::A006, &key(), &content).unwrap();
    let mut tx = db.store.scope(&f.t.scope).begin().await.unwrap();
    let result = add_signature(
        &Files::inline_only(),
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

async fn orders_beyond_the_users_permissions_are_refused(db: TestDb) {
    let f = fixture(&db.store).await;
    let over_limit = create(&db.store, &f, pain001("MSG-3", &[("Beta AG", "5000.01")])).await;
    assert!(matches!(over_limit, Err(OrderError::NotPermitted(_))));
    let within = create(&db.store, &f, pain001("MSG-3", &[("Beta AG", "5000.00")]))
        .await
        .unwrap();
    assert_eq!(within.order_type, OrderType::CCT);
    assert_eq!(
        within.amount_total.map(|a| a.to_string()).as_deref(),
        Some("5000.00")
    );
    // The client's retry of the same request gets the same order; other content under the
    // same key is refused.
    let again = create(&db.store, &f, pain001("MSG-3", &[("Beta AG", "5000.00")]))
        .await
        .unwrap();
    assert_eq!(again.id, within.id);
    let reused = create(&db.store, &f, pain001("MSG-4", &[("Beta AG", "1.00")])).await;
    assert!(matches!(reused, Err(OrderError::IdempotencyKeyReused)));
}

// --- against the bank emulator ------------------------------------------------------------

/// The tenant's view of the emulator's partner: CCT offered on the main account, and the
/// user's permission to send it.
async fn bank_takes_payments(w: &World) {
    w.describe_bank(&["CCT", "C53"]).await;
    w.permit("CCT", SignatureClass::E).await;
}

fn payment() -> Vec<u8> {
    pain001("OPS-MSG-1", &[("Beta AG", "1250.00")])
}

async fn payment_is_uploaded_once_despite_a_lost_answer_flow(db: TestDb) {
    let mut setup = Setup::new(H004);
    setup.bank = small_segment_bank();
    setup.retry = RetryPolicy::immediate(2);
    let w = world(db, setup).await;
    w.ready().await;
    bank_takes_payments(&w).await;
    let content = payment();
    let order = w.signed_order(&content, SignatureRule::Standard).await;
    assert_eq!(order.status, OrderStatus::Signed);
    let submitter = Submitter::new("instance-a");

    // The bank takes the order but its answer is lost, twice: "did my payment go through?"
    w.fault(
        FaultMatcher {
            phase: Some(BankPhase::Transfer),
            segment: Some(1),
            ..Default::default()
        },
        FaultAction::DropResponse,
        Some(2),
    );
    let lost = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id).await;
    assert!(
        matches!(&lost, Err(OrderError::Uncertain(why)) if why.contains("network failure")),
        "{lost:?}"
    );
    assert_eq!(w.bank.state().received_orders().len(), 1);
    // The upload's transaction waits for recovery where it stopped.
    let [upload] = w.transactions().await.try_into().expect("one upload");
    assert_eq!(upload.phase, TransactionPhase::Transfer);

    // A retry (here from another instance) does not upload: the transaction is in recovery.
    let retry = w.submit_as("instance-b", order.id).await;
    assert!(matches!(retry, SubmitOutcome::InFlight(_)), "{retry:?}");

    // Recovery settles the transaction; the next retry records the bank's order id.
    let report = w.client.recover_unfinished().await.unwrap();
    assert_eq!(report.completed, vec![upload.id], "{report:?}");
    // A second pass finds nothing to do.
    let again = w.client.recover_unfinished().await.unwrap();
    assert!(again.completed.is_empty() && again.ended.is_empty());
    let settled = submit(&w.db.store, &w.client, &submitter, &w.scope, order.id)
        .await
        .unwrap();
    let SubmitOutcome::Accepted(settled) = settled else {
        panic!("{settled:?}")
    };
    assert_eq!(settled.status, OrderStatus::Processing);
    assert!(settled.bank_order_id.is_some());
    let received = w.bank.state().received_orders();
    assert_eq!(received.len(), 1, "exactly one payment at the bank");
    assert_eq!(received[0].sha256, hex::encode(Sha256::digest(&content)));
}

/// A daemon instance (API, scheduler, background passes) on `store`, named `instance`.
async fn start_instance(w: &World, store: Store, instance: &str) -> RunningDaemon {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut options = DaemonOptions::new(w.data_dir.path());
    options.instance = instance.into();
    options.completion_interval = std::time::Duration::from_secs(1);
    runtime::start(store, listener, options).unwrap()
}

/// `requests` concurrent `POST /v1/orders/{id}/submit`, spread over the instances.
async fn submit_concurrently(
    instances: &[&RunningDaemon],
    token: &str,
    order: OrderId,
    requests: usize,
) -> Vec<serde_json::Value> {
    let client = reqwest::Client::new();
    let calls = (0..requests).map(|i| {
        let url = format!(
            "http://{}/v1/orders/{order}/submit",
            instances[i % instances.len()].api_addr
        );
        let request = client.post(url).bearer_auth(token).send();
        async move {
            let reply = request.await.unwrap();
            let status = reply.status();
            let body: serde_json::Value =
                serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
            assert_eq!(status, 202, "{body}");
            body
        }
    });
    futures::future::join_all(calls).await
}

/// Whatever number of submits arrive at once, in one instance or several, the bank gets the
/// payment once and the order completes with the bank's order id.
async fn concurrent_submits_upload_once_flow(db: TestDb, two_instances: bool) {
    let w = ready_world(db, H004).await;
    bank_takes_payments(&w).await;
    let order = w.signed_order(&payment(), SignatureRule::Standard).await;
    let token = w.token("treasury@acme.example", Role::Admin).await;
    let a = start_instance(&w, w.db.store.clone(), "instance-a").await;
    let b = match two_instances {
        true => Some(start_instance(&w, w.db.second_instance().await, "instance-b").await),
        false => None,
    };
    let instances: Vec<&RunningDaemon> = std::iter::once(&a).chain(b.as_ref()).collect();

    let replies = submit_concurrently(&instances, &token, order.id, 16).await;
    let states: Vec<&str> = replies
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        states
            .iter()
            .all(|s| ["SUBMITTED", "PROCESSING", "COMPLETED"].contains(s)),
        "{states:?}"
    );

    let received = w.bank.state().received_orders();
    assert_eq!(
        received.len(),
        1,
        "one bank order for 16 submits: {received:?}"
    );
    let completed = eventually(|| async {
        let order: Order = w.tx().await.get(order.id).await.unwrap();
        (order.status == OrderStatus::Completed).then_some(order)
    })
    .await;
    assert_eq!(
        completed.bank_order_id.as_deref(),
        Some(received[0].order_id.to_string().as_str())
    );
    // Asking again changes nothing at the bank.
    submit_concurrently(&instances, &token, order.id, 4).await;
    assert_eq!(w.bank.state().received_orders().len(), 1);
    if let Some(b) = b {
        b.shutdown().await;
    }
    a.shutdown().await;
}

on_both_databases! {
    payment_signed_a_and_b_is_uploaded_once;
    retry_after_crash_between_upload_and_status_update_does_not_upload_again;
    crash_before_sending_is_taken_over_after_the_lease_expires;
    concurrent_submissions_from_two_instances_upload_once;
    signature_must_verify_against_the_signers_registered_key;
    orders_beyond_the_users_permissions_are_refused;
    payment_is_uploaded_once_despite_a_lost_answer => payment_is_uploaded_once_despite_a_lost_answer_flow;
    sixteen_concurrent_submits_in_one_instance_upload_once => |db| concurrent_submits_upload_once_flow(db, false);
    eight_plus_eight_submits_in_two_instances_upload_once => |db| concurrent_submits_upload_once_flow(db, true);
    order_file_is_kept_on_disk_once_per_created_order;
    concurrent_creates_with_one_key_make_one_order_and_keep_one_file;
    orphaned_order_files_older_than_the_grace_are_removed;
    inline_order_of_an_earlier_version_is_signed_and_submitted;
}

/// The files kept below the tenant's order directory.
fn kept_order_files(w: &World) -> Vec<std::path::PathBuf> {
    let dir = w
        .data_dir
        .path()
        .join(format!("orders/{}", w.scope.tenant()));
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// Creates an order of `content` with the daemon's files (kept on disk), as the API does.
async fn create_kept(
    w: &World,
    content: Vec<u8>,
    key: Option<&str>,
) -> Result<Created, OrderError> {
    let new = CreateOrder {
        user: w.user,
        content,
        signature_rule: SignatureRule::Standard,
        idempotency_key: key.map(str::to_owned),
        order_type: None,
        service: None,
    };
    create_order(&w.db.store, w.services.files(), &w.scope, new).await
}

/// With a data directory the payment file is kept on disk, not in its row; a replayed or
/// refused creation leaves no file behind.
async fn order_file_is_kept_on_disk_once_per_created_order(db: TestDb) {
    let w = ready_world(db, H004).await;
    bank_takes_payments(&w).await;
    let content = payment();
    let create = |key: Option<&'static str>| create_kept(&w, content.clone(), key);
    let created = create(Some("disk-1")).await.unwrap();
    let file: StoredFile = w
        .tx()
        .await
        .get(created.order.content_file_id)
        .await
        .unwrap();
    assert_eq!(file.content, None);
    assert_eq!(file.sha256, hex::encode(Sha256::digest(&content)));
    let [kept] = &kept_order_files(&w)[..] else {
        panic!("{:?}", kept_order_files(&w));
    };
    assert_eq!(std::fs::read(kept).unwrap(), content);
    assert!(kept.ends_with(file.path.as_deref().unwrap()), "{kept:?}");

    // A replay is answered before anything is written: with the tenant's directory made
    // unusable (a plain file in its place), keeping a file would fail.
    let tenant_dir = kept.parent().unwrap().to_owned();
    let moved = tenant_dir.with_extension("moved");
    std::fs::rename(&tenant_dir, &moved).unwrap();
    std::fs::write(&tenant_dir, b"not a directory").unwrap();
    let replayed = create(Some("disk-1")).await.unwrap();
    assert!(replayed.replayed);
    assert_eq!(replayed.order.id, created.order.id);
    let other = pain001("OTHER-RUN", &[("Other Creditor", "1.00")]);
    let reused = create_kept(&w, other, Some("disk-1")).await;
    assert!(
        matches!(reused, Err(OrderError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    std::fs::remove_file(&tenant_dir).unwrap();
    std::fs::rename(&moved, &tenant_dir).unwrap();

    let duplicate = create(None).await;
    assert!(
        matches!(duplicate, Err(OrderError::DuplicateOrder)),
        "{duplicate:?}"
    );
    assert_eq!(kept_order_files(&w).len(), 1);
}

/// Two creations racing with one idempotency key (both past the early replay check) end in
/// one order and one replay, decided by the database; the loser's kept file is removed.
async fn concurrent_creates_with_one_key_make_one_order_and_keep_one_file(db: TestDb) {
    let w = ready_world(db, H004).await;
    bank_takes_payments(&w).await;
    for run in 0..4 {
        let content = pain001(&format!("RACE-{run}"), &[("Race Creditor", "1.00")]);
        let key = format!("race-{run}");
        let create = || create_kept(&w, content.clone(), Some(&key));
        let (a, b) = tokio::join!(create(), create());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.order.id, b.order.id);
        assert!(a.replayed != b.replayed, "one creation, one replay");
        assert_eq!(kept_order_files(&w).len(), run + 1);
    }
}

/// Writes `path` with a last write `age` ago.
fn file_aged(path: &std::path::Path, age: std::time::Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

/// The cleanup removes a file below `orders/` no row names and a file below `incoming/`, once
/// older than the grace; a young orphan and an old file its order names are kept. A pass of
/// the daemon's loop counts what it removed; orphans beyond one lookup batch all go.
async fn orphaned_order_files_older_than_the_grace_are_removed(db: TestDb) {
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
    let w = ready_world(db, H004).await;
    bank_takes_payments(&w).await;
    let order = w
        .new_order_kept_by(
            w.services.files(),
            payment(),
            SignatureRule::Standard,
            None,
            None,
        )
        .await
        .unwrap();
    let [referenced] = &kept_order_files(&w)[..] else {
        panic!("{:?}", kept_order_files(&w));
    };
    std::fs::File::options()
        .write(true)
        .open(referenced)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - 2 * HOUR)
        .unwrap();
    let data = w.data_dir.path();
    let tenant_dir = data.join(format!("orders/{}", w.scope.tenant()));
    let old_orphan = tenant_dir.join("crashed-before-its-row.xml");
    let young_orphan = tenant_dir.join("row-about-to-be-written.xml");
    let old_incoming = data.join("incoming/.tmp-interrupted");
    let young_incoming = data.join("incoming/.tmp-receiving");
    file_aged(&old_orphan, 2 * HOUR);
    file_aged(&young_orphan, HOUR / 2);
    file_aged(&old_incoming, 2 * HOUR);
    file_aged(&young_incoming, HOUR / 2);

    let removed = remove_orphans(&w.db.store, w.services.files(), HOUR)
        .await
        .unwrap();
    assert_eq!(
        removed,
        OrphansRemoved {
            kept: 1,
            incoming: 1
        }
    );
    assert!(!old_orphan.exists() && !old_incoming.exists());
    assert!(young_orphan.exists() && young_incoming.exists() && referenced.exists());
    // The order still reads its file.
    let file: StoredFile = w.tx().await.get(order.content_file_id).await.unwrap();
    assert_eq!(w.services.file_content(&file).await.unwrap(), payment());

    // The daemon's loop (its first pass at once) removes and counts.
    file_aged(&old_orphan, 2 * HOUR);
    let instance = format!("orphan-test-{}", w.scope.tenant());
    let cleanup = spawn_orphan_cleanup(
        w.db.store.clone(),
        w.services.files().clone(),
        instance.clone(),
        HOUR,
        HOUR,
    );
    let counted =
        format!("kontor_orphan_files_removed_total{{instance=\"{instance}\",place=\"orders\"}} 1");
    eventually(|| async {
        kontor_daemon::metrics::render()
            .contains(&counted)
            .then_some(())
    })
    .await;
    cleanup.abort();
    assert!(!old_orphan.exists() && young_orphan.exists() && referenced.exists());

    // More orphans than one lookup asks about: every one goes, the named file stays.
    let many: Vec<_> = (0..1001)
        .map(|i| tenant_dir.join(format!("crashed-{i}.xml")))
        .collect();
    for orphan in &many {
        file_aged(orphan, 2 * HOUR);
    }
    let removed = remove_orphans(&w.db.store, w.services.files(), HOUR)
        .await
        .unwrap();
    assert_eq!(removed.kept, many.len());
    assert!(many.iter().all(|orphan| !orphan.exists()));
    assert!(young_orphan.exists() && referenced.exists());

    // Later passes of one cleanup skip what an earlier complete pass looked at (by the time
    // in a kept file's name); a first pass looks at everything again.
    let named_at = |ago: std::time::Duration| {
        let at = std::time::SystemTime::now() - ago;
        let since_epoch = at.duration_since(std::time::UNIX_EPOCH).unwrap();
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            since_epoch.as_secs(),
            since_epoch.subsec_nanos(),
        ));
        tenant_dir.join(format!("{id}.xml"))
    };
    let mut cleanup = OrphanCleanup::new(HOUR);
    let first = cleanup.pass(&w.db.store, w.services.files()).await.unwrap();
    assert_eq!(first, OrphansRemoved::default());
    let named_long_ago = named_at(5 * HOUR);
    let named_lately = named_at(HOUR / 4);
    file_aged(&named_long_ago, 2 * HOUR);
    file_aged(&named_lately, 2 * HOUR);
    let later = cleanup.pass(&w.db.store, w.services.files()).await.unwrap();
    assert_eq!(later.kept, 1);
    assert!(named_long_ago.exists() && !named_lately.exists());
    let removed = remove_orphans(&w.db.store, w.services.files(), HOUR)
        .await
        .unwrap();
    assert_eq!(removed.kept, 1);
    assert!(!named_long_ago.exists() && young_orphan.exists() && referenced.exists());
}

/// Earlier versions kept every payment file inline in its row: such an order is still
/// signed and submitted by a daemon that keeps new files on disk.
async fn inline_order_of_an_earlier_version_is_signed_and_submitted(db: TestDb) {
    let w = ready_world(db, H004).await;
    bank_takes_payments(&w).await;
    let content = payment();
    let order = w
        .new_order_kept_by(
            &Files::inline_only(),
            content.clone(),
            SignatureRule::Standard,
            None,
            None,
        )
        .await
        .unwrap();
    let file: StoredFile = w.tx().await.get(order.content_file_id).await.unwrap();
    assert_eq!((file.path, file.content.as_ref()), (None, Some(&content)));
    let signed = w.signed_by_user(order.id, &content).await;
    assert_eq!(signed.status, OrderStatus::Signed);

    // As the API submits: the daemon's services, which keep new files on disk.
    let submitted = submit_order(&w.services, &w.scope, order.id).await.unwrap();
    assert!(submitted.bank_order_id.is_some(), "{submitted:?}");
    let [received] = &w.bank.state().received_orders()[..] else {
        panic!("one order at the bank");
    };
    assert_eq!(received.sha256, hex::encode(Sha256::digest(&content)));
}
