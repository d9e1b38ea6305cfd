//! Signed uploads against the real dispatcher: signatures, permissions, account and amount
//! limits, multi-segment transfer with recovery, H005 BTU, and the distributed signature.

use crate::support;

use kontor_bank::state::{OrderStatus, SubscriberStatus, VeuItem, VeuStatus};
use kontor_bank::RunningBank;
use kontor_protocol::envelope::{
    HvListParams, HvOrderKind, HvOrderRef, OrderDetails, OrderId, OrderParams, PartnerId,
    SignatureFlag,
};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    HVDResponseOrderData, HVUResponseOrderData, HVZResponseOrderData,
};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::ProtocolVersion::{self, H004, H005};
use sha2::Digest as _;
use support::client::{ready_subscriber, Subscriber, Upload};
use support::{codes, demo_bank, demo_bank_with_user1, payments};

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

/// The order details of a VEU order, its order type named by its parameters.
fn veu_details(params: OrderParams) -> OrderDetails {
    let order_type = match &params {
        OrderParams::Hvu(_) => OrderType::HVU,
        OrderParams::Hvz(_) => OrderType::HVZ,
        OrderParams::Hvd(_) => OrderType::HVD,
        OrderParams::Hve(_) => OrderType::HVE,
        OrderParams::Hvs(_) => OrderType::HVS,
        other => panic!("not a VEU order: {other:?}"),
    };
    OrderDetails {
        order_type,
        order_id: None,
        order_attribute: None,
        params,
    }
}

/// `signer` submits `document` as an `order` upload signed by itself alone.
async fn submit(
    signer: &Subscriber,
    version: ProtocolVersion,
    order: OrderType,
    document: &[u8],
) -> Upload {
    submit_as(signer, upload_details(version, order), document).await
}

/// `signer` uploads `document` with `details`, signed by itself alone.
async fn submit_as(signer: &Subscriber, details: OrderDetails, document: &[u8]) -> Upload {
    signer.upload(details, document, &[signer], None).await
}

/// `signer` submits the CCT `document` signed by itself alone.
async fn submit_cct(signer: &Subscriber, version: ProtocolVersion, document: &[u8]) -> Upload {
    submit(signer, version, OrderType::CCT, document).await
}

/// The demo bank with PARTNER1's USER2 (class A) and USER3 (class B) ready for `version`.
async fn bank_with_signers(version: ProtocolVersion) -> (RunningBank, Subscriber, Subscriber) {
    let bank = demo_bank().await;
    let user2 = ready_subscriber(&bank, version, "PARTNER1", "USER2", 1).await;
    let user3 = ready_subscriber(&bank, version, "PARTNER1", "USER3", 2).await;
    (bank, user2, user3)
}

/// The demo bank with PARTNER1's TRANSPORT (class T) and USER1 (class E) ready on H004.
async fn bank_with_transport_and_user1() -> (RunningBank, Subscriber, Subscriber) {
    let bank = demo_bank().await;
    let transport = ready_subscriber(&bank, H004, "PARTNER1", "TRANSPORT", 3).await;
    let user1 = ready_subscriber(&bank, H004, "PARTNER1", "USER1", 0).await;
    (bank, transport, user1)
}

fn first_order_status(bank: &RunningBank) -> OrderStatus {
    bank.state().received_orders()[0].status
}

fn first_veu_status(bank: &RunningBank) -> VeuStatus {
    bank.state().veu_items()[0].status
}

fn veu_item(bank: &RunningBank, order_id: &str) -> VeuItem {
    bank.state()
        .veu_items()
        .into_iter()
        .find(|i| i.order_id.as_str() == order_id)
        .expect("VEU item")
}

fn subscriber_status(bank: &RunningBank, user: &str) -> SubscriberStatus {
    bank.state()
        .subscriber(&support::p("PARTNER1"), &support::u(user))
        .expect("known")
        .status
}

/// `signer` sends the signature-only VEU order `params` (HVE, HVS) with its ES over `document`.
async fn veu_sign(signer: &Subscriber, params: OrderParams, document: &[u8]) -> Upload {
    signer
        .upload(veu_details(params), b"", &[signer], Some(document))
        .await
}

