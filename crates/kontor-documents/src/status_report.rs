//! The customer payment status report (pain.002) as banks deliver it for EBICS `HAC`
//! (H005: BTD with service name `PSR`, message `pain.002`): which EBICS orders the bank
//! received and where each stands.
//!
//! ## Convention (written by [`build`], read by [`parse`])
//! pain.002.001.03 allows exactly one `OrgnlGrpInfAndSts`, so — as in the German DK
//! "Kundenprotokoll" (HAC) — one report covers many orders by giving each order its own
//! `OrgnlPmtInfAndSts`:
//!
//! - `GrpHdr`: `MsgId`, `CreDtTm`, `InitgPty/Nm` (the bank);
//! - `OrgnlGrpInfAndSts`: `OrgnlMsgId` (what the report answers, e.g. `HAC`) and `OrgnlMsgNmId`
//!   (e.g. `pain.002` / the requested order type);
//! - per order, `OrgnlPmtInfAndSts` with `OrgnlPmtInfId` = EBICS order id, `PmtInfSts`
//!   (`ACCP`, `RJCT`, `PDNG`) and `StsRsnInf` with `Orgtr/Id/OrgId/Othr` entries whose
//!   proprietary scheme names are `OrderID`, `OrderType` and `TimeStamp` (the DK way of
//!   carrying EBICS data in ISO fields), `Rsn/Cd` (an ISO external status reason code such as
//!   `AM04`, or DK's `DS0x` codes) and `AddtlInf` ("Order type CCT, order id A001: ...").
//!
//! [`parse`] also accepts real-world variants: any pain.002 version; order id and type only in
//! `AddtlInf` (`Auftragsart: CCT`, `Auftragsnummer: A001`, `OrderID=A001`, ...); ISO status codes
//! other than the three above (`ACSC`, `ACTC`, ... count as accepted; so does `PART`, partially
//! accepted: the order was processed, and the transfers it did not accept carry their own
//! status in `TxInfAndSts` — as pending it would never end); an entry
//! without status code that names a DK final step (`ORDER_HAC_FINAL_POS`/`_NEG`) or inherits
//! `GrpSts`; and a single-order report that carries the status only in `OrgnlGrpInfAndSts`.
//! When a report lists several steps of one order, [`StatusReport::order`] gives the last.

use chrono::NaiveDateTime;

use crate::datetime::format_iso_datetime;
use crate::xml::reader::{decode_utf8, document_root, parse_document, Cursor, Element, XmlError};
use crate::xml::writer::XmlWriter;

/// The namespace [`build`] writes.
pub const NAMESPACE_V03: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03";
const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.";

/// Where an order stands, as the bank reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted (`ACCP`; also `ACSC`, `ACSP`, `ACTC`, `ACWC`, `ACCC`, and `PART`: processed
    /// with some transfers not accepted, which their own status says).
    Accepted,
    /// Rejected (`RJCT`), by the bank or because it was cancelled.
    Rejected,
    /// Not final yet (`PDNG`, `RCVD`), e.g. waiting for VEU signatures.
    Pending,
}

impl OrderStatus {
    /// The ISO code [`build`] writes.
    pub fn code(self) -> &'static str {
        match self {
            OrderStatus::Accepted => "ACCP",
            OrderStatus::Rejected => "RJCT",
            OrderStatus::Pending => "PDNG",
        }
    }

    /// Reads an ISO 20022 status code (case-insensitive).
    pub fn from_code(code: &str) -> Option<OrderStatus> {
        match code.trim().to_ascii_uppercase().as_str() {
            "ACCP" | "ACSC" | "ACSP" | "ACTC" | "ACWC" | "ACCC" | "ACWP" | "PART" => {
                Some(OrderStatus::Accepted)
            }
            "RJCT" | "CANC" => Some(OrderStatus::Rejected),
            "PDNG" | "RCVD" => Some(OrderStatus::Pending),
            _ => None,
        }
    }
}

