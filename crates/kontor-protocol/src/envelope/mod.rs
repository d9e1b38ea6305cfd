//! The EBICS messages exchanged over HTTP, as typed models with `to_xml()` and `parse()` for
//! both sides: the client builds requests and parses responses, the bank emulator parses
//! requests and builds responses.
//!
//! | message | type | signed |
//! |---|---|---|
//! | `ebicsHEVRequest` / `ebicsHEVResponse` (H000) | [`HevRequest`], [`HevResponse`] | no |
//! | `ebicsUnsecuredRequest` (INI, HIA, H3K) | [`UnsecuredRequest`] | no |
//! | `ebicsNoPubKeyDigestsRequest` (HPB) | [`NoPubKeyDigestsRequest`] | X002 |
//! | `ebicsKeyManagementResponse` | [`KeyManagementResponse`] | no |
//! | `ebicsRequest` (initialisation, transfer, receipt) | [`EbicsRequest`] | X002 |
//! | `ebicsResponse` | [`EbicsResponse`] | X002 (bank key) |
//!
//! Order data, transaction keys and signature data are opaque bytes here (base64 in XML);
//! encryption, compression and key documents live in other modules. Parsing never panics:
//! malformed input yields an [`EnvelopeError`].

/// Adds `to_signed_xml` and `verify` to an envelope type whose `to_xml` leaves out
/// `AuthSignature`: the X002 signature (EBICS spec 5.5.1.1.1) is made and checked the same way
/// for every signed envelope, only the key holder differs (`$signer`).
macro_rules! x002_signed {
    ($envelope:ty, $signer:literal) => {
        impl $envelope {
            #[doc = concat!("The complete document, signed with the ", $signer, "'s X002 key.")]
            pub fn to_signed_xml(
                &self,
                authentication_key: &rsa::RsaPrivateKey,
            ) -> Result<Vec<u8>, EnvelopeError> {
                Ok(crate::xmldsig::sign(&self.to_xml()?, authentication_key)?.into_bytes())
            }

            #[doc = concat!("Checks the X002 signature with the ", $signer, "'s authentication key.")]
            pub fn verify(
                bytes: &[u8],
                authentication_key: &rsa::RsaPublicKey,
            ) -> Result<(), EnvelopeError> {
                Ok(crate::xmldsig::verify(
                    crate::envelope::xml::as_text(bytes)?,
                    authentication_key,
                )?)
            }
        }
    };
}

