//! `OrderDetails` of the `ebicsRequest` static header and the order parameter variants.

use roxmltree::Node;

use super::types::{DateRange, FileFormat, OrderId, Parameter, PartnerId};
use super::xml::{attr, format_date, parse_bool, parse_date, text_of, token_of, Children, XmlOut};
use super::EnvelopeError;
use crate::order_type::{
    BtfService, ContainerType, Direction, MessageName, OrderAttribute, OrderType, ServiceFilter,
};
use crate::version::ProtocolVersion;

/// `OrderDetails` of an initialisation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetails {
    /// H004 `OrderType`; H005 `AdminOrderType` (`BTD`/`BTU` for business orders).
    pub order_type: OrderType,
    /// Optional `OrderID` (normally assigned by the bank).
    pub order_id: Option<OrderId>,
    /// H004 `OrderAttribute`; `None` derives it from the order type when writing. Ignored
    /// (and `None` after parsing) for H005, which has no order attribute.
    pub order_attribute: Option<OrderAttribute>,
    /// The order parameters.
    pub params: OrderParams,
}

/// The order parameter element (one of the `OrderParams` substitution group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderParams {
    /// `StandardOrderParams` with an optional date range.
    Standard { date_range: Option<DateRange> },
    /// H004 `GenericOrderParams`.
    Generic(Vec<Parameter>),
    /// H004 `FDLOrderParams`.
    Fdl {
        date_range: Option<DateRange>,
        parameters: Vec<Parameter>,
        file_format: FileFormat,
    },
    /// H004 `FULOrderParams`.
    Ful {
        parameters: Vec<Parameter>,
        file_format: FileFormat,
    },
    /// H005 `BTDOrderParams`.
    Btd {
        service: BtfService,
        date_range: Option<DateRange>,
        parameters: Vec<Parameter>,
    },
    /// H005 `BTUOrderParams`.
    Btu {
        service: BtfService,
        signature_flag: Option<SignatureFlag>,
        parameters: Vec<Parameter>,
        file_name: Option<String>,
    },
    /// `HVUOrderParams`.
    Hvu(HvListParams),
    /// `HVZOrderParams`.
    Hvz(HvListParams),
    /// `HVDOrderParams`.
    Hvd(HvOrderRef),
    /// `HVEOrderParams`.
    Hve(HvOrderRef),
    /// `HVSOrderParams`.
    Hvs(HvOrderRef),
    /// `HVTOrderParams`.
    Hvt {
        order: HvOrderRef,
        flags: HvtOrderFlags,
        parameters: Vec<Parameter>,
    },
}

/// H005 `SignatureFlag` of a BTU order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignatureFlag {
    /// `requestEDS`: the order is to be completed by further signatures (distributed signature).
    pub request_eds: Option<bool>,
}

/// Filter of HVU/HVZ: H004 lists order types, H005 lists service filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HvListParams {
    /// H004 `OrderTypes`.
    pub order_types: Vec<OrderType>,
    /// H005 `ServiceFilter`s.
    pub service_filters: Vec<ServiceFilter>,
}

/// The order a distributed signature request refers to (`HVRequestStructure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvOrderRef {
    pub partner_id: PartnerId,
    pub kind: HvOrderKind,
    pub order_id: OrderId,
}

/// How the referenced order is identified: H004 by order type, H005 by service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HvOrderKind {
    /// H004.
    OrderType {
        order_type: OrderType,
        file_format: Option<FileFormat>,
    },
    /// H005.
    Service(BtfService),
}

/// `OrderFlags` of HVT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HvtOrderFlags {
    pub complete_order_data: bool,
    pub fetch_limit: u64,
    pub fetch_offset: u64,
}

impl OrderDetails {
    /// Details for a download of a classic order type with standard parameters. For H005,
    /// business types become `BTD` with their DK-mapped service (see
    /// [`OrderType::to_h005`]); administrative types keep their code.
    pub fn download(
        version: ProtocolVersion,
        order_type: &OrderType,
        date_range: Option<DateRange>,
    ) -> Result<Self, EnvelopeError> {
        Self::classic(version, order_type, date_range)
    }