/// `signer` co-signs (HVE) the CCT order `order_id`, signing `document`.
async fn cosign(
    signer: &Subscriber,
    version: ProtocolVersion,
    order_id: &str,
    document: &[u8],
) -> Upload {
    let reference = hv_ref(version, order_id, OrderType::CCT);
    veu_sign(signer, OrderParams::Hve(reference), document).await
}

#[tokio::test]
async fn a_cct_signed_with_e_is_accepted_and_stored_with_its_hash() {
    let (bank, s) = demo_bank_with_user1(H004).await;
    let document = payment(false, MAIN, "1500.00", 2);
    let upload = submit_cct(&s, H004, &document).await;
    upload.assert_codes("000000", "000000");
    let order_id = upload.order_id.expect("order id");
    let orders = bank.state().received_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id.to_string(), order_id);
    assert_eq!(orders[0].status, OrderStatus::Accepted);
    assert_eq!(orders[0].content, document);
    assert_eq!(orders[0].signatures[0].user_id.to_string(), "USER1");
    let listed = support::admin_get_json(&bank, "/orders?status=accepted").await;
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
    let cdd = submit(&s, H004, OrderType::CDD, &payment(true, MAIN, "99.00", 3)).await;
    cdd.assert_business("000000");
    let clerk = ready_subscriber(&bank, H005, "PARTNER2", "CLERK1", 1).await;
    let btu = submit_cct(
        &clerk,
        H005,
        &payment(false, "DE02500105170137075030", "10.00", 1),
    )
    .await;
    btu.assert_codes("000000", "000000");
    let mut careless = clerk;
    careless.wrong_data_digest = true;
    let mismatch = submit_cct(
        &careless,
        H005,
        &payment(false, "DE02500105170137075030", "11.00", 1),
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
    let too_much = submit_cct(&user2, H004, &payment(false, MAIN, "130000.00", 2)).await;
    too_much.assert_business("091303");
    // ACC-USD is not among USER2's accounts.
    let foreign = submit_cct(&user2, H004, &payment(false, USD, "10.00", 1)).await;
    foreign.assert_business("091302");
    let other_bank = submit_cct(
        &user2,
        H004,
        &payment(false, "DE44500105175407324931", "10.00", 1),
    )
    .await;
    other_bank.assert_business("091302");
    // USER2 has no permission for direct debits: refused at initialisation.
    let cdd = submit(
        &user2,
        H004,
        OrderType::CDD,
        &payment(true, MAIN, "1.00", 1),
    )
    .await;
    cdd.assert_codes("000000", "090003");
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
    forged.assert_business("091301");
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
    wrong_key.assert_business("091301");
    // Not a pain.001.
    let garbage = submit_cct(&s, H004, b"<Document>nope</Document>").await;
    garbage.assert_business("090004");
    // A pain.008 in a CCT.
    let wrong_kind = submit_cct(&s, H004, &payment(true, MAIN, "1.00", 1)).await;
    wrong_kind.assert_business("090004");
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
    let (bank, user2, user3) = bank_with_signers(H004).await;
    let document = payment(false, MAIN, "5000.00", 1);
    let order_id = submit_cct(&user2, H004, &document)
        .await
        .accepted_order_id();
    assert_eq!(first_order_status(&bank), OrderStatus::AwaitingSignatures);

    let hvu = user3
        .download(veu_details(OrderParams::Hvu(HvListParams::default())))
        .await
        .expect("HVU");
    let hvu = HVUResponseOrderData::parse(&hvu.data).expect("HVU parses");
    assert_eq!(hvu.orders.len(), 1);
    assert_eq!(hvu.orders[0].pending.order_id, order_id);
    assert!(hvu.orders[0].pending.signing_info.ready_to_be_signed);
    assert_eq!(hvu.orders[0].pending.signing_info.num_sig_done, 1);
    let hvz = user3
        .download(veu_details(OrderParams::Hvz(HvListParams::default())))
        .await
        .expect("HVZ");
    let hvz = HVZResponseOrderData::parse(&hvz.data).expect("HVZ parses");
    assert_eq!(hvz.orders[0].total_orders, Some(1));

    let hvd = user3
        .download(veu_details(OrderParams::Hvd(hv_ref(
            H004,
            &order_id,
            OrderType::CCT,
        ))))
        .await
        .expect("HVD");
    let hvd = HVDResponseOrderData::parse(&hvd.data).expect("HVD parses");
    assert_eq!(
        hvd.data_digest.digest,
        order_data_digest(&document).to_vec()
    );

    // The same signer cannot sign twice.
    let twice = cosign(&user2, H004, &order_id, &document).await;
    twice.assert_business("091306");
    // A forged co-signature is refused.
    let forged = cosign(&user3, H004, &order_id, b"not the order").await;
    forged.assert_business("091301");
    let hve = cosign(&user3, H004, &order_id, &document).await;
    hve.assert_codes("000000", "000000");
    assert_eq!(first_veu_status(&bank), VeuStatus::Released);
    assert_eq!(first_order_status(&bank), OrderStatus::Accepted);
    let empty = user3
        .download(veu_details(OrderParams::Hvu(HvListParams::default())))
        .await
        .expect_err("nothing left");
    assert_eq!(codes(&empty).1, "090005");
    bank.shutdown().await;
}

