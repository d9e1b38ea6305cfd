//! Downloads against the real dispatcher: customer data, statements (single and multi-segment),
//! and the checks every `ebicsRequest` passes (signature, replay, state, permission, bank keys).

use crate::support;

use chrono::Utc;
use kontor_protocol::envelope::{DateRange, OrderDetails, TransactionId};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    HAAResponseOrderData, HKDResponseOrderData, HPDResponseOrderData, HTDResponseOrderData,
    OrderDataDocument,
};
use kontor_protocol::ProtocolVersion::{H004, H005};
use sha2::{Digest, Sha256};
use support::client::{ready_subscriber, Download, Subscriber};
use support::{
    codes, demo_bank, demo_bank_adjusted_with_user1, demo_bank_with_user1, http, last_days, p,
    small_segments, u,
};

fn details(
    version: kontor_protocol::ProtocolVersion,
    order: OrderType,
    range: Option<DateRange>,
) -> OrderDetails {
    OrderDetails::download(version, &order, range).expect("details")
}

/// Downloads `order` as `s`; anything but data fails the test with the bank's codes.
async fn fetch(
    s: &Subscriber,
    version: kontor_protocol::ProtocolVersion,
    order: OrderType,
    range: Option<DateRange>,
) -> Download {
    s.download(details(version, order.clone(), range))
        .await
        .unwrap_or_else(|r| {
            panic!(
                "{order}: {} {}",
                r.technical_return_code.code(),
                r.business_return_code.code()
            )
        })
}

/// Downloads `order` (no date range) as `s` and parses its order data.
async fn fetch_document<D: OrderDataDocument>(
    s: &Subscriber,
    version: kontor_protocol::ProtocolVersion,
    order: OrderType,
) -> D {
    let download = fetch(s, version, order.clone(), None).await;
    D::parse(&download.data).unwrap_or_else(|e| panic!("{order} parses: {e}"))
}

/// The admin API's query for PARTNER1's statement over `range`, with `params` (order type or
/// format and container).
fn statement_query(params: &str, range: DateRange) -> String {
    format!(
        "partner=PARTNER1&{params}&from={}&to={}",
        range.start, range.end
    )
}

/// The statement the bank generates for `statement_query(params, range)`.
async fn admin_statement(
    bank: &kontor_bank::RunningBank,
    params: &str,
    range: DateRange,
) -> Vec<u8> {
    let query = statement_query(params, range);
    support::admin_get(bank, &format!("/statements?{query}")).await
}

/// Starts, as `s`, an STA download over the last five days that spans at least three
/// segments; its transaction id.
async fn start_multi_segment_sta(s: &Subscriber) -> TransactionId {
    let init = s
        .exchange(s.download_init(details(s.version, OrderType::STA, Some(last_days(5))), None))
        .await;
    assert!(init.num_segments.expect("n") >= 3);
    init.transaction_id.expect("id")
}

