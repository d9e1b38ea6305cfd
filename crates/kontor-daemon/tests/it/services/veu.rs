//! The distributed signature (VEU). With a bank held in memory, the state handling alone:
//! the overview synced into veu_items, approval (HVE), cancellation (HVS). Through the real
//! EBICS client against the bank emulator: an order uploaded with USER2's A signature waits in
//! the bank's VEU, USER3 (class B) signs it with HVE or cancels it with HVS, and the bank's HAC
//! status report completes or rejects the daemon's order.

use kontor_storage::{KontorFailure, ResultCode};
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::Utc;
use kontor_bank::state::OrderStatus as BankOrderStatus;
use kontor_bank::{FaultAction, FaultMatcher, FaultRule};
use kontor_daemon::services::orders::completion::sync_order_status;
use kontor_daemon::services::orders::SubmitOutcome;
use kontor_daemon::services::veu::{
    self, approve, cancel, sync, DetachedSignature, OutgoingSignature, VeuAction, VeuApproval,
    VeuBank, VeuDetails, VeuError, VeuOverviewItem,
};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType, OrderTypeOrService};
use kontor_protocol::orderdata::{
    AuthorisationLevel, DataDigest, OrderKind, OriginatorInfo, PendingOrder, SignerInfo,
    SigningInfo,
};
use kontor_protocol::signature::{order_data_digest, sign_order_digest};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_protocol::SignatureVersion;
use kontor_storage::*;

use crate::support::emulator::{current_key, world, Setup, World};
use crate::support::payments::interop_payment;
use crate::support::seed::{tenant, Tenant, IBAN};
use crate::support::TestDb;

// --- the state handling, with a bank in memory ------------------------------------------

type BankOrder = (String, u32, u32, Vec<SignerInfo>);

/// A bank holding VEU orders in memory: HVE adds a signature, a fully signed order is
/// executed and leaves the overview, HVS removes it.
struct FakeBank {
    /// (bank order id, signatures required, signatures done, signers)
    orders: Mutex<Vec<BankOrder>>,
    executed: Mutex<Vec<String>>,
}

impl FakeBank {
    fn with_order(order_id: &str, required: u32) -> Self {
        Self {
            orders: Mutex::new(vec![(
                order_id.into(),
                required,
                1,
                vec![signer("USER1", AuthorisationLevel::A)],
            )]),
            executed: Mutex::new(Vec::new()),
        }
    }
}

fn signer(user: &str, level: AuthorisationLevel) -> SignerInfo {
    SignerInfo {
        partner_id: "PARTNER1".into(),
        user_id: user.into(),
        name: None,
        timestamp: Utc::now(),
        authorisation_level: level,
    }
}

impl VeuBank for FakeBank {
    async fn overview(
        &self,
        _scope: &TenantScope,
        _user: EbicsUserId,
    ) -> Result<Vec<VeuOverviewItem>, VeuError> {
        Ok(self
            .orders
            .lock()
            .unwrap()
            .iter()
            .map(|(id, required, done, signers)| VeuOverviewItem {
                pending: PendingOrder {
                    order: OrderKind::order_type("CCT"),
                    order_id: id.clone(),
                    signing_info: SigningInfo {
                        ready_to_be_signed: true,
                        num_sig_required: NonZeroU32::new(*required).unwrap(),
                        num_sig_done: *done,
                    },
                    signers: signers.clone(),
                    originator: OriginatorInfo {
                        partner_id: "PARTNER1".into(),
                        user_id: "USER1".into(),
                        name: None,
                        timestamp: Utc::now(),
                    },
                    additional_order_info: None,
                },
                amount: Some("1250.00".parse().unwrap()),
                currency: Some("EUR".parse().unwrap()),
                data_digest: Some(DataDigest {
                    signature_version: Some(SignatureVersion::A006),
                    digest: vec![0; 32],
                }),
            })
            .collect())
    }

    async fn details(
        &self,
        _scope: &TenantScope,
        _user: EbicsUserId,
        _item: &VeuItem,
    ) -> Result<VeuDetails, VeuError> {
        Err(VeuError::Unreadable {
            order_type: "HVD",
            message: "not needed here".into(),
        })
    }

