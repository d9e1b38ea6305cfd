//! Distributed signature and order completion through the real EBICS client, against the bank
//! emulator over loopback HTTP: an order uploaded with USER2's A signature waits in the bank's
//! VEU, USER3 (class B) signs it with HVE or cancels it with HVS, and the bank's HAC status
//! report completes or rejects the daemon's order.

mod engine_support;

use chrono::Utc;
use engine_support::{world, Setup, TestDb, World};
use kontor_bank::state::OrderStatus as BankOrderStatus;
use kontor_daemon::services::keys::{generate_key_material, store_user_keys};
use kontor_daemon::services::orders::completion::sync_order_status;
use kontor_daemon::services::orders::{
    add_signature, create_order, submit, CreateOrder, SignatureSubmission, SubmitOutcome, Submitter,
};
use kontor_daemon::services::veu::{self, DetachedSignature};
use kontor_protocol::certificate::CertificateSubject;
use kontor_protocol::keys::{KeySize, PrivateKey};
use kontor_protocol::signature::{order_data_digest, sign_order_data, sign_order_digest};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_protocol::SignatureVersion;
use kontor_storage::*;

fn payment() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop-node/tools/fixtures/pain.001-kontorbank.xml"),
    )
    .unwrap()
}

async fn signing_key(w: &World, user: EbicsUserId) -> PrivateKey {
    let mut tx = w.tx().await;
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

/// Onboards a second EBICS user of the same connection to READY.
async fn second_user(w: &World, user_id: &str, class: SignatureClass) -> EbicsUserId {
    let mut tx = w.tx().await;
    let first: EbicsUser = tx.get(w.user).await.unwrap();
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: first.connection_id,
            user_id: user_id.into(),
            system_id: None,
            name: "Anna Beispiel".into(),
            signature_class: class,
        })
        .await
        .unwrap();
    let subject = CertificateSubject {
        common_name: "Anna Beispiel".into(),
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
    w.client.send_ini(&w.scope, user.id).await.unwrap();
    w.client.send_hia(&w.scope, user.id).await.unwrap();
    w.bank
        .activate_user(&w.partner_id.parse().unwrap(), &user_id.parse().unwrap())
        .unwrap();
    w.client.fetch_bank_keys(&w.scope, user.id).await.unwrap();
    w.decide_bank_keys(BankKeyVerification::Verified).await;
    assert_eq!(
        w.client.activate(&w.scope, user.id).await.unwrap(),
        EbicsUserStatus::Ready
    );
    user.id
}

