//! pain.002 status reports: build, parse, the ways banks write them, and damaged input.

use kontor_documents::status_report::{
    self, OrderStatus, OrderStatusEntry, StatusReport, StatusReportError,
};
use proptest::prelude::*;

use crate::support::datetime;
use crate::support::samples::sample_status_report;

#[test]
fn built_report_parses_back_with_order_ids_and_statuses() {
    let xml = status_report::build(&sample_status_report());
    assert!(xml.contains(status_report::NAMESPACE_V03));
    assert!(xml.contains("<PmtInfSts>RJCT</PmtInfSts>"));
    let parsed = status_report::parse(&xml).unwrap();
    assert_eq!(parsed, sample_status_report());
    assert_eq!(parsed.order("A002").unwrap().status, OrderStatus::Rejected);
}

#[test]
fn order_id_and_type_are_read_from_german_additional_info() {
    let xml = r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
 <CstmrPmtStsRpt>
  <GrpHdr><MsgId>X1</MsgId><CreDtTm>2026-11-23T08:00:00.000+01:00</CreDtTm></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>EBICS</OrgnlMsgId><OrgnlMsgNmId>pain.001</OrgnlMsgNmId></OrgnlGrpInfAndSts>
  <OrgnlPmtInfAndSts>
   <OrgnlPmtInfId>ORDER_HAC_FINAL_NEG</OrgnlPmtInfId>
   <PmtInfSts>RJCT</PmtInfSts>
   <StsRsnInf><Rsn><Cd>DS0H</Cd></Rsn><AddtlInf>Auftragsart: CCT Auftragsnummer: B07Q</AddtlInf></StsRsnInf>
  </OrgnlPmtInfAndSts>
 </CstmrPmtStsRpt>
</Document>"#;
    let parsed = status_report::parse(xml).unwrap();
    let entry = &parsed.orders[0];
    assert_eq!(entry.order_id, "B07Q");
    assert_eq!(entry.order_type.as_deref(), Some("CCT"));
    assert_eq!(entry.status, OrderStatus::Rejected);
    assert_eq!(entry.reason_code.as_deref(), Some("DS0H"));
}

#[test]
fn single_order_report_with_group_status_and_newer_version_is_accepted() {
    let xml = r#"<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
 <p:CstmrPmtStsRpt>
  <p:GrpHdr><p:MsgId>X2</p:MsgId><p:CreDtTm>2026-11-23T08:00:00</p:CreDtTm></p:GrpHdr>
  <p:OrgnlGrpInfAndSts><p:OrgnlMsgId>A00C</p:OrgnlMsgId><p:OrgnlMsgNmId>pain.001.001.09</p:OrgnlMsgNmId><p:GrpSts>ACSC</p:GrpSts></p:OrgnlGrpInfAndSts>
 </p:CstmrPmtStsRpt>
</p:Document>"#;
    let parsed = status_report::parse(xml).unwrap();
    assert_eq!(parsed.orders.len(), 1);
    assert_eq!(parsed.orders[0].order_id, "A00C");
    assert_eq!(parsed.orders[0].status, OrderStatus::Accepted);
}

#[test]
fn dk_steps_without_status_code_end_with_the_final_step() {
    let step = |action: &str, stamp: &str| {
        format!(
            "<OrgnlPmtInfAndSts><OrgnlPmtInfId>{action}</OrgnlPmtInfId><StsRsnInf><Orgtr><Id><OrgId>\
             <Othr><Id>A00Q</Id><SchmeNm><Prtry>OrderID</Prtry></SchmeNm></Othr>\
             <Othr><Id>{stamp}</Id><SchmeNm><Prtry>TimeStamp</Prtry></SchmeNm></Othr>\
             </OrgId></Id></Orgtr><Rsn><Cd>DS0A</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>"
        )
    };
    let xml = format!(
        r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>X3</MsgId><CreDtTm>2026-11-23T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>EBICS</OrgnlMsgId><OrgnlMsgNmId>HAC</OrgnlMsgNmId><GrpSts>PDNG</GrpSts></OrgnlGrpInfAndSts>
{}{}</CstmrPmtStsRpt></Document>"#,
        step("FILE_UPLOAD", "2026-11-23T07:00:00"),
        step("ORDER_HAC_FINAL_POS", "2026-11-23T07:05:00.123")
    );
    let parsed = status_report::parse(&xml).unwrap();
    assert_eq!(
        parsed.orders[0].status,
        OrderStatus::Pending,
        "inherits GrpSts"
    );
    let last = parsed.order("A00Q").unwrap();
    assert_eq!(last.status, OrderStatus::Accepted);
    assert_eq!(last.timestamp.unwrap().time().to_string(), "07:05:00.123");
}

#[test]
fn entries_without_a_known_status_are_refused() {
    let xml = status_report::build(&sample_status_report()).replace("ACCP", "XXXX");
    assert!(matches!(
        status_report::parse(&xml),
        Err(StatusReportError::MissingStatus { .. })
    ));
}

#[test]
fn other_documents_are_refused() {
    let xml = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>"#;
    assert!(status_report::parse(xml).is_err());
}

fn entry() -> impl Strategy<Value = OrderStatusEntry> {
    (
        "[A-Z][A-Z0-9]{3}",
        proptest::option::of("[A-Z][A-Z0-9]{2}"),
        prop_oneof![
            Just(OrderStatus::Accepted),
            Just(OrderStatus::Rejected),
            Just(OrderStatus::Pending)
        ],
        proptest::option::of("[A-Z]{2}[0-9A-Z]{2}"),
        proptest::option::of("[a-zA-Z0-9äöüß&<>\"' .,:-]{0,250}[a-z]"),
        proptest::option::of(0i64..100_000_000),
    )
        .prop_map(
            |(order_id, order_type, status, reason_code, reason_text, secs)| OrderStatusEntry {
                order_id,
                order_type,
                status,
                reason_code,
                reason_text,
                timestamp: secs
                    .map(|s| datetime(2026, 11, 23, 0, 0) + chrono::Duration::seconds(s)),
                transactions: vec![],
            },
        )
}

proptest! {
    #[test]
    fn any_report_survives_build_and_parse(
        message_id in "[A-Za-z0-9-]{1,35}",
        party in proptest::option::of("[A-Z][A-Za-z &]{0,20}[a-z]"),
        orders in proptest::collection::vec(entry(), 0..6),
    ) {
        let original = StatusReport {
            message_id,
            created: datetime(2026, 11, 23, 7, 45),
            initiating_party: party,
            original_message_id: "HAC".into(),
            original_message_name: "pain.002".into(),
            orders,
        };
        let parsed = status_report::parse(&status_report::build(&original)).unwrap();
        prop_assert_eq!(parsed, original);
    }

    #[test]
    fn altered_reports_never_make_the_parser_panic(
        cut in 0usize..2_000,
        insert in "[<>/a-zA-Z: =\"]{0,12}",
        text in "[ -~äöü]{0,120}",
    ) {
        let mut xml = status_report::build(&sample_status_report()).replace("insufficient funds", &text);
        let mut at = cut.min(xml.len());
        while !xml.is_char_boundary(at) {
            at -= 1;
        }
        xml.insert_str(at, &insert);
        let _ = status_report::parse(&xml);
        let _ = status_report::parse(&xml[..at]);
    }
}