/// Declares a response type: its own leading fields, then the status every response carries
/// (order id, both return codes, report text, data transfer, bank parameter timestamp), with a
/// `to_xml` where `$header` writes what the response puts before the status, from `static` to
/// the start of `mutable`.
macro_rules! response_with_status {
    (
        $(#[$meta:meta])*
        pub struct $response:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)*
        }
        data_transfer: $data_transfer:ty,
        root: $root:expr,
        header: $header:expr,
        parse_header: $parse_header:expr,
        parse_data_transfer: $parse_data_transfer:expr,
        $(#[$to_xml_meta:meta])*
    ) => {
        $(#[$meta])*
        pub struct $response {
            pub version: ProtocolVersion,
            $($(#[$field_meta])* pub $field: $ty,)*
            pub order_id: Option<OrderId>,
            /// `header/mutable/ReturnCode`.
            pub technical_return_code: ReturnCode,
            /// `header/mutable/ReportText` (at most 256 characters).
            pub report_text: String,
            pub data_transfer: Option<$data_transfer>,
            /// `body/ReturnCode`.
            pub business_return_code: ReturnCode,
            pub timestamp_bank_parameter: Option<DateTime<Utc>>,
        }

        impl $response {
            $(#[$to_xml_meta])*
            pub fn to_xml(&self) -> Result<String, EnvelopeError> {
                let mut out = XmlOut::envelope($root, self.version)?;
                check_status(
                    &self.technical_return_code,
                    &self.business_return_code,
                    &self.report_text,
                )?;
                $header(self, &mut out)?;
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
                out.end($root)?;
                out.finish()
            }

            /// The response in `f`: `$parse_header` reads its own fields up to the status and
            /// hands over the rest of `mutable`.
            fn from_frame(f: Frame<'_, '_>) -> Result<Self, EnvelopeError> {
                let (($($field,)*), mutable) = $parse_header(&f)?;
                let (order_id, technical_return_code, report_text) =
                    parse_mutable_status(mutable)?;
                let mut body = Children::of(f.body, "body", f.ns);
                let data_transfer = $parse_data_transfer(&mut body, f.ns)?;
                let (business_return_code, timestamp_bank_parameter) =
                    parse_body_return_code(body)?;
                Ok(Self {
                    version: f.version,
                    $($field,)*
                    order_id,
                    technical_return_code,
                    report_text,
                    data_transfer,
                    business_return_code,
                    timestamp_bank_parameter,
                })
            }
        }
    };
}

mod common;
mod hev;
mod keymgmt;
mod order_params;
mod request;
mod response;
mod types;
mod xml;

/// The pattern of services an HVU/HVZ overview is filtered by (`ServiceType`).
pub use crate::order_type::ServiceFilter;
pub use common::SubscriberIds;
pub use hev::{HevRequest, HevResponse, HevVersion};
pub use keymgmt::{
    KeyManagementDataTransfer, KeyManagementResponse, NoPubKeyDigestsRequest, UnsecuredRequest,
};
pub use order_params::{
    HvListParams, HvOrderKind, HvOrderRef, HvtOrderFlags, OrderDetails, OrderParams, SignatureFlag,
};
pub use request::{
    EbicsRequest, InitHeader, InitialisationRequest, ReceiptRequest, TransferRequest, UploadInit,
};
pub use response::{EbicsResponse, ResponseDataTransfer};
pub use types::{
    BankPubKeyDigests, DataDigest, DataEncryptionInfo, DateRange, FileFormat, HostId, Nonce,
    OrderId, Parameter, PartnerId, Product, PubKeyDigest, ReceiptCode, SecurityMedium,
    SegmentNumber, TransactionId, TransactionPhase, UserId,
};
pub use xml::HEV_NAMESPACE;

use crate::order_type::OrderTypeError;
use crate::version::{ProtocolVersion, UnknownKeyVersion};
use crate::xmldsig::XmlDsigError;

/// Why an envelope could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not UTF-8 (EBICS messages are UTF-8).
    #[error("message is not UTF-8")]
    NotUtf8,
    /// Not readable under the XML policy: not well-formed, a DTD, or beyond the limits of
    /// `kontor-xml` (e.g. hostile nesting).
    #[error(transparent)]
    Malformed(#[from] kontor_xml::ReadError),
    /// The root element is in an unexpected namespace.
    #[error("wrong namespace {found:?} (expected {expected})")]
    WrongNamespace {
        expected: &'static str,
        found: String,
    },
    /// The root element is not the expected message.
    #[error("wrong root element {found:?} (expected {expected})")]
    WrongRootElement {
        expected: &'static str,
        found: String,
    },
    /// A protocol version this module does not build or parse.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(String),
    /// A required element is missing (or out of schema order).
    #[error("missing element {element} in {parent}")]
    MissingElement {
        parent: &'static str,
        element: &'static str,
    },
    /// An element the schema does not allow at this point.
    #[error("unexpected element {element} in {parent}")]
    UnexpectedElement {
        parent: &'static str,
        element: String,
    },
    /// A required attribute is missing.
    #[error("missing attribute {attribute} on {element}")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    /// An element that must carry `authenticate="true"` does not.
    #[error("{element} lacks authenticate=\"true\"")]
    MissingAuthenticateMarker { element: &'static str },
    /// A value violates its schema type.
    #[error("invalid {element}: {reason}")]
    InvalidValue {
        element: &'static str,
        reason: String,
    },
    /// Base64 content that does not decode.
    #[error("{element} is not valid base64")]
    InvalidBase64 { element: &'static str },
    /// A model value that the chosen protocol version cannot express.
    #[error("{feature} is not available in {version}")]
    UnsupportedInVersion {
        feature: &'static str,
        version: ProtocolVersion,
    },
    /// An order type problem.
    #[error(transparent)]
    OrderType(#[from] OrderTypeError),
    /// Signing or verifying the X002 signature failed.
    #[error(transparent)]
    Signature(#[from] XmlDsigError),
    /// Serialising failed.
    #[error("XML writer failed: {0}")]
    Write(String),
}

impl From<UnknownKeyVersion> for EnvelopeError {
    fn from(e: UnknownKeyVersion) -> Self {
        EnvelopeError::InvalidValue {
            element: "Version",
            reason: e.to_string(),
        }
    }
}

/// Any request a bank endpoint can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyRequest {
    Hev(HevRequest),
    Unsecured(UnsecuredRequest),
    NoPubKeyDigests(NoPubKeyDigestsRequest),
    Ebics(EbicsRequest),
}

/// Any response a client can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyResponse {
    Hev(HevResponse),
    KeyManagement(KeyManagementResponse),
    Ebics(EbicsResponse),
}

/// The local name of the root element, for dispatch.
fn root_name(bytes: &[u8]) -> Result<String, EnvelopeError> {
    let text = xml::as_text(bytes)?;
    let doc = xml::parse_document(text)?;
    Ok(doc.root_element().tag_name().name().to_owned())
}

/// Parses whichever request the root element names (bank side). Signatures are not checked.
pub fn parse_request(bytes: &[u8]) -> Result<AnyRequest, EnvelopeError> {
    match root_name(bytes)?.as_str() {
        "ebicsHEVRequest" => Ok(AnyRequest::Hev(HevRequest::parse(bytes)?)),
        "ebicsUnsecuredRequest" => Ok(AnyRequest::Unsecured(UnsecuredRequest::parse(bytes)?)),
        "ebicsNoPubKeyDigestsRequest" => Ok(AnyRequest::NoPubKeyDigests(
            NoPubKeyDigestsRequest::parse(bytes)?,
        )),
        "ebicsRequest" => Ok(AnyRequest::Ebics(EbicsRequest::parse(bytes)?)),
        other => Err(EnvelopeError::WrongRootElement {
            expected: "an EBICS request",
            found: other.to_owned(),
        }),
    }
}

/// Parses whichever response the root element names (client side). Signatures are not
/// checked; use [`EbicsResponse::parse_verified`] for `ebicsResponse`.
pub fn parse_response(bytes: &[u8]) -> Result<AnyResponse, EnvelopeError> {
    match root_name(bytes)?.as_str() {
        "ebicsHEVResponse" => Ok(AnyResponse::Hev(HevResponse::parse(bytes)?)),
        "ebicsKeyManagementResponse" => Ok(AnyResponse::KeyManagement(
            KeyManagementResponse::parse(bytes)?,
        )),
        "ebicsResponse" => Ok(AnyResponse::Ebics(EbicsResponse::parse(bytes)?)),
        other => Err(EnvelopeError::WrongRootElement {
            expected: "an EBICS response",
            found: other.to_owned(),
        }),
    }
}
