//! Fault injection with the real dispatcher, seen from a protocol-level client.

use crate::support;

use kontor_documents::{camt, Limit, ReadError, XmlError};
use kontor_protocol::envelope::{EbicsResponse, OrderDetails};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion::H004;
use support::{
    codes, demo_bank_adjusted_with_user1, demo_bank_with_user1, last_days, small_segments,
};

/// An H004 download of `order` for the last `days` days.
fn h004_download(order: OrderType, days: u64) -> OrderDetails {
    OrderDetails::download(H004, &order, Some(last_days(days))).expect("details")
}

fn sta(days: u64) -> OrderDetails {
    h004_download(OrderType::STA, days)
}

fn c53(days: u64) -> OrderDetails {
    h004_download(OrderType::C53, days)
}

#[tokio::test]
async fn a_dropped_connection_at_segment_two_can_be_recovered_by_asking_again() {
    let (bank, s) = demo_bank_adjusted_with_user1(H004, small_segments).await;
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "STA", "phase": "Transfer", "segment": 2}, "action": {"kind": "drop_connection"}}"#).await;
    let init = s.exchange(s.download_init(sta(5), None)).await;
    let id = init.transaction_id.expect("id");
    assert!(
        s.post(s.transfer(id, 2, false, None)).await.is_err(),
        "connection dropped"
    );
    let again = s.exchange(s.transfer(id, 2, false, None)).await;
    assert_eq!(codes(&again), ("000000", "000000"));
    assert!(again.data_transfer.is_some());
    bank.shutdown().await;
}

#[tokio::test]
async fn an_injected_http_error_and_a_delay_reach_the_client() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "http_status", "status": 503}}"#).await;
    let err = s
        .post(s.download_init(sta(2), None))
        .await
        .expect_err("503");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    support::install_fault(
        &bank,
        r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "delay", "ms": 50}}"#,
    )
    .await;
    assert!(
        s.download(sta(2)).await.is_ok(),
        "a delay changes nothing else"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn malformed_xml_and_a_wrong_bank_signature_are_detectable() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(
        &bank,
        r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "malformed_xml"}}"#,
    )
    .await;
    let body = s.post(s.download_init(sta(2), None)).await.expect("answer");
    assert!(EbicsResponse::parse(&body).is_err(), "not parseable");
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "wrong_auth_signature"}}"#).await;
    let body = s.post(s.download_init(sta(2), None)).await.expect("answer");
    let parsed = EbicsResponse::parse(&body).expect("well-formed");
    assert_eq!(codes(&parsed).0, "000000");
    let keys = bank.keys();
    let bank_key = keys
        .as_any()
        .downcast_ref::<kontor_bank::BankKeyPairs>()
        .expect("real keys");
    let rsa_key = rsa::RsaPublicKey::from(bank_key.authentication.rsa_private_key());
    assert!(
        EbicsResponse::verify(&body, &rsa_key).is_err(),
        "the signature must not verify"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn a_nested_statement_fault_delivers_one_deeply_nested_camt_document() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "C53", "phase": "Initialisation"}, "action": {"kind": "nested_statement", "depth": 100000}}"#).await;
    let nested = s
        .download(c53(3))
        .await
        .expect("delivered like a statement");
    let members = support::unzip(&nested.data);
    assert_eq!(
        members.len(),
        1,
        "the hostile document alone in the container"
    );
    let text = String::from_utf8(members[0].1.clone()).expect("UTF-8");
    assert!(text.starts_with("<?xml"), "{}", &text[..200]);
    assert!(text.contains("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"));
    assert_eq!(text.matches("<Ntry>").count(), 100_000);
    assert_eq!(
        camt::parse(&text).map(drop),
        Err(XmlError::Unreadable(ReadError::LimitExceeded {
            what: Limit::Depth,
            limit: 256
        }))
    );
    let real = s.download(c53(3)).await.expect("the next one is real");
    for (_, document) in support::unzip(&real.data) {
        assert!(camt::parse_bytes(&document).is_ok(), "fires once");
    }
    bank.shutdown().await;
}

#[tokio::test]
async fn a_zip_foreign_member_fault_adds_a_non_xml_member_after_the_statements() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(
        &bank,
        r#"{"times": 1, "match": {"order_type": "C53"}, "action": {"kind": "zip_foreign_member"}}"#,
    )
    .await;
    let members = support::unzip(&s.download(c53(2)).await.expect("C53").data);
    assert_eq!(members.len(), 3 * 2 + 1);
    let (name, foreign) = members.last().expect("member");
    assert_eq!(name, kontor_bank::container::FOREIGN_MEMBER_NAME);
    assert!(roxmltree::Document::parse(&String::from_utf8_lossy(foreign)).is_err());
    for (_, document) in &members[..members.len() - 1] {
        assert!(camt::parse_bytes(document).is_ok());
    }
    let clean = support::unzip(&s.download(c53(2)).await.expect("C53").data);
    assert_eq!(clean.len(), 3 * 2, "fires once");
    bank.shutdown().await;
}

#[tokio::test]
async fn a_zip_bomb_fault_adds_a_huge_highly_compressible_member() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "C53"}, "action": {"kind": "zip_bomb", "bytes": 268435456}}"#).await;
    let download = s.download(c53(2)).await.expect("C53");
    assert!(
        download.data.len() < 2 << 20,
        "{} bytes",
        download.data.len()
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&download.data)).expect("archive");
    assert_eq!(archive.len(), 3 * 2 + 1);
    let bomb = archive.by_index(3 * 2).expect("bomb");
    assert_eq!(bomb.size(), 256 << 20);
    assert!(bomb.size() / bomb.compressed_size() > 500, "ratio");
    let refused = support::admin_post(
        &bank,
        "/faults",
        Some(r#"{"action": {"kind": "zip_bomb", "bytes": 0}}"#),
    )
    .await;
    assert_eq!(refused.status(), 400);
    bank.shutdown().await;
}

#[tokio::test]
async fn a_forced_return_code_is_a_signed_answer_and_nothing_is_processed() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "return_code", "code": "091116", "table": "business"}}"#).await;
    let refused = s.download(sta(2)).await.expect_err("forced");
    assert_eq!(codes(&refused), ("000000", "091116"));
    assert!(bank.state().transactions().is_empty());
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "STA"}, "action": {"kind": "return_code", "code": "061099"}}"#).await;
    let refused = s.download(sta(2)).await.expect_err("forced");
    assert_eq!(codes(&refused).0, "061099");
    assert!(
        s.download(sta(2)).await.is_ok(),
        "fires only as often as configured"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn an_upload_is_not_repeated_when_the_answer_to_its_last_segment_is_lost() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let document = std::fs::read(support::cct_fixture()).expect("fixture");
    support::install_fault(&bank, r#"{"times": 1, "match": {"order_type": "CCT", "phase": "Transfer"}, "action": {"kind": "drop_response"}}"#).await;
    let signature = s.signature_document(&[&s], &document);
    let details = OrderDetails::upload(H004, &OrderType::CCT).expect("details");
    let (init, segments) = s.upload_init(details, &document, &signature);
    let init = s.exchange(init).await;
    let id = init.transaction_id.expect("id");
    assert_eq!(segments.len(), 1);
    let last = s.transfer(id, 1, true, Some(segments[0].clone()));
    assert!(s.post(last.clone()).await.is_err(), "the answer was lost");
    let again = s.exchange(last).await;
    assert_eq!(codes(&again), ("000000", "000000"));
    assert_eq!(again.order_id, init.order_id);
    assert_eq!(bank.state().received_order_count(), 1, "processed once");
    bank.shutdown().await;
}
