//! JSON payments end to end against the bank emulator: checked, built into one pain message,
//! created through the order path, signed, submitted and completed from the bank's HAC, with
//! the bank's status of each transfer; invalid input stores nothing.

use std::path::PathBuf;

use chrono::Utc;
use kontor_daemon::services::onboarding::sync_user_data;
use kontor_daemon::services::orders::completion::sync_order_status;
use kontor_daemon::services::orders::{submit_order, SubmitOutcome};
use kontor_daemon::services::payments::{create_payment, transfers, NewPayment, PaymentError};
use kontor_documents::pain::calendar::next_target_day;
use kontor_documents::pain::request::PaymentRequest;
use kontor_documents::pain::{self, PainVersion};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::{H004, H005};
use kontor_storage::{
    EbicsUserId, Order, OrderStatus, Page, SignatureClass, SignatureRule, StoredFile,
    TransferStatus,
};
use serde_json::{json, Value};

use crate::support::emulator::{world, Setup, World};
use crate::support::seed::IBAN;
use crate::support::TestDb;

/// A READY user whose order types, accounts and permissions came from the bank (`bank` may
/// offer more than the demo bank).
async fn synced_world(db: TestDb, setup: Setup) -> World {
    let w = world(db, setup).await;
    w.ready().await;
    sync_user_data(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    w
}

fn request(body: Value) -> PaymentRequest {
    serde_json::from_value(body).unwrap()
}

/// The JSON payment `body` of the world's user, without an Idempotency-Key.
fn payment(w: &World, body: Value, rule: SignatureRule) -> NewPayment {
    NewPayment {
        user: w.user,
        request: request(body),
        signature_rule: rule,
        idempotency_key: None,
    }
}

async fn create(w: &World, body: Value, rule: SignatureRule) -> Result<Order, PaymentError> {
    create_payment(
        &w.db.store,
        w.services.files(),
        &w.scope,
        payment(w, body, rule),
    )
    .await
    .map(|p| p.created.order)
}

async fn content(w: &World, order: &Order) -> Vec<u8> {
    let file: StoredFile = w.tx().await.get(order.content_file_id).await.unwrap();
    w.services.files().content(&file).await.unwrap()
}

/// The stored document of `order`, after asserting the order type and pain version it was
/// built as.
async fn document_of(
    w: &World,
    order: &Order,
    order_type: OrderType,
    version: PainVersion,
) -> pain::PaymentOrder {
    assert_eq!(order.order_type, order_type);
    let document = pain::parse_bytes(&content(w, order).await).unwrap();
    assert_eq!(document.version, version);
    document
}

async fn sign(w: &World, order: &Order, signer: EbicsUserId) -> Order {
    let content = content(w, order).await;
    w.signed_by(signer, order.id, &content).await
}

/// Submits and syncs the bank's HAC until the order is final.
async fn submit_and_complete(w: &World, order: &Order) -> Order {
    let submitted = submit_order(&w.services, &w.scope, order.id).await.unwrap();
    if submitted.status == OrderStatus::Processing {
        sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
            .await
            .unwrap();
    }
    w.tx().await.get(order.id).await.unwrap()
}

/// The pain.001.001.09 schema of the painfree test tool (installed by `.ci/run` into
/// `tests/interop-python/.venv`), never copied into the repository.
fn pain001_09_schema() -> Option<PathBuf> {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop-python/.venv/lib");
    let found = std::fs::read_dir(&venv).ok().and_then(|dirs| {
        dirs.flatten()
            .map(|d| {
                d.path()
                    .join("site-packages/painfree/schemas/pain.001.001.09.xsd")
            })
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("KONTOR_REQUIRE_XSD").as_deref() != Ok("1"),
            "KONTOR_REQUIRE_XSD=1 but the pain.001.001.09 schema is not in {}",
            venv.display()
        );
        println!(
            "SKIP: pain.001.001.09.xsd not found (tests/interop-python/setup-venv.sh installs it)"
        );
    }
    found
}

/// `xmllint --schema` over `xml`; skipped (unless required) without xmllint or the schema.
fn assert_valid_pain001_09(xml: &[u8]) {
    let Some(schema) = pain001_09_schema() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pain.xml");
    std::fs::write(&file, xml).unwrap();
    let output = match std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            assert!(
                std::env::var("KONTOR_REQUIRE_XSD").as_deref() != Ok("1"),
                "xmllint: {e}"
            );
            println!("SKIP: xmllint not installed");
            return;
        }
    };
    assert!(
        output.status.success(),
        "pain.001 is not valid against its XSD: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn transfers_json(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({
                "end_to_end_id": format!("PAYROLL-2026-{i:05}"),
                "amount": format!("{}.{:02}", i % 9 + 1, i % 100),
                "counterparty": {"name": format!("Mitarbeiter {i}"), "iban": "GB82WEST12345698765432", "bic": "NWBKGB2L"},
                "remittance_information": format!("Gehalt Dezember {i}"),
            })
        })
        .collect()
}

