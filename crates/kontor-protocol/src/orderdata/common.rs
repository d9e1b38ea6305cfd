//! Building blocks shared by several order-data documents: public keys and certificates,
//! BTF services, accounts, amounts and the signer/originator records of the VEU orders.

use std::io::Write;
use std::num::NonZeroU32;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use kontor_documents::Currency;
use rust_decimal::Decimal;

use super::error::{OrderDataError, Result};
use super::xml::{
    check, format_base64, format_bool, format_timestamp, parse_base64, parse_bool, parse_currency,
    parse_positive_u32, parse_timestamp, parse_u32, El, Out, NS_DS,
};
use crate::order_type::{
    BtfService, ContainerType, MessageName, OrderType, OrderTypeError, OrderTypeOrService,
    ServiceFilter,
};
use crate::version::{AuthenticationVersion, EncryptionVersion, SignatureVersion};

// ---------------------------------------------------------------------------------------------
// Keys and certificates
// ---------------------------------------------------------------------------------------------

/// An RSA public key as XML-DSig `ds:RSAKeyValue`: big-endian unsigned integers.
///
/// Parsed values are canonical: leading zero octets (which Java's `BigInteger` emits) are
/// removed, so two encodings of the same key compare equal. Writing removes them as well
/// (XML-DSig `CryptoBinary`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RsaKeyValue {
    /// The modulus `n`, big-endian.
    pub modulus: Vec<u8>,
    /// The public exponent `e`, big-endian (usually `[1, 0, 1]`).
    pub exponent: Vec<u8>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

impl RsaKeyValue {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        let modulus = strip_leading_zeros(&self.modulus);
        let exponent = strip_leading_zeros(&self.exponent);
        if modulus.is_empty() || exponent.is_empty() {
            return Err(OrderDataError::invalid(
                "RSAKeyValue",
                "0",
                "modulus and exponent must be non-zero",
            ));
        }
        out.with_prefix(Some("ds"), |out| {
            out.start("RSAKeyValue", &[])?;
            out.leaf("Modulus", &format_base64(modulus))?;
            out.leaf("Exponent", &format_base64(exponent))?;
            out.end("RSAKeyValue")
        })
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let integer = |s: &str| parse_base64(s).map(|bytes| strip_leading_zeros(&bytes).to_vec());
        Ok(Self {
            modulus: el.child_value("Modulus", integer)?,
            exponent: el.child_value("Exponent", integer)?,
        })
    }
}

/// `ds:X509IssuerSerial`: identifies a certificate by issuer and serial number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct X509IssuerSerial {
    /// The issuer's distinguished name (RFC 4514 string).
    pub issuer_name: String,
    /// The serial number as a decimal integer.
    pub serial_number: String,
}

/// `ds:X509Data` carrying one certificate (DER) and optional identifying data.
///
/// EBICS uses `X509Data` only to transport a certificate, so an `X509Data` without
/// `X509Certificate` is rejected (in H004 where it is optional it is ignored instead).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct X509Data {
    /// `X509IssuerSerial`, written first when present.
    pub issuer_serial: Option<X509IssuerSerial>,
    /// `X509SubjectName`.
    pub subject_name: Option<String>,
    /// `X509Certificate`: the DER encoded certificate.
    pub certificate: Vec<u8>,
}

