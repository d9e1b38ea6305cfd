//! EBICS order data: the XML documents that travel compressed (and, except for INI/HIA/H3K,
//! encrypted) inside the `ebicsRequest`/`ebicsResponse` envelopes, plus the VEU order
//! parameters that H004/H005 embed in the envelope header.
//!
//! Every document is a typed model that both sides of the protocol use: the Kontor client
//! builds requests and parses bank responses, the bank emulator does the reverse. Each model
//! implements [`OrderDataDocument`]:
//!
//! * [`to_xml`](OrderDataDocument::to_xml) writes a standalone UTF-8 document (XML declaration,
//!   unprefixed elements under a default namespace) and refuses any value the official schema
//!   would reject, so Kontor never emits schema-invalid order data;
//! * [`parse`](OrderDataDocument::parse) reads a document by namespace URI and local name, so
//!   any prefix style a bank chooses is accepted, derives the protocol version from the root
//!   namespace, and reports malformed input as [`OrderDataError`] (never a panic);
//! * [`to_xml_fragment`](OrderDataDocument::to_xml_fragment),
//!   [`write_into`](OrderDataDocument::write_into) and
//!   [`from_element`](OrderDataDocument::from_element) serve envelope code that embeds or reads
//!   an element in a larger document (the VEU `HV*OrderParams`).
//!
//! Namespaces: documents rooted in the EBICS namespace use `urn:org:ebics:H004` or
//! `urn:org:ebics:H005`; `SignaturePubKeyOrderData` and `UserSignatureData` are rooted in the
//! signature namespace `http://www.ebics.org/S001` (with H004) or `http://www.ebics.org/S002`
//! (with H005). The `version` field of every model selects the dialect.
//!
//! Where H004 and H005 differ the models keep one shape and carry the version-specific parts as
//! options or enums (e.g. [`OrderKind`], [`PublicKeyData`]); writing a part the target version
//! cannot express fails with [`OrderDataError::NotInVersion`] instead of dropping it.

mod common;
mod error;
mod keymgmt;
mod listings;
mod subscriber;
mod user_signature;
mod veu_requests;
mod veu_responses;
mod xml;

use std::io::Write;

use quick_xml::events::{BytesDecl, Event};
use quick_xml::Writer;

/// The pattern of services an HVU/HVZ overview is filtered by (`ServiceType`).
pub use crate::order_type::ServiceFilter;
pub use common::{
    AccountNumber, Amount, AuthenticationPubKeyInfo, AuthorisationLevel, BankCode, CertificateInfo,
    DataDigest, EncryptionPubKeyInfo, FileFormat, KeyVersionElement, OrderKind, OriginatorInfo,
    Parameter, PubKeyInfo, PublicKeyData, RsaKeyValue, SignaturePubKeyInfo, SignerInfo,
    SigningInfo, X509Data, X509IssuerSerial, DEFAULT_CURRENCY,
};
pub use error::{OrderDataError, Result};
pub use keymgmt::{
    H3KRequestOrderData, HCARequestOrderData, HCSRequestOrderData, HIARequestOrderData,
    HPBResponseOrderData, SignaturePubKeyOrderData,
};
pub use listings::{
    AccessParams, HAAResponseOrderData, HPDResponseOrderData, HpdUrl, ProtocolParams,
    X509DataSupport,
};
pub use subscriber::{
    AccountInfo, AddressInfo, AuthOrderInfo, BankInfo, HKDResponseOrderData, HTDResponseOrderData,
    PartnerInfo, Permission, TransferType, UserInfo,
};
pub use user_signature::{OrderSignatureData, UserSignatureData};
pub use veu_requests::{
    HVDOrderParams, HVEOrderParams, HVSOrderParams, HVSRequestOrderData, HVTOrderParams,
    HVUOrderParams, HVZOrderParams, VeuOrderRef,
};
pub use veu_responses::{
    AccountRole, AttributedAccount, AttributedAccountHolder, AttributedAccountNumber,
    AttributedBankCode, DescriptionKind, FirstOrderAccount, FirstOrderInfo, HVDResponseOrderData,
    HVTAmount, HVTDescription, HVTOrderInfo, HVTResponseOrderData, HVUOrderDetails,
    HVUResponseOrderData, HVZOrderDetails, HVZResponseOrderData, HVZTotalAmount, PendingOrder,
};

