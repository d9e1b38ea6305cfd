//! A quick, tolerant look at an incoming EBICS message: which message family it is, which
//! protocol version, who claims to send it, which order type, transaction phase and segment.
//!
//! This is routing information only. Nothing here is verified (no signature, no schema); the
//! dispatcher must not trust these values before the protocol layer authenticated the request.
//! The body is read under the shared XML policy of `kontor-xml` before anyone is authenticated:
//! no DTD (entity tricks cannot reach the bank), bounded nesting (a deeply nested body cannot
//! overflow the stack and abort the emulator) and bounded node count.

use kontor_protocol::ProtocolVersion;
use kontor_xml::{Limits, ReadError};
use roxmltree::Node;
use serde::{Deserialize, Serialize};

use kontor_protocol::order_type::BtfServiceText;

/// Namespace of the version-independent HEV messages.
pub const HEV_NAMESPACE: &str = "http://www.ebics.org/H000";

/// The reading policy of requests: the shared defaults, with a node limit far above any real
/// EBICS message (order data is one base64 text node), low enough to stop a node flood from
/// eating memory.
const LIMITS: Limits = Limits {
    nodes: 100_000,
    ..Limits::DEFAULT
};

/// The EBICS message families, by root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageFamily {
    /// `ebicsHEVRequest`: which protocol versions does the bank speak?
    Hev,
    /// `ebicsUnsecuredRequest`: INI, HIA (and H3K) – key submission without authentication.
    Unsecured,
    /// `ebicsNoPubKeyDigestsRequest`: HPB – signed, but the client has no bank keys yet.
    NoPubKeyDigests,
    /// `ebicsUnsignedRequest`: upload without electronic signature (rarely offered).
    Unsigned,
    /// `ebicsRequest`: everything else, in Initialisation, Transfer and Receipt phases.
    Request,
}

impl MessageFamily {
    /// The family of a root element name.
    fn from_root(local_name: &str) -> Option<Self> {
        Some(match local_name {
            "ebicsHEVRequest" => Self::Hev,
            "ebicsUnsecuredRequest" => Self::Unsecured,
            "ebicsNoPubKeyDigestsRequest" => Self::NoPubKeyDigests,
            "ebicsUnsignedRequest" => Self::Unsigned,
            "ebicsRequest" => Self::Request,
            _ => return None,
        })
    }

    /// The root element of the answer to a request of this family.
    pub fn response_root(self) -> &'static str {
        match self {
            Self::Hev => "ebicsHEVResponse",
            Self::Unsecured | Self::NoPubKeyDigests => "ebicsKeyManagementResponse",
            Self::Unsigned | Self::Request => "ebicsResponse",
        }
    }
}

/// Transaction phase of an `ebicsRequest` (`header/mutable/TransactionPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransactionPhase {
    Initialisation,
    Transfer,
    Receipt,
}

impl TransactionPhase {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Initialisation" => Self::Initialisation,
            "Transfer" => Self::Transfer,
            "Receipt" => Self::Receipt,
            _ => return None,
        })
    }
}

/// What the request claims about itself. All strings are untrusted client input.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RequestEnvelope {
    /// Message family (`None` only if the root element is not an EBICS request).
    pub family: Option<MessageFamily>,
    /// Local name of the root element.
    pub root_element: String,
    /// Namespace of the root element.
    pub namespace: Option<String>,
    /// Protocol version implied by the namespace (`None` for HEV and unknown namespaces).
    pub protocol: Option<ProtocolVersion>,
    /// `Version` attribute of the root element.
    pub version_attribute: Option<String>,
    /// `Revision` attribute of the root element.
    pub revision_attribute: Option<String>,
    pub host_id: Option<String>,
    pub partner_id: Option<String>,
    pub user_id: Option<String>,
    pub nonce: Option<String>,
    pub timestamp: Option<String>,
    /// H004 `OrderType`, H005 `AdminOrderType`.
    pub order_type: Option<String>,
    /// H004 `OrderAttribute` (e.g. `DZHNN`).
    pub order_attribute: Option<String>,
    /// H005 BTF service of a BTU/BTD request.
    pub btf: Option<BtfServiceText>,
    /// `header/static/TransactionID` (Transfer and Receipt phases).
    pub transaction_id: Option<String>,
    /// `header/static/NumSegments` (upload initialisation).
    pub num_segments: Option<u32>,
    pub phase: Option<TransactionPhase>,
    /// `header/mutable/SegmentNumber`.
    pub segment_number: Option<u32>,
    /// `SegmentNumber/@lastSegment`.
    pub last_segment: Option<bool>,
}