    async fn send_signature(
        &self,
        _scope: &TenantScope,
        signature: OutgoingSignature<'_>,
    ) -> Result<(), VeuError> {
        let OutgoingSignature {
            signer: signer_user,
            item,
            action,
            ..
        } = signature;
        let mut orders = self.orders.lock().unwrap();
        if action == VeuAction::Cancel {
            orders.retain(|o| o.0 != item.bank_order_id);
            return Ok(());
        }
        let index = orders
            .iter()
            .position(|o| o.0 == item.bank_order_id)
            .ok_or_else(|| VeuError::Bank {
                order_type: "HVE".into(),
                code: "091009".into(),
                text: "unknown order".into(),
            })?;
        let order = &mut orders[index];
        order.2 += 1;
        order
            .3
            .push(signer(&signer_user.user_id, AuthorisationLevel::B));
        if order.2 >= order.1 {
            let (id, ..) = orders.remove(index);
            self.executed.lock().unwrap().push(id);
        }
        Ok(())
    }
}

async fn items(store: &Store, scope: &TenantScope, status: VeuStatus) -> Vec<VeuItem> {
    let mut tx = store.scope(scope).begin().await.unwrap();
    tx.veu_items().list_by_status(status).await.unwrap()
}

/// ACME, its co-signer Bert (class B), and a bank whose VEU holds `order` waiting for two
/// signatures.
async fn acme_with_cosigner(db: &TestDb, order: &str) -> (Tenant, EbicsUserId, FakeBank) {
    let t = tenant(&db.store, "acme", IBAN).await;
    let bert = t
        .add_user(&db.store, "USER2", "Bert", SignatureClass::B)
        .await;
    (t, bert, FakeBank::with_order(order, 2))
}

/// `signer`'s (fake) A006 signature for `item`.
fn approval(item: VeuItemId, signer: EbicsUserId) -> VeuApproval {
    VeuApproval {
        item,
        signer,
        version: SignatureVersion::A006,
        signature: vec![1; 256],
    }
}

async fn order_needing_two_signatures_is_approved_and_executed(db: TestDb) {
    let (t, bert, bank) = acme_with_cosigner(&db, "A001").await;

    let report = sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(report.listed, 1);
    let pending = items(&db.store, &t.scope, VeuStatus::Pending).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].signatures_collected,
            pending[0].signatures_required
        ),
        (1, 2)
    );
    let mut tx = db.store.scope(&t.scope).begin().await.unwrap();
    let signers = tx.veu_items().signers(pending[0].id).await.unwrap();
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].signature_class, SignatureClass::A);
    drop(tx);

    // A sync repeated finds the same item, not a second one.
    sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(
        items(&db.store, &t.scope, VeuStatus::Pending).await.len(),
        1
    );

    let signed = approve(&db.store, &bank, &t.scope, approval(pending[0].id, bert))
        .await
        .unwrap();
    assert_eq!(signed.status, VeuStatus::Signed);
    assert_eq!(*bank.executed.lock().unwrap(), vec!["A001".to_string()]);

    let report = sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    assert_eq!(report.executed, 1);
    assert_eq!(
        items(&db.store, &t.scope, VeuStatus::Executed).await.len(),
        1
    );
}

async fn cancelled_order_is_marked_and_cannot_be_approved(db: TestDb) {
    let (t, bert, bank) = acme_with_cosigner(&db, "A002").await;
    sync(&db.store, &bank, &t.scope, t.user).await.unwrap();
    let item = items(&db.store, &t.scope, VeuStatus::Pending)
        .await
        .remove(0);
    let cancelled = cancel(&db.store, &bank, &t.scope, approval(item.id, t.user))
        .await
        .unwrap();
    assert_eq!(cancelled.status, VeuStatus::Cancelled);
    let refused = approve(&db.store, &bank, &t.scope, approval(item.id, bert)).await;
    assert!(matches!(
        refused,
        Err(VeuError::WrongStatus(VeuStatus::Cancelled))
    ));
    assert!(bank.executed.lock().unwrap().is_empty());
}

// --- the whole round against the bank emulator -------------------------------------------

/// The emulator's PARTNER1 with USER2 (class A) uploading and USER3 (class B) co-signing;
/// both may fetch the status report.
async fn veu_world(db: TestDb, version: ProtocolVersion) -> (World, EbicsUserId) {
    veu_world_of(db, Setup::new(version)).await
}