#[tokio::test]
async fn hvs_cancels_and_two_b_signatures_never_release() {
    let (bank, user2, user3) = bank_with_signers(H005).await;
    let document = payment(false, MAIN, "700.00", 1);
    let order_id = submit_cct(&user3, H005, &document)
        .await
        .accepted_order_id();
    assert_eq!(
        first_veu_status(&bank),
        VeuStatus::Pending,
        "B alone does not release"
    );
    let reference = hv_ref(H005, &order_id, OrderType::CCT);
    let hvs = veu_sign(&user2, OrderParams::Hvs(reference), &document).await;
    hvs.assert_codes("000000", "000000");
    assert_eq!(first_veu_status(&bank), VeuStatus::Cancelled);
    assert_eq!(first_order_status(&bank), OrderStatus::Cancelled);
    let late = cosign(&user2, H005, &order_id, &document).await;
    late.assert_business("091305");
    bank.shutdown().await;
}

#[tokio::test]
async fn a_transport_signature_needs_a_bank_technical_signature() {
    let (bank, transport, user1) = bank_with_transport_and_user1().await;
    let document = payment(false, MAIN, "42.00", 1);
    let order_id = submit_cct(&transport, H004, &document)
        .await
        .accepted_order_id();
    assert_eq!(first_order_status(&bank), OrderStatus::AwaitingSignatures);
    let hve = cosign(&user1, H004, &order_id, &document).await;
    hve.assert_business("000000");
    assert_eq!(
        first_order_status(&bank),
        OrderStatus::Accepted,
        "E alone releases"
    );
    bank.shutdown().await;
}

#[tokio::test]
async fn an_hve_answer_without_transaction_id_still_counts_the_signature_once() {
    let (bank, transport, user1) = bank_with_transport_and_user1().await;
    let document = payment(false, MAIN, "42.00", 1);
    let upload = submit_cct(&transport, H004, &document).await;
    let order_id = upload.order_id.expect("id");
    support::install_fault(
        &bank,
        r#"{"times": 1, "match": {"order_type": "HVE"}, "action": {"kind": "hve_without_transaction_id"}}"#,
    )
    .await;
    let hve = cosign(&user1, H004, &order_id, &document).await;
    hve.assert_business("000000");
    assert_eq!(hve.last_response.transaction_id, None, "the id is left out");
    assert_eq!(
        first_order_status(&bank),
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
        let status = |user: &str| subscriber_status(&bank, user);
        assert_eq!(status("USER1"), SubscriberStatus::Ready);
        let spr_answer = user1.upload(spr(), b"", &[&user1], Some(b" ")).await;
        assert_eq!(
            (spr_answer.technical.code(), spr_answer.business.code()),
            ("000000", "000000"),
            "{version:?}: {}",
            spr_answer.last_response.report_text
        );
        assert_eq!(status("USER1"), SubscriberStatus::Suspended);
        // EBICS return codes: 091002 EBICS_INVALID_USER_OR_USER_STATE, "subscriber unknown or
        // subscriber state inadmissible".
        let refused = user1
            .download(OrderDetails::download(version, &OrderType::HTD, None).expect("details"))
            .await
            .expect_err("suspended");
        assert_eq!(codes(&refused).0, "091002");
        assert_eq!(status("USER2"), SubscriberStatus::Ready);
        bank.shutdown().await;
    }
}

