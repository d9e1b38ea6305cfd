//! Key management envelopes (ebics_keymgmt_request/response_H00x.xsd):
//! - `ebicsUnsecuredRequest` (INI, HIA, H3K): no signature, order data in the clear
//!   (compressed, base64). H004 fixes `OrderAttribute` to `DZNNN`.
//! - `ebicsNoPubKeyDigestsRequest` (HPB): X002-signed, no bank key digests (the client does not
//!   have the bank keys yet). H004 fixes `OrderAttribute` to `DZHNN`.
//! - `ebicsKeyManagementResponse`: return codes, optionally encrypted order data (HPB).
//!   Not signed.
//!
//! In all three the `header` element carries `authenticate="true"` (required by the schema).

use chrono::{DateTime, Utc};
use roxmltree::Node;

use super::common::{parse_subscriber_ids, write_subscriber_ids, SubscriberIds};
use super::response::{
    check_status, parse_body_return_code, parse_data_transfer, parse_mutable_status, write_body,
    write_mutable_status, DataTransferParts,
};
use super::types::{
    DataEncryptionInfo, HostId, Nonce, OrderId, PartnerId, Product, SecurityMedium, UserId,
};
use super::xml::{
    base64_of, format_timestamp, parse_envelope, parse_timestamp, text_of, token_of, Children,
    Frame, XmlOut,
};
use super::EnvelopeError;
use crate::order_type::OrderType;
use crate::return_code::ReturnCode;
use crate::version::ProtocolVersion;

const UNSECURED: &str = "ebicsUnsecuredRequest";
const NO_PUB_KEY_DIGESTS: &str = "ebicsNoPubKeyDigestsRequest";
const KEY_MANAGEMENT_RESPONSE: &str = "ebicsKeyManagementResponse";

/// `ebicsUnsecuredRequest`: INI, HIA or H3K.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredRequest {
    pub version: ProtocolVersion,
    pub host_id: HostId,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub system_id: Option<UserId>,
    pub product: Option<Product>,
    /// INI, HIA or H3K.
    pub order_type: OrderType,
    pub security_medium: SecurityMedium,
    /// The compressed key document (opaque; base64 in XML).
    pub order_data: Vec<u8>,
}

impl UnsecuredRequest {
    /// The complete request (no signature is involved).
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let mut out = XmlOut::envelope(UNSECURED, self.version)?;
        if !matches!(
            self.order_type,
            OrderType::INI | OrderType::HIA | OrderType::H3K
        ) {
            return Err(EnvelopeError::InvalidValue {
                element: "OrderType",
                reason: format!("{} is not sent as an unsecured request", self.order_type),
            });
        }
        out.start("static", &[])?;
        out.text("HostID", &[], self.host_id.as_str())?;
        write_subscriber_ids(
            &mut out,
            &self.partner_id,
            &self.user_id,
            self.system_id.as_ref(),
            self.product.as_ref(),
        )?;
        write_static_tail(
            &mut out,
            self.version,
            &self.order_type,
            "DZNNN",
            &self.security_medium,
        )?;
        out.start("body", &[])?;
        out.start("DataTransfer", &[])?;
        out.base64("OrderData", &[], &self.order_data)?;
        out.end("DataTransfer")?;
        out.end("body")?;
        out.end(UNSECURED)?;
        out.finish()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, UNSECURED, false, Self::from_frame)
    }

    fn from_frame(f: Frame<'_, '_>) -> Result<Self, EnvelopeError> {
        Children::of(f.mutable_node, "mutable", f.ns).finish()?;

        let mut s = Children::of(f.static_node, "static", f.ns);
        let host_id = HostId::new(token_of(s.required("HostID")?))?;
        let SubscriberIds {
            partner_id,
            user_id,
            system_id,
            product,
        } = parse_subscriber_ids(&mut s)?;
        let order_type =
            parse_keymgmt_order_details(s.required("OrderDetails")?, f.version, "DZNNN")?;
        let security_medium = SecurityMedium::new(token_of(s.required("SecurityMedium")?))?;
        s.finish()?;

        let mut b = Children::of(f.body, "body", f.ns);
        let mut d = Children::of(b.required("DataTransfer")?, "DataTransfer", f.ns);
        let order_data = base64_of(d.required("OrderData")?, "OrderData")?;
        d.finish()?;
        b.finish()?;
        Ok(Self {
            version: f.version,
            host_id,
            partner_id,
            user_id,
            system_id,
            product,
            order_type,
            security_medium,
            order_data,
        })
    }
}