impl X509Data {
    /// `X509Data` holding only the DER certificate.
    pub fn from_certificate(der: Vec<u8>) -> Self {
        Self {
            issuer_serial: None,
            subject_name: None,
            certificate: der,
        }
    }

    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        if self.certificate.is_empty() {
            return Err(OrderDataError::invalid(
                "X509Certificate",
                "",
                "must not be empty",
            ));
        }
        out.with_prefix(Some("ds"), |out| {
            out.start("X509Data", &[])?;
            if let Some(issuer_serial) = &self.issuer_serial {
                check::integer("X509SerialNumber", &issuer_serial.serial_number)?;
                out.start("X509IssuerSerial", &[])?;
                out.leaf("X509IssuerName", &issuer_serial.issuer_name)?;
                out.leaf("X509SerialNumber", &issuer_serial.serial_number)?;
                out.end("X509IssuerSerial")?;
            }
            out.opt_leaf("X509SubjectName", self.subject_name.as_deref())?;
            out.leaf("X509Certificate", &format_base64(&self.certificate))?;
            out.end("X509Data")
        })
    }

    /// Reads a `ds:X509Data` element (its children are looked up in the XML-DSig namespace).
    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let el = El::new(el.node, NS_DS);
        let issuer_serial = match el.opt_child("X509IssuerSerial") {
            Some(is) => Some(X509IssuerSerial {
                issuer_name: is.child("X509IssuerName")?.text(),
                // Informational only (the certificate is authoritative), so a bank's non-decimal
                // serial does not make the whole key document unreadable.
                serial_number: is.child("X509SerialNumber")?.text(),
            }),
            None => None,
        };
        Ok(Self {
            issuer_serial,
            subject_name: el.opt_child_text("X509SubjectName"),
            certificate: el.child_value("X509Certificate", parse_base64)?,
        })
    }

    fn has_certificate(el: &El<'_, '_>) -> bool {
        el.opt_child_ns(NS_DS, "X509Certificate").is_some()
    }
}

/// How a public key travels in key-management order data.
///
/// H004 sends the raw RSA key (`PubKeyValue`), optionally with a certificate; H005 sends only
/// the certificate, which carries the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublicKeyData {
    /// H004: `ds:X509Data` (optional) + `PubKeyValue`.
    Rsa {
        /// The key itself.
        key: RsaKeyValue,
        /// `PubKeyValue/TimeStamp`: when the key was created (supplied by the caller).
        timestamp: Option<DateTime<Utc>>,
        /// An accompanying certificate.
        x509: Option<X509Data>,
    },
    /// H005: `ds:X509Data` alone.
    Certificate(X509Data),
}

impl PublicKeyData {
    /// The RSA key value, when the key is sent as one (H004).
    pub fn rsa_key(&self) -> Option<&RsaKeyValue> {
        match self {
            Self::Rsa { key, .. } => Some(key),
            Self::Certificate(_) => None,
        }
    }

    /// The certificate data, if any.
    pub fn x509(&self) -> Option<&X509Data> {
        match self {
            Self::Rsa { x509, .. } => x509.as_ref(),
            Self::Certificate(x509) => Some(x509),
        }
    }

    /// Writes the `PubKeyInfoType` content (everything before the version element).
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        match (self, out.is_h004()) {
            (
                Self::Rsa {
                    key,
                    timestamp,
                    x509,
                },
                true,
            ) => {
                if let Some(x509) = x509 {
                    x509.write(out)?;
                }
                out.start("PubKeyValue", &[])?;
                key.write(out)?;
                if let Some(ts) = timestamp {
                    out.leaf("TimeStamp", &format_timestamp(ts))?;
                }
                out.end("PubKeyValue")
            }
            (Self::Certificate(x509), false) => x509.write(out),
            (Self::Certificate(_), true) => Err(out.required("PubKeyValue")),
            (Self::Rsa { .. }, false) => Err(out.not_expressible("PubKeyValue")),
        }
    }

    fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        if h004 {
            let x509 = match el.opt_child_ns(NS_DS, "X509Data") {
                Some(x) if X509Data::has_certificate(&x) => Some(X509Data::read(&x)?),
                _ => None,
            };
            let value = el.child("PubKeyValue")?;
            let rsa = El::new(value.child_ns(NS_DS, "RSAKeyValue")?.node, NS_DS);
            Ok(Self::Rsa {
                key: RsaKeyValue::read(&rsa)?,
                timestamp: value.opt_child_value("TimeStamp", parse_timestamp)?,
                x509,
            })
        } else {
            Ok(Self::Certificate(X509Data::read(
                &el.child_ns(NS_DS, "X509Data")?,
            )?))
        }
    }
}

/// A key version enum of one purpose (`A00x`, `X00x`, `E00x`) and the element that carries
/// it; each is also a [`crate::KeyVersion`].
pub trait KeyVersionElement: Copy + Sized + Into<crate::KeyVersion> {
    /// Name of the version element (`SignatureVersion`, ...).
    const ELEMENT: &'static str;
    /// The code written to XML.
    fn code(self) -> &'static str;
    /// Parses a code; `None` for versions Kontor does not support.
    fn from_code(code: &str) -> Option<Self>;
}