use crate::version::ProtocolVersion;
use xml::{El, Family, Out, NS_DS};

pub(crate) mod sealed {
    use std::io::Write;

    use super::xml::{El, Family, Out};
    use super::Result;
    use crate::version::ProtocolVersion;

    /// The per-document codec behind [`super::OrderDataDocument`]; sealed so that only this
    /// module defines documents.
    pub trait Codec: Sized {
        /// Local name of the root element.
        const ROOT: &'static str;
        /// Namespace family of the root element.
        const FAMILY: Family;
        /// Whether the document can contain `ds:` elements (declared on the root).
        const USES_DS: bool = false;
        /// Whether the document contains `esig:` elements inside the EBICS namespace.
        const USES_ESIG: bool = false;

        /// The protocol version (dialect) of this document.
        fn version(&self) -> ProtocolVersion;
        /// Writes the children of the root element.
        fn write_content<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()>;
        /// Reads the document from its root element.
        fn read_content(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self>;
    }
}

/// An order-data document (or embeddable order-parameter element) with its XML codec.
///
/// Implemented by every document model of this module; not implementable outside it.
pub trait OrderDataDocument: sealed::Codec {
    /// Local name of the root element, e.g. `HIARequestOrderData`.
    fn root_element() -> &'static str {
        Self::ROOT
    }

    /// The namespace URI of the root element in `version`.
    fn namespace(version: ProtocolVersion) -> Result<&'static str> {
        Self::FAMILY.namespace(version)
    }

    /// The protocol version (dialect) this document is written in.
    fn protocol_version(&self) -> ProtocolVersion {
        sealed::Codec::version(self)
    }

    /// A standalone UTF-8 document: XML declaration, then the root element with unprefixed
    /// children under a default namespace (plus `xmlns:ds`/`xmlns:esig` where used).
    fn to_xml(&self) -> Result<Vec<u8>> {
        let mut writer = Writer::new(Vec::new());
        writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(|e| OrderDataError::Write(e.to_string()))?;
        write_root(self, &mut writer, None, true)?;
        Ok(writer.into_inner())
    }

    /// The root element alone (no XML declaration), declaring its namespace as the default
    /// namespace on itself, so it is correct wherever it is inserted.
    fn to_xml_fragment(&self) -> Result<String> {
        let mut writer = Writer::new(Vec::new());
        write_root(self, &mut writer, None, true)?;
        String::from_utf8(writer.into_inner()).map_err(|e| OrderDataError::Write(e.to_string()))
    }

    /// Writes the root element into an enclosing document **without** declaring the document
    /// namespace: elements are written as `prefix:Name` (or unprefixed for `None`), and the
    /// caller guarantees that this prefix (or the default namespace) is already bound to
    /// [`namespace`](Self::namespace) where the element lands. `xmlns:ds`/`xmlns:esig` are still
    /// declared on the element when the document uses them.
    ///
    /// The element is built completely before it is handed to `writer`, so on error nothing
    /// has been written.
    fn write_into<W: Write>(&self, writer: &mut Writer<W>, prefix: Option<&str>) -> Result<()> {
        let mut element = Writer::new(Vec::new());
        write_root(self, &mut element, prefix, false)?;
        writer
            .get_mut()
            .write_all(&element.into_inner())
            .map_err(|e| OrderDataError::Write(e.to_string()))
    }

    /// Parses a standalone document (UTF-8, optional BOM; DTDs are refused).
    fn parse(xml: &[u8]) -> Result<Self> {
        let doc = xml::parse_xml(xml)?;
        Self::from_element(doc.root_element())
    }

    /// Parses the text of a fragment such as [`to_xml_fragment`](Self::to_xml_fragment)
    /// produces (the root element must declare or inherit a namespace within the text).
    fn parse_fragment(xml: &str) -> Result<Self> {
        let doc = xml::parse_xml_str(xml)?;
        Self::from_element(doc.root_element())
    }

    /// Reads the document from an element of an already parsed tree (e.g. the
    /// `HVDOrderParams` inside an envelope's `OrderDetails`). The element must be named
    /// [`root_element`](Self::root_element) and be in a namespace of this document's family.
    fn from_element(node: roxmltree::Node<'_, '_>) -> Result<Self> {
        let name = node.tag_name();
        if !node.is_element() || name.name() != Self::ROOT {
            return Err(OrderDataError::UnexpectedRoot {
                expected: Self::ROOT,
                found: name.name().to_owned(),
            });
        }
        let namespace = name.namespace().unwrap_or("");
        let version =
            Self::FAMILY
                .version_of(namespace)
                .ok_or_else(|| OrderDataError::UnknownNamespace {
                    element: Self::ROOT.to_owned(),
                    namespace: namespace.to_owned(),
                })?;
        let ns = Self::FAMILY.namespace(version)?;
        Self::read_content(&El::new(node, ns), version)
    }
}

