//! Signed uploads against the real dispatcher: signatures, permissions, account and amount
//! limits, multi-segment transfer with recovery, H005 BTU, and the distributed signature.

use crate::common;

use common::client::{ready_subscriber, Subscriber, Upload};
use common::{demo_bank, demo_bank_with_user1, http, payments};
use kontor_bank::state::{OrderStatus, VeuStatus};
use kontor_protocol::envelope::{
    EbicsResponse, HvListParams, HvOrderKind, HvOrderRef, OrderDetails, OrderId, OrderParams,
    PartnerId, SignatureFlag,
};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    HVDResponseOrderData, HVUResponseOrderData, HVZResponseOrderData,
};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use sha2::Digest as _;

const MAIN: &str = "DE89370400440532013000";
const USD: &str = "DE02100100100006820101";

/// A payment from `debtor_iban`, its message id naming amount and count.
fn payment(kind_debit: bool, debtor_iban: &str, amount: &str, transactions: usize) -> Vec<u8> {
    let message_id = format!("MSG-{amount}-{transactions}");
    payments::document(kind_debit, &message_id, debtor_iban, amount, transactions)
}

fn upload_details(version: ProtocolVersion, order: OrderType) -> OrderDetails {
    OrderDetails::upload(version, &order).expect("details")
}

fn hv_ref(version: ProtocolVersion, order_id: &str, order: OrderType) -> HvOrderRef {
    HvOrderRef {
        partner_id: PartnerId::new("PARTNER1").expect("partner"),
        kind: match version {
            ProtocolVersion::H004 => HvOrderKind::OrderType {
                order_type: order,
                file_format: None,
            },
            _ => HvOrderKind::Service(order.btf_service().expect("service")),
        },
        order_id: OrderId::new(order_id).expect("order id"),
    }
}

fn veu_details(order_type: OrderType, params: OrderParams) -> OrderDetails {
    OrderDetails {
        order_type,
        order_id: None,
        order_attribute: None,
        params,
    }
}

/// `signer` submits the CCT `document` signed by itself alone.
async fn submit_cct(signer: &Subscriber, version: ProtocolVersion, document: &[u8]) -> Upload {
    let details = upload_details(version, OrderType::CCT);
    signer.upload(details, document, &[signer], None).await
}

/// `signer` co-signs (HVE) the CCT order `order_id`, signing `document`.
async fn cosign(
    signer: &Subscriber,
    version: ProtocolVersion,
    order_id: &str,
    document: &[u8],
) -> Upload {
    let details = veu_details(
        OrderType::HVE,
        OrderParams::Hve(hv_ref(version, order_id, OrderType::CCT)),
    );
    signer.upload(details, b"", &[signer], Some(document)).await
}

fn codes(r: &EbicsResponse) -> (&str, &str) {
    (
        r.technical_return_code.code(),
        r.business_return_code.code(),
    )
}