/// Implements [`KeyVersionElement`] for a version enum of the crate root, carried in `$element`.
macro_rules! key_version {
    ($version:ident, $element:literal) => {
        impl KeyVersionElement for $version {
            const ELEMENT: &'static str = $element;
            fn code(self) -> &'static str {
                self.as_str()
            }
            fn from_code(code: &str) -> Option<Self> {
                $version::from_str(code).ok()
            }
        }
    };
}

key_version!(SignatureVersion, "SignatureVersion");
key_version!(AuthenticationVersion, "AuthenticationVersion");
key_version!(EncryptionVersion, "EncryptionVersion");

pub(crate) fn read_key_version<V: KeyVersionElement>(el: &El<'_, '_>) -> Result<V> {
    el.child_value(V::ELEMENT, |s| {
        V::from_code(s).ok_or("unsupported key version")
    })
}

/// A public key with its version: `SignaturePubKeyInfo`, `AuthenticationPubKeyInfo`,
/// `EncryptionPubKeyInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PubKeyInfo<V> {
    /// The key (H004) or certificate (H005).
    pub key: PublicKeyData,
    /// The key version (`A005`/`A006`, `X002`, `E002`).
    pub version: V,
}

/// `SignaturePubKeyInfo` (signature namespace S001/S002).
pub type SignaturePubKeyInfo = PubKeyInfo<SignatureVersion>;
/// `AuthenticationPubKeyInfo`.
pub type AuthenticationPubKeyInfo = PubKeyInfo<AuthenticationVersion>;
/// `EncryptionPubKeyInfo`.
pub type EncryptionPubKeyInfo = PubKeyInfo<EncryptionVersion>;

impl<V: KeyVersionElement> PubKeyInfo<V> {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        out.start(element, &[])?;
        self.key.write(out)?;
        out.leaf(V::ELEMENT, self.version.code())?;
        out.end(element)
    }

    pub(crate) fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        Ok(Self {
            key: PublicKeyData::read(el, h004)?,
            version: read_key_version(el)?,
        })
    }
}

/// A certificate with its key version: `SignatureCertificateInfo`,
/// `AuthenticationCertificateInfo`, `EncryptionCertificateInfo` (order type H3K).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateInfo<V> {
    /// The certificate.
    pub x509: X509Data,
    /// The key version.
    pub version: V,
}

impl<V: KeyVersionElement> CertificateInfo<V> {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        out.start(element, &[])?;
        self.x509.write(out)?;
        out.leaf(V::ELEMENT, self.version.code())?;
        out.end(element)
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            x509: X509Data::read(&el.child_ns(NS_DS, "X509Data")?)?,
            version: read_key_version(el)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Order identification
// ---------------------------------------------------------------------------------------------

// The order-data XML form of the one `MsgName` of a BTF service, the public vocabulary's
// `order_type::MessageName`: `<MsgName variant="001" version="09" format="XML">pain.001</MsgName>`.
impl MessageName {
    /// Checks the message against the schema types and writes it as `MsgName`.
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::msg_name("MsgName", &self.name)?;
        let mut attrs = Vec::new();
        if let Some(variant) = &self.variant {
            check::num_string("MsgName/@variant", variant)?;
            attrs.push(("variant", variant.as_str()));
        }
        if let Some(version) = &self.version {
            check::num_string("MsgName/@version", version)?;
            attrs.push(("version", version.as_str()));
        }
        if let Some(format) = &self.format {
            check::code("MsgName/@format", format, 1, 4)?;
            attrs.push(("format", format.as_str()));
        }
        out.leaf_attrs("MsgName", &attrs, &self.name)
    }

    /// Reads a `MsgName` element; its attributes are taken as they stand.
    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            name: el.nonempty_text()?,
            variant: el.attr("variant"),
            version: el.attr("version"),
            format: el.attr("format"),
        })
    }
}

