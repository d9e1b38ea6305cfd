//! An order as a bank names it in either protocol version, and its canonical text.

use std::fmt;
use std::str::FromStr;

use super::{BtfService, BtfServiceText, OrderType, OrderTypeError};

/// An order as a bank names it: by an order type (`CCT`: H004, and H005's administrative
/// orders) or by a BTF service (H005's business orders).
///
/// The distributed signature lists each waiting order so (HVU/HVZ `OrderType` or `Service`),
/// and the requests about that order (HVD, HVT, HVE, HVS: `HVRequestStructure`) repeat it
/// beside the order ID. For a service that is every part the bank listed, scope, option,
/// container and the message's version, variant and format included: H004 names the order by
/// partner, order type and order ID, H005's `Service` took the order type's place
/// (`ebics_orders_H005.xsd`: `HVRequestStructure`, `HVUOrderDetailsType`), and a bank may
/// resolve the service to its own order type (`SDD/COR` and `SDD/B2B` are different ones)
/// before it looks for the order ID.
///
/// Its text ([`Display`](fmt::Display), [`FromStr`], serde) is canonical and carries every
/// part: an order type's code (`CCT`), or a service's name and message name (`SCT/pain.001`)
/// followed by each further part as `;part=value`, named as [`BtfServiceText`] names them,
/// in the schema's order: `SDD/pain.008;service_option=COR;msg_version=08`. A service's parts
/// are checked against the schema types, so no value holds `/`, `;` or `=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderTypeOrService {
    /// An order type; the text form of a code Kontor does not name keeps the bank's code.
    OrderType(OrderType),
    /// A BTF service within the H005 schema types: build it with [`OrderTypeOrService::service`]
    /// (or read it), or its text may not read back.
    Service(BtfService),
}

impl OrderTypeOrService {
    /// A service, checked against the H005 schema types (what the canonical text relies on).
    pub fn service(service: BtfService) -> Result<Self, OrderTypeError> {
        service.validate()?;
        Ok(Self::Service(service))
    }

    /// The short label: the order type's code, or the service's name and message name
    /// (`SCT/pain.001`). It names the same order as the whole value where the bank's order ID
    /// is known, but a request to the bank needs every part.
    pub fn label(&self) -> String {
        match self {
            Self::OrderType(order_type) => order_type.as_str().to_owned(),
            Self::Service(service) => {
                format!("{}/{}", service.service_name, service.message.name)
            }
        }
    }

    /// The BTF service, when the order is named by one.
    pub fn btf_service(&self) -> Option<&BtfService> {
        match self {
            Self::OrderType(_) => None,
            Self::Service(service) => Some(service),
        }
    }
}

impl From<OrderType> for OrderTypeOrService {
    fn from(order_type: OrderType) -> Self {
        Self::OrderType(order_type)
    }
}

