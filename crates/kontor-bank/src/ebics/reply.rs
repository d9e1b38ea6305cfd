//! Building answers: every `ebicsResponse` is signed with the bank's X002 key (even errors, as
//! real banks do, so clients can tell a bank answer from a proxy's); key management responses
//! are unsigned by definition.

use kontor_protocol::envelope::{EbicsResponse, KeyManagementResponse, TransactionPhase};
use kontor_protocol::return_code::ReturnCode as WireCode;
use kontor_protocol::ProtocolVersion;

use crate::dispatch::{DispatchResponse, RequestContext};
use crate::keys::BankKeyPairs;
use crate::return_codes::{ReturnCode, ReturnCodeKind};

/// Why a request is refused: the EBICS return code and a detail for the report text and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub code: ReturnCode,
    pub detail: String,
}

impl Reject {
    pub fn new(code: ReturnCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// The `[SYMBOL] text: detail` report text (at most 256 characters).
    pub fn report_text(&self) -> String {
        let mut text = format!("[{}] {}", self.code.symbol, self.code.text);
        if !self.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&self.detail);
        }
        truncate(text)
    }
}

fn truncate(mut text: String) -> String {
    if text.chars().count() > 256 {
        text = text.chars().take(256).collect();
    }
    text
}

/// The wire form of one of the emulator's codes.
pub fn wire(code: ReturnCode) -> WireCode {
    match code.kind {
        ReturnCodeKind::Technical => WireCode::technical(code.code),
        ReturnCodeKind::Business => WireCode::business(code.code),
    }
}

/// The (technical, business) pair for a code: the other slot is `000000`.
pub fn split(code: ReturnCode) -> (WireCode, WireCode) {
    match code.kind {
        ReturnCodeKind::Technical => (wire(code), wire(ReturnCode::OK)),
        ReturnCodeKind::Business => (wire(ReturnCode::OK), wire(code)),
    }
}

/// A response carrying only a return code.
pub fn status(version: ProtocolVersion, phase: TransactionPhase, reject: &Reject) -> EbicsResponse {
    let (technical, business) = split(reject.code);
    let mut response = EbicsResponse::status(version, phase, technical, business);
    response.report_text = reject.report_text();
    response
}

/// A successful response without data (the caller fills in the rest).
pub fn ok(version: ProtocolVersion, phase: TransactionPhase) -> EbicsResponse {
    EbicsResponse::status(version, phase, wire(ReturnCode::OK), wire(ReturnCode::OK))
}

/// Signs a response with the bank's X002 key; honours the "wrong signature" fault.
pub fn signed(
    ctx: &RequestContext,
    keys: &BankKeyPairs,
    response: &EbicsResponse,
) -> DispatchResponse {
    match response.to_signed_xml(keys.authentication.rsa_private_key()) {
        Ok(mut xml) => {
            if ctx.faults.corrupt_auth_signature {
                corrupt_signature_value(&mut xml);
            }
            DispatchResponse::xml(xml)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot build an ebicsResponse");
            DispatchResponse::ebics_error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                &crate::envelope::RequestEnvelope::default(),
                ReturnCode::INTERNAL_ERROR,
                &format!("response could not be built: {e}"),
            )
        }
    }
}

/// Flips one bit of the first base64 character of `SignatureValue`, keeping it valid base64
/// and the document well-formed, so only the signature check can notice.
fn corrupt_signature_value(xml: &mut [u8]) {
    let Some(start) = find(xml, b"SignatureValue>") else {
        return;
    };
    let at = start + b"SignatureValue>".len();
    if let Some(byte) = xml.get_mut(at) {
        *byte = match *byte {
            b'A' => b'B',
            _ => b'A',
        };
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An unsigned key management response.
pub fn key_management(
    version: ProtocolVersion,
    reject: Option<&Reject>,
    order_id: Option<kontor_protocol::envelope::OrderId>,
    data: Option<kontor_protocol::envelope::KeyManagementDataTransfer>,
) -> DispatchResponse {
    let (technical, business, text) = match reject {
        Some(r) => {
            let (t, b) = split(r.code);
            (t, b, r.report_text())
        }
        None => (
            wire(ReturnCode::OK),
            wire(ReturnCode::OK),
            "[EBICS_OK] OK".to_owned(),
        ),
    };
    let response = KeyManagementResponse {
        version,
        order_id,
        technical_return_code: technical,
        report_text: text,
        data_transfer: data,
        business_return_code: business,
        timestamp_bank_parameter: None,
    };
    match response.to_xml() {
        Ok(xml) => DispatchResponse::xml(xml),
        Err(e) => DispatchResponse::ebics_error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            &crate::envelope::RequestEnvelope::default(),
            ReturnCode::INTERNAL_ERROR,
            &format!("response could not be built: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corrupted_signature_stays_well_formed_but_differs() {
        let mut xml = b"<a><ds:SignatureValue>AbC=</ds:SignatureValue></a>".to_vec();
        corrupt_signature_value(&mut xml);
        assert_eq!(xml, b"<a><ds:SignatureValue>BbC=</ds:SignatureValue></a>");
    }

    #[test]
    fn report_texts_name_the_symbol_and_stay_short() {
        let r = Reject::new(ReturnCode::AMOUNT_CHECK_FAILED, "x".repeat(400));
        assert!(r.report_text().starts_with("[EBICS_AMOUNT_CHECK_FAILED]"));
        assert_eq!(r.report_text().chars().count(), 256);
    }
}
