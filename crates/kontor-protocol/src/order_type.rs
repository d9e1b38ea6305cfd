//! EBICS order types (H004) / order identifiers (H005) and the BTF services that replace the
//! business order types in H005.
//!
//! In H004 every order is named by a three-character order type (`C53`, `CCT`, ...). H005 keeps
//! three-character codes only for administrative orders (`HPB`, `HKD`, `PTK`, ...) and expresses
//! business orders as `BTD` (download) / `BTU` (upload) with a [`BtfService`]. The mapping from
//! the classic German order types to BTF follows the DK mapping table (EBICS Annex / DFÜ
//! agreement Annex 3); banks may publish other services in HTD/HKD, so callers can always
//! construct a [`BtfService`] themselves.

use std::fmt;
use std::str::FromStr;

use crate::lexical;

mod named;
mod text;

pub use named::OrderTypeOrService;
pub use text::{BtfServiceText, BtfTextError};

/// An order type (H004) or administrative order type (H005).
///
/// Variant names are the codes from the specification.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderType {
    /// Send the signature key (A00x) for subscriber initialisation.
    INI,
    /// Send the authentication (X002) and encryption (E002) keys for subscriber initialisation.
    HIA,
    /// Send all three keys as X.509 certificates (certificate-based initialisation).
    H3K,
    /// Download the bank's public keys.
    HPB,
    /// Download customer and subscriber data (all subscribers of the partner).
    HKD,
    /// Download customer and subscriber data (own subscriber).
    HTD,
    /// Download the list of order types available for download.
    HAA,
    /// Download bank parameters.
    HPD,
    /// Suspend the subscriber's access.
    SPR,
    /// Replace the authentication and encryption keys (upload signed with the current
    /// signature key; `HCARequestOrderData`).
    HCA,
    /// Replace all three keys (`HCSRequestOrderData`).
    HCS,
    /// Replace the signature key (`SignaturePubKeyOrderData`; H005 keeps PUB as an
    /// administrative order type, the key travelling as an X.509 certificate, S002).
    PUB,
    /// H004 generic download with a file format parameter.
    FDL,
    /// H004 generic upload with a file format parameter.
    FUL,
    /// H005 business transaction download (with a BTF service).
    BTD,
    /// H005 business transaction upload (with a BTF service).
    BTU,
    /// camt.052 account reports (intraday).
    C52,
    /// camt.053 account statements.
    C53,
    /// camt.054 debit/credit notifications.
    C54,
    /// MT940 account statements.
    STA,
    /// MT942 interim transaction reports.
    VMK,
    /// camt.053 account statements, Swiss flavour.
    Z53,
    /// Customer protocol (text).
    PTK,
    /// Customer protocol (XML, pain.002-based).
    HAC,
    /// SEPA credit transfer (pain.001).
    CCT,
    /// SEPA core direct debit (pain.008).
    CDD,
    /// SEPA instant credit transfer (pain.001).
    CIP,
    /// Distributed signature: list orders awaiting signature.
    HVU,
    /// Distributed signature: list orders awaiting signature, with details.
    HVZ,
    /// Distributed signature: order status and signature data.
    HVD,
    /// Distributed signature: transaction details of an order.
    HVT,
    /// Distributed signature: add a signature to an order.
    HVE,
    /// Distributed signature: cancel an order.
    HVS,
    /// Any other well-formed code (bank-specific types published in HTD/HAA).
    Other(String),
}

/// The format of the order data an order type carries, where the client must know it (the
/// DK order type list: statements and reports to read, payments to send).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderDataFormat {
    /// ISO 20022 camt.052/053/054 (XML).
    Camt,
    /// SWIFT MT940/MT942 (text).
    Mt940,
    /// A customer protocol in text (PTK).
    Text,
    /// pain.001 credit transfers (XML).
    Pain001,
    /// pain.008 direct debits (XML).
    Pain008,
}

impl OrderDataFormat {
    /// The media type of a file in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mt940 | Self::Text => "text/plain",
            Self::Camt | Self::Pain001 | Self::Pain008 => "application/xml",
        }
    }
}