impl fmt::Display for OrderTypeOrService {
    /// The canonical text (see [`OrderTypeOrService`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self::Service(service) = self else {
            return f.write_str(&self.label());
        };
        f.write_str(&self.label())?;
        let message = &service.message;
        let parts = [
            ("scope", service.scope.as_deref()),
            ("service_option", service.service_option.as_deref()),
            ("container", service.container.map(|c| c.as_str())),
            ("msg_version", message.version.as_deref()),
            ("msg_variant", message.variant.as_deref()),
            ("msg_format", message.format.as_deref()),
        ];
        for (name, value) in parts {
            if let Some(value) = value {
                write!(f, ";{name}={value}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for OrderTypeOrService {
    type Err = OrderTypeError;

    /// Reads the canonical text: any well-formed order type (banks publish their own), or a
    /// service whose parts the schema types allow, each part named once.
    fn from_str(text: &str) -> Result<Self, OrderTypeError> {
        let Some((service_name, rest)) = text.split_once('/') else {
            return OrderType::parse_lenient(text).map(Self::OrderType);
        };
        let malformed = |reason| OrderTypeError::InvalidBtf {
            field: "service text",
            value: text.to_owned(),
            reason,
        };
        let mut parts = rest.split(';');
        let mut service = BtfServiceText {
            service_name: service_name.to_owned(),
            msg_name: parts.next().unwrap_or_default().to_owned(),
            ..BtfServiceText::default()
        };
        for part in parts {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| malformed("a part without '='"))?;
            let slot = match name {
                "scope" => &mut service.scope,
                "service_option" => &mut service.service_option,
                "container" => &mut service.container,
                "msg_version" => &mut service.msg_version,
                "msg_variant" => &mut service.msg_variant,
                "msg_format" => &mut service.msg_format,
                _ => return Err(malformed("an unknown part")),
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(malformed("a part named twice"));
            }
        }
        service.check().map(Self::Service).map_err(|problems| {
            problems
                .into_iter()
                .next()
                .map_or_else(|| malformed("unreadable"), |problem| problem.error)
        })
    }
}

impl serde::Serialize for OrderTypeOrService {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for OrderTypeOrService {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

kontor_documents::string_schema!(
    OrderTypeOrService,
    "An order type (CCT) or a BTF service with every part as the bank named it (SCT/pain.001, SDD/pain.008;service_option=COR;msg_version=08)."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order_type::{ContainerType, MessageName};

    fn every_part() -> BtfService {
        BtfService {
            service_name: "SDD".into(),
            scope: Some("DE".into()),
            service_option: Some("COR".into()),
            container: Some(ContainerType::Xml),
            message: MessageName {
                name: "pain.008".into(),
                version: Some("08".into()),
                variant: Some("001".into()),
                format: Some("XML".into()),
            },
        }
    }

    #[test]
    fn a_service_keeps_every_part_through_its_text() {
        let named = OrderTypeOrService::service(every_part()).unwrap();
        let text = named.to_string();
        assert_eq!(
            text,
            "SDD/pain.008;scope=DE;service_option=COR;container=XML;msg_version=08;msg_variant=001;msg_format=XML"
        );
        assert_eq!(text.parse::<OrderTypeOrService>(), Ok(named.clone()));
        assert_eq!(named.label(), "SDD/pain.008");
        let json = serde_json::to_string(&named).unwrap();
        assert_eq!(
            serde_json::from_str::<OrderTypeOrService>(&json).unwrap(),
            named
        );
    }

    #[test]
    fn labels_written_before_every_part_was_kept_read_as_they_meant() {
        assert_eq!(
            "CCT".parse::<OrderTypeOrService>(),
            Ok(OrderTypeOrService::OrderType(OrderType::CCT))
        );
        assert_eq!(
            "XE2".parse::<OrderTypeOrService>(),
            Ok(OrderTypeOrService::OrderType(OrderType::Other(
                "XE2".into()
            )))
        );
        let sct = BtfService::new("SCT", MessageName::new("pain.001"));
        let read: OrderTypeOrService = "SCT/pain.001".parse().unwrap();
        assert_eq!(read, OrderTypeOrService::Service(sct));
        assert_eq!(read.to_string(), "SCT/pain.001");
    }

    #[test]
    fn parts_may_come_in_any_order_but_once_and_known() {
        let read: OrderTypeOrService = "SDD/pain.008;msg_version=08;service_option=COR"
            .parse()
            .unwrap();
        assert_eq!(
            read.to_string(),
            "SDD/pain.008;service_option=COR;msg_version=08"
        );
        for broken in [
            "SDD/pain.008;scope=DE;scope=AT",
            "SDD/pain.008;colour=blue",
            "SDD/pain.008;scope",
            "SDD/pain.008;scope=de",
            "SD/pain.008",
            "SDD/",
            "SDD/pain.008;container=TAR",
            "cct",
        ] {
            assert!(broken.parse::<OrderTypeOrService>().is_err(), "{broken}");
        }
    }

    #[test]
    fn a_service_outside_the_schema_types_is_refused() {
        let mut lower = every_part();
        lower.scope = Some("de".into());
        assert!(OrderTypeOrService::service(lower).is_err());
    }
}
