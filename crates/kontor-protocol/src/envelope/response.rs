//! `ebicsResponse`, H004 and H005 (ebics_response_H00x.xsd).
//!
//! header (authenticated): static (TransactionID?, NumSegments?), mutable (TransactionPhase,
//! SegmentNumber?, OrderID?, ReturnCode, ReportText); AuthSignature; body: DataTransfer?
//! (DataEncryptionInfo authenticated, then OrderData), ReturnCode (authenticated),
//! TimestampBankParameter? (authenticated).

use chrono::{DateTime, Utc};
use roxmltree::Node;
use rsa::RsaPublicKey;

use super::common::{parse_data_encryption_info, write_data_encryption_info};
use super::request::{parse_segment, write_segment};
use super::types::{DataEncryptionInfo, OrderId, SegmentNumber, TransactionId, TransactionPhase};
use super::xml::{
    base64_of, format_timestamp, parse_envelope, parse_timestamp, parse_u32, require_authenticated,
    text_of, token_of, Children, Frame, XmlOut,
};
use super::EnvelopeError;
use crate::return_code::ReturnCode;
use crate::version::ProtocolVersion;

const ROOT: &str = "ebicsResponse";

/// Order data returned in a response (a download segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseDataTransfer {
    /// Present in the first segment (initialisation response) only.
    pub data_encryption_info: Option<DataEncryptionInfo>,
    /// The encrypted order data segment (opaque).
    pub order_data: Vec<u8>,
}

response_with_status! {
    /// An `ebicsResponse` document.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EbicsResponse {
        /// Assigned in the initialisation response.
        pub transaction_id: Option<TransactionId>,
        /// Number of download segments (initialisation response of a download).
        pub num_segments: Option<u32>,
        pub phase: TransactionPhase,
        pub segment: Option<SegmentNumber>,
    }
    data_transfer: ResponseDataTransfer,
    root: ROOT,
    header: EbicsResponse::write_header_start,
    parse_header: parse_header,
    parse_data_transfer: parse_optional_data_transfer,
    /// The document without `AuthSignature` (see [`EbicsResponse::to_signed_xml`]).
}

impl EbicsResponse {
    /// A response carrying only return codes (e.g. an error, or an upload acknowledgement).
    pub fn status(
        version: ProtocolVersion,
        phase: TransactionPhase,
        technical: ReturnCode,
        business: ReturnCode,
    ) -> Self {
        let report_text = technical
            .symbolic_name()
            .map(|n| format!("[{n}] {}", technical.meaning()))
            .unwrap_or_else(|| technical.meaning().to_owned());
        Self {
            version,
            transaction_id: None,
            num_segments: None,
            phase,
            segment: None,
            order_id: None,
            technical_return_code: technical,
            report_text,
            data_transfer: None,
            business_return_code: business,
            timestamp_bank_parameter: None,
        }
    }

    /// Writes `static` and the start of `mutable`, up to the status.
    fn write_header_start(&self, out: &mut XmlOut) -> Result<(), EnvelopeError> {
        out.start("static", &[])?;
        if let Some(id) = &self.transaction_id {
            out.text("TransactionID", &[], &id.to_hex())?;
        }
        if let Some(n) = self.num_segments {
            if n == 0 {
                return Err(EnvelopeError::InvalidValue {
                    element: "NumSegments",
                    reason: "a response announces at least one segment".into(),
                });
            }
            out.text("NumSegments", &[], &n.to_string())?;
        }
        out.end("static")?;
        out.start("mutable", &[])?;
        out.text("TransactionPhase", &[], self.phase.as_str())?;
        match &self.segment {
            Some(segment) => write_segment(out, segment),
            None => Ok(()),
        }
    }

    /// Parses a response without checking its signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, ROOT, true, Self::from_frame)
    }

    /// Verifies the bank's signature, then parses (client side).
    pub fn parse_verified(
        bytes: &[u8],
        bank_authentication_key: &RsaPublicKey,
    ) -> Result<Self, EnvelopeError> {
        Self::verify(bytes, bank_authentication_key)?;
        Self::parse(bytes)
    }
}