/// `ebicsNoPubKeyDigestsRequest`: HPB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPubKeyDigestsRequest {
    pub version: ProtocolVersion,
    pub host_id: HostId,
    pub nonce: Nonce,
    pub timestamp: DateTime<Utc>,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub system_id: Option<UserId>,
    pub product: Option<Product>,
    /// HPB (the only order type using this request).
    pub order_type: OrderType,
    pub security_medium: SecurityMedium,
}

impl NoPubKeyDigestsRequest {
    /// The document without `AuthSignature`.
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let mut out = XmlOut::envelope(NO_PUB_KEY_DIGESTS, self.version)?;
        out.start("static", &[])?;
        out.text("HostID", &[], self.host_id.as_str())?;
        out.text("Nonce", &[], &self.nonce.to_hex())?;
        out.text("Timestamp", &[], &format_timestamp(&self.timestamp))?;
        write_subscriber_ids(
            &mut out,
            &self.partner_id,
            &self.user_id,
            self.system_id.as_ref(),
            self.product.as_ref(),
        )?;
        write_static_tail(
            &mut out,
            self.version,
            &self.order_type,
            "DZHNN",
            &self.security_medium,
        )?;
        out.empty("body", &[])?;
        out.end(NO_PUB_KEY_DIGESTS)?;
        out.finish()
    }

    /// Parses the request without checking the signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, NO_PUB_KEY_DIGESTS, true, Self::from_frame)
    }

    fn from_frame(f: Frame<'_, '_>) -> Result<Self, EnvelopeError> {
        Children::of(f.body, "body", f.ns).finish()?;
        Children::of(f.mutable_node, "mutable", f.ns).finish()?;

        let mut s = Children::of(f.static_node, "static", f.ns);
        let host_id = HostId::new(token_of(s.required("HostID")?))?;
        let nonce = Nonce::from_hex(&text_of(s.required("Nonce")?))?;
        let timestamp = parse_timestamp("Timestamp", &text_of(s.required("Timestamp")?))?;
        let SubscriberIds {
            partner_id,
            user_id,
            system_id,
            product,
        } = parse_subscriber_ids(&mut s)?;
        let order_type =
            parse_keymgmt_order_details(s.required("OrderDetails")?, f.version, "DZHNN")?;
        let security_medium = SecurityMedium::new(token_of(s.required("SecurityMedium")?))?;
        s.finish()?;
        Ok(Self {
            version: f.version,
            host_id,
            nonce,
            timestamp,
            partner_id,
            user_id,
            system_id,
            product,
            order_type,
            security_medium,
        })
    }
}

x002_signed!(NoPubKeyDigestsRequest, "subscriber");

/// Ends the `static` header of both key management requests (order details, security medium)
/// and the header itself (its `mutable` part is empty).
fn write_static_tail(
    out: &mut XmlOut,
    version: ProtocolVersion,
    order_type: &OrderType,
    fixed_attribute: &str,
    security_medium: &SecurityMedium,
) -> Result<(), EnvelopeError> {
    write_keymgmt_order_details(out, version, order_type, fixed_attribute)?;
    out.text("SecurityMedium", &[], security_medium.as_str())?;
    out.end("static")?;
    out.empty("mutable", &[])?;
    out.end("header")
}