// The order-data XML form of the one BTF service (`RestrictedServiceType`), the public
// vocabulary's `order_type::BtfService`, and of a pattern of services (`ServiceType`),
// `order_type::ServiceFilter`: the same elements, every one optional in the pattern.
impl BtfService {
    /// Checks the service against the schema types and writes it as `element`.
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        ServiceFilter::from(self.clone()).write(out, element)
    }

    /// Reads a `RestrictedServiceType` element: `ServiceName` and `MsgName` are required. A
    /// container type other than the schema's `XML`, `ZIP` and `SVC` is dropped, not refused:
    /// it names no service, only how the bank wraps it.
    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let filter =
            ServiceFilter::read_parts(el, |c| Ok(c.req_attr("containerType")?.parse().ok()))?;
        Ok(Self {
            service_name: filter
                .service_name
                .ok_or_else(|| missing(el, "ServiceName"))?,
            scope: filter.scope,
            service_option: filter.service_option,
            container: filter.container,
            message: filter.message.ok_or_else(|| missing(el, "MsgName"))?,
        })
    }
}

fn missing(el: &El<'_, '_>, element: &str) -> OrderDataError {
    OrderDataError::MissingElement {
        element: element.to_owned(),
        parent: el.path(),
    }
}

impl ServiceFilter {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        out.start(element, &[])?;
        if let Some(name) = &self.service_name {
            check::code("ServiceName", name, 3, 3)?;
            out.leaf("ServiceName", name)?;
        }
        if let Some(scope) = &self.scope {
            check::code("Scope", scope, 2, 3)?;
            out.leaf("Scope", scope)?;
        }
        if let Some(option) = &self.service_option {
            check::code("ServiceOption", option, 3, 10)?;
            out.leaf("ServiceOption", option)?;
        }
        if let Some(container) = self.container {
            out.empty("Container", &[("containerType", container.as_str())])?;
        }
        if let Some(msg) = &self.message {
            msg.write(out)?;
        }
        out.end(element)
    }

    /// Reads a `ServiceType` element, a pattern. A container type other than the schema's
    /// `XML`, `ZIP` and `SVC` is refused: dropping it would widen the pattern to every container.
    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Self::read_parts(el, |c| {
            c.req_attr_value("containerType", |v| {
                v.parse().map_err(|_| "expected SVC, XML or ZIP")
            })
            .map(Some)
        })
    }

    /// The parts of a service element; `container` reads the `Container` element when present.
    fn read_parts(
        el: &El<'_, '_>,
        container: impl FnOnce(&El<'_, '_>) -> Result<Option<ContainerType>>,
    ) -> Result<Self> {
        Ok(Self {
            service_name: el.opt_child_text("ServiceName"),
            scope: el.opt_child_text("Scope"),
            service_option: el.opt_child_text("ServiceOption"),
            container: match el.opt_child("Container") {
                Some(c) => container(&c)?,
                None => None,
            },
            message: el.read_opt_child("MsgName", MessageName::read)?,
        })
    }
}

/// `FileFormat` of H004 FUL/FDL orders, e.g. `pain.001.001.03` with country code `DE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileFormat {
    /// The format name.
    pub format: String,
    /// `CountryCode` attribute (`[A-Z]{2}`).
    pub country_code: Option<String>,
}

impl FileFormat {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::token("FileFormat", &self.format, 1, usize::MAX)?;
        match &self.country_code {
            Some(cc) => {
                if !(cc.len() == 2 && cc.chars().all(|c| c.is_ascii_uppercase())) {
                    return Err(OrderDataError::invalid(
                        "FileFormat/@CountryCode",
                        cc,
                        "must match [A-Z]{2}",
                    ));
                }
                out.leaf_attrs("FileFormat", &[("CountryCode", cc)], &self.format)
            }
            None => out.leaf("FileFormat", &self.format),
        }
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            format: el.nonempty_text()?,
            country_code: el.attr("CountryCode"),
        })
    }
}

/// What kind of order a VEU record refers to: an H004 order type or an H005 BTF service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// H004: `OrderType` (e.g. `CCT`) and, for FUL/FDL, the `FileFormat`.
    OrderType {
        /// Three-character order type.
        order_type: String,
        /// File format of FUL/FDL orders.
        file_format: Option<FileFormat>,
    },
    /// H005: `Service`.
    Service(BtfService),
}