/// The emulator's PARTNER1 with USER2 (class A) uploading and USER3 (class B) co-signing;
/// both may fetch the status report.
async fn veu_world(db: TestDb, version: ProtocolVersion) -> (World, EbicsUserId) {
    let mut setup = Setup::new(version);
    setup.user = "USER2";
    for permission in &mut setup.bank.permissions {
        if ["USER2", "USER3"].contains(&permission.user.as_str()) {
            permission.order_types.push("HAC".parse().unwrap());
            permission.services.push("PSR".into());
        }
    }
    let w = world(db, setup).await;
    w.ready().await;
    let user3 = second_user(&w, "USER3", SignatureClass::B).await;
    let mut tx = w.tx().await;
    let user2: EbicsUser = tx.get(w.user).await.unwrap();
    tx.connections()
        .set_order_types(user2.connection_id, &["CCT".into()])
        .await
        .unwrap();
    tx.accounts()
        .create(
            user2.connection_id,
            NewAccount {
                iban: Some("DE89370400440532013000".into()),
                holder_name: "ACME GmbH".into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: w.user,
            order_type: "CCT".into(),
            account_id: None,
            authorisation_level: SignatureClass::A,
            max_amount: None,
            currency: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (w, user3)
}

/// A CCT order signed by USER2 alone and submitted: PROCESSING, waiting in the bank's VEU.
async fn submitted_with_one_signature(w: &World) -> Order {
    let data = payment();
    let key = signing_key(w, w.user).await;
    let order = create_order(
        &w.db.store,
        &w.scope,
        CreateOrder {
            user: w.user,
            content: data.clone(),
            signature_rule: SignatureRule::AnySingle,
            idempotency_key: None,
            order_type: None,
        },
    )
    .await
    .unwrap()
    .order;
    let mut tx = w.tx().await;
    add_signature(
        &mut tx,
        SignatureSubmission {
            order: order.id,
            signer: w.user,
            version: SignatureVersion::A006,
            value: sign_order_data(SignatureVersion::A006, &key, &data).unwrap(),
            key_hash: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let outcome = submit(
        &w.db.store,
        &w.client,
        &Submitter::new("veu-test"),
        &w.scope,
        order.id,
    )
    .await
    .unwrap();
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
    let mut tx = w.tx().await;
    let items = tx
        .veu_items()
        .list_by_status(VeuStatus::Pending)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = items[0].clone();
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
        hex::encode(order_data_digest(&payment()))
    );
    (item, hex::decode(digest.data_digest).unwrap())
}

/// What the signer CLI does on the signer's machine: sign the digest the bank announced.
async fn detached(w: &World, signer: EbicsUserId, digest: &[u8]) -> DetachedSignature {
    let key = signing_key(w, signer).await;
    let mut tx = w.tx().await;
    let key_hash = tx
        .key_pairs()
        .current(signer, KeyUsage::Signature)
        .await
        .unwrap()
        .unwrap()
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

async fn order_now(w: &World, id: OrderId) -> Order {
    let mut tx = w.tx().await;
    let order: Order = tx.get(id).await.unwrap();
    tx.commit().await.unwrap();
    order
}

async fn approved_order_completes_from_hac_flow(db: TestDb, version: ProtocolVersion) {
    let (w, user3) = veu_world(db, version).await;
    let order = submitted_with_one_signature(&w).await;
    let (item, digest) = pending_item(&w, user3, &order).await;

    let signature = detached(&w, user3, &digest).await;
    veu::decide(&w.services, &w.scope, item.id, signature, false)
        .await
        .unwrap();
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
    let order = submitted_with_one_signature(&w).await;
    let (item, digest) = pending_item(&w, user3, &order).await;
    let signature = detached(&w, user3, &digest).await;
    veu::decide(&w.services, &w.scope, item.id, signature, false)
        .await
        .unwrap();
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
    assert_eq!(order.bank_return_code.as_deref(), Some("AM04"));
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
    let order = submitted_with_one_signature(&w).await;
    let (item, digest) = pending_item(&w, user3, &order).await;
    let signature = detached(&w, user3, &digest).await;
    veu::decide(&w.services, &w.scope, item.id, signature, true)
        .await
        .unwrap();
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
    assert_eq!(order.bank_return_code.as_deref(), Some("DS02"));
}

/// What a Viewer's and an Admin's digest requests cause at the bank and in the daemon.
async fn viewers_reading_the_digest_cause_no_bank_traffic_flow(db: TestDb) {
    use http_body_util::BodyExt;
    use secrecy::ExposeSecret;
    use tower::ServiceExt;
    let (w, user3) = veu_world(db, H005).await;
    let order = submitted_with_one_signature(&w).await;
    veu::sync_for(&w.services, &w.scope, user3).await.unwrap();
    let mut tx = w.tx().await;
    let item = tx
        .veu_items()
        .list_by_status(VeuStatus::Pending)
        .await
        .unwrap()
        .remove(0);
    tx.commit().await.unwrap();
    assert_eq!(Some(&item.bank_order_id), order.bank_order_id.as_ref());

    let token = |role: Role, email: &'static str| {
        let store = w.db.store.clone();
        let tenant = w.scope.tenant();
        async move {
            let op = store
                .admin()
                .create_operator(email, email, tenant, role)
                .await
                .unwrap();
            let issued = store.admin().issue_token(op.id, "t", None).await.unwrap();
            issued.secret.expose_secret().to_owned()
        }
    };
    let viewer = token(Role::Viewer, "viewer@acme.example").await;
    let admin = token(Role::Admin, "admin@acme.example").await;
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(w.services.clone()));
    let digest_uri = format!("/v1/veu-items/{}/digest", item.id);
    let call = |method: &'static str, token: &str, body: Option<serde_json::Value>| {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(if body.is_none() {
                format!("{digest_uri}?signer_id={user3}")
            } else {
                digest_uri.clone()
            })
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let traffic = || async {
        (
            w.bank.state().served_downloads().len(),
            w.transactions().await.len(),
        )
    };
    let expected = hex::encode(order_data_digest(&payment()));

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

conformance! {
    viewers_reading_the_digest_cause_no_bank_traffic => viewers_reading_the_digest_cause_no_bank_traffic_flow;
    h004_approved_order_completes_from_hac => |db| approved_order_completes_from_hac_flow(db, H004);
    h005_approved_order_completes_from_hac => |db| approved_order_completes_from_hac_flow(db, H005);
    bank_rejection_is_recorded_with_its_reason => bank_rejection_is_recorded_with_its_reason_flow;
    h004_hvs_cancels_at_the_bank => |db| hvs_cancels_at_the_bank_flow(db, H004);
    h005_hvs_cancels_at_the_bank => |db| hvs_cancels_at_the_bank_flow(db, H005);
}