    /// Details for an upload of a classic order type (H005: `BTU` with the mapped service).
    pub fn upload(version: ProtocolVersion, order_type: &OrderType) -> Result<Self, EnvelopeError> {
        Self::classic(version, order_type, None)
    }

    fn classic(
        version: ProtocolVersion,
        order_type: &OrderType,
        date_range: Option<DateRange>,
    ) -> Result<Self, EnvelopeError> {
        if !version.uses_btf() {
            return Ok(Self {
                order_type: order_type.clone(),
                order_id: None,
                order_attribute: None,
                params: OrderParams::Standard { date_range },
            });
        }
        let (admin, service) = order_type.to_h005()?;
        let params = match (service, order_type.direction()) {
            (Some(service), Some(Direction::Download)) => OrderParams::Btd {
                service,
                date_range,
                parameters: Vec::new(),
            },
            // The classic upload order types carry the ES in the order (H004 OZHNN); in H005
            // that is `SignatureFlag` (BTUParams: without it "the order doesn't contain any
            // ES and shall be authorised outside EBICS").
            (Some(service), _) => OrderParams::Btu {
                service,
                signature_flag: Some(SignatureFlag::default()),
                parameters: Vec::new(),
                file_name: None,
            },
            (None, _) => OrderParams::Standard { date_range },
        };
        Ok(Self {
            order_type: admin,
            order_id: None,
            order_attribute: None,
            params,
        })
    }

    /// H005 `BTD` with an explicit service.
    pub fn btd(service: BtfService, date_range: Option<DateRange>) -> Self {
        Self {
            order_type: OrderType::BTD,
            order_id: None,
            order_attribute: None,
            params: OrderParams::Btd {
                service,
                date_range,
                parameters: Vec::new(),
            },
        }
    }

    /// H005 `BTU` with an explicit service.
    pub fn btu(service: BtfService, signature_flag: Option<SignatureFlag>) -> Self {
        Self {
            order_type: OrderType::BTU,
            order_id: None,
            order_attribute: None,
            params: OrderParams::Btu {
                service,
                signature_flag,
                parameters: Vec::new(),
                file_name: None,
            },
        }
    }

    /// H004 `FDL` with a file format.
    pub fn fdl(file_format: FileFormat, date_range: Option<DateRange>) -> Self {
        Self {
            order_type: OrderType::FDL,
            order_id: None,
            order_attribute: None,
            params: OrderParams::Fdl {
                date_range,
                parameters: Vec::new(),
                file_format,
            },
        }
    }

    /// H004 `FUL` with a file format.
    pub fn ful(file_format: FileFormat) -> Self {
        Self {
            order_type: OrderType::FUL,
            order_id: None,
            order_attribute: None,
            params: OrderParams::Ful {
                parameters: Vec::new(),
                file_format,
            },
        }
    }

    /// The order attribute written for H004: the explicit one, else the derived one.
    pub fn effective_order_attribute(&self) -> Option<OrderAttribute> {
        self.order_attribute
            .or_else(|| self.order_type.order_attribute())
    }

    pub(crate) fn write(
        &self,
        out: &mut XmlOut,
        version: ProtocolVersion,
    ) -> Result<(), EnvelopeError> {
        out.start("OrderDetails", &[])?;
        if version.uses_btf() {
            out.text("AdminOrderType", &[], self.order_type.as_str())?;
        } else {
            out.text("OrderType", &[], self.order_type.as_str())?;
        }
        if let Some(id) = &self.order_id {
            out.text("OrderID", &[], id.as_str())?;
        }
        if !version.uses_btf() {
            let attribute =
                self.effective_order_attribute()
                    .ok_or_else(|| EnvelopeError::InvalidValue {
                        element: "OrderAttribute",
                        reason: format!(
                            "cannot derive the order attribute of {}; set it explicitly",
                            self.order_type
                        ),
                    })?;
            out.text("OrderAttribute", &[], attribute.as_str())?;
        }
        self.params.write(out, version)?;
        out.end("OrderDetails")
    }