#[tokio::test]
async fn a_cct_signed_with_e_is_accepted_and_stored_with_its_hash() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let document = payment(false, MAIN, "1500.00", 2);
    let upload = submit_cct(&s, H004, &document).await;
    assert_eq!(
        (upload.technical.code(), upload.business.code()),
        ("000000", "000000")
    );
    let order_id = upload.order_id.expect("order id");
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id.to_string(), order_id);
    assert_eq!(orders[0].status, OrderStatus::Accepted);
    assert_eq!(orders[0].content, document);
    assert_eq!(orders[0].signatures[0].user_id.to_string(), "USER1");
    let listed = http()
        .get(format!("{}/orders?status=accepted", bank.admin_url()))
        .send()
        .await
        .expect("admin")
        .bytes()
        .await
        .expect("body");
    let listed: serde_json::Value = serde_json::from_slice(&listed).expect("json");
    assert_eq!(listed["count"], 1);
    assert_eq!(
        listed["orders"][0]["sha256"],
        hex::encode(sha2::Sha256::digest(&document))
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn a_direct_debit_and_an_h005_btu_are_accepted() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let cdd = s
        .upload(
            upload_details(H004, OrderType::CDD),
            &payment(true, MAIN, "99.00", 3),
            &[&s],
            None,
        )
        .await;
    assert_eq!(
        cdd.business.code(),
        "000000",
        "{:?}",
        cdd.last_response.report_text
    );
    let clerk = ready_subscriber(&bank, H005, "PARTNER2", "CLERK1", 1).await;
    let btu = clerk
        .upload(
            upload_details(H005, OrderType::CCT),
            &payment(false, "DE02500105170137075030", "10.00", 1),
            &[&clerk],
            None,
        )
        .await;
    assert_eq!(
        (btu.technical.code(), btu.business.code()),
        ("000000", "000000"),
        "{}",
        btu.last_response.report_text
    );
    let mut careless = clerk;
    careless.wrong_data_digest = true;
    let mismatch = careless
        .upload(
            upload_details(H005, OrderType::CCT),
            &payment(false, "DE02500105170137075030", "11.00", 1),
            &[&careless],
            None,
        )
        .await;
    assert_eq!(
        mismatch.business.code(),
        "091301",
        "H005 DataDigest must match the data"
    );
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[1].order.order_type.to_string(), "BTU");
    assert_eq!(
        orders[1]
            .order
            .service
            .as_ref()
            .map(|s| s.service_name.as_str()),
        Some("SCT")
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn uploads_beyond_the_amount_limit_or_foreign_accounts_are_rejected() {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    // USER2 may sign up to 250,000.00.
    let too_much = user2
        .upload(
            upload_details(H004, OrderType::CCT),
            &payment(false, MAIN, "130000.00", 2),
            &[&user2],
            None,
        )
        .await;
    assert_eq!(
        too_much.business.code(),
        "091303",
        "{}",
        too_much.last_response.report_text
    );
    // ACC-USD is not among USER2's accounts.
    let foreign = user2
        .upload(
            upload_details(H004, OrderType::CCT),
            &payment(false, USD, "10.00", 1),
            &[&user2],
            None,
        )
        .await;
    assert_eq!(foreign.business.code(), "091302");
    let other_bank = user2
        .upload(
            upload_details(H004, OrderType::CCT),
            &payment(false, "DE44500105175407324931", "10.00", 1),
            &[&user2],
            None,
        )
        .await;
    assert_eq!(other_bank.business.code(), "091302");
    // USER2 has no permission for direct debits: refused at initialisation.
    let cdd = user2
        .upload(
            upload_details(H004, OrderType::CDD),
            &payment(true, MAIN, "1.00", 1),
            &[&user2],
            None,
        )
        .await;
    assert_eq!(
        (cdd.technical.code(), cdd.business.code()),
        ("000000", "090003")
    );
    assert!(cdd.last_response.transaction_id.is_none());
    assert_eq!(
        bank.state().received_order_count(),
        0,
        "nothing rejected is stored"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn bad_signatures_and_bad_documents_are_rejected() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let document = payment(false, MAIN, "10.00", 1);
    // Signed over other data: the signature does not verify.
    let forged = s
        .upload(
            upload_details(H004, OrderType::CCT),
            &document,
            &[&s],
            Some(b"other data"),
        )
        .await;
    assert_eq!(forged.business.code(), "091301");
    // Signed with a key the bank does not know for USER1.
    let stranger = Subscriber::new(&bank.ebics_url(), H004, "PARTNER1", "USER1", 6);
    let wrong_key = s
        .upload(
            upload_details(H004, OrderType::CCT),
            &document,
            &[&stranger],
            None,
        )
        .await;
    assert_eq!(wrong_key.business.code(), "091301");
    // Not a pain.001.
    let garbage = s
        .upload(
            upload_details(H004, OrderType::CCT),
            b"<Document>nope</Document>",
            &[&s],
            None,
        )
        .await;
    assert_eq!(garbage.business.code(), "090004");
    // A pain.008 in a CCT.
    let wrong_kind = s
        .upload(
            upload_details(H004, OrderType::CCT),
            &payment(true, MAIN, "1.00", 1),
            &[&s],
            None,
        )
        .await;
    assert_eq!(wrong_kind.business.code(), "090004");
    assert_eq!(bank.state().received_order_count(), 0);
    bank.shutdown().await;
}

#[tokio::test]
async fn a_multi_segment_upload_survives_a_resent_segment_and_a_lost_last_answer() {
    let (bank, mut s) = demo_bank_with_user1(H004).await;
    s.upload_segment_bytes = 600;
    let document = payment(false, MAIN, "1.00", 400);
    let signature = s.signature_document(&[&s], &document);
    let (init, segments) =
        s.upload_init(upload_details(H004, OrderType::CCT), &document, &signature);
    assert!(segments.len() >= 3, "{} segments", segments.len());
    let init = s.exchange(init).await;
    let id = init.transaction_id.expect("id");
    let n = segments.len() as u32;
    let mut last_answer = None;
    for (i, segment) in segments.iter().enumerate() {
        let number = i as u32 + 1;
        let body = s.transfer(id, number, number == n, Some(segment.clone()));
        let answer = s.exchange(body.clone()).await;
        assert_eq!(codes(&answer), ("000000", "000000"));
        if number == 1 {
            // The client did not see the answer and sends segment 1 again.
            assert_eq!(codes(&s.exchange(body.clone()).await), ("000000", "000000"));
        }
        last_answer = Some((body, answer));
    }
    let (last_body, answer) = last_answer.expect("last");
    // The answer to the last segment was lost: re-sending gets the same answer, no new order.
    let again = s.exchange(last_body).await;
    assert_eq!(again.order_id, answer.order_id);
    assert_eq!(codes(&again), ("000000", "000000"));
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 1, "exactly one order");
    assert_eq!(orders[0].content, document);
    assert_eq!(
        Some(orders[0].order_id.to_string()),
        answer.order_id.map(|o| o.as_str().to_owned())
    );
    // Out of order segments are refused.
    let (init, segments) =
        s.upload_init(upload_details(H004, OrderType::CCT), &document, &signature);
    let id = s.exchange(init).await.transaction_id.expect("id");
    let skipped = s
        .exchange(s.transfer(id, 2, false, Some(segments[1].clone())))
        .await;
    assert_eq!(codes(&skipped).0, "061101");
    bank.shutdown().await;
}

#[tokio::test]
async fn an_a_signature_waits_in_the_veu_until_b_signs_with_hve() {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    let user3 = ready_subscriber(&bank, H004, "PARTNER1", "USER3", 2).await;
    let document = payment(false, MAIN, "5000.00", 1);
    let upload = submit_cct(&user2, H004, &document).await;
    assert_eq!(upload.business.code(), "000000");
    let order_id = upload.order_id.expect("order id");
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::AwaitingSignatures
    );

    let hvu = user3
        .download(veu_details(
            OrderType::HVU,
            OrderParams::Hvu(HvListParams::default()),
        ))
        .await
        .expect("HVU");
    let hvu = HVUResponseOrderData::parse(&hvu.data).expect("HVU parses");
    assert_eq!(hvu.orders.len(), 1);
    assert_eq!(hvu.orders[0].order_id, order_id);
    assert!(hvu.orders[0].signing_info.ready_to_be_signed);
    assert_eq!(hvu.orders[0].signing_info.num_sig_done, 1);
    let hvz = user3
        .download(veu_details(
            OrderType::HVZ,
            OrderParams::Hvz(HvListParams::default()),
        ))
        .await
        .expect("HVZ");
    let hvz = HVZResponseOrderData::parse(&hvz.data).expect("HVZ parses");
    assert_eq!(hvz.orders[0].total_orders, Some(1));

    let hvd = user3
        .download(veu_details(
            OrderType::HVD,
            OrderParams::Hvd(hv_ref(H004, &order_id, OrderType::CCT)),
        ))
        .await
        .expect("HVD");
    let hvd = HVDResponseOrderData::parse(&hvd.data).expect("HVD parses");
    assert_eq!(
        hvd.data_digest.digest,
        order_data_digest(&document).to_vec()
    );

    // The same signer cannot sign twice.
    let twice = cosign(&user2, H004, &order_id, &document).await;
    assert_eq!(twice.business.code(), "091306");
    // A forged co-signature is refused.
    let forged = cosign(&user3, H004, &order_id, b"not the order").await;
    assert_eq!(forged.business.code(), "091301");
    let hve = cosign(&user3, H004, &order_id, &document).await;
    assert_eq!(
        (hve.technical.code(), hve.business.code()),
        ("000000", "000000"),
        "{}",
        hve.last_response.report_text
    );
    assert_eq!(bank.state().veu_items()[0].status, VeuStatus::Released);
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::Accepted
    );
    let empty = user3
        .download(veu_details(
            OrderType::HVU,
            OrderParams::Hvu(HvListParams::default()),
        ))
        .await
        .expect_err("nothing left");
    assert_eq!(codes(&empty).1, "090005");
    bank.shutdown().await;
}