/// 10 000 transfers become one XSD-valid pain.001.001.09 (EBICS 3.0), signed by an A and a B
/// signer, uploaded once and completed; every transfer then shows the bank's status, two of
/// them bounced at execution with their reason codes.
async fn ten_thousand_transfers_become_one_signed_completed_pain001(db: TestDb) {
    let w = synced_world(db, Setup::new(H005)).await;
    let first = w.ready_user("USER2", SignatureClass::A).await;
    let second = w.ready_user("USER3", SignatureClass::B).await;
    let order = create(
        &w,
        json!({
            "scheme": "SCT",
            "account": {"name": "Muster Maschinenbau GmbH", "iban": IBAN, "bic": "COBADEFFXXX"},
            "category_purpose": "SALA",
            "transactions": transfers_json(10_000),
        }),
        SignatureRule::Standard,
    )
    .await
    .unwrap();
    assert_eq!(order.order_type, OrderType::CCT);
    assert_eq!(order.status, OrderStatus::Draft);
    let xml = content(&w, &order).await;
    let document = pain::parse_bytes(&xml).unwrap();
    assert_eq!(document.version, PainVersion::Pain001_001_09);
    assert_eq!(document.payment_infos.len(), 1);
    assert_eq!(document.number_of_transactions(), 10_000);
    assert_valid_pain001_09(&xml);

    assert_eq!(
        sign(&w, &order, first).await.status,
        OrderStatus::PendingSignature
    );
    assert_eq!(sign(&w, &order, second).await.status, OrderStatus::Signed);
    submit_without_sync(&w, &order).await;
    let [received] = w.bank.state().received_orders().try_into().unwrap();
    // At execution the bank bounces two transfers; the order itself is executed.
    let partner = w.partner_id.parse().unwrap();
    for (end_to_end_id, code) in [
        ("PAYROLL-2026-00017", "AC04"),
        ("PAYROLL-2026-04242", "AG01"),
    ] {
        w.bank
            .state()
            .reject_transaction(&partner, received.order_id, end_to_end_id, code)
            .unwrap();
    }
    sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let completed: Order = w.tx().await.get(order.id).await.unwrap();
    assert_eq!(completed.status, OrderStatus::Completed, "{completed:?}");

    let mut tx = w.tx().await;
    let (_, views) = transfers(w.services.files(), &mut tx, &completed)
        .await
        .unwrap();
    assert_eq!(views.len(), 10_000);
    assert!(views.iter().all(|t| t.status_source == "transaction"));
    let rejected: Vec<(&str, Option<&str>)> = views
        .iter()
        .filter(|t| t.status == TransferStatus::Rejected)
        .map(|t| (t.end_to_end_id.as_str(), t.reason_code.as_deref()))
        .collect();
    assert_eq!(
        rejected,
        [
            ("PAYROLL-2026-00017", Some("AC04")),
            ("PAYROLL-2026-04242", Some("AG01"))
        ]
    );
    let accepted = views
        .iter()
        .filter(|t| t.status == TransferStatus::Accepted)
        .count();
    assert_eq!(accepted, 9_998);
}

/// Uploads a signed order without the status sync that follows in `submit_order`, so the
/// bank can decide before the daemon asks.
async fn submit_without_sync(w: &World, order: &Order) {
    let submitted = w.submit_as("instance-a", order.id).await;
    assert!(
        matches!(&submitted, SubmitOutcome::Accepted(o) if o.status == OrderStatus::Processing),
        "{submitted:?}"
    );
}

