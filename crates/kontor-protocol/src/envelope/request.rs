//! `ebicsRequest`: the three phases of an EBICS transaction (initialisation, transfer,
//! receipt), H004 and H005.
//!
//! Schema facts this module encodes (ebics_request_H00x.xsd):
//! - `header` carries `authenticate="true"`; `AuthSignature` follows it; then `body`.
//! - Initialisation: the static header has Nonce, Timestamp, PartnerID, UserID, SystemID?,
//!   Product?, OrderDetails, BankPubKeyDigests, SecurityMedium, NumSegments? (uploads).
//!   Uploads send `DataEncryptionInfo` and `SignatureData` (both authenticated) in the body;
//!   H005 adds the mandatory `DataDigest` and optional `AdditionalOrderInfo`.
//! - Transfer and receipt: the static header has only HostID and TransactionID. An upload
//!   transfer carries one `OrderData` segment; a download transfer has an empty body.
//! - Receipt: `TransferReceipt authenticate="true"` with `ReceiptCode` 0 or 1.
//!
//! Transfer and receipt requests contain no nonce or timestamp, and PKCS#1 v1.5 signatures are
//! deterministic, so re-sending a segment after an interruption (recovery) produces exactly
//! the same bytes from the same inputs.

use chrono::{DateTime, Utc};
use roxmltree::Node;

use super::common::{
    parse_data_encryption_info, parse_digest, write_data_encryption_info, write_digest,
    SubscriberIds,
};
use super::order_params::OrderDetails;
use super::types::{
    BankPubKeyDigests, DataDigest, DataEncryptionInfo, HostId, Nonce, ReceiptCode, SecurityMedium,
    SegmentNumber, TransactionId, TransactionPhase,
};
use super::xml::{
    attr, base64_of, format_timestamp, parse_bool, parse_envelope, parse_timestamp, parse_u32,
    require_authenticated, text_of, token_of, Children, Frame, XmlOut,
};
use super::EnvelopeError;
use crate::version::{AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion};

const ROOT: &str = "ebicsRequest";

/// An `ebicsRequest` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EbicsRequest {
    /// First request of a transaction (names the order, announces uploads). Boxed: it is
    /// ten times larger than the other phases.
    Initialisation(Box<InitialisationRequest>),
    /// Upload of one segment, or request for one download segment.
    Transfer(TransferRequest),
    /// Download acknowledgement.
    Receipt(ReceiptRequest),
}

/// The static header of an initialisation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitHeader {
    pub host_id: HostId,
    pub nonce: Nonce,
    pub timestamp: DateTime<Utc>,
    pub subscriber: SubscriberIds,
    pub order_details: OrderDetails,
    pub bank_pub_key_digests: BankPubKeyDigests,
    pub security_medium: SecurityMedium,
}

/// What an upload initialisation adds to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInit {
    /// Number of order data segments that follow (0 for signature-only orders).
    pub num_segments: u32,
    pub data_encryption_info: DataEncryptionInfo,
    /// Encrypted, compressed `UserSignatureData` (opaque).
    pub signature_data: Vec<u8>,
    /// H005: hash of the signed order data. Required for H005, not allowed for H004.
    pub data_digest: Option<DataDigest>,
    /// H005: optional free text for the distributed signature (at most 255 characters).
    pub additional_order_info: Option<String>,
}

/// Initialisation phase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialisationRequest {
    pub version: ProtocolVersion,
    pub header: InitHeader,
    /// `Some` for uploads, `None` for downloads.
    pub upload: Option<UploadInit>,
}

/// Transfer phase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub version: ProtocolVersion,
    pub host_id: HostId,
    pub transaction_id: TransactionId,
    pub segment: SegmentNumber,
    /// Upload: the encrypted order data segment. Download: `None`.
    pub order_data: Option<Vec<u8>>,
}

/// Receipt phase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRequest {
    pub version: ProtocolVersion,
    pub host_id: HostId,
    pub transaction_id: TransactionId,
    pub receipt_code: ReceiptCode,
}