/// Why a request could not even be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("request body is empty")]
    Empty,
    #[error("request body is not UTF-8")]
    NotUtf8,
    /// Not well-formed, a DTD, or beyond the limits of the XML policy.
    #[error("request is not readable XML: {0}")]
    Xml(ReadError),
    #[error("root element <{0}> is not an EBICS request")]
    UnknownRoot(String),
    #[error("ebicsRequest without a valid header/mutable/TransactionPhase")]
    MissingPhase,
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(node: Option<Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn protocol_of(namespace: Option<&str>) -> Option<ProtocolVersion> {
    match namespace? {
        "http://www.ebics.org/H003" => Some(ProtocolVersion::H003),
        "urn:org:ebics:H004" => Some(ProtocolVersion::H004),
        "urn:org:ebics:H005" => Some(ProtocolVersion::H005),
        "urn:org:ebics:H006" => Some(ProtocolVersion::H006),
        _ => None,
    }
}

/// The BTF `Service` of an H005 `BTUOrderParams`/`BTDOrderParams`.
fn btf_service(order_details: Node<'_, '_>) -> Option<BtfServiceText> {
    let params = child(order_details, "BTUOrderParams")
        .or_else(|| child(order_details, "BTDOrderParams"))?;
    let service = child(params, "Service")?;
    let msg = child(service, "MsgName");
    Some(BtfServiceText {
        service_name: text(child(service, "ServiceName")).unwrap_or_default(),
        scope: text(child(service, "Scope")),
        service_option: text(child(service, "ServiceOption")),
        container: child(service, "Container")
            .and_then(|c| c.attribute("containerType"))
            .map(str::to_owned),
        msg_name: text(msg).unwrap_or_default(),
        msg_version: msg.and_then(|m| m.attribute("version")).map(str::to_owned),
        msg_variant: msg.and_then(|m| m.attribute("variant")).map(str::to_owned),
        msg_format: msg.and_then(|m| m.attribute("format")).map(str::to_owned),
    })
}

impl RequestEnvelope {
    /// Reads the routing information of a request body.
    pub fn sniff(body: &[u8]) -> Result<Self, EnvelopeError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(EnvelopeError::Empty);
        }
        let xml = kontor_xml::decode(body).map_err(|_| EnvelopeError::NotUtf8)?;
        let doc = kontor_xml::parse(xml, &LIMITS).map_err(EnvelopeError::Xml)?;
        let root = doc.root_element();
        let root_name = root.tag_name().name().to_owned();
        let family = MessageFamily::from_root(&root_name)
            .ok_or_else(|| EnvelopeError::UnknownRoot(root_name.clone()))?;
        let namespace = root.tag_name().namespace().map(str::to_owned);

        let mut env = RequestEnvelope {
            family: Some(family),
            protocol: protocol_of(namespace.as_deref()),
            namespace,
            root_element: root_name,
            version_attribute: root.attribute("Version").map(str::to_owned),
            revision_attribute: root.attribute("Revision").map(str::to_owned),
            ..Self::default()
        };

        if family == MessageFamily::Hev {
            env.host_id = text(child(root, "HostID"));
            env.order_type = Some("HEV".to_owned());
            return Ok(env);
        }

        let header = child(root, "header");
        let stat = header.and_then(|h| child(h, "static"));
        let mutable = header.and_then(|h| child(h, "mutable"));
        if let Some(s) = stat {
            env.host_id = text(child(s, "HostID"));
            env.partner_id = text(child(s, "PartnerID"));
            env.user_id = text(child(s, "UserID"));
            env.nonce = text(child(s, "Nonce"));
            env.timestamp = text(child(s, "Timestamp"));
            env.transaction_id = text(child(s, "TransactionID"));
            env.num_segments = text(child(s, "NumSegments")).and_then(|n| n.parse().ok());
            if let Some(details) = child(s, "OrderDetails") {
                env.order_type = text(child(details, "OrderType"))
                    .or_else(|| text(child(details, "AdminOrderType")));
                env.order_attribute = text(child(details, "OrderAttribute"));
                env.btf = btf_service(details);
            }
        }
        if let Some(m) = mutable {
            env.phase = text(child(m, "TransactionPhase"))
                .as_deref()
                .and_then(TransactionPhase::parse);
            if let Some(seg) = child(m, "SegmentNumber") {
                env.segment_number = seg.text().and_then(|t| t.trim().parse().ok());
                env.last_segment = seg
                    .attribute("lastSegment")
                    .map(|v| v == "true" || v == "1");
            }
        }
        if family == MessageFamily::Request && env.phase.is_none() {
            return Err(EnvelopeError::MissingPhase);
        }
        Ok(env)
    }

    /// The segment a fault rule sees: the SegmentNumber if present, 1 for an Initialisation
    /// (it carries or returns the first segment), none otherwise.
    pub fn effective_segment(&self) -> Option<u32> {
        self.segment_number
            .or_else(|| (self.phase == Some(TransactionPhase::Initialisation)).then_some(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_STA_INIT: &str =
        include_str!("../../../tests/interop-node/captures/04-STA-init.request.xml");
    const NODE_STA_RECEIPT: &str =
        include_str!("../../../tests/interop-node/captures/05-STA-receipt.request.xml");
    const NODE_INI: &str = include_str!("../../../tests/interop-node/captures/01-INI.request.xml");
    const NODE_HPB: &str = include_str!("../../../tests/interop-node/captures/03-HPB.request.xml");
    const NODE_CCT_TRANSFER: &str =
        include_str!("../../../tests/interop-node/captures/09-CCT-transfer.request.xml");

    #[test]
    fn node_client_download_initialisation_is_routed() {
        let env = RequestEnvelope::sniff(NODE_STA_INIT.as_bytes()).expect("routable");
        assert_eq!(env.family, Some(MessageFamily::Request));
        assert_eq!(env.protocol, Some(ProtocolVersion::H004));
        assert_eq!(env.phase, Some(TransactionPhase::Initialisation));
        assert_eq!(env.order_type.as_deref(), Some("STA"));
        assert_eq!(env.order_attribute.as_deref(), Some("DZHNN"));
        assert_eq!(env.host_id.as_deref(), Some("KONTORBANK"));
        assert_eq!(env.partner_id.as_deref(), Some("PARTNER1"));
        assert_eq!(env.user_id.as_deref(), Some("USER1"));
        assert_eq!(env.nonce.as_ref().map(String::len), Some(32));
        assert_eq!(env.effective_segment(), Some(1));
    }

    #[test]
    fn receipt_and_transfer_carry_only_the_transaction_id() {
        let receipt = RequestEnvelope::sniff(NODE_STA_RECEIPT.as_bytes()).expect("routable");
        assert_eq!(receipt.phase, Some(TransactionPhase::Receipt));
        assert!(receipt.order_type.is_none());
        assert_eq!(receipt.transaction_id.as_ref().map(String::len), Some(32));
        assert_eq!(receipt.effective_segment(), None);

        let transfer = RequestEnvelope::sniff(NODE_CCT_TRANSFER.as_bytes()).expect("routable");
        assert_eq!(transfer.phase, Some(TransactionPhase::Transfer));
        assert_eq!(
            (transfer.segment_number, transfer.last_segment),
            (Some(1), Some(true))
        );
    }

    #[test]
    fn key_management_families_are_recognised() {
        let ini = RequestEnvelope::sniff(NODE_INI.as_bytes()).expect("routable");
        assert_eq!(
            (ini.family, ini.order_type.as_deref()),
            (Some(MessageFamily::Unsecured), Some("INI"))
        );
        assert_eq!(ini.phase, None);
        let hpb = RequestEnvelope::sniff(NODE_HPB.as_bytes()).expect("routable");
        assert_eq!(
            (hpb.family, hpb.order_type.as_deref()),
            (Some(MessageFamily::NoPubKeyDigests), Some("HPB"))
        );
    }

    #[test]
    fn h005_btf_parameters_are_read() {
        let xml = r#"<?xml version="1.0"?>
<ebicsRequest xmlns="urn:org:ebics:H005" Version="H005" Revision="1"><header authenticate="true"><static>
<HostID>KONTORBANK</HostID><Nonce>00112233445566778899AABBCCDDEEFF</Nonce><Timestamp>2024-01-01T00:00:00Z</Timestamp>
<PartnerID>PARTNER1</PartnerID><UserID>USER1</UserID><OrderDetails><AdminOrderType>BTD</AdminOrderType>
<BTDOrderParams><Service><ServiceName>EOP</ServiceName><Scope>DE</Scope><Container containerType="ZIP"/>
<MsgName version="08">camt.053</MsgName></Service></BTDOrderParams></OrderDetails></static>
<mutable><TransactionPhase>Initialisation</TransactionPhase></mutable></header><body/></ebicsRequest>"#;
        let env = RequestEnvelope::sniff(xml.as_bytes()).expect("routable");
        assert_eq!(env.protocol, Some(ProtocolVersion::H005));
        assert_eq!(env.order_type.as_deref(), Some("BTD"));
        let btf = env.btf.expect("service");
        assert_eq!(btf.service_name, "EOP");
        assert_eq!(btf.scope.as_deref(), Some("DE"));
        assert_eq!(btf.container.as_deref(), Some("ZIP"));
        assert_eq!(btf.msg_name, "camt.053");
        assert_eq!(btf.msg_version.as_deref(), Some("08"));
    }

    #[test]
    fn hev_requests_are_recognised() {
        let xml = r#"<ebicsHEVRequest xmlns="http://www.ebics.org/H000"><HostID>KONTORBANK</HostID></ebicsHEVRequest>"#;
        let env = RequestEnvelope::sniff(xml.as_bytes()).expect("routable");
        assert_eq!(env.family, Some(MessageFamily::Hev));
        assert_eq!(env.host_id.as_deref(), Some("KONTORBANK"));
        assert_eq!(env.protocol, None);
    }

    #[test]
    fn unroutable_input_is_classified() {
        assert_eq!(RequestEnvelope::sniff(b"  "), Err(EnvelopeError::Empty));
        assert_eq!(
            RequestEnvelope::sniff(&[0xff, 0xfe, 0x3c]),
            Err(EnvelopeError::NotUtf8)
        );
        assert!(matches!(
            RequestEnvelope::sniff(b"<ebicsRequest><header>"),
            Err(EnvelopeError::Xml(_))
        ));
        assert_eq!(
            RequestEnvelope::sniff(b"<html/>"),
            Err(EnvelopeError::UnknownRoot("html".into()))
        );
        assert_eq!(
            RequestEnvelope::sniff(
                br#"<ebicsRequest xmlns="urn:org:ebics:H004"><header/></ebicsRequest>"#
            ),
            Err(EnvelopeError::MissingPhase)
        );
    }

    #[test]
    fn documents_with_a_dtd_are_rejected() {
        let xml = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><ebicsHEVRequest xmlns="http://www.ebics.org/H000"><HostID>&e;</HostID></ebicsHEVRequest>"#;
        assert_eq!(
            RequestEnvelope::sniff(xml),
            Err(EnvelopeError::Xml(ReadError::DtdNotAllowed))
        );
    }

    #[test]
    fn a_deeply_nested_body_is_refused_without_exhausting_the_stack() {
        let depth = 100_000;
        let xml = format!(
            r#"<ebicsRequest xmlns="urn:org:ebics:H004">{}{}</ebicsRequest>"#,
            "<header>".repeat(depth),
            "</header>".repeat(depth)
        );
        assert_eq!(
            RequestEnvelope::sniff(xml.as_bytes()),
            Err(EnvelopeError::Xml(ReadError::LimitExceeded {
                what: kontor_xml::Limit::Depth,
                limit: 256
            }))
        );
    }
}