    pub(crate) fn parse(
        node: Node<'_, '_>,
        version: ProtocolVersion,
    ) -> Result<Self, EnvelopeError> {
        let mut c = Children::of(node, "OrderDetails", version.namespace());
        let type_element = if version.uses_btf() {
            "AdminOrderType"
        } else {
            "OrderType"
        };
        let order_type = OrderType::parse_lenient(&token_of(c.required(type_element)?))?;
        let order_id = c
            .optional("OrderID")
            .map(|n| OrderId::new(token_of(n)))
            .transpose()?;
        let order_attribute = if version.uses_btf() {
            None
        } else {
            Some(token_of(c.required("OrderAttribute")?).parse::<OrderAttribute>()?)
        };
        let params_node = c.optional_any().ok_or(EnvelopeError::MissingElement {
            parent: "OrderDetails",
            element: "OrderParams",
        })?;
        let params = OrderParams::parse(params_node, version)?;
        c.finish()?;
        Ok(Self {
            order_type,
            order_id,
            order_attribute,
            params,
        })
    }
}

impl OrderParams {
    fn require(
        version: ProtocolVersion,
        h005: bool,
        what: &'static str,
    ) -> Result<(), EnvelopeError> {
        if version.uses_btf() == h005 {
            Ok(())
        } else {
            Err(EnvelopeError::UnsupportedInVersion {
                feature: what,
                version,
            })
        }
    }

    pub(crate) fn write(
        &self,
        out: &mut XmlOut,
        version: ProtocolVersion,
    ) -> Result<(), EnvelopeError> {
        match self {
            Self::Standard { date_range } => {
                out.start("StandardOrderParams", &[])?;
                write_date_range(out, date_range.as_ref())?;
                out.end("StandardOrderParams")
            }
            Self::Generic(parameters) => {
                Self::require(version, false, "GenericOrderParams")?;
                out.start("GenericOrderParams", &[])?;
                write_parameters(out, parameters)?;
                out.end("GenericOrderParams")
            }
            Self::Fdl {
                date_range,
                parameters,
                file_format,
            } => {
                Self::require(version, false, "FDLOrderParams")?;
                out.start("FDLOrderParams", &[])?;
                write_date_range(out, date_range.as_ref())?;
                write_parameters(out, parameters)?;
                write_file_format(out, file_format)?;
                out.end("FDLOrderParams")
            }
            Self::Ful {
                parameters,
                file_format,
            } => {
                Self::require(version, false, "FULOrderParams")?;
                out.start("FULOrderParams", &[])?;
                write_parameters(out, parameters)?;
                write_file_format(out, file_format)?;
                out.end("FULOrderParams")
            }
            Self::Btd {
                service,
                date_range,
                parameters,
            } => {
                Self::require(version, true, "BTDOrderParams")?;
                out.start("BTDOrderParams", &[])?;
                write_service(out, "Service", service)?;
                write_date_range(out, date_range.as_ref())?;
                write_parameters(out, parameters)?;
                out.end("BTDOrderParams")
            }
            Self::Btu {
                service,
                signature_flag,
                parameters,
                file_name,
            } => {
                Self::require(version, true, "BTUOrderParams")?;
                match file_name {
                    Some(name) => {
                        if name.is_empty() || name.chars().count() > 256 {
                            return Err(EnvelopeError::InvalidValue {
                                element: "BTUOrderParams",
                                reason: "fileName must have 1-256 characters".into(),
                            });
                        }
                        out.start("BTUOrderParams", &[("fileName", name)])?
                    }
                    None => out.start("BTUOrderParams", &[])?,
                }
                write_service(out, "Service", service)?;
                if let Some(flag) = signature_flag {
                    match flag.request_eds {
                        Some(eds) => out.empty(
                            "SignatureFlag",
                            &[("requestEDS", if eds { "true" } else { "false" })],
                        )?,
                        None => out.empty("SignatureFlag", &[])?,
                    }
                }
                write_parameters(out, parameters)?;
                out.end("BTUOrderParams")
            }
            Self::Hvu(list) => write_hv_list(out, "HVUOrderParams", list, version),
            Self::Hvz(list) => write_hv_list(out, "HVZOrderParams", list, version),
            Self::Hvd(order) => {
                out.start("HVDOrderParams", &[])?;
                write_hv_ref(out, order, version)?;
                out.end("HVDOrderParams")
            }
            Self::Hve(order) => {
                out.start("HVEOrderParams", &[])?;
                write_hv_ref(out, order, version)?;
                out.end("HVEOrderParams")
            }
            Self::Hvs(order) => {
                out.start("HVSOrderParams", &[])?;
                write_hv_ref(out, order, version)?;
                out.end("HVSOrderParams")
            }
            Self::Hvt {
                order,
                flags,
                parameters,
            } => {
                out.start("HVTOrderParams", &[])?;
                write_hv_ref(out, order, version)?;
                let limit = flags.fetch_limit.to_string();
                let offset = flags.fetch_offset.to_string();
                out.empty(
                    "OrderFlags",
                    &[
                        (
                            "completeOrderData",
                            if flags.complete_order_data {
                                "true"
                            } else {
                                "false"
                            },
                        ),
                        ("fetchLimit", &limit),
                        ("fetchOffset", &offset),
                    ],
                )?;
                write_parameters(out, parameters)?;
                out.end("HVTOrderParams")
            }
        }
    }

