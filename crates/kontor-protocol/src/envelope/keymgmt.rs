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

use super::common::SubscriberIds;
use super::response::{
    check_status, parse_body_return_code, parse_data_transfer, parse_mutable_status, write_body,
    write_mutable_status, DataTransferParts,
};
use super::types::{DataEncryptionInfo, HostId, Nonce, OrderId, SecurityMedium};
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
    pub subscriber: SubscriberIds,
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
        write_static_tail(&mut out, self.version, self)?;
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
        let (subscriber, order_type, security_medium) = parse_static_tail::<Self>(s, f.version)?;

        let mut b = Children::of(f.body, "body", f.ns);
        let mut d = Children::of(b.required("DataTransfer")?, "DataTransfer", f.ns);
        let order_data = base64_of(d.required("OrderData")?, "OrderData")?;
        d.finish()?;
        b.finish()?;
        Ok(Self {
            version: f.version,
            host_id,
            subscriber,
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
    pub subscriber: SubscriberIds,
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
        write_static_tail(&mut out, self.version, self)?;
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
        let (subscriber, order_type, security_medium) = parse_static_tail::<Self>(s, f.version)?;
        Ok(Self {
            version: f.version,
            host_id,
            nonce,
            timestamp,
            subscriber,
            order_type,
            security_medium,
        })
    }
}

x002_signed!(NoPubKeyDigestsRequest, "subscriber");

/// What both key management requests name in their `static` header after the host (and the
/// nonce and timestamp of HPB), and the `OrderAttribute` H004 fixes for them.
trait KeyManagementStatic {
    const FIXED_ATTRIBUTE: &'static str;
    fn subscriber(&self) -> &SubscriberIds;
    fn order_type(&self) -> &OrderType;
    fn security_medium(&self) -> &SecurityMedium;
}

macro_rules! key_management_static {
    ($($request:ty => $fixed_attribute:literal),+ $(,)?) => {$(
        impl KeyManagementStatic for $request {
            const FIXED_ATTRIBUTE: &'static str = $fixed_attribute;
            fn subscriber(&self) -> &SubscriberIds {
                &self.subscriber
            }
            fn order_type(&self) -> &OrderType {
                &self.order_type
            }
            fn security_medium(&self) -> &SecurityMedium {
                &self.security_medium
            }
        }
    )+};
}

key_management_static!(UnsecuredRequest => "DZNNN", NoPubKeyDigestsRequest => "DZHNN");

/// Ends the `static` header of both key management requests (subscriber, order details,
/// security medium) and the header itself (its `mutable` part is empty).
fn write_static_tail<R: KeyManagementStatic>(
    out: &mut XmlOut,
    version: ProtocolVersion,
    request: &R,
) -> Result<(), EnvelopeError> {
    request.subscriber().write(out)?;
    write_keymgmt_order_details(out, version, request.order_type(), R::FIXED_ATTRIBUTE)?;
    out.text("SecurityMedium", &[], request.security_medium().as_str())?;
    out.end("static")?;
    out.empty("mutable", &[])?;
    out.end("header")
}

/// Parses the counterpart of [`write_static_tail`] up to the end of the `static` header.
fn parse_static_tail<R: KeyManagementStatic>(
    mut s: Children<'_, '_>,
    version: ProtocolVersion,
) -> Result<(SubscriberIds, OrderType, SecurityMedium), EnvelopeError> {
    let subscriber = SubscriberIds::parse(&mut s)?;
    let order_type =
        parse_keymgmt_order_details(s.required("OrderDetails")?, version, R::FIXED_ATTRIBUTE)?;
    let security_medium = SecurityMedium::new(token_of(s.required("SecurityMedium")?))?;
    s.finish()?;
    Ok((subscriber, order_type, security_medium))
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

response_with_status! {
    /// `ebicsKeyManagementResponse` (INI, HIA, H3K, HPB responses).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct KeyManagementResponse {}
    data_transfer: KeyManagementDataTransfer,
    root: KEY_MANAGEMENT_RESPONSE,
    header: write_response_header,
    parse_header: parse_response_header,
    parse_data_transfer: parse_key_data_transfer,
    /// The complete response (key management responses are not signed).
}

impl KeyManagementResponse {
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, KEY_MANAGEMENT_RESPONSE, false, Self::from_frame)
    }
}

/// A key management response has an empty `static` header and nothing of its own in
/// `mutable` before the status.
fn write_response_header(_: &KeyManagementResponse, out: &mut XmlOut) -> Result<(), EnvelopeError> {
    out.empty("static", &[])?;
    out.start("mutable", &[])
}

fn parse_response_header<'a, 'input>(
    f: &Frame<'a, 'input>,
) -> Result<((), Children<'a, 'input>), EnvelopeError> {
    Children::of(f.static_node, "static", f.ns).finish()?;
    Ok(((), Children::of(f.mutable_node, "mutable", f.ns)))
}

fn parse_key_data_transfer(
    b: &mut Children<'_, '_>,
    ns: &str,
) -> Result<Option<KeyManagementDataTransfer>, EnvelopeError> {
    Ok(parse_data_transfer(b, ns, true)?.and_then(|dt| {
        // Present: `parse_data_transfer` requires the info in a key management response.
        Some(KeyManagementDataTransfer {
            data_encryption_info: dt.data_encryption_info?,
            order_data: dt.order_data,
        })
    }))
}