/// Transfer direction of an order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The client sends order data (and/or signatures).
    Upload,
    /// The client fetches order data.
    Download,
    /// Subscriber key initialisation (unsecured or unauthenticated-key requests).
    KeyManagement,
}

/// The H004 `OrderAttribute` of a transaction request.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderAttribute {
    /// Upload of order data plus electronic signature(s).
    OZHNN,
    /// Upload of electronic signature(s) only, no order data (HVE, HVS, SPR).
    UZHNN,
    /// Download.
    DZHNN,
}

text_codes!(
    OrderAttribute,
    /// The value as written in XML.
    as_str,
    { OZHNN => "OZHNN", UZHNN => "UZHNN", DZHNN => "DZHNN" },
    |other| -> OrderTypeError { OrderTypeError::InvalidOrderAttribute(other.to_owned()) }
);

/// Errors about order types and BTF services.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderTypeError {
    /// Not three characters of `[A-Z0-9]`.
    #[error("malformed order type {0:?} (expected three characters A-Z or 0-9)")]
    Malformed(String),
    /// Well-formed but not one of the types Kontor knows (strict parsing).
    #[error("unknown order type {0:?}")]
    Unknown(String),
    /// Not one of OZHNN, UZHNN, DZHNN.
    #[error("invalid order attribute {0:?}")]
    InvalidOrderAttribute(String),
    /// The order type has no H005 equivalent (FDL/FUL) or needs an explicit BTF service.
    #[error("order type {0} has no H005 equivalent; give a BTF service explicitly")]
    NoH005Equivalent(String),
    /// A BTF field violates the schema.
    #[error("invalid BTF {field}: {value:?} ({reason})")]
    InvalidBtf {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

const KNOWN: &[OrderType] = &[
    OrderType::INI,
    OrderType::HIA,
    OrderType::H3K,
    OrderType::HPB,
    OrderType::HKD,
    OrderType::HTD,
    OrderType::HAA,
    OrderType::HPD,
    OrderType::SPR,
    OrderType::HCA,
    OrderType::HCS,
    OrderType::PUB,
    OrderType::FDL,
    OrderType::FUL,
    OrderType::BTD,
    OrderType::BTU,
    OrderType::C52,
    OrderType::C53,
    OrderType::C54,
    OrderType::STA,
    OrderType::VMK,
    OrderType::Z53,
    OrderType::PTK,
    OrderType::HAC,
    OrderType::CCT,
    OrderType::CDD,
    OrderType::CIP,
    OrderType::HVU,
    OrderType::HVZ,
    OrderType::HVD,
    OrderType::HVT,
    OrderType::HVE,
    OrderType::HVS,
];

fn is_well_formed(code: &str) -> bool {
    code.len() == 3
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl OrderType {
    /// All named (non-`Other`) order types.
    pub fn known() -> &'static [OrderType] {
        KNOWN
    }

    /// The three-character code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::INI => "INI",
            Self::HIA => "HIA",
            Self::H3K => "H3K",
            Self::HPB => "HPB",
            Self::HKD => "HKD",
            Self::HTD => "HTD",
            Self::HAA => "HAA",
            Self::HPD => "HPD",
            Self::SPR => "SPR",
            Self::HCA => "HCA",
            Self::HCS => "HCS",
            Self::PUB => "PUB",
            Self::FDL => "FDL",
            Self::FUL => "FUL",
            Self::BTD => "BTD",
            Self::BTU => "BTU",
            Self::C52 => "C52",
            Self::C53 => "C53",
            Self::C54 => "C54",
            Self::STA => "STA",
            Self::VMK => "VMK",
            Self::Z53 => "Z53",
            Self::PTK => "PTK",
            Self::HAC => "HAC",
            Self::CCT => "CCT",
            Self::CDD => "CDD",
            Self::CIP => "CIP",
            Self::HVU => "HVU",
            Self::HVZ => "HVZ",
            Self::HVD => "HVD",
            Self::HVT => "HVT",
            Self::HVE => "HVE",
            Self::HVS => "HVS",
            Self::Other(code) => code,
        }
    }

    /// Parses any well-formed code: known codes become their variant, others
    /// [`OrderType::Other`]. Use this for codes received from the bank (HTD, HAA, HVU).
    pub fn parse_lenient(code: &str) -> Result<OrderType, OrderTypeError> {
        match code.parse::<OrderType>() {
            Ok(known) => Ok(known),
            Err(OrderTypeError::Unknown(code)) => Ok(OrderType::Other(code)),
            Err(e) => Err(e),
        }
    }

    /// A bank-specific order type; fails unless the code is three characters of `[A-Z0-9]`.
    /// Known codes yield their named variant, so equal codes always compare equal.
    pub fn other(code: &str) -> Result<OrderType, OrderTypeError> {
        Self::parse_lenient(code)
    }

    /// The format of the order data, for the order types whose format the client reads or
    /// writes: statements (C52, C53, C54, STA, VMK), the text protocol (PTK) and payments (the
    /// SEPA credit transfers CCT, CIP, XE2, CCU and direct debits CDD, CDB, XE3, CDC).
    pub fn data_format(&self) -> Option<OrderDataFormat> {
        use OrderDataFormat::*;
        match self.as_str() {
            "C52" | "C53" | "C54" => Some(Camt),
            "STA" | "VMK" => Some(Mt940),
            "PTK" => Some(Text),
            "CCT" | "CIP" | "XE2" | "CCU" => Some(Pain001),
            "CDD" | "CDB" | "XE3" | "CDC" => Some(Pain008),
            _ => None,
        }
    }

    /// Transfer direction; `None` for bank-specific types whose direction is unknown here.
    pub fn direction(&self) -> Option<Direction> {
        use OrderType::*;
        match self {
            INI | HIA | H3K => Some(Direction::KeyManagement),
            HPB | HKD | HTD | HAA | HPD | FDL | BTD | C52 | C53 | C54 | STA | VMK | Z53 | PTK
            | HAC | HVU | HVZ | HVD | HVT => Some(Direction::Download),
            SPR | HCA | HCS | PUB | FUL | BTU | CCT | CDD | CIP | HVE | HVS => {
                Some(Direction::Upload)
            }
            // Bank-specific payment types (XE2, XE3, CCU, CDB, CDC, ...) are uploads.
            Other(_) => match self.data_format() {
                Some(OrderDataFormat::Pain001 | OrderDataFormat::Pain008) => {
                    Some(Direction::Upload)
                }
                _ => None,
            },
        }
    }

    /// The H004 order attribute: `DZHNN` for downloads, `UZHNN` for signature-only uploads
    /// (HVE, HVS, SPR), `OZHNN` for other uploads. `None` for key management (which uses the
    /// fixed attributes of the key management requests) and for unknown directions.
    pub fn order_attribute(&self) -> Option<OrderAttribute> {
        match (self, self.direction()?) {
            (_, Direction::KeyManagement) => None,
            (_, Direction::Download) => Some(OrderAttribute::DZHNN),
            (OrderType::HVE | OrderType::HVS | OrderType::SPR, Direction::Upload) => {
                Some(OrderAttribute::UZHNN)
            }
            (_, Direction::Upload) => Some(OrderAttribute::OZHNN),
        }
    }

    /// Whether the upload carries only signatures and no order data (`NumSegments` 0).
    pub fn is_signature_only(&self) -> bool {
        self.order_attribute() == Some(OrderAttribute::UZHNN)
    }

    /// Whether H005 still uses this code as an administrative order type.
    pub fn is_h005_admin(&self) -> bool {
        use OrderType::*;
        matches!(
            self,
            INI | HIA
                | H3K
                | HPB
                | HKD
                | HTD
                | HAA
                | HPD
                | SPR
                | HCA
                | HCS
                | PUB
                | BTD
                | BTU
                | PTK
                | HAC
                | HVU
                | HVZ
                | HVD
                | HVT
                | HVE
                | HVS
        )
    }

    /// The BTF service the DK mapping assigns to a classic business order type.
    pub fn btf_service(&self) -> Option<BtfService> {
        use OrderType::*;
        let s = |name: &str,
                 scope: Option<&str>,
                 option: Option<&str>,
                 container: Option<ContainerType>,
                 msg: &str| BtfService {
            service_name: name.to_owned(),
            scope: scope.map(str::to_owned),
            service_option: option.map(str::to_owned),
            container,
            message: MessageName::new(msg),
        };
        Some(match self {
            C52 => s(
                "STM",
                Some("DE"),
                None,
                Some(ContainerType::Zip),
                "camt.052",
            ),
            C53 => s(
                "EOP",
                Some("DE"),
                None,
                Some(ContainerType::Zip),
                "camt.053",
            ),
            // DK mapping (vendor documentation of the German table): camt.054 collective booking
            // files are "STM/DE". Swiss banks use "REP/CH" for camt.054.
            C54 => s(
                "STM",
                Some("DE"),
                None,
                Some(ContainerType::Zip),
                "camt.054",
            ),
            STA => s("EOP", Some("DE"), None, None, "mt940"),
            VMK => s("STM", Some("DE"), None, None, "mt942"),
            Z53 => s(
                "EOP",
                Some("CH"),
                None,
                Some(ContainerType::Zip),
                "camt.053",
            ),
            CCT => s("SCT", None, None, None, "pain.001"),
            CDD => s("SDD", None, Some("COR"), None, "pain.008"),
            CIP => s("SCI", None, None, None, "pain.001"),
            // SEPA B2B direct debit: the DK table's SDD with option B2B.
            Other(code) if code == "CDB" => s("SDD", None, Some("B2B"), None, "pain.008"),
            _ => return None,
        })
    }

    /// How an order is expressed in H005: the administrative order type plus, for business
    /// orders, the BTF service. FDL/FUL and unknown codes have no automatic equivalent.
    pub fn to_h005(&self) -> Result<(OrderType, Option<BtfService>), OrderTypeError> {
        if self.is_h005_admin() {
            return Ok((self.clone(), None));
        }
        match (self.btf_service(), self.direction()) {
            (Some(service), Some(Direction::Download)) => Ok((OrderType::BTD, Some(service))),
            (Some(service), Some(Direction::Upload)) => Ok((OrderType::BTU, Some(service))),
            _ => Err(OrderTypeError::NoH005Equivalent(self.as_str().to_owned())),
        }
    }
}