/// Every invalid field is named by its JSON path at once, and nothing is stored.
async fn invalid_payment_lists_every_field_and_stores_nothing(db: TestDb) {
    let w = synced_world(db, Setup::new(H004)).await;
    let files_before: Vec<StoredFile> = w.tx().await.list(Page::first(1000)).await.unwrap();
    let yesterday = (Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let refused = create(
        &w,
        json!({
            "scheme": "SCT",
            "account": {"name": "Muster", "iban": "DE89370400440532013001"},
            "requested_date": yesterday,
            "transactions": [
                {"end_to_end_id": "OK-1", "amount": "10.00", "counterparty": {"name": "Beta", "iban": "GB82WEST12345698765432"}},
                {"end_to_end_id": "OK-1", "amount": 10.5, "counterparty": {"name": "Beta", "iban": "GB82WEST12345698765432"}},
                {"end_to_end_id": "/bad//", "amount": "1.001", "currency": "USD",
                 "counterparty": {"name": "Beta", "iban": "GB82WEST12345698765432", "bic": "X"},
                 "mandate": {"id": "M1", "signature_date": "2026-01-01"}},
            ],
        }),
        SignatureRule::Standard,
    )
    .await;
    let Err(PaymentError::Invalid(invalid)) = refused else {
        panic!("{refused:?}")
    };
    let found: Vec<(&str, &str)> = invalid
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.code))
        .collect();
    for expected in [
        ("$.account.iban", "invalid_iban"),
        ("$.requested_date", "date_in_the_past"),
        ("$.transactions[1].end_to_end_id", "duplicate_end_to_end_id"),
        ("$.transactions[1].amount", "not_a_string"),
        ("$.transactions[2].end_to_end_id", "invalid_reference"),
        ("$.transactions[2].amount", "invalid_amount"),
        ("$.transactions[2].currency", "invalid_currency"),
        ("$.transactions[2].counterparty.bic", "invalid_bic"),
        ("$.transactions[2].mandate", "not_allowed"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    assert_eq!(invalid.total, found.len());
    let orders: Vec<Order> = w.tx().await.list(Page::first(10)).await.unwrap();
    assert!(orders.is_empty(), "nothing stored: {orders:?}");
    let files: Vec<StoredFile> = w.tx().await.list(Page::first(1000)).await.unwrap();
    assert_eq!(files.len(), files_before.len(), "no payment file stored");
}

/// A SEPA core direct debit (EBICS 3.0: BTU SDD/COR, pain.008.001.08) completes; when the
/// bank later rejects it, each debit shows the rejection and its reason code.
async fn direct_debit_completes_and_a_rejection_reaches_every_debit(db: TestDb) {
    let w = synced_world(db, Setup::new(H005)).await;
    let collection = next_target_day(next_target_day(Utc::now().date_naive()));
    let order = create(
        &w,
        json!({
            "scheme": "SDD_CORE",
            "account": {"name": "Muster Maschinenbau GmbH", "iban": IBAN},
            "requested_date": collection.to_string(),
            "creditor_scheme_id": "DE98ZZZ09999999999",
            "sequence_type": "RCUR",
            "transactions": [
                {"end_to_end_id": "ABO-1", "amount": "19.99",
                 "counterparty": {"name": "Kunde Eins", "iban": "GB82WEST12345698765432"},
                 "mandate": {"id": "MANDAT-1", "signature_date": "2025-03-01"},
                 "remittance_information": "Abo Dezember"},
                {"end_to_end_id": "ABO-2", "amount": "29.99",
                 "counterparty": {"name": "Kunde Zwei", "iban": "GB82WEST12345698765432"},
                 "mandate": {"id": "MANDAT-2", "signature_date": "2025-04-01"}},
            ],
        }),
        SignatureRule::Standard,
    )
    .await
    .unwrap();
    let document = document_of(&w, &order, OrderType::CDD, PainVersion::Pain008_001_08).await;
    assert_eq!(
        document.payment_infos[0].local_instrument.as_deref(),
        Some("CORE")
    );
    sign(&w, &order, w.user).await;
    submit_without_sync(&w, &order).await;
    // The bank rejects the collection at execution.
    let received = w.bank.state().received_orders();
    w.bank
        .state()
        .reject_order(
            &w.partner_id.parse().unwrap(),
            received[0].order_id,
            "AM04",
            "insufficient funds",
        )
        .unwrap();
    sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let rejected: Order = w.tx().await.get(order.id).await.unwrap();
    assert_eq!(rejected.status, OrderStatus::Rejected);
    let (_, views) = transfers(w.services.files(), &mut w.tx().await, &rejected)
        .await
        .unwrap();
    let statuses: Vec<(&str, TransferStatus, Option<&str>)> = views
        .iter()
        .map(|t| (t.end_to_end_id.as_str(), t.status, t.reason_code.as_deref()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("ABO-1", TransferStatus::Rejected, Some("AM04")),
            ("ABO-2", TransferStatus::Rejected, Some("AM04")),
        ]
    );
}

/// A bank that offers SEPA instant transfers (CIP) on EBICS 2.5.
fn instant_bank() -> kontor_bank::BankConfig {
    let mut config = kontor_bank::BankConfig::demo().unwrap();
    config.partners[0].order_types.push("CIP".parse().unwrap());
    for permission in &mut config.permissions {
        if permission.user.to_string() == "USER1" {
            permission.order_types.push("CIP".parse().unwrap());
        }
    }
    config
}

/// An instant transfer is sent as CIP with local instrument INST (DK Anlage 3) and completes.
async fn instant_transfer_is_sent_as_cip_and_completes(db: TestDb) {
    let mut setup = Setup::new(H004);
    setup.bank = instant_bank();
    let w = synced_world(db, setup).await;
    let order = create(
        &w,
        json!({
            "scheme": "SCT_INST",
            "account": {"name": "Muster Maschinenbau GmbH", "iban": IBAN},
            "transactions": [{"end_to_end_id": "INST-1", "amount": "250.00",
                "counterparty": {"name": "Lieferant AG", "iban": "GB82WEST12345698765432"}}],
        }),
        SignatureRule::Standard,
    )
    .await
    .unwrap();
    let document = document_of(&w, &order, OrderType::CIP, PainVersion::Pain001_001_03).await;
    let info = &document.payment_infos[0];
    assert_eq!(
        (
            info.service_level.as_deref(),
            info.local_instrument.as_deref()
        ),
        (Some("SEPA"), Some("INST"))
    );
    sign(&w, &order, w.user).await;
    let completed = submit_and_complete(&w, &order).await;
    assert_eq!(completed.status, OrderStatus::Completed, "{completed:?}");
    let received = w.bank.state().received_orders();
    assert_eq!(received[0].order.order_type.to_string(), "CIP");
}

/// The same Idempotency-Key with the same payment returns the first order; with another
/// payment it is refused.
async fn idempotency_key_replays_the_same_payment(db: TestDb) {
    let w = synced_world(db, Setup::new(H004)).await;
    let body = json!({
        "scheme": "SCT",
        "account": {"name": "Muster Maschinenbau GmbH", "iban": IBAN},
        "transactions": [{"end_to_end_id": "IDEM-1", "amount": "5.00",
            "counterparty": {"name": "Beta AG", "iban": "GB82WEST12345698765432"}}],
    });
    let send = |body: Value| {
        let keyed = NewPayment {
            idempotency_key: Some("payroll-2026-12".into()),
            ..payment(&w, body, SignatureRule::Standard)
        };
        create_payment(&w.db.store, w.services.files(), &w.scope, keyed)
    };
    let first = send(body.clone()).await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert!(again.created.replayed);
    assert_eq!(again.created.order.id, first.created.order.id);
    let mut other = body;
    other["transactions"][0]["amount"] = json!("6.00");
    assert!(matches!(
        send(other).await,
        Err(PaymentError::Order(
            kontor_daemon::services::orders::OrderError::IdempotencyKeyReused
        ))
    ));
}

on_both_databases! {
    ten_thousand_transfers_become_one_signed_completed_pain001;
    invalid_payment_lists_every_field_and_stores_nothing;
    direct_debit_completes_and_a_rejection_reaches_every_debit;
    instant_transfer_is_sent_as_cip_and_completes;
    idempotency_key_replays_the_same_payment;
}