impl EbicsRequest {
    /// The protocol version.
    pub fn version(&self) -> ProtocolVersion {
        match self {
            Self::Initialisation(r) => r.version,
            Self::Transfer(r) => r.version,
            Self::Receipt(r) => r.version,
        }
    }

    /// The transaction phase.
    pub fn phase(&self) -> TransactionPhase {
        match self {
            Self::Initialisation(_) => TransactionPhase::Initialisation,
            Self::Transfer(_) => TransactionPhase::Transfer,
            Self::Receipt(_) => TransactionPhase::Receipt,
        }
    }

    /// The document without `AuthSignature` (not schema-valid until signed; see
    /// [`EbicsRequest::to_signed_xml`]).
    pub fn to_xml(&self) -> Result<String, EnvelopeError> {
        let version = self.version();
        let mut out = XmlOut::envelope(ROOT, version)?;
        out.start("static", &[])?;
        match self {
            Self::Initialisation(r) => write_init_static(&mut out, r)?,
            Self::Transfer(r) => {
                out.text("HostID", &[], r.host_id.as_str())?;
                out.text("TransactionID", &[], &r.transaction_id.to_hex())?;
            }
            Self::Receipt(r) => {
                out.text("HostID", &[], r.host_id.as_str())?;
                out.text("TransactionID", &[], &r.transaction_id.to_hex())?;
            }
        }
        out.end("static")?;
        out.start("mutable", &[])?;
        out.text("TransactionPhase", &[], self.phase().as_str())?;
        if let Self::Transfer(r) = self {
            write_segment(&mut out, &r.segment)?;
        }
        out.end("mutable")?;
        out.end("header")?;
        out.start("body", &[])?;
        match self {
            Self::Initialisation(r) => {
                if let Some(upload) = &r.upload {
                    write_upload_body(&mut out, version, upload)?;
                }
            }
            Self::Transfer(r) => {
                if let Some(data) = &r.order_data {
                    out.start("DataTransfer", &[])?;
                    out.base64("OrderData", &[], data)?;
                    out.end("DataTransfer")?;
                }
            }
            Self::Receipt(r) => {
                out.start("TransferReceipt", &[("authenticate", "true")])?;
                out.text("ReceiptCode", &[], r.receipt_code.as_str())?;
                out.end("TransferReceipt")?;
            }
        }
        out.end("body")?;
        out.end(ROOT)?;
        out.finish()
    }

    /// Parses a request (bank side). Does not check the signature: look up the subscriber's
    /// key from the parsed header, then call [`EbicsRequest::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        parse_envelope(bytes, ROOT, true, parse_frame_contents)
    }
}

x002_signed!(EbicsRequest, "subscriber");

impl From<InitialisationRequest> for EbicsRequest {
    fn from(r: InitialisationRequest) -> Self {
        Self::Initialisation(Box::new(r))
    }
}

impl From<TransferRequest> for EbicsRequest {
    fn from(r: TransferRequest) -> Self {
        Self::Transfer(r)
    }
}

impl From<ReceiptRequest> for EbicsRequest {
    fn from(r: ReceiptRequest) -> Self {
        Self::Receipt(r)
    }
}

/// `SegmentNumber` with its `lastSegment` flag (transfer requests and responses).
pub(crate) fn write_segment(
    out: &mut XmlOut,
    segment: &SegmentNumber,
) -> Result<(), EnvelopeError> {
    out.text(
        "SegmentNumber",
        &[(
            "lastSegment",
            if segment.is_last() { "true" } else { "false" },
        )],
        &segment.number().to_string(),
    )
}

pub(crate) fn parse_segment(node: Node<'_, '_>) -> Result<SegmentNumber, EnvelopeError> {
    let last = parse_bool("SegmentNumber", attr(node, "SegmentNumber", "lastSegment")?)?;
    SegmentNumber::new(parse_u32("SegmentNumber", &text_of(node))?, last)
}