/// [`veu_world`] of the bank `setup` describes.
async fn veu_world_of(db: TestDb, mut setup: Setup) -> (World, EbicsUserId) {
    setup.user = "USER2";
    for permission in &mut setup.bank.permissions {
        if ["USER2", "USER3"].contains(&permission.user.as_str()) {
            permission.order_types.push("HAC".parse().unwrap());
            permission.services.push("PSR".into());
        }
    }
    let w = world(db, setup).await;
    w.ready().await;
    let user3 = w.ready_user("USER3", SignatureClass::B).await;
    w.describe_bank(&["CCT"]).await;
    w.permit("CCT", SignatureClass::A).await;
    (w, user3)
}

/// A CCT order signed by USER2 alone and submitted: PROCESSING, waiting in the bank's VEU.
async fn submitted_with_one_signature(w: &World) -> Order {
    submitted_with_one_signature_as(w, None).await
}

/// [`submitted_with_one_signature`], sent as BTU with `service` when given.
async fn submitted_with_one_signature_as(w: &World, service: Option<BtfService>) -> Order {
    let order_type = service.as_ref().map(|_| OrderType::BTU);
    let order = w
        .signed_order_as(
            &interop_payment(),
            SignatureRule::AnySingle,
            order_type,
            service,
        )
        .await;
    let outcome = w.submit_as("veu-test", order.id).await;
    let SubmitOutcome::Accepted(order) = outcome else {
        panic!("submission not accepted: {outcome:?}");
    };
    assert_eq!(order.status, OrderStatus::Processing);
    assert!(order.bank_order_id.is_some());
    assert_eq!(
        w.bank.state().received_orders()[0].status,
        BankOrderStatus::AwaitingSignatures
    );
    order
}

/// Syncs the VEU as USER3 and returns the one pending item with the digest USER3 signs.
async fn pending_item(w: &World, user3: EbicsUserId, order: &Order) -> (VeuItem, Vec<u8>) {
    veu::sync_for(&w.services, &w.scope, user3).await.unwrap();
    let pending = items(&w.db.store, &w.scope, VeuStatus::Pending).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let item = pending[0].clone();
    assert_eq!(Some(&item.bank_order_id), order.bank_order_id.as_ref());
    assert_eq!(
        (item.signatures_collected, item.signatures_required),
        (1, 2)
    );
    let digest = veu::fetch_digest(&w.services, &w.scope, item.id, user3)
        .await
        .unwrap();
    assert_eq!(
        digest.data_digest,
        hex::encode(order_data_digest(&interop_payment()))
    );
    (item, hex::decode(digest.data_digest).unwrap())
}

/// What the signer CLI does on the signer's machine: sign the digest the bank announced.
async fn detached(w: &World, signer: EbicsUserId, digest: &[u8]) -> DetachedSignature {
    let key = w.signing_key(signer).await;
    let mut tx = w.tx().await;
    let key_hash = current_key(&mut tx, signer, KeyUsage::Signature)
        .await
        .key_hash;
    tx.commit().await.unwrap();
    let digest: [u8; 32] = digest.try_into().unwrap();
    DetachedSignature {
        signer,
        version: SignatureVersion::A006,
        value: sign_order_digest(SignatureVersion::A006, &key, &digest).unwrap(),
        key_hash,
    }
}

/// USER3 approves (or, with `cancel`, cancels) at the bank the order USER2 submitted with one
/// signature.
async fn decided_by_user3(w: &World, user3: EbicsUserId, cancel: bool) -> (Order, VeuItem) {
    let order = submitted_with_one_signature(w).await;
    let (item, digest) = pending_item(w, user3, &order).await;
    let signature = detached(w, user3, &digest).await;
    veu::decide(&w.services, &w.scope, item.id, signature, cancel)
        .await
        .unwrap();
    (order, item)
}

async fn order_now(w: &World, id: OrderId) -> Order {
    let mut tx = w.tx().await;
    let order: Order = tx.get(id).await.unwrap();
    tx.commit().await.unwrap();
    order
}