impl OrderKind {
    /// An H004 order type without file format.
    pub fn order_type(order_type: impl Into<String>) -> Self {
        Self::OrderType {
            order_type: order_type.into(),
            file_format: None,
        }
    }

    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        match (self, out.is_h004()) {
            (
                Self::OrderType {
                    order_type,
                    file_format,
                },
                true,
            ) => {
                check::order_type("OrderType", order_type)?;
                out.leaf("OrderType", order_type)?;
                match file_format {
                    Some(ff) => ff.write(out),
                    None => Ok(()),
                }
            }
            (Self::Service(service), false) => service.write(out, "Service"),
            (Self::Service(_), true) => Err(out.not_expressible("Service")),
            (Self::OrderType { .. }, false) => Err(out.not_expressible("OrderType")),
        }
    }

    pub(crate) fn read(el: &El<'_, '_>, h004: bool) -> Result<Self> {
        if h004 {
            Ok(Self::OrderType {
                order_type: el.child_text("OrderType")?,
                file_format: el.read_opt_child("FileFormat", FileFormat::read)?,
            })
        } else {
            Ok(Self::Service(BtfService::read(&el.child("Service")?)?))
        }
    }
}

impl TryFrom<&OrderKind> for OrderTypeOrService {
    type Error = OrderTypeError;

    /// The order as the bank listed it, checked as the public vocabulary needs it: a
    /// well-formed order type, or a service within the schema types. (An H004 `FileFormat`,
    /// which only FUL/FDL orders carry, is not kept.)
    fn try_from(kind: &OrderKind) -> std::result::Result<Self, OrderTypeError> {
        match kind {
            OrderKind::OrderType { order_type, .. } => {
                OrderType::parse_lenient(order_type).map(Self::OrderType)
            }
            OrderKind::Service(service) => Self::service(service.clone()),
        }
    }
}

/// A generic `Parameter` (name, value and XML schema type of the value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parameter {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: String,
    /// `Value/@Type`, e.g. `string`, `boolean`.
    pub value_type: String,
}

impl Parameter {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::token("Parameter/Name", &self.name, 1, usize::MAX)?;
        check::ncname("Parameter/Value/@Type", &self.value_type)?;
        out.start("Parameter", &[])?;
        out.leaf("Name", &self.name)?;
        out.leaf_attrs("Value", &[("Type", &self.value_type)], &self.value)?;
        out.end("Parameter")
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let value = el.child("Value")?;
        Ok(Self {
            name: el.child_text("Name")?,
            value: value.text(),
            value_type: value.req_attr("Type")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Money and accounts
// ---------------------------------------------------------------------------------------------

/// `AmountType`: a decimal amount with currency (default `EUR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Amount {
    /// The value (at most 24 digits, 4 after the point).
    pub value: Decimal,
    /// ISO 4217 currency code.
    pub currency: Currency,
}

impl Amount {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        let value = super::xml::format_amount(element, &self.value)?;
        out.leaf_attrs(element, &[("Currency", self.currency.as_str())], &value)
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            value: el.value(super::xml::parse_decimal)?,
            currency: el
                .attr_value("Currency", parse_currency)?
                .unwrap_or(DEFAULT_CURRENCY),
        })
    }
}

/// The currency the schema assumes when the `Currency` attribute is absent.
pub const DEFAULT_CURRENCY: Currency = Currency::EUR;

/// Signature class of a signer or permission (`AuthorisationLevelType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorisationLevel {
    /// `E`: single signature.
    E,
    /// `A`: first signature.
    A,
    /// `B`: second signature.
    B,
    /// `T`: transport signature (authorises submission only).
    T,
}

impl AuthorisationLevel {
    /// The one-letter code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::E => "E",
            Self::A => "A",
            Self::B => "B",
            Self::T => "T",
        }
    }

    pub(crate) fn parse(s: &str) -> std::result::Result<Self, &'static str> {
        match s {
            "E" => Ok(Self::E),
            "A" => Ok(Self::A),
            "B" => Ok(Self::B),
            "T" => Ok(Self::T),
            _ => Err("authorisation level must be E, A, B or T"),
        }
    }
}

/// An account number of `AccountType`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountNumber {
    /// `AccountNumber`: an IBAN when `international`, otherwise a 3-10 digit national number.
    Standard {
        /// The number.
        number: String,
        /// `international` attribute (default `false`).
        international: bool,
    },
    /// `NationalAccountNumber` in a free `format`.
    National {
        /// The number.
        number: String,
        /// `format` attribute.
        format: String,
    },
}