    pub(crate) fn parse(
        node: Node<'_, '_>,
        version: ProtocolVersion,
    ) -> Result<Self, EnvelopeError> {
        let ns = version.namespace();
        let name = node.tag_name().name();
        if node.tag_name().namespace().unwrap_or("") != ns {
            return Err(EnvelopeError::UnexpectedElement {
                parent: "OrderDetails",
                element: name.to_owned(),
            });
        }
        let h005 = version.uses_btf();
        match name {
            "StandardOrderParams" => {
                let mut c = Children::of(node, "StandardOrderParams", ns);
                let date_range = parse_date_range(&mut c, ns)?;
                c.finish()?;
                Ok(Self::Standard { date_range })
            }
            "GenericOrderParams" if !h005 => {
                let mut c = Children::of(node, "GenericOrderParams", ns);
                let parameters = parse_parameters(&mut c, ns)?;
                c.finish()?;
                Ok(Self::Generic(parameters))
            }
            "FDLOrderParams" if !h005 => {
                let mut c = Children::of(node, "FDLOrderParams", ns);
                let date_range = parse_date_range(&mut c, ns)?;
                let parameters = parse_parameters(&mut c, ns)?;
                let file_format = parse_file_format(c.required("FileFormat")?);
                c.finish()?;
                Ok(Self::Fdl {
                    date_range,
                    parameters,
                    file_format,
                })
            }
            "FULOrderParams" if !h005 => {
                let mut c = Children::of(node, "FULOrderParams", ns);
                let parameters = parse_parameters(&mut c, ns)?;
                let file_format = parse_file_format(c.required("FileFormat")?);
                c.finish()?;
                Ok(Self::Ful {
                    parameters,
                    file_format,
                })
            }
            "BTDOrderParams" if h005 => {
                let mut c = Children::of(node, "BTDOrderParams", ns);
                let service = parse_service(c.required("Service")?, ns)?;
                let date_range = parse_date_range(&mut c, ns)?;
                let parameters = parse_parameters(&mut c, ns)?;
                c.finish()?;
                Ok(Self::Btd {
                    service,
                    date_range,
                    parameters,
                })
            }
            "BTUOrderParams" if h005 => {
                let mut c = Children::of(node, "BTUOrderParams", ns);
                let service = parse_service(c.required("Service")?, ns)?;
                let signature_flag = c
                    .optional("SignatureFlag")
                    .map(|n| -> Result<SignatureFlag, EnvelopeError> {
                        Ok(SignatureFlag {
                            request_eds: n
                                .attribute("requestEDS")
                                .map(|v| parse_bool("SignatureFlag", v))
                                .transpose()?,
                        })
                    })
                    .transpose()?;
                let parameters = parse_parameters(&mut c, ns)?;
                c.finish()?;
                Ok(Self::Btu {
                    service,
                    signature_flag,
                    parameters,
                    file_name: node.attribute("fileName").map(str::to_owned),
                })
            }
            "HVUOrderParams" => Ok(Self::Hvu(parse_hv_list(node, "HVUOrderParams", version)?)),
            "HVZOrderParams" => Ok(Self::Hvz(parse_hv_list(node, "HVZOrderParams", version)?)),
            "HVDOrderParams" => Ok(Self::Hvd(parse_hv_ref_only(
                node,
                "HVDOrderParams",
                version,
            )?)),
            "HVEOrderParams" => Ok(Self::Hve(parse_hv_ref_only(
                node,
                "HVEOrderParams",
                version,
            )?)),
            "HVSOrderParams" => Ok(Self::Hvs(parse_hv_ref_only(
                node,
                "HVSOrderParams",
                version,
            )?)),
            "HVTOrderParams" => {
                let mut c = Children::of(node, "HVTOrderParams", ns);
                let order = parse_hv_ref(&mut c, version)?;
                let flags_node = c.required("OrderFlags")?;
                let number = |a: &'static str| -> Result<u64, EnvelopeError> {
                    let v = attr(flags_node, "OrderFlags", a)?;
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| EnvelopeError::InvalidValue {
                            element: "OrderFlags",
                            reason: format!("{a} is not a number: {v:?}"),
                        })
                };
                let flags = HvtOrderFlags {
                    complete_order_data: parse_bool(
                        "OrderFlags",
                        attr(flags_node, "OrderFlags", "completeOrderData")?,
                    )?,
                    fetch_limit: number("fetchLimit")?,
                    fetch_offset: number("fetchOffset")?,
                };
                let parameters = parse_parameters(&mut c, ns)?;
                c.finish()?;
                Ok(Self::Hvt {
                    order,
                    flags,
                    parameters,
                })
            }
            other => Err(EnvelopeError::UnexpectedElement {
                parent: "OrderDetails",
                element: other.to_owned(),
            }),
        }
    }
}