/// The status of one EBICS order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatusEntry {
    /// The EBICS order id (`A001`).
    pub order_id: String,
    /// The order type (`CCT`, or `BTU` for H005 uploads), when the bank names it.
    pub order_type: Option<String>,
    pub status: OrderStatus,
    /// ISO external status reason code, e.g. `AM04` (insufficient funds).
    pub reason_code: Option<String>,
    /// Free text, e.g. the rejection reason.
    pub reason_text: Option<String>,
    /// When the bank registered the order's current status.
    pub timestamp: Option<NaiveDateTime>,
    /// Per-transaction statuses (`TxInfAndSts`), when the bank reports them.
    pub transactions: Vec<TransactionStatusEntry>,
}

/// The status of one transaction of an order (`TxInfAndSts`), matched by its end-to-end id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatusEntry {
    /// `OrgnlEndToEndId`.
    pub end_to_end_id: String,
    /// `TxSts`; without one, the order's status.
    pub status: OrderStatus,
    /// `StsRsnInf/Rsn/Cd`, e.g. `AC04` (account closed).
    pub reason_code: Option<String>,
}

/// A pain.002 customer payment status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub message_id: String,
    pub created: NaiveDateTime,
    /// `GrpHdr/InitgPty/Nm`, usually the bank.
    pub initiating_party: Option<String>,
    pub original_message_id: String,
    pub original_message_name: String,
    pub orders: Vec<OrderStatusEntry>,
}

impl StatusReport {
    /// The entry of an order id, if the report lists it (the last one wins: later is newer).
    pub fn order(&self, order_id: &str) -> Option<&OrderStatusEntry> {
        self.orders.iter().rev().find(|o| o.order_id == order_id)
    }
}

/// Why a status report could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusReportError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("{path}: no EBICS order id (OrgnlPmtInfId, Orgtr OrderID or AddtlInf)")]
    MissingOrderId { path: String },
    #[error("{path}: no status (PmtInfSts, GrpSts or TxSts)")]
    MissingStatus { path: String },
}

const SCHEME_ORDER_ID: &str = "OrderID";
const SCHEME_ORDER_TYPE: &str = "OrderType";
const SCHEME_TIMESTAMP: &str = "TimeStamp";

/// Writes the report in pain.002.001.03 following the convention of the module docs.
pub fn build(report: &StatusReport) -> String {
    let mut w = XmlWriter::new(1_024 + report.orders.len() * 700);
    w.open_with(
        "Document",
        &[
            ("xmlns", NAMESPACE_V03),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ],
    );
    w.open("CstmrPmtStsRpt");
    w.open("GrpHdr");
    w.leaf("MsgId", &report.message_id);
    w.leaf("CreDtTm", &format_iso_datetime(&report.created));
    if let Some(name) = &report.initiating_party {
        w.open("InitgPty");
        w.leaf("Nm", name);
        w.close();
    }
    w.close();
    w.open("OrgnlGrpInfAndSts");
    w.leaf("OrgnlMsgId", &report.original_message_id);
    w.leaf("OrgnlMsgNmId", &report.original_message_name);
    w.close();
    for order in &report.orders {
        write_order(&mut w, order);
    }
    w.finish()
}

fn write_order(w: &mut XmlWriter, order: &OrderStatusEntry) {
    w.open("OrgnlPmtInfAndSts");
    w.leaf("OrgnlPmtInfId", &order.order_id);
    w.leaf("PmtInfSts", order.status.code());
    w.open("StsRsnInf");
    w.open("Orgtr");
    w.open("Id");
    w.open("OrgId");
    write_proprietary_id(w, &order.order_id, SCHEME_ORDER_ID);
    if let Some(order_type) = &order.order_type {
        write_proprietary_id(w, order_type, SCHEME_ORDER_TYPE);
    }
    if let Some(timestamp) = &order.timestamp {
        write_proprietary_id(w, &format_iso_datetime(timestamp), SCHEME_TIMESTAMP);
    }
    w.close();
    w.close();
    w.close();
    if let Some(code) = &order.reason_code {
        w.open("Rsn");
        w.leaf("Cd", code);
        w.close();
    }
    if let Some(text) = &order.reason_text {
        // AddtlInf is Max105Text, repeatable: long reasons are split, never cut.
        for chunk in chunks(text, 105) {
            w.leaf("AddtlInf", chunk);
        }
    }
    w.close();
    for tx in &order.transactions {
        w.open("TxInfAndSts");
        w.leaf("OrgnlEndToEndId", &tx.end_to_end_id);
        w.leaf("TxSts", tx.status.code());
        if let Some(code) = &tx.reason_code {
            w.open("StsRsnInf");
            w.open("Rsn");
            w.leaf("Cd", code);
            w.close();
            w.close();
        }
        w.close();
    }
    w.close();
}