impl fmt::Display for OrderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for OrderType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// Text on the wire: a code Kontor names or a bank's own.
kontor_documents::string_schema!(
    OrderType,
    pattern = "^[A-Z0-9]{3}$",
    "An EBICS order type code (CCT, C53, BTU, ...); banks may define their own."
);

impl<'de> serde::Deserialize<'de> for OrderType {
    /// Lenient, as stored and bank-sent codes may be bank-specific: any well-formed code.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        OrderType::parse_lenient(&code).map_err(serde::de::Error::custom)
    }
}

impl FromStr for OrderType {
    type Err = OrderTypeError;
    /// Strict: only the named order types; use [`OrderType::parse_lenient`] for bank data.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !is_well_formed(s) {
            return Err(OrderTypeError::Malformed(s.to_owned()));
        }
        KNOWN
            .iter()
            .find(|t| t.as_str() == s)
            .cloned()
            .ok_or_else(|| OrderTypeError::Unknown(s.to_owned()))
    }
}

/// The BTF container of a download or upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum ContainerType {
    /// Service-specific container.
    Svc,
    /// XML container.
    Xml,
    /// ZIP archive (camt downloads).
    Zip,
}

text_codes!(
    ContainerType,
    /// The value of the `containerType` attribute.
    as_str,
    { Svc => "SVC", Xml => "XML", Zip => "ZIP" },
    |other| -> OrderTypeError {
        OrderTypeError::InvalidBtf {
            field: "containerType",
            value: other.to_owned(),
            reason: "expected SVC, XML or ZIP",
        }
    }
);

