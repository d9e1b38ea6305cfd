//! Order status downloads: HAC (pain.002, H005 also BTD PSR) and PTK report what happened to
//! uploaded orders — accepted, rejected afterwards by the bank, pending in the VEU.

use crate::support;

use chrono::{Days, Utc};
use kontor_bank::RunningBank;
use kontor_documents::status_report::{self, OrderStatus, StatusReport};
use kontor_protocol::envelope::{DateRange, OrderDetails, OrderParams};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use support::client::{ready_subscriber, Subscriber};
use support::{demo_bank, demo_bank_with_user1, payments};

const MAIN: &str = "DE89370400440532013000";

fn credit_transfer(message_id: &str) -> Vec<u8> {
    payments::document(false, message_id, MAIN, "1200.00", 1)
}

async fn upload_cct(s: &Subscriber, version: ProtocolVersion, message_id: &str) -> String {
    let upload = s
        .upload(
            OrderDetails::upload(version, &OrderType::CCT).expect("details"),
            &credit_transfer(message_id),
            &[s],
            None,
        )
        .await;
    assert_eq!(
        upload.business.code(),
        "000000",
        "{}",
        upload.last_response.report_text
    );
    upload.order_id.expect("order id")
}

async fn reject(bank: &RunningBank, order_id: &str, body: &str) -> reqwest::StatusCode {
    let path = format!("/orders/PARTNER1/{order_id}/reject");
    support::admin_post(bank, &path, (!body.is_empty()).then_some(body))
        .await
        .status()
}

async fn download(s: &Subscriber, details: OrderDetails) -> Vec<u8> {
    s.download(details)
        .await
        .unwrap_or_else(|r| {
            panic!(
                "download refused: {} {}",
                r.business_return_code.code(),
                r.report_text
            )
        })
        .data
}

async fn hac(s: &Subscriber, range: Option<DateRange>) -> StatusReport {
    let data = download(
        s,
        OrderDetails::download(s.version, &OrderType::HAC, range).expect("details"),
    )
    .await;
    status_report::parse_bytes(&data).expect("HAC is a pain.002 status report")
}