fn write_proprietary_id(w: &mut XmlWriter, id: &str, scheme: &str) {
    w.open("Othr");
    w.leaf("Id", id);
    w.open("SchmeNm");
    w.leaf("Prtry", scheme);
    w.close();
    w.close();
}

/// Splits at character boundaries into pieces of at most `max` characters.
fn chunks(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .char_indices()
            .nth(max)
            .map_or(rest.len(), |(index, _)| index);
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

/// Parses pain.002 bytes (UTF-8, optional byte order mark).
pub fn parse_bytes(bytes: &[u8]) -> Result<StatusReport, StatusReportError> {
    parse(decode_utf8(bytes)?)
}

/// Parses a pain.002 status report (any pain.002 version), see the module docs for what is
/// accepted.
pub fn parse(xml: &str) -> Result<StatusReport, StatusReportError> {
    let doc = parse_document(xml)?;
    let (root, namespace) = document_root(&doc)?;
    if !namespace.starts_with(NAMESPACE_PREFIX) {
        return Err(XmlError::UnsupportedNamespace {
            found: namespace.chars().take(120).collect(),
            expected: format!("{NAMESPACE_PREFIX}*"),
        }
        .into());
    }
    let message = Cursor::new(root, namespace).req("CstmrPmtStsRpt")?;
    let header = message.req("GrpHdr")?;
    let group = message.req("OrgnlGrpInfAndSts")?;
    let group_status = group.child_text("GrpSts").and_then(OrderStatus::from_code);
    let mut orders = Vec::new();
    for info in message.children("OrgnlPmtInfAndSts") {
        orders.push(parse_entry(
            info,
            "OrgnlPmtInfId",
            "PmtInfSts",
            group_status,
        )?);
    }
    if orders.is_empty() && group.child("GrpSts").is_some() {
        // A report about a single order: its status is the group status.
        orders.push(parse_entry(group, "OrgnlMsgId", "GrpSts", None)?);
    }
    Ok(StatusReport {
        message_id: header.req_text("MsgId")?.to_string(),
        created: header.req("CreDtTm")?.datetime()?,
        initiating_party: header.path_text(&["InitgPty", "Nm"]).map(str::to_string),
        original_message_id: group.req_text("OrgnlMsgId")?.to_string(),
        original_message_name: group.req_text("OrgnlMsgNmId")?.to_string(),
        orders,
    })
}

fn parse_entry(
    info: Cursor<'_, '_>,
    id_element: &str,
    status_element: &str,
    inherited: Option<OrderStatus>,
) -> Result<OrderStatusEntry, StatusReportError> {
    let reason = info.child("StsRsnInf");
    let mut proprietary = Vec::new();
    if let Some(ids) = reason.and_then(|r| r.descend(&["Orgtr", "Id", "OrgId"])) {
        for other in ids.children("Othr") {
            if let (Some(id), Some(scheme)) = (
                other.child_text("Id"),
                other.path_text(&["SchmeNm", "Prtry"]),
            ) {
                proprietary.push((scheme.to_ascii_lowercase(), id.to_string()));
            }
        }
    }
    let scheme = |name: &str| {
        proprietary
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(name))
            .map(|(_, id)| id.clone())
    };
    let reason_text: Option<String> = reason.and_then(|r| {
        // Raw text: a long reason was split into pieces whose edges may be spaces.
        let text: String = r.children("AddtlInf").map(|c| c.raw_text()).collect();
        (!text.trim().is_empty()).then_some(text)
    });
    let from_text = |keys: &[&str]| reason_text.as_deref().and_then(|t| labelled(t, keys));
    let order_id = scheme(SCHEME_ORDER_ID)
        .or_else(|| from_text(&["auftragsnummer", "orderid", "order id", "order-id"]))
        .or_else(|| info.child_text(id_element).map(str::to_string))
        .ok_or_else(|| StatusReportError::MissingOrderId { path: info.path() })?;
    let order_type = scheme(SCHEME_ORDER_TYPE)
        .or_else(|| from_text(&["auftragsart", "ordertype", "order type", "order-type"]));
    let status_text = info.child_text(status_element).or_else(|| {
        info.children("TxInfAndSts")
            .find_map(|tx| tx.child_text("TxSts"))
    });
    let status = status_text
        .and_then(OrderStatus::from_code)
        .or_else(|| info.child_text(id_element).and_then(dk_final_action))
        .or(inherited)
        .ok_or_else(|| StatusReportError::MissingStatus { path: info.path() })?;
    let timestamp = scheme(SCHEME_TIMESTAMP).and_then(|t| crate::datetime::parse_iso_datetime(&t));
    let transactions = info
        .children("TxInfAndSts")
        .filter_map(|tx| {
            Some(TransactionStatusEntry {
                end_to_end_id: tx.child_text("OrgnlEndToEndId")?.to_string(),
                status: tx
                    .child_text("TxSts")
                    .and_then(OrderStatus::from_code)
                    .unwrap_or(status),
                reason_code: tx
                    .child("StsRsnInf")
                    .and_then(|r| {
                        r.path_text(&["Rsn", "Cd"])
                            .or_else(|| r.path_text(&["Rsn", "Prtry"]))
                    })
                    .map(str::to_string),
            })
        })
        .collect();
    Ok(OrderStatusEntry {
        transactions,
        order_id,
        order_type,
        status,
        reason_code: reason
            .and_then(|r| {
                r.path_text(&["Rsn", "Cd"])
                    .or_else(|| r.path_text(&["Rsn", "Prtry"]))
            })
            .map(str::to_string),
        reason_text,
        timestamp,
    })
}