#[tokio::test]
async fn hkd_htd_and_haa_describe_the_seeded_customer_in_both_versions() {
    let (bank, h004) = demo_bank_with_user1(H004).await;
    let hkd: HKDResponseOrderData = fetch_document(&h004, H004, OrderType::HKD).await;
    assert_eq!(hkd.partner_info.accounts.len(), 3);
    assert!(hkd.user_infos.iter().any(|u| u.user_id == "USER2"));
    let htd: HTDResponseOrderData = fetch_document(&h004, H004, OrderType::HTD).await;
    assert_eq!(htd.user_info.user_id, "USER1");
    assert_eq!(htd.user_info.status, 1, "ready");
    let haa: HAAResponseOrderData = fetch_document(&h004, H004, OrderType::HAA).await;
    assert!(
        haa.order_types.contains(&"STA".to_owned()) && haa.order_types.contains(&"C53".to_owned())
    );

    let h005 = ready_subscriber(&bank, H005, "PARTNER2", "CLERK1", 1).await;
    let htd: HTDResponseOrderData = fetch_document(&h005, H005, OrderType::HTD).await;
    assert!(
        htd.user_info
            .permissions
            .iter()
            .all(|p| p.order_types.len() == 1),
        "H005 permissions name one admin order type each"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn hpd_publishes_the_bank_parameters_in_both_versions() {
    for version in [H004, H005] {
        let (bank, s) = demo_bank_with_user1(version).await;
        let hpd: HPDResponseOrderData = fetch_document(&s, version, OrderType::HPD).await;
        assert_eq!(hpd.access_params.urls[0].url, bank.ebics_url());
        assert_eq!(hpd.access_params.host_id.as_deref(), Some("KONTORBANK"));
        let params = &hpd.protocol_params;
        assert!(params.supports_protocol(H004) && params.supports_protocol(H005));
        assert_eq!(params.authentication_versions, ["X002"]);
        assert_eq!(params.encryption_versions, ["E002"]);
        assert_eq!(params.signature_versions, ["A005", "A006"]);
        assert_eq!(params.recovery, Some(true));
        assert_eq!(params.pre_validation, Some(false));
        assert_eq!(params.client_data_download, Some(true));
        assert_eq!(params.downloadable_order_data, Some(true));
        assert_eq!(params.x509_data.is_some(), version == H004);
        bank.shutdown().await;
    }
}

#[tokio::test]
async fn hpd_says_no_recovery_when_the_seed_turns_it_off() {
    let (bank, s) =
        demo_bank_adjusted_with_user1(H005, |config| config.bank.recovery = false).await;
    let hpd: HPDResponseOrderData = fetch_document(&s, H005, OrderType::HPD).await;
    assert_eq!(hpd.protocol_params.recovery, Some(false));
    bank.shutdown().await;
}

#[tokio::test]
async fn hkd_and_htd_tell_the_same_story_with_the_transfer_limits() {
    for version in [H004, H005] {
        let (bank, s) = demo_bank_with_user1(version).await;
        let hkd: HKDResponseOrderData = fetch_document(&s, version, OrderType::HKD).await;
        let htd: HTDResponseOrderData = fetch_document(&s, version, OrderType::HTD).await;
        assert_eq!(hkd.partner_info, htd.partner_info, "{version:?}");
        let mine = hkd
            .user_infos
            .iter()
            .find(|u| u.user_id == "USER1")
            .expect("USER1 in HKD");
        assert_eq!(mine, &htd.user_info, "{version:?}");
        let limits: Vec<_> = htd
            .partner_info
            .bank
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert!(
            limits.contains(&("MaxSegmentSize", "1048576")),
            "{limits:?}"
        );
        bank.shutdown().await;
    }
}

#[tokio::test]
async fn an_sta_download_is_exactly_the_statement_the_bank_generated() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let range = last_days(3);
    let download = fetch(&s, H004, OrderType::STA, Some(range)).await;
    assert_eq!(download.num_segments, 1);
    assert_eq!(codes(&download.receipt), ("011000", "000000"));
    let expected = admin_statement(&bank, "order_type=STA", range).await;
    assert_eq!(download.data, expected);
    let mt940 =
        kontor_documents::mt940::parse(&String::from_utf8(download.data.clone()).expect("utf-8"))
            .expect("MT940 parses");
    assert_eq!(mt940.len(), 3 * 3, "three accounts, three days");
    let served = bank.state().served_downloads();
    assert_eq!(
        served.last().map(|d| d.sha256.clone()),
        Some(hex::encode(Sha256::digest(&download.data)))
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn a_large_c53_spans_segments_and_a_second_download_repeats_it() {
    // The ZIP container deflates tens of MiB of camt to about a MiB: smaller segments.
    let (bank, s) = demo_bank_adjusted_with_user1(H004, |config| {
        config.limits.segment_size_bytes = 256 << 10;
    })
    .await;
    let knob = http()
        .put(format!("{}/accounts/ACC-EUR-MAIN/ledger", bank.admin_url()))
        .header("content-type", "application/json")
        .body(r#"{"entries_per_day": 1500}"#)
        .send()
        .await
        .expect("admin");
    assert_eq!(knob.status(), 200);
    let range = last_days(8);
    let first = fetch(&s, H004, OrderType::C53, Some(range)).await;
    assert!(
        first.num_segments > 1,
        "multi-segment: {}",
        first.num_segments
    );
    let second = fetch(&s, H004, OrderType::C53, Some(range)).await;
    assert_eq!(
        Sha256::digest(&first.data),
        Sha256::digest(&second.data),
        "same range, same data"
    );
    // DK Anlage 3: C53 comes as a ZIP container, one camt document per account and day.
    let members = support::unzip(&first.data);
    assert_eq!(members.len(), 3 * 8);
    let unpacked: usize = members.iter().map(|(_, d)| d.len()).sum();
    assert!(unpacked > 20 << 20, "tens of MiB: {unpacked}");
    for (name, document) in &members {
        let statements = kontor_documents::camt::parse_bytes(document).expect("camt parses");
        assert_eq!(statements.len(), 1, "{name}");
    }
    println!(
        "C53: {} bytes in {} segments",
        first.data.len(),
        first.num_segments
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn a_download_segment_can_be_fetched_again_after_a_lost_answer() {
    let (bank, s) = demo_bank_adjusted_with_user1(H004, small_segments).await;
    let id = start_multi_segment_sta(&s).await;
    let once = s.exchange(s.transfer(id, 2, false, None)).await;
    let twice = s.exchange(s.transfer(id, 2, false, None)).await;
    assert_eq!(once.data_transfer, twice.data_transfer);
    assert_eq!(
        codes(&s.exchange(s.transfer(id, 9_999, true, None)).await).0,
        "091104"
    );
    let summary = bank.state().transactions();
    assert_eq!(summary[0].recovery.repeated_segments, 1);
    bank.shutdown().await;
}

#[tokio::test]
async fn a_bank_without_recovery_refuses_a_segment_asked_for_again() {
    let (bank, s) = demo_bank_adjusted_with_user1(H005, |config| {
        small_segments(config);
        config.bank.recovery = false;
    })
    .await;
    let id = start_multi_segment_sta(&s).await;
    let once = s.exchange(s.transfer(id, 2, false, None)).await;
    assert_eq!(codes(&once), ("000000", "000000"));
    // EBICS_RECOVERY_NOT_SUPPORTED (a business code, EBICS Annex 1), as its HPD announced.
    let twice = s.exchange(s.transfer(id, 2, false, None)).await;
    assert_eq!(codes(&twice).1, "091105");
    assert_eq!(bank.state().transactions()[0].recovery.repeated_segments, 0);
    bank.shutdown().await;
}

#[tokio::test]
async fn h004_c53_is_a_zip_container_with_one_camt_document_per_account_and_day() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let range = last_days(2);
    let download = fetch(&s, H004, OrderType::C53, Some(range)).await;
    assert!(download.data.starts_with(b"PK\x03\x04"));
    assert_eq!(
        download.data,
        admin_statement(&bank, "order_type=C53", range).await,
        "exact bytes"
    );
    let query = statement_query("order_type=C53", range);
    let members = support::unzip(&download.data);
    assert_eq!(members.len(), 3 * 2, "three accounts, two days");
    let listed = support::admin_get_json(&bank, &format!("/statements/members?{query}")).await;
    let listed = listed.as_array().expect("list");
    assert_eq!(listed.len(), members.len());
    for ((name, document), expected) in members.iter().zip(listed) {
        assert_eq!(name, expected["name"].as_str().expect("name"));
        assert_eq!(
            std::str::from_utf8(document).expect("UTF-8"),
            expected["document"].as_str().expect("document")
        );
        assert_eq!(
            kontor_documents::camt::parse_bytes(document)
                .expect("camt")
                .len(),
            1
        );
    }
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_btd_delivers_camt053_by_service() {
    let (bank, s) = demo_bank_with_user1(H005).await;
    let range = last_days(2);
    // The DK mapping of C53 asks for `Container ZIP`: a container with one document per
    // account and day.
    let zipped = fetch(&s, H005, OrderType::C53, Some(range)).await;
    let expected = admin_statement(&bank, "format=camt.053&container=zip", range).await;
    assert_eq!(zipped.data, expected);
    assert_eq!(support::unzip(&zipped.data).len(), 3 * 2);
    // Without a container: one XML document.
    let (_, service) = OrderType::C53.to_h005().expect("h005");
    let mut service = service.expect("service");
    service.container = None;
    let bare = s
        .download(OrderDetails::btd(service, Some(range)))
        .await
        .expect("BTD without container");
    let expected = admin_statement(&bank, "format=camt.053", range).await;
    assert_eq!(bare.data, expected);
    assert_eq!(
        kontor_documents::camt::parse_bytes(&bare.data)
            .expect("camt")
            .len(),
        3 * 2
    );
    let mt940 = fetch(&s, H005, OrderType::STA, Some(range)).await;
    assert!(String::from_utf8_lossy(&mt940.data).contains(":20:"));
    bank.shutdown().await;
}

#[tokio::test]
async fn a_range_without_bookings_is_business_code_090005() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let old = DateRange {
        start: chrono::NaiveDate::from_ymd_opt(2001, 1, 1).expect("date"),
        end: chrono::NaiveDate::from_ymd_opt(2001, 1, 31).expect("date"),
    };
    let refused = s
        .download(details(H004, OrderType::STA, Some(old)))
        .await
        .expect_err("no data");
    assert_eq!(codes(&refused), ("000000", "090005"));
    let ptk = s
        .download(details(H004, OrderType::PTK, None))
        .await
        .expect_err("no protocol");
    assert_eq!(codes(&ptk), ("000000", "090005"));
    bank.shutdown().await;
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let body = s.download_init(details(H004, OrderType::HTD, None), None);
    assert_eq!(codes(&s.exchange(body.clone()).await), ("000000", "000000"));
    assert_eq!(codes(&s.exchange(body).await).0, "091103");
    // Outside the timestamp window (300 s in the demo seed), in either direction.
    for skew in [chrono::Duration::hours(-1), chrono::Duration::hours(1)] {
        let body = s.download_init_at(details(H004, OrderType::HTD, None), None, Utc::now() + skew);
        assert_eq!(codes(&s.exchange(body).await).0, "091103", "skew {skew}");
    }
    bank.shutdown().await;
}

#[tokio::test]
async fn a_request_signed_with_a_foreign_key_fails_authentication() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let mut impostor = Subscriber::new(&bank.ebics_url(), H004, "PARTNER1", "USER1", 5);
    impostor.bank = s.bank.clone();
    let answer = impostor
        .exchange(impostor.download_init(details(H004, OrderType::STA, None), None))
        .await;
    assert_eq!(codes(&answer).0, "061001");
    // A tampered body fails the same way.
    let body = String::from_utf8(s.download_init(details(H004, OrderType::STA, None), None))
        .expect("utf-8");
    let tampered = body.replace("<OrderType>STA</OrderType>", "<OrderType>C53</OrderType>");
    assert_ne!(body, tampered);
    assert_eq!(codes(&s.exchange(tampered.into_bytes()).await).0, "061001");
    bank.shutdown().await;
}

#[tokio::test]
async fn subscribers_that_are_not_ready_are_refused() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    bank.state()
        .suspend_user(&p("PARTNER1"), &u("USER1"))
        .expect("suspend");
    let answer = s
        .exchange(s.download_init(details(H004, OrderType::STA, None), None))
        .await;
    assert_eq!(codes(&answer).0, "091002");
    let mut unknown = Subscriber::new(&bank.ebics_url(), H004, "PARTNER1", "GHOST", 1);
    unknown.bank = s.bank.clone();
    let answer = unknown
        .exchange(unknown.download_init(details(H004, OrderType::STA, None), None))
        .await;
    assert_eq!(codes(&answer).0, "091003");
    bank.shutdown().await;
}

#[tokio::test]
async fn order_types_beyond_permissions_or_offer_are_refused() {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    let refused = user2
        .download(details(H004, OrderType::C52, None))
        .await
        .expect_err("no C52 permission");
    assert_eq!(codes(&refused), ("000000", "090003"));
    let clerk = ready_subscriber(&bank, H004, "PARTNER2", "CLERK1", 2).await;
    let refused = clerk
        .download(details(H004, OrderType::HAA, None))
        .await
        .expect_err("not offered");
    assert_eq!(codes(&refused).0, "091005");
    bank.shutdown().await;
}

#[tokio::test]
async fn outdated_bank_key_digests_require_hpb_again() {
    let (bank, mut s) = demo_bank_with_user1(H004).await;
    if let Some(keys) = s.bank.as_mut() {
        keys.encryption_hash = keys.authentication_hash;
    }
    let answer = s
        .exchange(s.download_init(details(H004, OrderType::STA, None), None))
        .await;
    assert_eq!(codes(&answer).0, "091008");
    bank.shutdown().await;
}