x002_signed!(EbicsResponse, "bank");

/// Checks the status every response carries: two six-digit return codes and a report text.
pub(crate) fn check_status(
    technical_return_code: &ReturnCode,
    business_return_code: &ReturnCode,
    report_text: &str,
) -> Result<(), EnvelopeError> {
    check_return_code(technical_return_code)?;
    check_return_code(business_return_code)?;
    check_report_text(report_text)
}

pub(crate) fn check_return_code(code: &ReturnCode) -> Result<(), EnvelopeError> {
    let c = code.code();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(EnvelopeError::InvalidValue {
            element: "ReturnCode",
            reason: format!("{c:?} is not six digits"),
        })
    }
}

pub(crate) fn check_report_text(text: &str) -> Result<(), EnvelopeError> {
    if text.chars().count() > 256 || text.contains(['\t', '\n', '\r']) {
        Err(EnvelopeError::InvalidValue {
            element: "ReportText",
            reason: "at most 256 characters without line breaks".into(),
        })
    } else {
        Ok(())
    }
}

/// Ends the `mutable` header of `ebicsResponse` and `ebicsKeyManagementResponse` (`OrderID?`,
/// `ReturnCode`, `ReportText`) and the header itself (the counterpart of
/// [`parse_mutable_status`]).
pub(crate) fn write_mutable_status(
    out: &mut XmlOut,
    order_id: Option<&OrderId>,
    technical_return_code: &ReturnCode,
    report_text: &str,
) -> Result<(), EnvelopeError> {
    if let Some(order_id) = order_id {
        out.text("OrderID", &[], order_id.as_str())?;
    }
    out.text("ReturnCode", &[], technical_return_code.code())?;
    out.text("ReportText", &[], report_text)?;
    out.end("mutable")?;
    out.end("header")
}

/// Parses the end of a response's `mutable` header (see [`write_mutable_status`]): the order
/// id, the technical return code and the report text; checks nothing else follows.
pub(crate) fn parse_mutable_status(
    mut m: Children<'_, '_>,
) -> Result<(Option<OrderId>, ReturnCode, String), EnvelopeError> {
    let order_id = m
        .optional("OrderID")
        .map(|n| OrderId::new(token_of(n)))
        .transpose()?;
    let technical_return_code = parse_return_code(m.required("ReturnCode")?, false)?;
    let report_text = text_of(m.required("ReportText")?);
    m.finish()?;
    Ok((order_id, technical_return_code, report_text))
}

/// Parses a six-digit return code element.
pub(crate) fn parse_return_code(
    node: Node<'_, '_>,
    business: bool,
) -> Result<ReturnCode, EnvelopeError> {
    let code = token_of(node);
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EnvelopeError::InvalidValue {
            element: "ReturnCode",
            reason: format!("{code:?} is not six digits"),
        });
    }
    Ok(if business {
        ReturnCode::business(&code)
    } else {
        ReturnCode::technical(&code)
    })
}

/// The parts of a response's `DataTransfer`: the `DataEncryptionInfo` (optional in an
/// `ebicsResponse` segment after the first, required in a key management response) and the
/// order data.
pub(crate) trait DataTransferParts {
    fn parts(&self) -> (Option<&DataEncryptionInfo>, &[u8]);
}

impl DataTransferParts for ResponseDataTransfer {
    fn parts(&self) -> (Option<&DataEncryptionInfo>, &[u8]) {
        (self.data_encryption_info.as_ref(), &self.order_data)
    }
}