#[tokio::test]
async fn spr_with_one_blank_as_order_data_suspends_too() {
    let (bank, user1) = demo_bank_with_user1(H004).await;
    let spr = || OrderDetails::upload(H004, &OrderType::SPR).expect("details");
    let not_blank = submit_as(&user1, spr(), b"x").await;
    not_blank.assert_business("090004");
    let answer = submit_as(&user1, spr(), b" ").await;
    answer.assert_business("000000");
    assert_eq!(
        subscriber_status(&bank, "USER1"),
        SubscriberStatus::Suspended
    );
    assert_eq!(bank.state().received_order_count(), 0, "no business order");
    bank.shutdown().await;
}

const PAYROLL: &str = "DE02120300000000202051";

#[tokio::test]
async fn a_co_signer_cannot_release_beyond_its_accounts_or_amount_limit() {
    let (bank, user2, user3) = bank_with_signers(H004).await;
    // USER2: class A, 250 000, MAIN and PAYROLL. USER3: class B, 100 000, MAIN only.
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
        let item = veu_item(&bank, &order_id);
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
    let released = veu_item(&bank, &order_id);
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
    let upload = submit_as(&user1, details, &document).await;
    upload.assert_business("000000");
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
    let first = submit_cct(&user1, H004, &document).await;
    first.assert_business("000000");
    // The same file again, as a new transaction (a client retrying a lost upload blindly).
    let again = submit_cct(&user1, H004, &document).await;
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
    let second = submit_cct(&user1, H004, &other).await;
    second.assert_business("000000");
    assert_eq!(bank.state().received_order_count(), 2);
    bank.shutdown().await;
}

/// HVD names the order as HVU/HVZ listed it: under a service with a part the listing lacks
/// (or without one it has), the same order ID names no order.
#[tokio::test]
async fn an_hv_request_must_name_the_order_as_the_overview_listed_it() {
    let (bank, user1) = demo_bank_with_user1(H005).await;
    let user2 = ready_subscriber(&bank, H005, "PARTNER1", "USER2", 1).await;
    let service = OrderType::CCT.btf_service().expect("service");
    let flag = SignatureFlag {
        request_eds: Some(true),
    };
    let document = payment(false, MAIN, "56.00", 1);
    let order_id = submit_as(
        &user1,
        OrderDetails::btu(service.clone(), Some(flag)),
        &document,
    )
    .await
    .accepted_order_id();
    let hvd = |kind| {
        let reference = HvOrderRef {
            kind,
            ..hv_ref(H005, &order_id, OrderType::CCT)
        };
        user2.download(veu_details(OrderParams::Hvd(reference)))
    };
    let mut scoped = service.clone();
    scoped.scope = Some("DE".into());
    let refused = hvd(HvOrderKind::Service(scoped))
        .await
        .expect_err("not listed so");
    assert_eq!(codes(&refused).1, "091114");
    hvd(HvOrderKind::Service(service)).await.expect("listed so");
    bank.shutdown().await;
}

#[tokio::test]
async fn h005_btu_needs_its_signature_flag_and_request_eds_waits_in_the_veu() {
    let (bank, user1) = demo_bank_with_user1(H005).await;
    let user2 = ready_subscriber(&bank, H005, "PARTNER1", "USER2", 1).await;
    let service = || OrderType::CCT.btf_service().expect("service");
    let document = payment(false, MAIN, "55.00", 1);
    // No SignatureFlag: "the order doesn't contain any ES" — this bank refuses.
    let unflagged = submit_as(&user1, OrderDetails::btu(service(), None), &document).await;
    assert_eq!(unflagged.technical.code(), "091112");
    assert_eq!(bank.state().received_order_count(), 0);
    // requestEDS: USER1's E signature alone would release it, yet it waits for another.
    let flag = SignatureFlag {
        request_eds: Some(true),
    };
    let order_id = submit_as(&user1, OrderDetails::btu(service(), Some(flag)), &document)
        .await
        .accepted_order_id();
    assert_eq!(first_order_status(&bank), OrderStatus::AwaitingSignatures);
    assert_eq!(bank.state().veu_items()[0].required_signatures, 2);
    let hve = cosign(&user2, H005, &order_id, &document).await;
    hve.assert_business("000000");
    assert_eq!(first_order_status(&bank), OrderStatus::Accepted);
    bank.shutdown().await;
}