fn write_keymgmt_order_details(
    out: &mut XmlOut,
    version: ProtocolVersion,
    order_type: &OrderType,
    fixed_attribute: &str,
) -> Result<(), EnvelopeError> {
    out.start("OrderDetails", &[])?;
    if version.uses_btf() {
        out.text("AdminOrderType", &[], order_type.as_str())?;
    } else {
        out.text("OrderType", &[], order_type.as_str())?;
        out.text("OrderAttribute", &[], fixed_attribute)?;
    }
    out.end("OrderDetails")
}

fn parse_keymgmt_order_details(
    node: Node<'_, '_>,
    version: ProtocolVersion,
    fixed_attribute: &str,
) -> Result<OrderType, EnvelopeError> {
    let mut c = Children::of(node, "OrderDetails", version.namespace());
    let order_type = if version.uses_btf() {
        OrderType::parse_lenient(&token_of(c.required("AdminOrderType")?))?
    } else {
        let order_type = OrderType::parse_lenient(&token_of(c.required("OrderType")?))?;
        let attribute = token_of(c.required("OrderAttribute")?);
        if attribute != fixed_attribute {
            return Err(EnvelopeError::InvalidValue {
                element: "OrderAttribute",
                reason: format!("expected {fixed_attribute}, got {attribute:?}"),
            });
        }
        order_type
    };
    c.finish()?;
    Ok(order_type)
}

/// Order data of a key management response (HPB: the bank keys, encrypted for the subscriber).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyManagementDataTransfer {
    pub data_encryption_info: DataEncryptionInfo,
    pub order_data: Vec<u8>,
}

impl DataTransferParts for KeyManagementDataTransfer {
    fn parts(&self) -> (Option<&DataEncryptionInfo>, &[u8]) {
        (Some(&self.data_encryption_info), &self.order_data)
    }
}

/// `ebicsKeyManagementResponse` (INI, HIA, H3K, HPB responses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyManagementResponse {
    pub version: ProtocolVersion,
    pub order_id: Option<OrderId>,
    /// `header/mutable/ReturnCode`.
    pub technical_return_code: ReturnCode,
    pub report_text: String,
    pub data_transfer: Option<KeyManagementDataTransfer>,
    /// `body/ReturnCode`.
    pub business_return_code: ReturnCode,
    pub timestamp_bank_parameter: Option<DateTime<Utc>>,
}

impl KeyManagementResponse {
    /// The complete response (key management responses are not signed).
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let mut out = XmlOut::envelope(KEY_MANAGEMENT_RESPONSE, self.version)?;
        check_status(
            &self.technical_return_code,
            &self.business_return_code,
            &self.report_text,
        )?;
        out.empty("static", &[])?;
        out.start("mutable", &[])?;
        write_mutable_status(
            &mut out,
            self.order_id.as_ref(),
            &self.technical_return_code,
            &self.report_text,
        )?;
        write_body(
            &mut out,
            self.data_transfer.as_ref(),
            &self.business_return_code,
            self.timestamp_bank_parameter.as_ref(),
        )?;
        out.end(KEY_MANAGEMENT_RESPONSE)?;
        out.finish()
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, KEY_MANAGEMENT_RESPONSE, false, Self::from_frame)
    }

    fn from_frame(f: Frame<'_, '_>) -> Result<Self, EnvelopeError> {
        Children::of(f.static_node, "static", f.ns).finish()?;
        let (order_id, technical_return_code, report_text) =
            parse_mutable_status(Children::of(f.mutable_node, "mutable", f.ns))?;

        let mut b = Children::of(f.body, "body", f.ns);
        let data_transfer = parse_data_transfer(&mut b, f.ns, true)?.and_then(|dt| {
            // Present: `parse_data_transfer` requires the info in a key management response.
            Some(KeyManagementDataTransfer {
                data_encryption_info: dt.data_encryption_info?,
                order_data: dt.order_data,
            })
        });
        let (business_return_code, timestamp_bank_parameter) = parse_body_return_code(b)?;
        Ok(Self {
            version: f.version,
            order_id,
            technical_return_code,
            report_text,
            data_transfer,
            business_return_code,
            timestamp_bank_parameter,
        })
    }
}