impl AccountNumber {
    /// An IBAN (`AccountNumber international="true"`).
    pub fn iban(iban: impl Into<String>) -> Self {
        Self::Standard {
            number: iban.into(),
            international: true,
        }
    }
}

/// A bank code of `AccountType`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BankCode {
    /// `BankCode`: a BIC when `international`, otherwise an 8-digit national code.
    Standard {
        /// The code.
        code: String,
        /// `international` attribute (default `false`).
        international: bool,
        /// `Prefix` attribute (two characters, e.g. `DE`).
        prefix: Option<String>,
    },
    /// `NationalBankCode` in a free `format`.
    National {
        /// The code.
        code: String,
        /// `format` attribute.
        format: String,
    },
}

impl BankCode {
    /// A BIC (`BankCode international="true"`).
    pub fn bic(bic: impl Into<String>) -> Self {
        Self::Standard {
            code: bic.into(),
            international: true,
            prefix: None,
        }
    }
}

/// What an [`AccountPart`] holds, whichever of the two it is: the standard element's value,
/// `international` flag and (bank codes only) `Prefix`, or a national value in a `format`.
pub(crate) enum PartValue<S> {
    Standard {
        value: S,
        international: bool,
        prefix: Option<S>,
    },
    National {
        value: S,
        format: S,
    },
}

/// The element names of an [`AccountPart`] and how its values are checked.
pub(crate) struct PartSchema {
    standard: &'static str,
    national: &'static str,
    check_standard: fn(&str, &str) -> Result<()>,
    national_max_chars: usize,
}

/// Implements [`AccountPart`] for an enum named after its standard element (`National…` for
/// the national one), with the variants `Standard { $value, international, $prefix? }` and
/// `National { $value, format }`.
macro_rules! account_part {
    ($part:ident { $value:ident $(, $prefix:ident)? }, $check_standard:path, $national_max_chars:literal) => {
        impl AccountPart for $part {
            const SCHEMA: PartSchema = PartSchema {
                standard: stringify!($part),
                national: concat!("National", stringify!($part)),
                check_standard: $check_standard,
                national_max_chars: $national_max_chars,
            };

            fn value(&self) -> PartValue<&str> {
                match self {
                    Self::Standard { $value, international $(, $prefix)? } => PartValue::Standard {
                        value: $value,
                        international: *international,
                        prefix: None $(.or($prefix.as_deref()))?,
                    },
                    Self::National { $value, format } => PartValue::National {
                        value: $value,
                        format,
                    },
                }
            }

            fn from_value(value: PartValue<String>) -> Self {
                match value {
                    // Only bank codes keep the prefix.
                    PartValue::Standard { value, international, prefix: _prefix } => {
                        Self::Standard { $value: value, international $(, $prefix: _prefix)? }
                    }
                    PartValue::National { value, format } => Self::National {
                        $value: value,
                        format,
                    },
                }
            }
        }
    };
}

account_part!(AccountNumber { number }, check::account_number, 40);
account_part!(BankCode { code, prefix }, check::bank_code, 30);

/// An account number or a bank code of `AccountType`: a standard element (`AccountNumber`,
/// `BankCode`) or a national one in a free `format`, standing mixed with other elements.
pub(crate) trait AccountPart: Sized {
    const SCHEMA: PartSchema;

    fn value(&self) -> PartValue<&str>;

    fn from_value(value: PartValue<String>) -> Self;

    /// The value of a standard element marked `international` (an IBAN, a BIC).
    fn international(&self) -> Option<&str> {
        match self.value() {
            PartValue::Standard {
                value,
                international: true,
                ..
            } => Some(value),
            _ => None,
        }
    }

    /// The value of a national part: a standard element marked `international="false"` or
    /// the `National…` form.
    fn national(&self) -> Option<&str> {
        match self.value() {
            PartValue::Standard {
                international: true,
                ..
            } => None,
            PartValue::Standard { value, .. } | PartValue::National { value, .. } => Some(value),
        }
    }