/// The `MsgName` of a BTF service: message name with optional version, variant and format.
///
/// The one type for the message wherever it travels: in order parameters (`envelope`), in the
/// order data of HTD/HKD/HAA and the VEU listings (`orderdata`, which writes and reads it as
/// XML there), and in the daemon's storage and API (its serde form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct MessageName {
    /// Lowercase message name, e.g. `camt.053`, `pain.001`, `mt940`.
    pub name: String,
    /// Two or three digits, e.g. `08`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Two or three digits, e.g. `001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Up to four characters `[A-Z0-9]`, e.g. `XML`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl MessageName {
    /// A message name without version, variant or format.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: None,
            variant: None,
            format: None,
        }
    }

    /// Sets the version.
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }
}

/// A BTF service as used by BTD/BTU order parameters and the distributed signature in H005:
/// the one description of a service that the bank's offers (HTD/HKD/HAA), the user's
/// permissions, orders, schedules and requests carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BtfService {
    /// Three characters `[A-Z0-9]`, e.g. `EOP`, `SCT`.
    pub service_name: String,
    /// Two or three characters `[A-Z0-9]`, e.g. `DE`, `CH`, `BIL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// At least three characters `[A-Z0-9]`, e.g. `COR`, `URG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_option: Option<String>,
    /// Container the data is wrapped in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerType>,
    /// Message name and version.
    pub message: MessageName,
}