/// DK HAC reports name the processing step in `OrgnlPmtInfId`; the final steps say how the
/// order ended even without a status code.
fn dk_final_action(action: &str) -> Option<OrderStatus> {
    match action {
        "ORDER_HAC_FINAL_POS" => Some(OrderStatus::Accepted),
        "ORDER_HAC_FINAL_NEG" => Some(OrderStatus::Rejected),
        _ => None,
    }
}

/// The value after a label such as `Auftragsart: CCT` or `OrderID=A001` in free text: the next
/// word of letters and digits.
fn labelled(text: &str, keys: &[&str]) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    keys.iter().find_map(|key| {
        let start = lower.find(key)? + key.len();
        let rest = text.get(start..)?;
        let rest = rest.trim_start_matches(|c: char| c == ':' || c == '=' || c.is_whitespace());
        let value: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        (!value.is_empty()).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partly_accepted_order_is_final_and_pending_codes_are_not() {
        assert_eq!(OrderStatus::from_code("part"), Some(OrderStatus::Accepted));
        assert_eq!(OrderStatus::from_code("ACSC"), Some(OrderStatus::Accepted));
        assert_eq!(OrderStatus::from_code("PDNG"), Some(OrderStatus::Pending));
        assert_eq!(OrderStatus::from_code("RCVD"), Some(OrderStatus::Pending));
        assert_eq!(OrderStatus::from_code("CANC"), Some(OrderStatus::Rejected));
        assert_eq!(OrderStatus::from_code("XXXX"), None);
    }

    #[test]
    fn labels_in_free_text_are_found_in_either_language() {
        let keys = ["auftragsnummer", "order id"];
        assert_eq!(
            labelled("Auftragsnummer: A001 ok", &keys),
            Some("A001".into())
        );
        assert_eq!(labelled("order id=B00Z, done", &keys), Some("B00Z".into()));
        assert_eq!(labelled("nothing here", &keys), None);
    }

    #[test]
    fn long_texts_split_at_character_boundaries() {
        let text = "ä".repeat(230);
        let parts: Vec<&str> = chunks(&text, 105).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), text);
    }
}