#[tokio::test]
async fn hvs_cancels_and_two_b_signatures_never_release() {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, H005, "PARTNER1", "USER2", 1).await;
    let user3 = ready_subscriber(&bank, H005, "PARTNER1", "USER3", 2).await;
    let document = payment(false, MAIN, "700.00", 1);
    let upload = submit_cct(&user3, H005, &document).await;
    assert_eq!(
        upload.business.code(),
        "000000",
        "{}",
        upload.last_response.report_text
    );
    let order_id = upload.order_id.expect("order id");
    assert_eq!(
        bank.state().veu_items()[0].status,
        VeuStatus::Pending,
        "B alone does not release"
    );
    let reference = hv_ref(H005, &order_id, OrderType::CCT);
    let hvs = user2
        .upload(
            veu_details(OrderType::HVS, OrderParams::Hvs(reference.clone())),
            b"",
            &[&user2],
            Some(&document),
        )
        .await;
    assert_eq!(
        (hvs.technical.code(), hvs.business.code()),
        ("000000", "000000"),
        "{}",
        hvs.last_response.report_text
    );
    assert_eq!(bank.state().veu_items()[0].status, VeuStatus::Cancelled);
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::Cancelled
    );
    let late = user2
        .upload(
            veu_details(OrderType::HVE, OrderParams::Hve(reference)),
            b"",
            &[&user2],
            Some(&document),
        )
        .await;
    assert_eq!(late.business.code(), "091305");
    bank.shutdown().await;
}