impl BtfService {
    /// A service with name and message only.
    pub fn new(service_name: &str, message: MessageName) -> Self {
        Self {
            service_name: service_name.to_owned(),
            scope: None,
            service_option: None,
            container: None,
            message,
        }
    }

    /// Whether this service, as a bank offers or permits it, covers `asked`. Banks match
    /// offers by service name, scope, option and message name; a part the offer leaves open
    /// (no scope, no option, no version, variant or format) covers every value, and a part
    /// the offer names must be asked for as named (EBICS 3.0 Annex 1, BTF; DK Annex 3).
    /// The container is how the data travels, not which service it is, so it is not compared.
    pub fn covers(&self, asked: &BtfService) -> bool {
        let part =
            |offer: &Option<String>, asked: &Option<String>| offer.is_none() || offer == asked;
        self.service_name == asked.service_name
            && part(&self.scope, &asked.scope)
            && part(&self.service_option, &asked.service_option)
            && self.message.name == asked.message.name
            && part(&self.message.version, &asked.message.version)
            && part(&self.message.variant, &asked.message.variant)
            && part(&self.message.format, &asked.message.format)
    }

    /// The service as the bank's offer names it, keeping what the request leaves open: an
    /// order for `SCT pain.001` sent where the bank offers `SCT pain.001 version 09` names
    /// version 09, as a strict bank expects.
    pub fn completed_by(&self, offer: &BtfService) -> BtfService {
        let pick = |mine: &Option<String>, theirs: &Option<String>| {
            mine.clone().or_else(|| theirs.clone())
        };
        BtfService {
            service_name: self.service_name.clone(),
            scope: pick(&self.scope, &offer.scope),
            service_option: pick(&self.service_option, &offer.service_option),
            container: self.container.or(offer.container),
            message: MessageName {
                name: self.message.name.clone(),
                version: pick(&self.message.version, &offer.message.version),
                variant: pick(&self.message.variant, &offer.message.variant),
                format: pick(&self.message.format, &offer.message.format),
            },
        }
    }
}

/// A pattern of BTF services (H005 `ServiceType`): every part optional, a part left out
/// matching every value. It filters the distributed signature's overviews (HVU/HVZ), in the
/// order parameters (`envelope`) as in the order data (`orderdata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ServiceFilter {
    /// `ServiceName`.
    pub service_name: Option<String>,
    /// `Scope`.
    pub scope: Option<String>,
    /// `ServiceOption`.
    pub service_option: Option<String>,
    /// `Container/@containerType`.
    pub container: Option<ContainerType>,
    /// `MsgName`.
    pub message: Option<MessageName>,
}