fn write_date_range(out: &mut XmlOut, range: Option<&DateRange>) -> Result<(), EnvelopeError> {
    if let Some(range) = range {
        out.start("DateRange", &[])?;
        out.text("Start", &[], &format_date(&range.start))?;
        out.text("End", &[], &format_date(&range.end))?;
        out.end("DateRange")?;
    }
    Ok(())
}

fn parse_date_range(
    c: &mut Children<'_, '_>,
    ns: &str,
) -> Result<Option<DateRange>, EnvelopeError> {
    let Some(node) = c.optional("DateRange") else {
        return Ok(None);
    };
    let mut d = Children::of(node, "DateRange", ns);
    let start = parse_date("Start", &text_of(d.required("Start")?))?;
    let end = parse_date("End", &text_of(d.required("End")?))?;
    d.finish()?;
    Ok(Some(DateRange { start, end }))
}

fn write_parameters(out: &mut XmlOut, parameters: &[Parameter]) -> Result<(), EnvelopeError> {
    for p in parameters {
        out.start("Parameter", &[])?;
        out.text("Name", &[], &p.name)?;
        out.text("Value", &[("Type", &p.value_type)], &p.value)?;
        out.end("Parameter")?;
    }
    Ok(())
}

fn parse_parameters(c: &mut Children<'_, '_>, ns: &str) -> Result<Vec<Parameter>, EnvelopeError> {
    c.repeated("Parameter")
        .into_iter()
        .map(|node| {
            let mut p = Children::of(node, "Parameter", ns);
            let name = token_of(p.required("Name")?);
            let value_node = p.required("Value")?;
            p.finish()?;
            Ok(Parameter {
                name,
                value: text_of(value_node),
                value_type: attr(value_node, "Value", "Type")?.to_owned(),
            })
        })
        .collect()
}

