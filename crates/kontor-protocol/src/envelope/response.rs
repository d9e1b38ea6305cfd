//! `ebicsResponse`, H004 and H005 (ebics_response_H00x.xsd).
//!
//! header (authenticated): static (TransactionID?, NumSegments?), mutable (TransactionPhase,
//! SegmentNumber?, OrderID?, ReturnCode, ReportText); AuthSignature; body: DataTransfer?
//! (DataEncryptionInfo authenticated, then OrderData), ReturnCode (authenticated),
//! TimestampBankParameter? (authenticated).

use chrono::{DateTime, Utc};
use roxmltree::Node;
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::common::{parse_data_encryption_info, write_data_encryption_info};
use super::request::parse_segment;
use super::types::{DataEncryptionInfo, OrderId, SegmentNumber, TransactionId, TransactionPhase};
use super::xml::{
    as_text, base64_of, format_timestamp, parse_document, parse_frame, parse_timestamp, parse_u32,
    require_authenticated, text_of, token_of, Children, Frame, XmlOut,
};
use super::EnvelopeError;
use crate::return_code::ReturnCode;
use crate::version::ProtocolVersion;
use crate::xmldsig;

const ROOT: &str = "ebicsResponse";

/// Order data returned in a response (a download segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseDataTransfer {
    /// Present in the first segment (initialisation response) only.
    pub data_encryption_info: Option<DataEncryptionInfo>,
    /// The encrypted order data segment (opaque).
    pub order_data: Vec<u8>,
}

/// An `ebicsResponse` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbicsResponse {
    pub version: ProtocolVersion,
    /// Assigned in the initialisation response.
    pub transaction_id: Option<TransactionId>,
    /// Number of download segments (initialisation response of a download).
    pub num_segments: Option<u32>,
    pub phase: TransactionPhase,
    pub segment: Option<SegmentNumber>,
    pub order_id: Option<OrderId>,
    /// `header/mutable/ReturnCode`.
    pub technical_return_code: ReturnCode,
    /// `header/mutable/ReportText` (at most 256 characters).
    pub report_text: String,
    pub data_transfer: Option<ResponseDataTransfer>,
    /// `body/ReturnCode`.
    pub business_return_code: ReturnCode,
    pub timestamp_bank_parameter: Option<DateTime<Utc>>,
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

    /// The document without `AuthSignature` (see [`EbicsResponse::to_signed_xml`]).
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let version = self.version;
        if !matches!(version, ProtocolVersion::H004 | ProtocolVersion::H005) {
            return Err(EnvelopeError::UnsupportedVersion(
                version.as_str().to_owned(),
            ));
        }
        check_return_code(&self.technical_return_code)?;
        check_return_code(&self.business_return_code)?;
        check_report_text(&self.report_text)?;
        let mut out = XmlOut::new()?;
        out.root(ROOT, version)?;
        out.start("header", &[("authenticate", "true")])?;
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
        if let Some(segment) = &self.segment {
            out.text(
                "SegmentNumber",
                &[(
                    "lastSegment",
                    if segment.is_last() { "true" } else { "false" },
                )],
                &segment.number().to_string(),
            )?;
        }
        if let Some(order_id) = &self.order_id {
            out.text("OrderID", &[], order_id.as_str())?;
        }
        out.text("ReturnCode", &[], self.technical_return_code.code())?;
        out.text("ReportText", &[], &self.report_text)?;
        out.end("mutable")?;
        out.end("header")?;
        out.start("body", &[])?;
        if let Some(dt) = &self.data_transfer {
            out.start("DataTransfer", &[])?;
            if let Some(info) = &dt.data_encryption_info {
                write_data_encryption_info(&mut out, info)?;
            }
            out.base64("OrderData", &[], &dt.order_data)?;
            out.end("DataTransfer")?;
        }
        write_body_return_code(
            &mut out,
            &self.business_return_code,
            self.timestamp_bank_parameter.as_ref(),
        )?;
        out.end("body")?;
        out.end(ROOT)?;
        out.finish()
    }

    /// The complete response, signed with the bank's X002 key (bank side).
    pub fn to_signed_xml(
        &self,
        bank_authentication_key: &RsaPrivateKey,
    ) -> Result<Vec<u8>, EnvelopeError> {
        Ok(xmldsig::sign(&self.to_xml()?, bank_authentication_key)?.into_bytes())
    }

    /// Parses a response without checking its signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let text = as_text(bytes)?;
        let doc = parse_document(text)?;
        parse_root(doc.root_element())
    }

    /// Checks the bank's X002 signature.
    pub fn verify(
        bytes: &[u8],
        bank_authentication_key: &RsaPublicKey,
    ) -> Result<(), EnvelopeError> {
        Ok(xmldsig::verify(as_text(bytes)?, bank_authentication_key)?)
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

/// Writes the end of a response body shared by `ebicsResponse` and
/// `ebicsKeyManagementResponse` (the counterpart of [`parse_body_return_code`]).
pub(crate) fn write_body_return_code(
    out: &mut XmlOut,
    business_return_code: &ReturnCode,
    timestamp_bank_parameter: Option<&DateTime<Utc>>,
) -> Result<(), EnvelopeError> {
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
    Ok(())
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

fn parse_root(root: Node<'_, '_>) -> Result<EbicsResponse, EnvelopeError> {
    let Frame {
        version,
        ns,
        static_node,
        mutable_node,
        body,
    } = parse_frame(root, ROOT, true)?;

    let mut s = Children::of(static_node, "static", ns);
    let transaction_id = s
        .optional("TransactionID")
        .map(|n| TransactionId::from_hex(&text_of(n)))
        .transpose()?;
    let num_segments = s
        .optional("NumSegments")
        .map(|n| parse_u32("NumSegments", &text_of(n)))
        .transpose()?;
    s.finish()?;

    let mut m = Children::of(mutable_node, "mutable", ns);
    let phase = token_of(m.required("TransactionPhase")?).parse::<TransactionPhase>()?;
    let segment = m.optional("SegmentNumber").map(parse_segment).transpose()?;
    let order_id = m
        .optional("OrderID")
        .map(|n| OrderId::new(token_of(n)))
        .transpose()?;
    let technical_return_code = parse_return_code(m.required("ReturnCode")?, false)?;
    let report_text = text_of(m.required("ReportText")?);
    m.finish()?;

    let mut b = Children::of(body, "body", ns);
    let data_transfer = match b.optional("DataTransfer") {
        Some(dt) => {
            let mut d = Children::of(dt, "DataTransfer", ns);
            let data_encryption_info = d
                .optional("DataEncryptionInfo")
                .map(|n| parse_data_encryption_info(n, ns))
                .transpose()?;
            let order_data = base64_of(d.required("OrderData")?, "OrderData")?;
            d.finish()?;
            Some(ResponseDataTransfer {
                data_encryption_info,
                order_data,
            })
        }
        None => None,
    };
    let (business_return_code, timestamp_bank_parameter) = parse_body_return_code(b)?;

    Ok(EbicsResponse {
        version,
        transaction_id,
        num_segments,
        phase,
        segment,
        order_id,
        technical_return_code,
        report_text,
        data_transfer,
        business_return_code,
        timestamp_bank_parameter,
    })
}