async fn approved_order_completes_from_hac_flow(db: TestDb, version: ProtocolVersion) {
    let (w, user3) = veu_world(db, version).await;
    let (order, item) = decided_by_user3(&w, user3, false).await;
    assert_eq!(
        w.bank.state().received_orders()[0].status,
        BankOrderStatus::Accepted,
        "the bank executes the order after the second signature"
    );

    let report = sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    assert_eq!(report.completed, vec![order.id]);
    assert_eq!(order_now(&w, order.id).await.status, OrderStatus::Completed);

    // The next VEU sync sees the item gone: executed.
    veu::sync_for(&w.services, &w.scope, user3).await.unwrap();
    let mut tx = w.tx().await;
    let item: VeuItem = tx.get(item.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(item.status, VeuStatus::Executed);
}

async fn bank_rejection_is_recorded_with_its_reason_flow(db: TestDb) {
    let (w, user3) = veu_world(db, H004).await;
    let (order, _) = decided_by_user3(&w, user3, false).await;
    let bank_order = w.bank.state().received_orders()[0].clone();
    w.bank
        .state()
        .reject_order(
            &bank_order.partner_id,
            bank_order.order_id,
            "AM04",
            "insufficient funds",
        )
        .unwrap();

    let report = sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    assert_eq!(report.rejected, vec![order.id]);
    let order = order_now(&w, order.id).await;
    assert_eq!(order.status, OrderStatus::Rejected);
    assert_eq!(
        order.bank_return_code,
        Some(ResultCode::Bank("AM04".into()))
    );
    assert!(
        order
            .bank_return_text
            .as_deref()
            .unwrap_or_default()
            .contains("insufficient funds"),
        "{order:?}"
    );
}

async fn hvs_cancels_at_the_bank_flow(db: TestDb, version: ProtocolVersion) {
    let (w, user3) = veu_world(db, version).await;
    let (order, item) = decided_by_user3(&w, user3, true).await;
    assert_eq!(
        w.bank.state().received_orders()[0].status,
        BankOrderStatus::Cancelled
    );
    let mut tx = w.tx().await;
    let item: VeuItem = tx.get(item.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(item.status, VeuStatus::Cancelled);

    sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let order = order_now(&w, order.id).await;
    assert_eq!(order.status, OrderStatus::Rejected);
    assert_eq!(
        order.bank_return_code,
        Some(ResultCode::Bank("DS02".into()))
    );
}

/// What a Viewer's and an Admin's digest requests cause at the bank and in the daemon.
async fn viewers_reading_the_digest_cause_no_bank_traffic_flow(db: TestDb) {
    use crate::support::api::Payload;
    let (w, user3) = veu_world(db, H005).await;
    let order = submitted_with_one_signature(&w).await;
    veu::sync_for(&w.services, &w.scope, user3).await.unwrap();
    let item = items(&w.db.store, &w.scope, VeuStatus::Pending)
        .await
        .remove(0);
    assert_eq!(Some(&item.bank_order_id), order.bank_order_id.as_ref());

    let viewer = w.token("viewer@acme.example", Role::Viewer).await;
    let admin = w.token("admin@acme.example", Role::Admin).await;
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(w.services.clone()));
    let digest_uri = format!("/v1/veu-items/{}/digest", item.id);
    let call = |method: &'static str, token: &str, body: Option<serde_json::Value>| {
        let (app, token) = (app.clone(), token.to_owned());
        let (uri, payload) = match body {
            None => (format!("{digest_uri}?signer_id={user3}"), Payload::None),
            Some(body) => (digest_uri.clone(), Payload::Json(body)),
        };
        async move {
            let method = method.parse().unwrap();
            let reply = crate::support::api::call(&app, method, &uri, Some(&token), payload).await;
            (reply.status.as_u16(), reply.json())
        }
    };
    let traffic = || async {
        (
            w.bank.state().served_downloads().len(),
            w.transactions().await.len(),
        )
    };
    let expected = hex::encode(order_data_digest(&interop_payment()));

    let before = traffic().await;
    let (status, body) = call("GET", &viewer, None).await;
    let (refused, _) = call(
        "POST",
        &viewer,
        Some(serde_json::json!({"signer_id": user3})),
    )
    .await;
    assert_eq!(refused, 403);
    assert_eq!(traffic().await, before, "a Viewer caused bank traffic");
    if status == 409 {
        // The bank's overview carried no digest (HVU): an Admin fetches it (HVD) once.
        assert_eq!(body["error"]["code"], "digest_not_fetched");
        let (fetched, body) = call(
            "POST",
            &admin,
            Some(serde_json::json!({"signer_id": user3})),
        )
        .await;
        assert_eq!(fetched, 200, "{body}");
        assert_ne!(traffic().await, before, "the Admin's fetch asked the bank");
    } else {
        // HVZ already delivered it with the sync.
        assert_eq!(status, 200, "{body}");
    }
    let after_fetch = traffic().await;
    for _ in 0..3 {
        let (status, body) = call("GET", &viewer, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data_digest"], expected.as_str());
    }
    assert_eq!(
        traffic().await,
        after_fetch,
        "reading the digest asked the bank"
    );
}

/// USER3's HVE (or HVS) reaches the bank but its answer is lost: the daemon never sends it
/// again (neither the exchange's retries nor recovery) and learns from the bank's VEU that it
/// took effect.
async fn lost_signature_answer_flow(db: TestDb, version: ProtocolVersion, cancel: bool) {
    let order_type = if cancel { "HVS" } else { "HVE" };
    let (w, user3) = veu_world(db, version).await;
    let order = submitted_with_one_signature(&w).await;
    let (item, digest) = pending_item(&w, user3, &order).await;
    let signature = detached(&w, user3, &digest).await;
    let hve = FaultMatcher {
        order_type: Some(order_type.into()),
        ..Default::default()
    };
    w.bank
        .faults()
        .install(vec![
            FaultRule {
                name: Some("the answer to the first HVE is lost".into()),
                matcher: hve.clone(),
                action: FaultAction::DropResponse,
                times: Some(1),
                skip: 0,
            },
            FaultRule {
                name: Some("counts every HVE request".into()),
                matcher: hve,
                action: FaultAction::Delay { ms: 0 },
                times: None,
                skip: 0,
            },
        ])
        .unwrap();
    let hve_requests = || w.bank.faults().rules()[1].matched;

    let decided = veu::decide(&w.services, &w.scope, item.id, signature, cancel)
        .await
        .unwrap();
    assert_eq!(hve_requests(), 1, "the signature was sent once");
    if cancel {
        assert_eq!(decided.status, VeuStatus::Cancelled);
        assert_eq!(
            w.bank.state().received_orders()[0].status,
            BankOrderStatus::Cancelled
        );
        return;
    }
    assert_eq!(decided.status, VeuStatus::Signed);
    assert_user3_signed_once(&w);
    assert_eq!(
        w.bank.state().received_orders()[0].status,
        BankOrderStatus::Accepted
    );
    // The HVE's transaction ended with why, and recovery leaves it alone.
    let hve_transaction = w
        .transactions()
        .await
        .into_iter()
        .find(|t| t.order_type == kontor_protocol::order_type::OrderType::HVE)
        .expect("the HVE transaction");
    assert_eq!(hve_transaction.phase, TransactionPhase::Failed);
    assert_eq!(
        hve_transaction.failure_code,
        Some(ResultCode::Kontor(KontorFailure::SignatureUnconfirmed))
    );
    for _ in 0..3 {
        w.client.recover_unfinished().await.unwrap();
    }
    assert_eq!(hve_requests(), 1, "recovery never sends a signature again");
    let report = sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    assert_eq!(report.completed, vec![order.id]);
}

/// The bank answers USER3's HVE without a TransactionID (a signature-only upload that the bank
/// finished in its initialisation step): the signature counts once, the daemon does not send it
/// again, and the item is signed.
async fn hve_answer_without_transaction_id_flow(db: TestDb, version: ProtocolVersion) {
    let (w, user3) = veu_world(db, version).await;
    let order = submitted_with_one_signature(&w).await;
    let (item, digest) = pending_item(&w, user3, &order).await;
    let signature = detached(&w, user3, &digest).await;
    let hve = FaultMatcher {
        order_type: Some("HVE".into()),
        ..Default::default()
    };
    w.bank
        .faults()
        .install(vec![FaultRule {
            name: Some("the HVE answer carries no TransactionID".into()),
            matcher: hve,
            action: FaultAction::HveWithoutTransactionId,
            times: None,
            skip: 0,
        }])
        .unwrap();

    let decided = veu::decide(&w.services, &w.scope, item.id, signature, false)
        .await
        .unwrap();
    assert_eq!(decided.status, VeuStatus::Signed);
    assert_eq!(
        w.bank.faults().rules()[0].matched,
        1,
        "the signature was sent once"
    );
    for _ in 0..3 {
        w.client.recover_unfinished().await.unwrap();
    }
    assert_eq!(
        w.bank.faults().rules()[0].matched,
        1,
        "recovery never sends a signature again"
    );
    assert_user3_signed_once(&w);
}

/// An H005 item keeps its service as the bank listed it, every part (here its scope), and
/// HVD and HVE name it so: the emulator, like a bank that resolves the service to its own
/// order type before the order ID, knows no order under a service that lacks a listed part.
async fn h005_item_keeps_the_listed_service_and_the_requests_repeat_it_flow(db: TestDb) {
    let scoped = BtfService {
        scope: Some("DE".into()),
        ..BtfService::new("SCT", MessageName::new("pain.001"))
    };
    let mut setup = Setup::new(H005);
    for partner in &mut setup.bank.partners {
        for offer in &mut partner.btf {
            if offer.service.service_name == "SCT" && offer.service.msg_name == "pain.001" {
                offer.service.scope = Some("DE".into());
            }
        }
    }
    let (w, user3) = veu_world_of(db, setup).await;
    w.offer(&[OrderType::CCT, OrderType::BTU]).await;
    w.permit("BTU", SignatureClass::A).await;
    let order = submitted_with_one_signature_as(&w, Some(scoped.clone())).await;
    assert_eq!(order.btf_service.as_ref(), Some(&scoped));

    // The sync stores the listed service and the digest comes with HVD, which names it.
    let (item, digest) = pending_item(&w, user3, &order).await;
    assert_eq!(item.order_type, OrderTypeOrService::Service(scoped));
    let signature = detached(&w, user3, &digest).await;
    veu::decide(&w.services, &w.scope, item.id, signature, false)
        .await
        .unwrap();
    assert_user3_signed_once(&w);
}

/// The bank's VEU item holds exactly one signature of USER3.
fn assert_user3_signed_once(w: &World) {
    let bank_item = w.bank.state().veu_items()[0].clone();
    let user3_signatures = bank_item
        .signers
        .iter()
        .filter(|s| s.user_id.as_str() == "USER3")
        .count();
    assert_eq!(user3_signatures, 1, "{bank_item:?}");
}

on_both_databases! {
    order_needing_two_signatures_is_approved_and_executed;
    cancelled_order_is_marked_and_cannot_be_approved;
    viewers_reading_the_digest_cause_no_bank_traffic => viewers_reading_the_digest_cause_no_bank_traffic_flow;
    h004_approved_order_completes_from_hac => |db| approved_order_completes_from_hac_flow(db, H004);
    h005_approved_order_completes_from_hac => |db| approved_order_completes_from_hac_flow(db, H005);
    bank_rejection_is_recorded_with_its_reason => bank_rejection_is_recorded_with_its_reason_flow;
    h004_hvs_cancels_at_the_bank => |db| hvs_cancels_at_the_bank_flow(db, H004);
    h005_hvs_cancels_at_the_bank => |db| hvs_cancels_at_the_bank_flow(db, H005);
    h004_lost_hve_answer_leaves_one_signature => |db| lost_signature_answer_flow(db, H004, false);
    h005_lost_hve_answer_leaves_one_signature => |db| lost_signature_answer_flow(db, H005, false);
    h005_lost_hvs_answer_cancels_once => |db| lost_signature_answer_flow(db, H005, true);
    h004_hve_answer_without_transaction_id_counts_once => |db| hve_answer_without_transaction_id_flow(db, H004);
    h005_hve_answer_without_transaction_id_counts_once => |db| hve_answer_without_transaction_id_flow(db, H005);
    h005_item_keeps_the_listed_service_and_the_requests_repeat_it => h005_item_keeps_the_listed_service_and_the_requests_repeat_it_flow;
}