fn write_init_static(out: &mut XmlOut, r: &InitialisationRequest) -> Result<(), EnvelopeError> {
    let h = &r.header;
    out.text("HostID", &[], h.host_id.as_str())?;
    out.text("Nonce", &[], &h.nonce.to_hex())?;
    out.text("Timestamp", &[], &format_timestamp(&h.timestamp))?;
    h.subscriber.write(out)?;
    h.order_details.write(out, r.version)?;
    let d = &h.bank_pub_key_digests;
    out.start("BankPubKeyDigests", &[])?;
    write_digest(
        out,
        "Authentication",
        d.authentication_version.as_str(),
        &d.authentication,
    )?;
    write_digest(
        out,
        "Encryption",
        d.encryption_version.as_str(),
        &d.encryption,
    )?;
    out.end("BankPubKeyDigests")?;
    out.text("SecurityMedium", &[], h.security_medium.as_str())?;
    if let Some(upload) = &r.upload {
        out.text("NumSegments", &[], &upload.num_segments.to_string())?;
    }
    Ok(())
}

fn write_upload_body(
    out: &mut XmlOut,
    version: ProtocolVersion,
    upload: &UploadInit,
) -> Result<(), EnvelopeError> {
    out.start("DataTransfer", &[])?;
    write_data_encryption_info(out, &upload.data_encryption_info)?;
    out.base64(
        "SignatureData",
        &[("authenticate", "true")],
        &upload.signature_data,
    )?;
    if version.uses_btf() {
        let digest = upload
            .data_digest
            .as_ref()
            .ok_or(EnvelopeError::MissingElement {
                parent: "DataTransfer",
                element: "DataDigest",
            })?;
        out.base64(
            "DataDigest",
            &[("SignatureVersion", digest.signature_version.as_str())],
            &digest.digest,
        )?;
        if let Some(info) = &upload.additional_order_info {
            if info.chars().count() > 255 || info.contains(['\t', '\n', '\r']) {
                return Err(EnvelopeError::InvalidValue {
                    element: "AdditionalOrderInfo",
                    reason: "at most 255 characters without line breaks".into(),
                });
            }
            out.text("AdditionalOrderInfo", &[], info)?;
        }
    } else if upload.data_digest.is_some() || upload.additional_order_info.is_some() {
        return Err(EnvelopeError::UnsupportedInVersion {
            feature: "DataDigest/AdditionalOrderInfo in the upload body",
            version,
        });
    }
    out.end("DataTransfer")
}

fn parse_frame_contents(frame: Frame<'_, '_>) -> Result<EbicsRequest, EnvelopeError> {
    let Frame {
        version,
        ns,
        static_node,
        mutable_node,
        body,
    } = frame;

    let mut m = Children::of(mutable_node, "mutable", ns);
    let phase = token_of(m.required("TransactionPhase")?).parse::<TransactionPhase>()?;
    let segment = m.optional("SegmentNumber").map(parse_segment).transpose()?;
    m.finish()?;

    let mut s = Children::of(static_node, "static", ns);
    let host_id = HostId::new(token_of(s.required("HostID")?))?;

    let mut b = Children::of(body, "body", ns);
    let request = match phase {
        TransactionPhase::Initialisation => {
            let header = parse_init_static(&mut s, version, host_id)?;
            let num_segments = s
                .optional("NumSegments")
                .map(|n| parse_u32("NumSegments", &text_of(n)))
                .transpose()?;
            let upload = match (b.optional("DataTransfer"), num_segments) {
                (Some(dt), Some(num_segments)) => {
                    Some(parse_upload_body(dt, version, num_segments)?)
                }
                (Some(_), None) => {
                    return Err(EnvelopeError::MissingElement {
                        parent: "static",
                        element: "NumSegments",
                    })
                }
                (None, _) => None,
            };
            EbicsRequest::Initialisation(Box::new(InitialisationRequest {
                version,
                header,
                upload,
            }))
        }
        TransactionPhase::Transfer => {
            let transaction_id = TransactionId::from_hex(&text_of(s.required("TransactionID")?))?;
            let segment = segment.ok_or(EnvelopeError::MissingElement {
                parent: "mutable",
                element: "SegmentNumber",
            })?;
            let order_data = match b.optional("DataTransfer") {
                Some(dt) => {
                    let mut d = Children::of(dt, "DataTransfer", ns);
                    let data = base64_of(d.required("OrderData")?, "OrderData")?;
                    d.finish()?;
                    Some(data)
                }
                None => None,
            };
            EbicsRequest::Transfer(TransferRequest {
                version,
                host_id,
                transaction_id,
                segment,
                order_data,
            })
        }
        TransactionPhase::Receipt => {
            let transaction_id = TransactionId::from_hex(&text_of(s.required("TransactionID")?))?;
            let receipt = b.required("TransferReceipt")?;
            require_authenticated(receipt, "TransferReceipt")?;
            let mut r = Children::of(receipt, "TransferReceipt", ns);
            let receipt_code = match token_of(r.required("ReceiptCode")?).as_str() {
                "0" => ReceiptCode::Acknowledged,
                "1" => ReceiptCode::NotAcknowledged,
                other => {
                    return Err(EnvelopeError::InvalidValue {
                        element: "ReceiptCode",
                        reason: format!("expected 0 or 1, got {other:?}"),
                    })
                }
            };
            r.finish()?;
            EbicsRequest::Receipt(ReceiptRequest {
                version,
                host_id,
                transaction_id,
                receipt_code,
            })
        }
    };
    s.finish()?;
    b.finish()?;
    Ok(request)
}