impl<T: sealed::Codec> OrderDataDocument for T {}

fn write_root<D: sealed::Codec, W: Write>(
    doc: &D,
    writer: &mut Writer<W>,
    prefix: Option<&str>,
    declare_namespace: bool,
) -> Result<()> {
    let version = doc.version();
    let ns = D::FAMILY.namespace(version)?;
    let default_decl;
    let mut attrs: Vec<(&str, &str)> = Vec::new();
    if declare_namespace {
        default_decl = match prefix {
            Some(p) if !p.is_empty() => format!("xmlns:{p}"),
            _ => "xmlns".to_owned(),
        };
        attrs.push((default_decl.as_str(), ns));
    }
    if D::USES_DS {
        attrs.push(("xmlns:ds", NS_DS));
    }
    if D::USES_ESIG {
        attrs.push(("xmlns:esig", Family::Signature.namespace(version)?));
    }
    let mut out = Out::new(writer, prefix, version);
    out.start(D::ROOT, &attrs)?;
    doc.write_content(&mut out)?;
    out.end(D::ROOT)
}

/// Implements [`sealed::Codec`] plumbing shared by all documents and adds inherent
/// `to_xml`/`parse` so callers need not import the trait.
macro_rules! document {
    ($ty:ident, $root:literal, $family:expr $(, $flag:ident)*) => {
        impl $ty {
            /// Writes the standalone XML document (see
            /// [`OrderDataDocument::to_xml`](crate::orderdata::OrderDataDocument::to_xml)).
            pub fn to_xml(&self) -> $crate::orderdata::Result<Vec<u8>> {
                $crate::orderdata::OrderDataDocument::to_xml(self)
            }

            /// Parses a standalone XML document (see
            /// [`OrderDataDocument::parse`](crate::orderdata::OrderDataDocument::parse)).
            pub fn parse(xml: &[u8]) -> $crate::orderdata::Result<Self> {
                <Self as $crate::orderdata::OrderDataDocument>::parse(xml)
            }
        }
        impl $crate::orderdata::sealed::Codec for $ty {
            const ROOT: &'static str = $root;
            const FAMILY: $crate::orderdata::xml::Family = $family;
            $(const $flag: bool = true;)*

            fn version(&self) -> $crate::version::ProtocolVersion {
                self.version
            }

            fn write_content<W: std::io::Write>(
                &self,
                out: &mut $crate::orderdata::xml::Out<'_, W>,
            ) -> $crate::orderdata::Result<()> {
                self.write_children(out)
            }

            fn read_content(
                root: &$crate::orderdata::xml::El<'_, '_>,
                version: $crate::version::ProtocolVersion,
            ) -> $crate::orderdata::Result<Self> {
                Self::read_children(root, version)
            }
        }
    };
}
pub(crate) use document;