    /// Writes the element with `attrs` before its own attributes (HVT's `Role`,
    /// `Description`).
    fn write_with<'a, W: Write>(
        &'a self,
        out: &mut Out<'_, W>,
        mut attrs: Vec<(&'a str, &'a str)>,
    ) -> Result<()> {
        let schema = Self::SCHEMA;
        match self.value() {
            PartValue::Standard {
                value,
                international,
                prefix,
            } => {
                (schema.check_standard)(schema.standard, value)?;
                attrs.push(("international", format_bool(international)));
                if let Some(prefix) = prefix {
                    check::token(&format!("{}/@Prefix", schema.standard), prefix, 2, 2)?;
                    attrs.push(("Prefix", prefix));
                }
                out.leaf_attrs(schema.standard, &attrs, value)
            }
            PartValue::National { value, format } => {
                let name = schema.national;
                check::max_chars(name, value, schema.national_max_chars)?;
                check::token(&format!("{name}/@format"), format, 1, usize::MAX)?;
                attrs.push(("format", format));
                out.leaf_attrs(name, &attrs, value)
            }
        }
    }

    /// The part `child` is, or `None` when it is another element.
    fn read(child: &El<'_, '_>) -> Result<Option<Self>> {
        let name = child.local_name();
        let value = if name == Self::SCHEMA.standard {
            PartValue::Standard {
                value: child.nonempty_text()?,
                international: child
                    .attr_value("international", parse_bool)?
                    .unwrap_or(false),
                prefix: child.attr("Prefix"),
            }
        } else if name == Self::SCHEMA.national {
            PartValue::National {
                value: child.nonempty_text()?,
                format: child.req_attr("format")?,
            }
        } else {
            return Ok(None);
        };
        Ok(Some(Self::from_value(value)))
    }

    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.write_with(out, Vec::new())
    }

    /// Every such part among `el`'s children, in document order.
    fn read_all(el: &El<'_, '_>) -> Result<Vec<Self>> {
        el.elements()
            .filter_map(|child| Self::read(&child).transpose())
            .collect()
    }
}

/// Writes the `AccountNumber`/`BankCode` choices of `AccountType` (1-2 numbers; 1-2 codes in
/// H004, 0-2 in H005).
pub(crate) fn write_account_ids<W: Write>(
    out: &mut Out<'_, W>,
    numbers: &[AccountNumber],
    codes: &[BankCode],
    path: &str,
) -> Result<()> {
    if numbers.is_empty() || numbers.len() > 2 {
        return Err(OrderDataError::invalid(
            format!("{path}/AccountNumber"),
            &numbers.len().to_string(),
            "an account needs one or two account numbers",
        ));
    }
    let min_codes = if out.is_h004() { 1 } else { 0 };
    if codes.len() < min_codes || codes.len() > 2 {
        return Err(OrderDataError::invalid(
            format!("{path}/BankCode"),
            &codes.len().to_string(),
            if out.is_h004() {
                "an H004 account needs one or two bank codes"
            } else {
                "an account has at most two bank codes"
            },
        ));
    }
    for number in numbers {
        number.write(out)?;
    }
    for code in codes {
        code.write(out)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// VEU records
// ---------------------------------------------------------------------------------------------

/// `DataDigest`: the hash of an order's data that signers sign, with its signature version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataDigest {
    /// `SignatureVersion` attribute. Required in H005; in H004 an absent attribute means the
    /// schema default `A004`, which Kontor does not support (it is then `None`).
    pub signature_version: Option<SignatureVersion>,
    /// The digest bytes.
    pub digest: Vec<u8>,
}

impl DataDigest {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>, element: &str) -> Result<()> {
        let digest = format_base64(&self.digest);
        match self.signature_version {
            Some(v) => out.leaf_attrs(element, &[("SignatureVersion", v.as_str())], &digest),
            None if out.is_h004() => out.leaf(element, &digest),
            None => Err(out.required("DataDigest/@SignatureVersion")),
        }
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            signature_version: el.attr_value("SignatureVersion", |s| {
                SignatureVersion::from_str(s).map_err(|_| "unsupported signature version")
            })?,
            digest: el.value(parse_base64)?,
        })
    }
}

/// `SignerInfo`: who already signed a VEU order, when, and with which signature class.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignerInfo {
    /// `PartnerID`.
    pub partner_id: String,
    /// `UserID`.
    pub user_id: String,
    /// `Name`.
    pub name: Option<String>,
    /// `Timestamp` of the signature.
    pub timestamp: DateTime<Utc>,
    /// `Permission/@AuthorisationLevel`.
    pub authorisation_level: AuthorisationLevel,
}