#[tokio::test]
async fn a_transport_signature_needs_a_bank_technical_signature() {
    let bank = demo_bank().await;
    let transport = ready_subscriber(&bank, H004, "PARTNER1", "TRANSPORT", 3).await;
    let user1 = ready_subscriber(&bank, H004, "PARTNER1", "USER1", 0).await;
    let document = payment(false, MAIN, "42.00", 1);
    let upload = submit_cct(&transport, H004, &document).await;
    assert_eq!(upload.business.code(), "000000");
    let order_id = upload.order_id.expect("id");
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::AwaitingSignatures
    );
    let hve = cosign(&user1, H004, &order_id, &document).await;
    assert_eq!(
        hve.business.code(),
        "000000",
        "{}",
        hve.last_response.report_text
    );
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::Accepted,
        "E alone releases"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn an_hve_answer_without_transaction_id_still_counts_the_signature_once() {
    let bank = demo_bank().await;
    let transport = ready_subscriber(&bank, H004, "PARTNER1", "TRANSPORT", 3).await;
    let user1 = ready_subscriber(&bank, H004, "PARTNER1", "USER1", 0).await;
    let document = payment(false, MAIN, "42.00", 1);
    let upload = submit_cct(&transport, H004, &document).await;
    let order_id = upload.order_id.expect("id");
    common::install_fault(
        &bank,
        r#"{"times": 1, "match": {"order_type": "HVE"}, "action": {"kind": "hve_without_transaction_id"}}"#,
    )
    .await;
    let hve = cosign(&user1, H004, &order_id, &document).await;
    assert_eq!(hve.business.code(), "000000");
    assert_eq!(hve.last_response.transaction_id, None, "the id is left out");
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::Accepted,
        "the signature counted"
    );
    let signers = &bank.state().veu_items()[0].signers;
    assert_eq!(
        signers
            .iter()
            .filter(|s| s.user_id.as_str() == "USER1")
            .count(),
        1,
        "{signers:?}"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn spr_as_clients_send_it_suspends_the_subscriber_and_later_requests_get_091002() {
    for version in [H004, H005] {
        let (bank, user1) = demo_bank_with_user1(version).await;
        let user2 = ready_subscriber(&bank, version, "PARTNER1", "USER2", 1).await;
        let spr = || OrderDetails::upload(version, &OrderType::SPR).expect("details");
        // Signature only (NumSegments 0): someone else's ES does not suspend USER1.
        let foreign = user1.upload(spr(), b"", &[&user2], Some(b" ")).await;
        assert_eq!(foreign.business.code(), "091301", "{version:?}");
        let status = |user: &str| {
            bank.state()
                .subscriber(&common::p("PARTNER1"), &common::u(user))
                .expect("known")
                .status
        };
        assert_eq!(status("USER1"), kontor_bank::state::SubscriberStatus::Ready);
        let spr_answer = user1.upload(spr(), b"", &[&user1], Some(b" ")).await;
        assert_eq!(
            (spr_answer.technical.code(), spr_answer.business.code()),
            ("000000", "000000"),
            "{version:?}: {}",
            spr_answer.last_response.report_text
        );
        assert_eq!(
            status("USER1"),
            kontor_bank::state::SubscriberStatus::Suspended
        );
        // EBICS return codes: 091002 EBICS_INVALID_USER_OR_USER_STATE, "subscriber unknown or
        // subscriber state inadmissible".
        let refused = user1
            .download(OrderDetails::download(version, &OrderType::HTD, None).expect("details"))
            .await
            .expect_err("suspended");
        assert_eq!(codes(&refused).0, "091002");
        assert_eq!(status("USER2"), kontor_bank::state::SubscriberStatus::Ready);
        bank.shutdown().await;
    }
}

#[tokio::test]
async fn spr_with_one_blank_as_order_data_suspends_too() {
    let (bank, user1) = demo_bank_with_user1(H004).await;
    let spr = || OrderDetails::upload(H004, &OrderType::SPR).expect("details");
    let not_blank = user1.upload(spr(), b"x", &[&user1], None).await;
    assert_eq!(not_blank.business.code(), "090004");
    let answer = user1.upload(spr(), b" ", &[&user1], None).await;
    assert_eq!(answer.business.code(), "000000");
    assert_eq!(
        bank.state()
            .subscriber(&common::p("PARTNER1"), &common::u("USER1"))
            .expect("known")
            .status,
        kontor_bank::state::SubscriberStatus::Suspended
    );
    assert_eq!(bank.state().received_order_count(), 0, "no business order");
    bank.shutdown().await;
}

const PAYROLL: &str = "DE02120300000000202051";

#[tokio::test]
async fn a_co_signer_cannot_release_beyond_its_accounts_or_amount_limit() {
    let bank = demo_bank().await;
    // USER2: class A, 250 000, MAIN and PAYROLL. USER3: class B, 100 000, MAIN only.
    let user2 = ready_subscriber(&bank, H004, "PARTNER1", "USER2", 1).await;
    let user3 = ready_subscriber(&bank, H004, "PARTNER1", "USER3", 2).await;
    for (debtor, amount, code) in [
        // Another account than USER3's: EBICS_ACCOUNT_AUTHORISATION_FAILED.
        (PAYROLL, "200000.00", "091302"),
        // USER3's account, above USER3's limit: EBICS_AMOUNT_CHECK_FAILED.
        (MAIN, "150000.00", "091303"),
    ] {
        let document = payment(false, debtor, amount, 1);
        let upload = submit_cct(&user2, H004, &document).await;
        assert_eq!(upload.business.code(), "000000", "A alone waits in the VEU");
        let order_id = upload.order_id.expect("id");
        let hve = cosign(&user3, H004, &order_id, &document).await;
        assert_eq!(hve.business.code(), code, "{debtor} {amount}");
        let item = bank
            .state()
            .veu_items()
            .into_iter()
            .find(|i| i.order_id.as_str() == order_id)
            .expect("VEU item");
        assert_eq!(item.status, VeuStatus::Pending, "not released");
        assert_eq!(
            item.signers.len(),
            1,
            "the refused signature does not count"
        );
    }
    // Within both limits the same co-signer releases.
    let document = payment(false, MAIN, "90000.00", 1);
    let upload = submit_cct(&user2, H004, &document).await;
    let order_id = upload.order_id.expect("id");
    assert_eq!(
        cosign(&user3, H004, &order_id, &document)
            .await
            .business
            .code(),
        "000000"
    );
    let released = bank
        .state()
        .veu_items()
        .into_iter()
        .find(|i| i.order_id.as_str() == order_id)
        .expect("VEU item");
    assert_eq!(released.status, VeuStatus::Released);
    bank.shutdown().await;
}

#[tokio::test]
async fn a_btu_naming_a_message_version_matches_an_offer_without_one() {
    let (bank, user1) = demo_bank_with_user1(H005).await;
    // The demo offers SCT/pain.001 without a version; the client names 03.
    let mut service = OrderType::CCT.btf_service().expect("service");
    service.message.version = Some("03".into());
    let details = OrderDetails::btu(service, Some(SignatureFlag { request_eds: None }));
    let document = payment(false, MAIN, "12.00", 1);
    let upload = user1.upload(details, &document, &[&user1], None).await;
    assert_eq!(
        upload.business.code(),
        "000000",
        "{}",
        upload.last_response.report_text
    );
    let order = &bank.state().received_orders()[0];
    let recorded = order.order.service.as_ref().expect("service");
    assert_eq!(recorded.msg_version.as_deref(), Some("03"));
    // A download offer with a version is that version only: camt.053 is offered as 08.
    let mut camt = OrderType::C53.btf_service().expect("service");
    camt.message.version = Some("04".into());
    let refused = user1
        .download(OrderDetails::btd(camt, None))
        .await
        .expect_err("camt.053.001.04 is not offered");
    assert_eq!(codes(&refused).0, "091005");
    bank.shutdown().await;
}

#[tokio::test]
async fn a_payment_file_whose_message_id_was_already_submitted_is_refused_with_091122() {
    let (bank, user1) = demo_bank_with_user1(H004).await;
    let document = payment(false, MAIN, "77.00", 1);
    let cct = || upload_details(H004, OrderType::CCT);
    let first = user1.upload(cct(), &document, &[&user1], None).await;
    assert_eq!(first.business.code(), "000000");
    // The same file again, as a new transaction (a client retrying a lost upload blindly).
    let again = user1.upload(cct(), &document, &[&user1], None).await;
    assert_eq!(
        (again.technical.code(), again.business.code()),
        ("091122", "000000"),
        "EBICS_ORDER_ALREADY_EXISTS: {}",
        again.last_response.report_text
    );
    assert_eq!(bank.state().received_order_count(), 1, "paid once");
    let orders = bank.state().received_orders();
    assert_eq!(orders[0].message_id.as_deref(), Some("MSG-77.00-1"));
    // Another message id is another file.
    let other = payment(false, MAIN, "77.00", 2);
    let second = user1.upload(cct(), &other, &[&user1], None).await;
    assert_eq!(second.business.code(), "000000");
    assert_eq!(bank.state().received_order_count(), 2);
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_btu_needs_its_signature_flag_and_request_eds_waits_in_the_veu() {
    let (bank, user1) = demo_bank_with_user1(H005).await;
    let user2 = ready_subscriber(&bank, H005, "PARTNER1", "USER2", 1).await;
    let service = || OrderType::CCT.btf_service().expect("service");
    let document = payment(false, MAIN, "55.00", 1);
    // No SignatureFlag: "the order doesn't contain any ES" — this bank refuses.
    let unflagged = user1
        .upload(
            OrderDetails::btu(service(), None),
            &document,
            &[&user1],
            None,
        )
        .await;
    assert_eq!(unflagged.technical.code(), "091112");
    assert_eq!(bank.state().received_order_count(), 0);
    // requestEDS: USER1's E signature alone would release it, yet it waits for another.
    let flag = SignatureFlag {
        request_eds: Some(true),
    };
    let upload = user1
        .upload(
            OrderDetails::btu(service(), Some(flag)),
            &document,
            &[&user1],
            None,
        )
        .await;
    assert_eq!(
        upload.business.code(),
        "000000",
        "{}",
        upload.last_response.report_text
    );
    let order_id = upload.order_id.expect("id");
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::AwaitingSignatures
    );
    assert_eq!(bank.state().veu_items()[0].required_signatures, 2);
    let hve = cosign(&user2, H005, &order_id, &document).await;
    assert_eq!(
        hve.business.code(),
        "000000",
        "{}",
        hve.last_response.report_text
    );
    assert_eq!(
        bank.state().received_orders()[0].status,
        OrderStatus::Accepted
    );
    bank.shutdown().await;
}