fn parse_init_static(
    s: &mut Children<'_, '_>,
    version: ProtocolVersion,
    host_id: HostId,
) -> Result<InitHeader, EnvelopeError> {
    let ns = version.namespace();
    let nonce = Nonce::from_hex(&text_of(s.required("Nonce")?))?;
    let timestamp = parse_timestamp("Timestamp", &text_of(s.required("Timestamp")?))?;
    let subscriber = SubscriberIds::parse(s)?;
    let order_details = OrderDetails::parse(s.required("OrderDetails")?, version)?;
    let digests = s.required("BankPubKeyDigests")?;
    let mut d = Children::of(digests, "BankPubKeyDigests", ns);
    let (auth_version, authentication) =
        parse_digest(d.required("Authentication")?, "Authentication")?;
    let (enc_version, encryption) = parse_digest(d.required("Encryption")?, "Encryption")?;
    d.finish()?;
    let security_medium = SecurityMedium::new(token_of(s.required("SecurityMedium")?))?;
    Ok(InitHeader {
        host_id,
        nonce,
        timestamp,
        subscriber,
        order_details,
        bank_pub_key_digests: BankPubKeyDigests {
            authentication_version: auth_version.parse::<AuthenticationVersion>()?,
            authentication,
            encryption_version: enc_version.parse::<EncryptionVersion>()?,
            encryption,
        },
        security_medium,
    })
}

fn parse_upload_body(
    dt: Node<'_, '_>,
    version: ProtocolVersion,
    num_segments: u32,
) -> Result<UploadInit, EnvelopeError> {
    let ns = version.namespace();
    let mut d = Children::of(dt, "DataTransfer", ns);
    let data_encryption_info = parse_data_encryption_info(d.required("DataEncryptionInfo")?, ns)?;
    let signature_node = d.required("SignatureData")?;
    require_authenticated(signature_node, "SignatureData")?;
    let signature_data = base64_of(signature_node, "SignatureData")?;
    let (data_digest, additional_order_info) = if version.uses_btf() {
        let digest_node = d.required("DataDigest")?;
        let signature_version =
            attr(digest_node, "DataDigest", "SignatureVersion")?.parse::<SignatureVersion>()?;
        let digest = base64_of(digest_node, "DataDigest")?;
        let info = d.optional("AdditionalOrderInfo").map(text_of);
        (
            Some(DataDigest {
                signature_version,
                digest,
            }),
            info,
        )
    } else {
        (None, None)
    };
    d.finish()?;
    Ok(UploadInit {
        num_segments,
        data_encryption_info,
        signature_data,
        data_digest,
        additional_order_info,
    })
}