/// Writes the body of `ebicsResponse` and `ebicsKeyManagementResponse`: the optional
/// `DataTransfer` (`DataEncryptionInfo?`, `OrderData`), the authenticated business
/// `ReturnCode` and the optional authenticated `TimestampBankParameter`.
pub(crate) fn write_body<D: DataTransferParts>(
    out: &mut XmlOut,
    data_transfer: Option<&D>,
    business_return_code: &ReturnCode,
    timestamp_bank_parameter: Option<&DateTime<Utc>>,
) -> Result<(), EnvelopeError> {
    out.start("body", &[])?;
    if let Some((data_encryption_info, order_data)) = data_transfer.map(D::parts) {
        out.start("DataTransfer", &[])?;
        if let Some(info) = data_encryption_info {
            write_data_encryption_info(out, info)?;
        }
        out.base64("OrderData", &[], order_data)?;
        out.end("DataTransfer")?;
    }
    out.text(
        "ReturnCode",
        &[("authenticate", "true")],
        business_return_code.code(),
    )?;
    if let Some(ts) = timestamp_bank_parameter {
        out.text(
            "TimestampBankParameter",
            &[("authenticate", "true")],
            &format_timestamp(ts),
        )?;
    }
    out.end("body")
}

/// Parses a response body's optional `DataTransfer`: its `DataEncryptionInfo` (required when
/// `encryption_info_required`, as in a key management response) and the order data.
pub(crate) fn parse_data_transfer(
    b: &mut Children<'_, '_>,
    ns: &str,
    encryption_info_required: bool,
) -> Result<Option<ResponseDataTransfer>, EnvelopeError> {
    let Some(dt) = b.optional("DataTransfer") else {
        return Ok(None);
    };
    let mut d = Children::of(dt, "DataTransfer", ns);
    let info_node = if encryption_info_required {
        Some(d.required("DataEncryptionInfo")?)
    } else {
        d.optional("DataEncryptionInfo")
    };
    let data_encryption_info = info_node
        .map(|n| parse_data_encryption_info(n, ns))
        .transpose()?;
    let order_data = base64_of(d.required("OrderData")?, "OrderData")?;
    d.finish()?;
    Ok(Some(ResponseDataTransfer {
        data_encryption_info,
        order_data,
    }))
}

/// Parses the end of a response body shared by `ebicsResponse` and
/// `ebicsKeyManagementResponse`: the authenticated business `ReturnCode` and the optional
/// authenticated `TimestampBankParameter`, then checks nothing else follows.
pub(crate) fn parse_body_return_code(
    mut b: Children<'_, '_>,
) -> Result<(ReturnCode, Option<DateTime<Utc>>), EnvelopeError> {
    let rc = b.required("ReturnCode")?;
    require_authenticated(rc, "ReturnCode")?;
    let business_return_code = parse_return_code(rc, true)?;
    let timestamp_bank_parameter = match b.optional("TimestampBankParameter") {
        Some(n) => {
            require_authenticated(n, "TimestampBankParameter")?;
            Some(parse_timestamp("TimestampBankParameter", &text_of(n))?)
        }
        None => None,
    };
    b.finish()?;
    Ok((business_return_code, timestamp_bank_parameter))
}

/// An `ebicsResponse` segment names its `DataEncryptionInfo` in the first segment only.
fn parse_optional_data_transfer(
    b: &mut Children<'_, '_>,
    ns: &str,
) -> Result<Option<ResponseDataTransfer>, EnvelopeError> {
    parse_data_transfer(b, ns, false)
}

/// The fields of an `ebicsResponse` before its status: transaction id and segment count
/// (`static`), phase and segment (`mutable`).
type HeaderFields = (
    Option<TransactionId>,
    Option<u32>,
    TransactionPhase,
    Option<SegmentNumber>,
);

fn parse_header<'a, 'input>(
    f: &Frame<'a, 'input>,
) -> Result<(HeaderFields, Children<'a, 'input>), EnvelopeError> {
    let mut s = Children::of(f.static_node, "static", f.ns);
    let transaction_id = s
        .optional("TransactionID")
        .map(|n| TransactionId::from_hex(&text_of(n)))
        .transpose()?;
    let num_segments = s
        .optional("NumSegments")
        .map(|n| parse_u32("NumSegments", &text_of(n)))
        .transpose()?;
    s.finish()?;

    let mut m = Children::of(f.mutable_node, "mutable", f.ns);
    let phase = token_of(m.required("TransactionPhase")?).parse::<TransactionPhase>()?;
    let segment = m.optional("SegmentNumber").map(parse_segment).transpose()?;
    Ok(((transaction_id, num_segments, phase, segment), m))
}