fn write_file_format(out: &mut XmlOut, ff: &FileFormat) -> Result<(), EnvelopeError> {
    match &ff.country_code {
        Some(cc) => out.text("FileFormat", &[("CountryCode", cc)], &ff.format),
        None => out.text("FileFormat", &[], &ff.format),
    }
}

fn parse_file_format(node: Node<'_, '_>) -> FileFormat {
    FileFormat {
        format: token_of(node),
        country_code: node.attribute("CountryCode").map(str::to_owned),
    }
}

fn write_message(out: &mut XmlOut, message: &MessageName) -> Result<(), EnvelopeError> {
    let mut attrs: Vec<(&str, &str)> = Vec::new();
    if let Some(v) = &message.variant {
        attrs.push(("variant", v));
    }
    if let Some(v) = &message.version {
        attrs.push(("version", v));
    }
    if let Some(f) = &message.format {
        attrs.push(("format", f));
    }
    out.text("MsgName", &attrs, &message.name)
}

fn parse_message(node: Node<'_, '_>) -> MessageName {
    MessageName {
        name: token_of(node),
        version: node.attribute("version").map(str::to_owned),
        variant: node.attribute("variant").map(str::to_owned),
        format: node.attribute("format").map(str::to_owned),
    }
}

/// A `Service` (`RestrictedServiceType`), every part checked first: a `ServiceType` that names
/// every part.
fn write_service(out: &mut XmlOut, element: &str, s: &BtfService) -> Result<(), EnvelopeError> {
    s.validate()?;
    write_service_filter(out, element, &ServiceFilter::from(s.clone()))
}

/// A `ServiceType`: the parts the filter names, in schema order; its message is checked.
fn write_service_filter(
    out: &mut XmlOut,
    element: &str,
    f: &ServiceFilter,
) -> Result<(), EnvelopeError> {
    out.start(element, &[])?;
    if let Some(name) = &f.service_name {
        out.text("ServiceName", &[], name)?;
    }
    if let Some(scope) = &f.scope {
        out.text("Scope", &[], scope)?;
    }
    if let Some(option) = &f.service_option {
        out.text("ServiceOption", &[], option)?;
    }
    if let Some(container) = f.container {
        out.empty("Container", &[("containerType", container.as_str())])?;
    }
    if let Some(message) = &f.message {
        message.validate()?;
        write_message(out, message)?;
    }
    out.end(element)
}

fn parse_container(node: Node<'_, '_>) -> Result<ContainerType, EnvelopeError> {
    Ok(attr(node, "Container", "containerType")?.parse::<ContainerType>()?)
}

fn parse_service(node: Node<'_, '_>, ns: &str) -> Result<BtfService, EnvelopeError> {
    let mut c = Children::of(node, "Service", ns);
    let service_name = token_of(c.required("ServiceName")?);
    let scope = c.optional("Scope").map(token_of);
    let service_option = c.optional("ServiceOption").map(token_of);
    let container = c.optional("Container").map(parse_container).transpose()?;
    let message = parse_message(c.required("MsgName")?);
    c.finish()?;
    Ok(BtfService {
        service_name,
        scope,
        service_option,
        container,
        message,
    })
}