impl From<BtfService> for ServiceFilter {
    /// The filter that names every part of the service.
    fn from(s: BtfService) -> Self {
        Self {
            service_name: Some(s.service_name),
            scope: s.scope,
            service_option: s.service_option,
            container: s.container,
            message: Some(s.message),
        }
    }
}

impl fmt::Display for BtfService {
    /// `SDD/COR pain.008` style: name, scope and option, then the message with its version.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.service_name)?;
        for part in [&self.scope, &self.service_option].into_iter().flatten() {
            write!(f, "/{part}")?;
        }
        write!(f, " {}", self.message.name)?;
        if let Some(version) = &self.message.version {
            write!(f, ".{version}")?;
        }
        if let Some(container) = self.container {
            write!(f, " in {}", container.as_str())?;
        }
        Ok(())
    }
}

fn check_code(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), OrderTypeError> {
    if lexical::is_code(value, min, max) {
        Ok(())
    } else {
        Err(OrderTypeError::InvalidBtf {
            field,
            value: value.to_owned(),
            reason: "wrong length or characters outside A-Z 0-9",
        })
    }
}

fn check_num(field: &'static str, value: &str) -> Result<(), OrderTypeError> {
    if lexical::is_num_string(value) {
        Ok(())
    } else {
        Err(OrderTypeError::InvalidBtf {
            field,
            value: value.to_owned(),
            reason: "expected two or three digits",
        })
    }
}

