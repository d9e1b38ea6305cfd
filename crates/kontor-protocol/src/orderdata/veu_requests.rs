//! Requests of the distributed electronic signature (VEU/EDS): the `HV*OrderParams` that H004
//! and H005 embed in the envelope's `OrderDetails`, and the HVS cancellation order data.
//!
//! The order parameters are global elements of `ebics_orders_H00x.xsd`, so each model here is
//! also a standalone document; envelope code embeds them with
//! [`to_xml_fragment`](super::OrderDataDocument::to_xml_fragment) or
//! [`write_into`](super::OrderDataDocument::write_into) and reads them back with
//! [`from_element`](super::OrderDataDocument::from_element).

use std::io::Write;

use super::common::{DataDigest, OrderKind, Parameter};
use super::subscriber::{parse_order_type_list, write_order_type_list};
use super::xml::{check, format_bool, parse_bool, parse_u64, El, Family, Out};
use super::{document, Result};
use crate::order_type::ServiceFilter;
use crate::version::ProtocolVersion;

/// The order a VEU request refers to (`HVRequestStructure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeuOrderRef {
    /// `PartnerID` of the order's originator.
    pub partner_id: String,
    /// H004 `OrderType` (+ `FileFormat`) or H005 `Service`.
    pub order: OrderKind,
    /// `OrderID` (`[A-Z][A-Z0-9]{3}`).
    pub order_id: String,
}

impl VeuOrderRef {
    fn write<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::ebics_id("PartnerID", &self.partner_id)?;
        check::order_id("OrderID", &self.order_id)?;
        out.leaf("PartnerID", &self.partner_id)?;
        self.order.write(out)?;
        out.leaf("OrderID", &self.order_id)
    }

    fn read(el: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            partner_id: el.child_text("PartnerID")?,
            order: OrderKind::read(el, version == ProtocolVersion::H004)?,
            order_id: el.child_text("OrderID")?,
        })
    }
}

macro_rules! order_ref_params {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// H004 or H005.
            pub version: ProtocolVersion,
            /// The order concerned.
            pub order: VeuOrderRef,
        }

        document!($ty, $root, Family::Ebics);

        impl $ty {
            fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
                self.order.write(out)
            }

            fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
                Ok(Self {
                    version,
                    order: VeuOrderRef::read(root, version)?,
                })
            }
        }
    };
}

order_ref_params!(
    /// `HVDOrderParams`: request the status and display file of one VEU order.
    HVDOrderParams,
    "HVDOrderParams"
);

order_ref_params!(
    /// `HVEOrderParams`: add a signature to one VEU order; the signature itself travels as
    /// [`UserSignatureData`](super::UserSignatureData) over the order's data digest.
    HVEOrderParams,
    "HVEOrderParams"
);

order_ref_params!(
    /// `HVSOrderParams`: cancel one VEU order; the signed digest travels as
    /// [`HVSRequestOrderData`] plus [`UserSignatureData`](super::UserSignatureData).
    HVSOrderParams,
    "HVSOrderParams"
);

/// `HVTOrderParams`: request the transaction details of one VEU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVTOrderParams {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// The order concerned.
    pub order: VeuOrderRef,
    /// `OrderFlags/@completeOrderData`: whether the whole order file is requested instead of
    /// the per-transaction `OrderInfo` list.
    pub complete_order_data: bool,
    /// `OrderFlags/@fetchLimit` (0 = no limit; at most 10 digits).
    pub fetch_limit: u64,
    /// `OrderFlags/@fetchOffset` (at most 10 digits).
    pub fetch_offset: u64,
    /// `Parameter` list.
    pub parameters: Vec<Parameter>,
}

document!(HVTOrderParams, "HVTOrderParams", Family::Ebics);

impl HVTOrderParams {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        check::ten_digits("OrderFlags/@fetchLimit", self.fetch_limit)?;
        check::ten_digits("OrderFlags/@fetchOffset", self.fetch_offset)?;
        self.order.write(out)?;
        out.empty(
            "OrderFlags",
            &[
                ("completeOrderData", format_bool(self.complete_order_data)),
                ("fetchLimit", &self.fetch_limit.to_string()),
                ("fetchOffset", &self.fetch_offset.to_string()),
            ],
        )?;
        self.parameters.iter().try_for_each(|p| p.write(out))
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        let flags = root.child("OrderFlags")?;
        Ok(Self {
            version,
            order: VeuOrderRef::read(root, version)?,
            complete_order_data: flags.req_attr_value("completeOrderData", parse_bool)?,
            fetch_limit: flags.req_attr_value("fetchLimit", parse_u64)?,
            fetch_offset: flags.req_attr_value("fetchOffset", parse_u64)?,
            parameters: root.read_children("Parameter", Parameter::read)?,
        })
    }
}

macro_rules! overview_params {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// H004 or H005.
            pub version: ProtocolVersion,
            /// H004 `OrderTypes` filter (empty = all order types).
            pub order_types: Vec<String>,
            /// H005 `ServiceFilter` list (empty = all services).
            pub service_filters: Vec<ServiceFilter>,
        }

        document!($ty, $root, Family::Ebics);

        impl $ty {
            fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
                if out.is_h004() {
                    out.forbid(concat!($root, "/ServiceFilter"), !self.service_filters.is_empty())?;
                    if !self.order_types.is_empty() {
                        write_order_type_list(out, "OrderTypes", &self.order_types)?;
                    }
                    Ok(())
                } else {
                    out.forbid(concat!($root, "/OrderTypes"), !self.order_types.is_empty())?;
                    self.service_filters.iter().try_for_each(|f| f.write(out, "ServiceFilter"))
                }
            }

            fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
                if version == ProtocolVersion::H004 {
                    Ok(Self {
                        version,
                        order_types: root.opt_child_value("OrderTypes", parse_order_type_list)?.unwrap_or_default(),
                        service_filters: Vec::new(),
                    })
                } else {
                    Ok(Self {
                        version,
                        order_types: Vec::new(),
                        service_filters: root.read_children("ServiceFilter", ServiceFilter::read)?,
                    })
                }
            }
        }
    };
}

overview_params!(
    /// `HVUOrderParams`: request the overview of orders awaiting signature.
    HVUOrderParams,
    "HVUOrderParams"
);

overview_params!(
    /// `HVZOrderParams`: request the overview with additional payment details.
    HVZOrderParams,
    "HVZOrderParams"
);

/// HVS order data (`HVSRequestOrderData`): the digest of the order being cancelled. The
/// subscriber signs this digest; the signature travels as
/// [`UserSignatureData`](super::UserSignatureData).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HVSRequestOrderData {
    /// H004 or H005.
    pub version: ProtocolVersion,
    /// `CancelledDataDigest`.
    pub cancelled_data_digest: DataDigest,
}

document!(HVSRequestOrderData, "HVSRequestOrderData", Family::Ebics);

impl HVSRequestOrderData {
    fn write_children<W: Write>(&self, out: &mut Out<'_, W>) -> Result<()> {
        self.cancelled_data_digest.write(out, "CancelledDataDigest")
    }

    fn read_children(root: &El<'_, '_>, version: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            version,
            cancelled_data_digest: DataDigest::read(&root.child("CancelledDataDigest")?)?,
        })
    }
}