#[tokio::test]
async fn hac_reports_accepted_rejected_and_pending_orders_and_ptk_mentions_them() {
    let (bank, user1) = demo_bank_with_user1(H004).await;
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    let accepted = upload_cct(&user1, H004, "MSG-OK").await;
    let bounced = upload_cct(&user1, H004, "MSG-BOUNCE").await;
    let pending = upload_cct(&user2, H004, "MSG-VEU").await;
    let before = hac(&user1, None).await;
    assert_eq!(
        reject(
            &bank,
            &bounced,
            r#"{"reason_code":"AM04","reason":"insufficient funds on ACC-EUR-MAIN"}"#
        )
        .await,
        200
    );

    let report = hac(&user1, None).await;
    assert_eq!(report.orders.len(), 3);
    assert_ne!(
        report.message_id, before.message_id,
        "a later rejection gives a new report id"
    );
    let ok = report.order(&accepted).expect("accepted order listed");
    assert_eq!(ok.status, OrderStatus::Accepted);
    assert_eq!(ok.order_type.as_deref(), Some("CCT"));
    let rejected = report.order(&bounced).expect("rejected order listed");
    assert_eq!(rejected.status, OrderStatus::Rejected);
    assert_eq!(rejected.reason_code.as_deref(), Some("AM04"));
    assert!(rejected
        .reason_text
        .as_deref()
        .is_some_and(|t| t.contains("insufficient funds on ACC-EUR-MAIN")));
    assert_eq!(
        report.order(&pending).expect("pending order listed").status,
        OrderStatus::Pending
    );

    let again = download(
        &user1,
        OrderDetails::download(H004, &OrderType::HAC, None).expect("details"),
    )
    .await;
    assert_eq!(
        status_report::parse_bytes(&again).expect("parses"),
        report,
        "HAC is deterministic"
    );

    let ptk = download(
        &user1,
        OrderDetails::download(H004, &OrderType::PTK, None).expect("details"),
    )
    .await;
    let ptk = String::from_utf8(ptk).expect("PTK is text");
    let line = |id: &str| {
        ptk.lines()
            .find(|l| l.contains(&format!("order {id} ")))
            .map(str::to_owned)
    };
    assert!(
        line(&accepted).is_some_and(|l| l.contains("ACCEPTED")),
        "{ptk}"
    );
    assert!(
        line(&bounced)
            .is_some_and(|l| l.contains("REJECTED (AM04)") && l.contains("insufficient funds")),
        "{ptk}"
    );
    assert!(
        line(&pending).is_some_and(|l| l.contains("PENDING") && l.contains("USER2")),
        "{ptk}"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_btd_psr_and_hac_deliver_the_status_report() {
    let (bank, user1) = demo_bank_with_user1(H005).await;
    let order_id = upload_cct(&user1, H005, "MSG-H005").await;
    let psr = BtfService {
        service_name: "PSR".into(),
        scope: Some("BIL".into()),
        service_option: None,
        container: None,
        message: MessageName::new("pain.002"),
    };
    let details = OrderDetails {
        order_type: OrderType::BTD,
        order_id: None,
        order_attribute: None,
        params: OrderParams::Btd {
            service: psr,
            date_range: None,
            parameters: Vec::new(),
        },
    };
    let report = status_report::parse_bytes(&download(&user1, details).await).expect("pain.002");
    let entry = report.order(&order_id).expect("order listed");
    assert_eq!(entry.status, OrderStatus::Accepted);
    assert_eq!(entry.order_type.as_deref(), Some("BTU"));
    assert_eq!(
        hac(&user1, None).await,
        report,
        "H005 HAC admin order type gives the same"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn hac_without_orders_in_the_range_has_no_data() {
    let (bank, user1) = demo_bank_with_user1(H004).await;
    let empty = user1
        .download(OrderDetails::download(H004, &OrderType::HAC, None).expect("details"))
        .await
        .expect_err("nothing uploaded yet");
    assert_eq!(empty.business_return_code.code(), "090005");

    upload_cct(&user1, H004, "MSG-TODAY").await;
    let today = Utc::now().date_naive();
    let yesterday = today.checked_sub_days(Days::new(1)).expect("date");
    let past = DateRange {
        start: yesterday,
        end: yesterday,
    };
    let none = user1
        .download(OrderDetails::download(H004, &OrderType::HAC, Some(past)).expect("details"))
        .await
        .expect_err("today's order is outside the range");
    assert_eq!(none.business_return_code.code(), "090005");
    let current = hac(
        &user1,
        Some(DateRange {
            start: yesterday,
            end: today,
        }),
    )
    .await;
    assert_eq!(current.orders.len(), 1);
    bank.shutdown().await;
}

#[tokio::test]
async fn only_accepted_orders_can_be_rejected_afterwards() {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    let pending = upload_cct(&user2, H004, "MSG-VEU").await;
    assert_eq!(reject(&bank, &pending, "").await, 409);
    assert_eq!(reject(&bank, "Z999", "").await, 404);
    assert_eq!(reject(&bank, "not-an-id", "").await, 400);
    assert_eq!(
        reject(&bank, &pending, r#"{"reason_code":"TOOLONG"}"#).await,
        400,
        "reason codes stay schema-valid"
    );
    bank.shutdown().await;
}

/// `OrgnlMsgId`, `GrpSts` and the end-to-end ids of a payment-level pain.002.
fn payment_status(document: &[u8]) -> (String, String, Vec<String>) {
    let text = std::str::from_utf8(document).expect("UTF-8");
    let doc = roxmltree::Document::parse(text).expect("XML");
    let first = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("urn:iso:std:iso:20022:tech:xsd:pain.002.001.03")
    );
    let end_to_end = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "OrgnlEndToEndId")
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    (first("OrgnlMsgId"), first("GrpSts"), end_to_end)
}

/// A download of a bank-specific H004 order type (`CRZ`, `CDZ`).
fn bank_specific(code: &str) -> OrderDetails {
    let mut details = OrderDetails::download(H004, &OrderType::other(code).expect("code"), None)
        .expect("details");
    details.order_attribute = Some(kontor_protocol::order_type::OrderAttribute::DZHNN);
    details
}

#[tokio::test]
async fn crz_delivers_one_payment_level_pain002_per_uploaded_message_in_a_zip() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let none = s
        .download(bank_specific("CRZ"))
        .await
        .expect_err("nothing uploaded yet");
    assert_eq!(none.business_return_code.code(), "090005");
    for message_id in ["MSG-CRZ-1", "MSG-CRZ-2"] {
        upload_cct(&s, H004, message_id).await;
    }
    let crz = s.download(bank_specific("CRZ")).await.expect("CRZ");
    let members = support::unzip(&crz.data);
    assert_eq!(members.len(), 2, "one report per uploaded message");
    let reported: Vec<_> = members.iter().map(|(_, d)| payment_status(d)).collect();
    assert_eq!(reported[0].0, "MSG-CRZ-1");
    assert_eq!(reported[1].0, "MSG-CRZ-2");
    assert!(reported.iter().all(|r| r.1 == "ACCP" && !r.2.is_empty()));
    // CDZ lists direct debits only: none were uploaded.
    let cdz = s
        .download(bank_specific("CDZ"))
        .await
        .expect_err("no direct debits");
    assert_eq!(cdz.business_return_code.code(), "090005");
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_btd_psr_delivers_the_payment_level_report_zipped_or_alone() {
    let (bank, s) = demo_bank_with_user1(H005).await;
    upload_cct(&s, H005, "MSG-PSR-1").await;
    let psr = |container: Option<&str>| {
        let mut service = BtfService {
            service_name: "PSR".into(),
            scope: Some("DE".into()),
            service_option: Some("SCT".into()),
            container: None,
            message: MessageName::new("pain.002"),
        };
        service.container = container.map(|c| c.parse().expect("container"));
        OrderDetails::btd(service, None)
    };
    let zipped = download(&s, psr(Some("ZIP"))).await;
    let members = support::unzip(&zipped);
    assert_eq!(members.len(), 1);
    assert_eq!(payment_status(&members[0].1).0, "MSG-PSR-1");
    let alone = download(&s, psr(None)).await;
    assert_eq!(alone, members[0].1, "the same report without the container");
    bank.shutdown().await;
}