/// A part's check, under the name the flat text form ([`BtfServiceText`]) gives the part.
type PartCheck = (&'static str, Result<(), OrderTypeError>);

/// Checks an optional part: one that is absent breaks no rule.
fn check_optional(
    value: &Option<String>,
    check: impl FnOnce(&str) -> Result<(), OrderTypeError>,
) -> Result<(), OrderTypeError> {
    value.as_deref().map_or(Ok(()), check)
}

impl BtfService {
    /// Checks every field against the H005 schema types.
    pub fn validate(&self) -> Result<(), OrderTypeError> {
        self.part_checks().try_for_each(|(_, check)| check)
    }

    /// Every part checked against the H005 schema types, in the order of the schema.
    fn part_checks(&self) -> impl Iterator<Item = PartCheck> {
        [
            (
                "service_name",
                check_code("ServiceName", &self.service_name, 3, 3),
            ),
            (
                "scope",
                check_optional(&self.scope, |scope| check_code("Scope", scope, 2, 3)),
            ),
            (
                "service_option",
                check_optional(&self.service_option, |option| {
                    check_code("ServiceOption", option, 3, 10)
                }),
            ),
        ]
        .into_iter()
        .chain(self.message.part_checks())
    }
}

impl MessageName {
    /// Checks the fields against the H005 schema types.
    pub fn validate(&self) -> Result<(), OrderTypeError> {
        self.part_checks()
            .into_iter()
            .try_for_each(|(_, check)| check)
    }

    /// Every part checked against the H005 schema types.
    fn part_checks(&self) -> [PartCheck; 4] {
        [
            ("msg_name", check_message_name(&self.name)),
            (
                "msg_version",
                check_optional(&self.version, |v| check_num("MsgName/@version", v)),
            ),
            (
                "msg_variant",
                check_optional(&self.variant, |v| check_num("MsgName/@variant", v)),
            ),
            (
                "msg_format",
                check_optional(&self.format, |f| check_code("MsgName/@format", f, 1, 4)),
            ),
        ]
    }
}

fn check_message_name(name: &str) -> Result<(), OrderTypeError> {
    if lexical::is_message_name(name) {
        Ok(())
    } else {
        Err(OrderTypeError::InvalidBtf {
            field: "MsgName",
            value: name.to_owned(),
            reason: "expected 1-10 characters a-z 0-9 or '.'",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_format_decides_the_media_type() {
        let format = |code: &str| OrderType::parse_lenient(code).unwrap().data_format();
        assert_eq!(format("C53"), Some(OrderDataFormat::Camt));
        assert_eq!(format("VMK"), Some(OrderDataFormat::Mt940));
        assert_eq!(format("XE2"), Some(OrderDataFormat::Pain001));
        assert_eq!(format("CDC"), Some(OrderDataFormat::Pain008));
        assert_eq!(format("HTD"), None);
        assert_eq!(OrderDataFormat::Text.content_type(), "text/plain");
        assert_eq!(OrderDataFormat::Pain008.content_type(), "application/xml");
    }

    #[test]
    fn every_known_order_type_round_trips_through_its_code() {
        for t in OrderType::known() {
            assert_eq!(t.as_str().parse::<OrderType>().as_ref(), Ok(t));
        }
    }

    #[test]
    fn strict_parsing_rejects_unknown_codes_with_a_typed_error() {
        assert_eq!(
            "XYZ".parse::<OrderType>(),
            Err(OrderTypeError::Unknown("XYZ".into()))
        );
        assert_eq!(
            "c53".parse::<OrderType>(),
            Err(OrderTypeError::Malformed("c53".into()))
        );
        assert_eq!(
            "C533".parse::<OrderType>(),
            Err(OrderTypeError::Malformed("C533".into()))
        );
    }

    #[test]
    fn lenient_parsing_keeps_bank_specific_codes() {
        assert_eq!(
            OrderType::parse_lenient("XE2"),
            Ok(OrderType::Other("XE2".into()))
        );
        assert_eq!(OrderType::parse_lenient("C53"), Ok(OrderType::C53));
        assert!(OrderType::parse_lenient("ab").is_err());
        assert_eq!(OrderType::other("CCT"), Ok(OrderType::CCT));
    }

    #[test]
    fn directions_match_the_specification() {
        assert_eq!(OrderType::C53.direction(), Some(Direction::Download));
        assert_eq!(OrderType::HPB.direction(), Some(Direction::Download));
        assert_eq!(OrderType::CCT.direction(), Some(Direction::Upload));
        assert_eq!(OrderType::HVE.direction(), Some(Direction::Upload));
        assert_eq!(OrderType::INI.direction(), Some(Direction::KeyManagement));
        assert_eq!(OrderType::Other("XYZ".into()).direction(), None);
    }

    #[test]
    fn h004_order_attributes_follow_direction_and_signature_only_uploads() {
        assert_eq!(
            OrderType::STA.order_attribute(),
            Some(OrderAttribute::DZHNN)
        );
        assert_eq!(
            OrderType::FUL.order_attribute(),
            Some(OrderAttribute::OZHNN)
        );
        assert_eq!(
            OrderType::HVE.order_attribute(),
            Some(OrderAttribute::UZHNN)
        );
        assert_eq!(
            OrderType::SPR.order_attribute(),
            Some(OrderAttribute::UZHNN)
        );
        assert_eq!(OrderType::INI.order_attribute(), None);
        assert!(OrderType::HVS.is_signature_only());
        assert!(!OrderType::CCT.is_signature_only());
    }

    #[test]
    fn business_order_types_map_to_btf_per_dk_table() {
        let c53 = OrderType::C53.btf_service().expect("mapped");
        assert_eq!(
            (
                c53.service_name.as_str(),
                c53.scope.as_deref(),
                c53.message.name.as_str()
            ),
            ("EOP", Some("DE"), "camt.053")
        );
        assert_eq!(c53.container, Some(ContainerType::Zip));
        let sta = OrderType::STA.btf_service().expect("mapped");
        assert_eq!(
            (sta.service_name.as_str(), sta.message.name.as_str()),
            ("EOP", "mt940")
        );
        let cdd = OrderType::CDD.btf_service().expect("mapped");
        assert_eq!(cdd.service_option.as_deref(), Some("COR"));
        assert_eq!(cdd.message.name, "pain.008");
        assert_eq!(
            OrderType::CIP.btf_service().expect("mapped").service_name,
            "SCI"
        );
        assert_eq!(
            OrderType::C52.btf_service().expect("mapped").service_name,
            "STM"
        );
        for t in OrderType::known() {
            if let Some(s) = t.btf_service() {
                assert_eq!(s.validate(), Ok(()), "{t}");
            }
        }
    }

    #[test]
    fn h005_equivalents_use_btd_btu_or_the_admin_code() {
        let (admin, service) = OrderType::C53.to_h005().expect("mapped");
        assert_eq!(admin, OrderType::BTD);
        assert!(service.is_some());
        let (admin, service) = OrderType::CCT.to_h005().expect("mapped");
        assert_eq!(admin, OrderType::BTU);
        assert!(service.is_some());
        assert_eq!(OrderType::HKD.to_h005(), Ok((OrderType::HKD, None)));
        assert_eq!(OrderType::PTK.to_h005(), Ok((OrderType::PTK, None)));
        assert!(matches!(
            OrderType::FDL.to_h005(),
            Err(OrderTypeError::NoH005Equivalent(_))
        ));
    }

    #[test]
    fn btf_validation_rejects_schema_violations() {
        let mut s = OrderType::C53.btf_service().expect("mapped");
        s.service_name = "eop".into();
        assert!(s.validate().is_err());
        let mut s = OrderType::C53.btf_service().expect("mapped");
        s.message.name = "CAMT.053".into();
        assert!(s.validate().is_err());
        let mut s = OrderType::C53.btf_service().expect("mapped");
        s.message.version = Some("8".into());
        assert!(s.validate().is_err());
    }

    #[test]
    fn an_offer_covers_what_it_leaves_open_and_nothing_else() {
        let sdd = |option: Option<&str>, version: Option<&str>| BtfService {
            service_option: option.map(str::to_owned),
            message: MessageName {
                version: version.map(str::to_owned),
                ..MessageName::new("pain.008")
            },
            ..BtfService::new("SDD", MessageName::new("pain.008"))
        };
        let any_version = sdd(Some("COR"), None);
        assert!(any_version.covers(&sdd(Some("COR"), Some("08"))));
        assert!(any_version.covers(&sdd(Some("COR"), None)));
        assert!(
            !any_version.covers(&sdd(Some("B2B"), None)),
            "another option"
        );
        assert!(!sdd(Some("COR"), Some("08")).covers(&sdd(Some("COR"), Some("02"))));
        let sct = BtfService::new("SCT", MessageName::new("pain.001"));
        assert!(!any_version.covers(&sct) && !sct.covers(&any_version));
        // A request completed by the offer names what the bank names.
        let asked = sdd(Some("COR"), None);
        let completed = asked.completed_by(&sdd(Some("COR"), Some("08")));
        assert_eq!(completed.message.version.as_deref(), Some("08"));
        assert_eq!(completed.to_string(), "SDD/COR pain.008.08");
    }

    #[test]
    fn bank_specific_payment_types_are_uploads_and_cdb_is_sdd_b2b() {
        let xe2 = OrderType::parse_lenient("XE2").unwrap();
        assert_eq!(xe2.direction(), Some(Direction::Upload));
        assert_eq!(xe2.order_attribute(), Some(OrderAttribute::OZHNN));
        assert_eq!(
            xe2.btf_service(),
            None,
            "no DK service: BTU needs one named"
        );
        let cdb = OrderType::parse_lenient("CDB")
            .unwrap()
            .btf_service()
            .unwrap();
        assert_eq!(
            (cdb.service_name.as_str(), cdb.service_option.as_deref()),
            ("SDD", Some("B2B"))
        );
        assert_eq!(OrderType::parse_lenient("ZZZ").unwrap().direction(), None);
    }

    #[test]
    fn order_types_and_services_round_trip_through_json() {
        let types = vec![OrderType::BTU, OrderType::parse_lenient("XE2").unwrap()];
        let json = serde_json::to_string(&types).unwrap();
        assert_eq!(json, r#"["BTU","XE2"]"#);
        assert_eq!(
            serde_json::from_str::<Vec<OrderType>>(&json).unwrap(),
            types
        );
        assert!(serde_json::from_str::<OrderType>(r#""c5""#).is_err());
        let service = OrderType::C53.btf_service().unwrap();
        let json = serde_json::to_string(&service).unwrap();
        assert_eq!(serde_json::from_str::<BtfService>(&json).unwrap(), service);
    }
}
