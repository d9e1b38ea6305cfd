//! Payment-level status reports: one pain.002.001.03 per uploaded payment message, as German
//! banks deliver them besides the order-level HAC protocol (H004 `CRZ` for credit transfers,
//! `CDZ` for direct debits, both in a ZIP container; H005 BTD `PSR` with scope `DE` and option
//! `SCT`/`SDD`, DK mapping). A client reconciles them with what it sent by
//! `OrgnlGrpInfAndSts/OrgnlMsgId` (the uploaded `GrpHdr/MsgId`), `OrgnlPmtInfId` and
//! `OrgnlEndToEndId`.
//!
//! Status mapping: accepted → `ACCP`; waiting for VEU signatures → `PDNG`; rejected by the bank
//! after acceptance → `RJCT` with its reason code; cancelled in the VEU → `RJCT` `DS02`.
//! Deterministic: the same order in the same state gives the same bytes (`CreDtTm` is the
//! order's arrival, `MsgId` names order and status).

use std::fmt::Write as _;

use kontor_documents::pain::{self, PaymentKind};

use crate::responses::escape_xml;
use crate::state::{OrderStatus, ReceivedOrder};

const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03";

/// DK status reason "order cancelled" (the VEU cancellation).
const REASON_CANCELLED: &str = "DS02";

/// Status code, reason code and reason text of an order.
fn status(order: &ReceivedOrder) -> (&'static str, Option<String>, Option<String>) {
    match order.status {
        OrderStatus::Accepted => ("ACCP", None, None),
        OrderStatus::AwaitingSignatures => (
            "PDNG",
            None,
            Some("awaiting further signatures (distributed signature)".to_owned()),
        ),
        OrderStatus::Rejected => (
            "RJCT",
            Some(
                order
                    .status_reason_code
                    .clone()
                    .unwrap_or_else(|| "NARR".to_owned()),
            ),
            order.status_reason.clone(),
        ),
        OrderStatus::Cancelled => (
            "RJCT",
            Some(REASON_CANCELLED.to_owned()),
            Some("cancelled in the distributed signature".to_owned()),
        ),
    }
}

fn reason(xml: &mut String, code: Option<&str>, text: Option<&str>) {
    if code.is_none() && text.is_none() {
        return;
    }
    xml.push_str("<StsRsnInf>");
    if let Some(code) = code {
        let _ = write!(xml, "<Rsn><Cd>{}</Cd></Rsn>", escape_xml(code));
    }
    if let Some(text) = text {
        let text: String = text.chars().take(105).collect();
        let _ = write!(xml, "<AddtlInf>{}</AddtlInf>", escape_xml(&text));
    }
    xml.push_str("</StsRsnInf>");
}

/// The payment status report of one received order of `kind`; `None` when the order is not a
/// payment message of that kind.
pub fn report(order: &ReceivedOrder, kind: PaymentKind, bank_name: &str) -> Option<Vec<u8>> {
    let document = pain::parse_bytes(&order.content).ok()?;
    if document.kind() != kind {
        return None;
    }
    let (code, reason_code, reason_text) = status(order);
    let message_name = document
        .version
        .namespace()
        .rsplit(':')
        .next()
        .unwrap_or_default();
    let mut xml = String::with_capacity(1024 + document.number_of_transactions() * 160);
    let _ = write!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NAMESPACE}"><CstmrPmtStsRpt><GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>"#,
        escape_xml(&format!(
            "KB-{}-{}-{code}",
            order.partner_id, order.order_id
        )),
        order.created_at.format("%Y-%m-%dT%H:%M:%S"),
        escape_xml(&bank_name.chars().take(70).collect::<String>()),
    );
    let _ = write!(
        xml,
        "<OrgnlGrpInfAndSts><OrgnlMsgId>{}</OrgnlMsgId><OrgnlMsgNmId>{}</OrgnlMsgNmId><OrgnlNbOfTxs>{}</OrgnlNbOfTxs><OrgnlCtrlSum>{}</OrgnlCtrlSum><GrpSts>{code}</GrpSts>",
        escape_xml(&document.message_id),
        escape_xml(message_name),
        document.number_of_transactions(),
        document.summary().control_sum.as_decimal(),
    );
    reason(&mut xml, reason_code.as_deref(), reason_text.as_deref());
    xml.push_str("</OrgnlGrpInfAndSts>");
    for info in &document.payment_infos {
        let _ = write!(
            xml,
            "<OrgnlPmtInfAndSts><OrgnlPmtInfId>{}</OrgnlPmtInfId><OrgnlNbOfTxs>{}</OrgnlNbOfTxs><PmtInfSts>{code}</PmtInfSts>",
            escape_xml(&info.id),
            info.transactions.len(),
        );
        for tx in &info.transactions {
            xml.push_str("<TxInfAndSts>");
            if let Some(instruction) = &tx.instruction_id {
                let _ = write!(
                    xml,
                    "<OrgnlInstrId>{}</OrgnlInstrId>",
                    escape_xml(instruction)
                );
            }
            let _ = write!(
                xml,
                "<OrgnlEndToEndId>{}</OrgnlEndToEndId><TxSts>{code}</TxSts>",
                escape_xml(&tx.end_to_end_id)
            );
            xml.push_str("</TxInfAndSts>");
        }
        xml.push_str("</OrgnlPmtInfAndSts>");
    }
    xml.push_str("</CstmrPmtStsRpt></Document>");
    Some(xml.into_bytes())
}