fn write_hv_list(
    out: &mut XmlOut,
    element: &str,
    list: &HvListParams,
    version: ProtocolVersion,
) -> Result<(), EnvelopeError> {
    out.start(element, &[])?;
    if version.uses_btf() {
        if !list.order_types.is_empty() {
            return Err(EnvelopeError::UnsupportedInVersion {
                feature: "OrderTypes filter (use ServiceFilter)",
                version,
            });
        }
        for f in &list.service_filters {
            write_service_filter(out, "ServiceFilter", f)?;
        }
    } else {
        if !list.service_filters.is_empty() {
            return Err(EnvelopeError::UnsupportedInVersion {
                feature: "ServiceFilter (use OrderTypes)",
                version,
            });
        }
        if !list.order_types.is_empty() {
            let joined = list
                .order_types
                .iter()
                .map(OrderType::as_str)
                .collect::<Vec<_>>()
                .join(" ");
            out.text("OrderTypes", &[], &joined)?;
        }
    }
    out.end(element)
}

fn parse_hv_list(
    node: Node<'_, '_>,
    element: &'static str,
    version: ProtocolVersion,
) -> Result<HvListParams, EnvelopeError> {
    let ns = version.namespace();
    let mut c = Children::of(node, element, ns);
    let mut list = HvListParams::default();
    if version.uses_btf() {
        for f in c.repeated("ServiceFilter") {
            let mut s = Children::of(f, "ServiceFilter", ns);
            list.service_filters.push(ServiceFilter {
                service_name: s.optional("ServiceName").map(token_of),
                scope: s.optional("Scope").map(token_of),
                service_option: s.optional("ServiceOption").map(token_of),
                container: s.optional("Container").map(parse_container).transpose()?,
                message: s.optional("MsgName").map(parse_message),
            });
            s.finish()?;
        }
    } else if let Some(types) = c.optional("OrderTypes") {
        for code in text_of(types).split_ascii_whitespace() {
            list.order_types.push(OrderType::parse_lenient(code)?);
        }
    }
    c.finish()?;
    Ok(list)
}

fn write_hv_ref(
    out: &mut XmlOut,
    r: &HvOrderRef,
    version: ProtocolVersion,
) -> Result<(), EnvelopeError> {
    out.text("PartnerID", &[], r.partner_id.as_str())?;
    match (&r.kind, version.uses_btf()) {
        (
            HvOrderKind::OrderType {
                order_type,
                file_format,
            },
            false,
        ) => {
            out.text("OrderType", &[], order_type.as_str())?;
            if let Some(ff) = file_format {
                write_file_format(out, ff)?;
            }
        }
        (HvOrderKind::Service(service), true) => write_service(out, "Service", service)?,
        (HvOrderKind::OrderType { .. }, true) => {
            return Err(EnvelopeError::UnsupportedInVersion {
                feature: "order type reference in distributed signature (use Service)",
                version,
            })
        }
        (HvOrderKind::Service(_), false) => {
            return Err(EnvelopeError::UnsupportedInVersion {
                feature: "service reference in distributed signature (use OrderType)",
                version,
            })
        }
    }
    out.text("OrderID", &[], r.order_id.as_str())
}

fn parse_hv_ref(
    c: &mut Children<'_, '_>,
    version: ProtocolVersion,
) -> Result<HvOrderRef, EnvelopeError> {
    let partner_id = PartnerId::new(token_of(c.required("PartnerID")?))?;
    let kind = if version.uses_btf() {
        HvOrderKind::Service(parse_service(c.required("Service")?, version.namespace())?)
    } else {
        let order_type = OrderType::parse_lenient(&token_of(c.required("OrderType")?))?;
        let file_format = c.optional("FileFormat").map(parse_file_format);
        HvOrderKind::OrderType {
            order_type,
            file_format,
        }
    };
    let order_id = OrderId::new(token_of(c.required("OrderID")?))?;
    Ok(HvOrderRef {
        partner_id,
        kind,
        order_id,
    })
}

fn parse_hv_ref_only(
    node: Node<'_, '_>,
    element: &'static str,
    version: ProtocolVersion,
) -> Result<HvOrderRef, EnvelopeError> {
    let mut c = Children::of(node, element, version.namespace());
    let r = parse_hv_ref(&mut c, version)?;
    c.finish()?;
    Ok(r)
}
