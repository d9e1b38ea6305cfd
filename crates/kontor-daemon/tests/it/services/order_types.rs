//! Every upload the bank offers, against the emulator: classic order types on EBICS 2.5, BTU
//! with an explicit BTF service on EBICS 3.0, each either completed end to end (parsed,
//! signed, uploaded, completed from the bank's HAC) or refused when the order is created.
//! The user's order types, services and permissions come from the real HTD/HKD/HAA sync.

use kontor_daemon::services::onboarding::sync_user_data;
use kontor_daemon::services::orders::{completion::sync_order_status, submit_order, OrderError};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use kontor_storage::{Connection, EbicsUser, Order, OrderStatus, Permission, SignatureRule};

use crate::support::emulator::{ready_world, World};
use crate::support::payments::{pain001, pain008};
use crate::support::TestDb;

/// A READY user whose order types, services, accounts and permissions came from the bank.
async fn synced_world(db: TestDb, version: ProtocolVersion) -> World {
    let w = ready_world(db, version).await;
    sync_user_data(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    w
}

/// Submits a signed order and completes it from the bank's status report.
async fn completes(w: &World, order: Order) -> Order {
    assert_eq!(order.status, OrderStatus::Signed, "{order:?}");
    let submitted = submit_order(&w.services, &w.scope, order.id).await.unwrap();
    if submitted.status == OrderStatus::Completed {
        return submitted;
    }
    sync_order_status(&w.db.store, &w.client, &w.scope, w.user)
        .await
        .unwrap();
    let mut tx = w.tx().await;
    let order: Order = tx.get(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    order
}

fn service(name: &str, option: Option<&str>, message: &str) -> BtfService {
    BtfService {
        service_option: option.map(str::to_owned),
        ..BtfService::new(name, MessageName::new(message))
    }
}

async fn create(
    w: &World,
    content: Vec<u8>,
    order_type: OrderType,
    service: Option<BtfService>,
) -> Result<Order, OrderError> {
    w.new_order(content, SignatureRule::Standard, Some(order_type), service)
        .await
}

async fn btu_with_explicit_sct_and_sdd_services_completes(db: TestDb) {
    let w = synced_world(db, H005).await;
    let mut tx = w.tx().await;
    let user: EbicsUser = tx.get(w.user).await.unwrap();
    let connection: Connection = tx.get(user.connection_id).await.unwrap();
    let permissions: Vec<Permission> = tx.permissions().list_for_user(w.user).await.unwrap();
    drop(tx);
    // The sync keeps each service: SCT and SDD are two offers and two BTU permissions.
    let offered = |name: &str| {
        connection
            .btf_offers
            .iter()
            .any(|o| o.order_type == OrderType::BTU && o.service.service_name == name)
    };
    assert!(
        offered("SCT") && offered("SDD"),
        "{:?}",
        connection.btf_offers
    );
    let permitted = |name: &str| {
        permissions.iter().any(|p| {
            p.order_type == OrderType::BTU
                && p.btf_service.as_ref().map(|s| s.service_name.as_str()) == Some(name)
        })
    };
    assert!(permitted("SCT") && permitted("SDD"), "{permissions:?}");
    assert!(user.synced_at.is_some() && user.sync_failure_code.is_none());

    let sct_and_sdd = [
        (
            service("SCT", None, "pain.001"),
            pain001("BTU-SCT-1", &[("Beta AG", "120.00")]),
        ),
        (
            service("SDD", Some("COR"), "pain.008"),
            pain008("BTU-SDD-1", &[("Gamma KG", "80.00")]),
        ),
    ];
    for (service, content) in sct_and_sdd {
        let order = w
            .signed_order_as(
                &content,
                SignatureRule::Standard,
                Some(OrderType::BTU),
                Some(service.clone()),
            )
            .await;
        let stored = order.btf_service.as_ref().expect("the order's service");
        assert_eq!(stored.service_name, service.service_name);
        completes(&w, order).await;
    }
    let received = w.bank.state().received_orders();
    assert_eq!(received.len(), 2, "one upload per order");

    // A service whose message is not the file's, or that the bank does not offer, is
    // refused when the order is created.
    let wrong = create(
        &w,
        pain001("BTU-SCT-2", &[("Beta AG", "1.00")]),
        OrderType::BTU,
        Some(service("SDD", Some("COR"), "pain.008")),
    )
    .await;
    assert!(
        matches!(wrong, Err(OrderError::KindMismatch { .. })),
        "{wrong:?}"
    );
    let unoffered = create(
        &w,
        pain001("BTU-SCT-3", &[("Beta AG", "1.00")]),
        OrderType::BTU,
        Some(service("SCI", None, "pain.001")),
    )
    .await;
    assert!(
        matches!(unoffered, Err(OrderError::OrderTypeNotOffered(_))),
        "{unoffered:?}"
    );
    let without = create(
        &w,
        pain001("BTU-SCT-4", &[("Beta AG", "1.00")]),
        OrderType::BTU,
        None,
    )
    .await;
    assert!(
        matches!(without, Err(OrderError::ServiceRequired)),
        "{without:?}"
    );
}

async fn classic_cct_and_cdd_on_an_h005_host_complete_with_their_services(db: TestDb) {
    let w = synced_world(db, H005).await;
    let cct = w
        .signed_order_as(
            &pain001("H005-CCT-1", &[("Beta AG", "99.00")]),
            SignatureRule::Standard,
            Some(OrderType::CCT),
            None,
        )
        .await;
    // The classic type travels as BTU with its DK service, as the bank offers it.
    assert_eq!(cct.order_type, OrderType::CCT);
    assert_eq!(cct.btf_service.as_ref().unwrap().service_name, "SCT");
    completes(&w, cct).await;
    let cdd = w
        .signed_order_as(
            &pain008("H005-CDD-1", &[("Gamma KG", "45.00")]),
            SignatureRule::Standard,
            None,
            None,
        )
        .await;
    assert_eq!(cdd.order_type, OrderType::CDD);
    let service = cdd.btf_service.clone().unwrap();
    assert_eq!(
        (
            service.service_name.as_str(),
            service.service_option.as_deref()
        ),
        ("SDD", Some("COR"))
    );
    completes(&w, cdd).await;
    // XE2 has no DK service: on an EBICS 3.0 host it is refused at creation, with the way out.
    let xe2 = create(
        &w,
        pain001("H005-XE2-1", &[("Beta AG", "1.00")]),
        OrderType::other("XE2").unwrap(),
        None,
    )
    .await;
    assert!(
        matches!(xe2, Err(OrderError::NoBtfEquivalent(_))),
        "{xe2:?}"
    );
}

/// Every classic payment type: the ones this bank offers complete, the others are refused
/// when the order is created, never left SUBMITTED.
async fn every_classic_type_completes_or_is_refused_on_h004(db: TestDb) {
    let w = synced_world(db, H004).await;
    let credit = |id: &str| pain001(id, &[("Beta AG", "10.00")]);
    let debit = |id: &str| pain008(id, &[("Gamma KG", "10.00")]);
    let offered = [
        ("CCT", credit("C-CCT")),
        ("CDD", debit("C-CDD")),
        ("XE2", credit("C-XE2")),
        ("CDB", debit("C-CDB")),
    ];
    for (code, content) in offered {
        let order_type = OrderType::other(code).unwrap();
        let order = w
            .signed_order_as(
                &content,
                SignatureRule::Standard,
                Some(order_type.clone()),
                None,
            )
            .await;
        assert_eq!(order.order_type, order_type);
        assert_eq!(order.btf_service, None, "EBICS 2.5 has no BTF services");
        completes(&w, order).await;
    }
    assert_eq!(w.bank.state().received_orders().len(), 4);
    for (code, content) in [
        ("CIP", credit("C-CIP")),
        ("XE3", debit("C-XE3")),
        ("CCU", credit("C-CCU")),
    ] {
        let refused = create(&w, content, OrderType::other(code).unwrap(), None).await;
        assert!(
            matches!(refused, Err(OrderError::OrderTypeNotOffered(_))),
            "{code}: {refused:?}"
        );
    }
    let statement = create(&w, credit("C-C53"), OrderType::C53, None).await;
    assert!(
        matches!(statement, Err(OrderError::UnsupportedOrderType(_))),
        "{statement:?}"
    );
    let btu = create(
        &w,
        credit("C-BTU"),
        OrderType::BTU,
        Some(service("SCT", None, "pain.001")),
    )
    .await;
    assert!(matches!(btu, Err(OrderError::BtfNeedsH005)), "{btu:?}");
    assert_eq!(
        w.bank.state().received_orders().len(),
        4,
        "nothing refused was sent"
    );
}

on_both_databases! {
    btu_with_explicit_sct_and_sdd_services_completes;
    classic_cct_and_cdd_on_an_h005_host_complete_with_their_services;
    every_classic_type_completes_or_is_refused_on_h004;
}