impl SignerInfo {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        write_party_start(out, self)?;
        out.empty(
            "Permission",
            &[("AuthorisationLevel", self.authorisation_level.as_str())],
        )?;
        out.end(Self::ELEMENT)
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let (partner_id, user_id, name, timestamp) = read_party(el)?;
        let permission = el.child("Permission")?;
        Ok(Self {
            authorisation_level: permission
                .req_attr_value("AuthorisationLevel", AuthorisationLevel::parse)?,
            partner_id,
            user_id,
            name,
            timestamp,
        })
    }
}

/// `OriginatorInfo`: who submitted a VEU order and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginatorInfo {
    /// `PartnerID`.
    pub partner_id: String,
    /// `UserID`.
    pub user_id: String,
    /// `Name`.
    pub name: Option<String>,
    /// `Timestamp` of the submission.
    pub timestamp: DateTime<Utc>,
}

impl OriginatorInfo {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        write_party_start(out, self)?;
        out.end(Self::ELEMENT)
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        let (partner_id, user_id, name, timestamp) = read_party(el)?;
        Ok(Self {
            partner_id,
            user_id,
            name,
            timestamp,
        })
    }
}

/// A party of a VEU order ([`SignerInfo`], [`OriginatorInfo`]): both elements start with
/// `PartnerID`, `UserID`, `Name?` and `Timestamp`.
trait VeuParty {
    const ELEMENT: &'static str;

    /// The partner, user, name and timestamp, in document order.
    fn party(&self) -> (&str, &str, Option<&str>, &DateTime<Utc>);
}

macro_rules! veu_party {
    ($($party:ident),+) => {$(
        impl VeuParty for $party {
            const ELEMENT: &'static str = stringify!($party);

            fn party(&self) -> (&str, &str, Option<&str>, &DateTime<Utc>) {
                let name = self.name.as_deref();
                (&self.partner_id, &self.user_id, name, &self.timestamp)
            }
        }
    )+};
}

veu_party!(SignerInfo, OriginatorInfo);

/// Checks a party's ids, opens its element and writes what every party starts with.
fn write_party_start<W: Write, P: VeuParty>(out: &mut Out<'_, W>, party: &P) -> Result<()> {
    let (partner_id, user_id, name, timestamp) = party.party();
    check::ebics_id(&format!("{}/PartnerID", P::ELEMENT), partner_id)?;
    check::ebics_id(&format!("{}/UserID", P::ELEMENT), user_id)?;
    out.start(P::ELEMENT, &[])?;
    out.leaf("PartnerID", partner_id)?;
    out.leaf("UserID", user_id)?;
    out.opt_leaf("Name", name)?;
    out.leaf("Timestamp", &format_timestamp(timestamp))
}

/// What every party starts with: partner, user, name and timestamp.
fn read_party(el: &El<'_, '_>) -> Result<(String, String, Option<String>, DateTime<Utc>)> {
    Ok((
        el.child_text("PartnerID")?,
        el.child_text("UserID")?,
        el.opt_child_text("Name"),
        el.child_value("Timestamp", parse_timestamp)?,
    ))
}

/// `SigningInfo`: how many signatures a VEU order needs and has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigningInfo {
    /// `readyToBeSigned`: whether the requesting user may sign now.
    pub ready_to_be_signed: bool,
    /// `NumSigRequired`.
    pub num_sig_required: NonZeroU32,
    /// `NumSigDone`.
    pub num_sig_done: u32,
}

impl SigningInfo {
    pub(crate) fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        out.empty(
            "SigningInfo",
            &[
                ("readyToBeSigned", format_bool(self.ready_to_be_signed)),
                ("NumSigRequired", &self.num_sig_required.to_string()),
                ("NumSigDone", &self.num_sig_done.to_string()),
            ],
        )
    }

    pub(crate) fn read(el: &El<'_, '_>) -> Result<Self> {
        Ok(Self {
            ready_to_be_signed: el.req_attr_value("readyToBeSigned", parse_bool)?,
            num_sig_required: el.req_attr_value("NumSigRequired", parse_positive_u32)?,
            num_sig_done: el.req_attr_value("NumSigDone", parse_u32)?,
        })
    }
}
