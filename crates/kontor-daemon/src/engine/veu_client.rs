//! The EBICS side of the distributed signature: HVU/HVZ/HVD/HVT downloads and HVE/HVS
//! signature-only uploads, as the [`VeuBank`] of the real [`Engine`].
//!
//! Order parameters use kontor-protocol's envelope types (`envelope::OrderParams::Hv*`), the
//! ones the request header is written with; `orderdata::veu_requests` describes the same
//! parameters as standalone documents and is not needed by a client.

use kontor_protocol::envelope::{
    HvListParams, HvOrderKind, HvOrderRef, HvtOrderFlags, OrderDetails, OrderId as WireOrderId,
    OrderParams, PartnerId as WirePartnerId,
};
use kontor_protocol::order_type::{BtfService, MessageName, OrderType};
use kontor_protocol::orderdata::{
    HVDResponseOrderData, HVTResponseOrderData, HVUResponseOrderData, HVZResponseOrderData,
    OrderSignatureData,
};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{Connection, EbicsUser, EbicsUserId, TenantScope, VeuItem};
use serde::{Deserialize, Serialize};

use super::veu::{VeuBank, VeuDetails, VeuError, VeuOverviewItem};
use super::{DownloadOutcome, DownloadRequest, Engine, EngineError, UploadRequest};

/// The order a VEU request refers to, in the JSON form stored with its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VeuOrderRef {
    pub partner_id: String,
    pub order_id: String,
    /// As in `veu_items.order_type`: `CCT` (H004) or `SCT/pain.001` (H005 service).
    pub order_label: String,
}

/// The parameters of one VEU request (stored with the transaction so recovery can rebuild it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "UPPERCASE")]
pub enum VeuOrderParams {
    Hvu,
    Hvz,
    Hvd(VeuOrderRef),
    Hvt {
        order: VeuOrderRef,
        complete_order_data: bool,
        fetch_limit: u64,
        fetch_offset: u64,
    },
    Hve(VeuOrderRef),
    Hvs(VeuOrderRef),
}

impl VeuOrderParams {
    pub fn order_type(&self) -> OrderType {
        match self {
            Self::Hvu => OrderType::HVU,
            Self::Hvz => OrderType::HVZ,
            Self::Hvd(_) => OrderType::HVD,
            Self::Hvt { .. } => OrderType::HVT,
            Self::Hve(_) => OrderType::HVE,
            Self::Hvs(_) => OrderType::HVS,
        }
    }

    /// HVE and HVS carry signatures only, no order data.
    pub fn is_signature_only(&self) -> bool {
        matches!(self, Self::Hve(_) | Self::Hvs(_))
    }

    pub(crate) fn order_details(
        &self,
        version: ProtocolVersion,
    ) -> Result<OrderDetails, EngineError> {
        let params = match self {
            Self::Hvu => OrderParams::Hvu(HvListParams::default()),
            Self::Hvz => OrderParams::Hvz(HvListParams::default()),
            Self::Hvd(r) => OrderParams::Hvd(r.to_wire(version)?),
            Self::Hvt {
                order,
                complete_order_data,
                fetch_limit,
                fetch_offset,
            } => OrderParams::Hvt {
                order: order.to_wire(version)?,
                flags: HvtOrderFlags {
                    complete_order_data: *complete_order_data,
                    fetch_limit: *fetch_limit,
                    fetch_offset: *fetch_offset,
                },
                parameters: Vec::new(),
            },
            Self::Hve(r) => OrderParams::Hve(r.to_wire(version)?),
            Self::Hvs(r) => OrderParams::Hvs(r.to_wire(version)?),
        };
        Ok(OrderDetails {
            order_type: self.order_type(),
            order_id: None,
            order_attribute: None,
            params,
        })
    }
}

impl VeuOrderRef {
    fn for_item(connection: &Connection, item: &VeuItem) -> Self {
        Self {
            partner_id: connection.partner_id.clone(),
            order_id: item.bank_order_id.clone(),
            order_label: item.order_type.clone(),
        }
    }

    fn to_wire(&self, version: ProtocolVersion) -> Result<HvOrderRef, EngineError> {
        let kind = match self.order_label.split_once('/') {
            // H005 overview entries name a service; the label keeps its name and message.
            Some((service_name, message)) => HvOrderKind::Service(BtfService {
                service_name: service_name.to_owned(),
                scope: None,
                service_option: None,
                container: None,
                message: MessageName::new(message),
            }),
            None => {
                let order_type =
                    OrderType::parse_lenient(&self.order_label).map_err(EngineError::protocol)?;
                match (version.uses_btf(), order_type.btf_service()) {
                    (true, Some(service)) => HvOrderKind::Service(service),
                    _ => HvOrderKind::OrderType {
                        order_type,
                        file_format: None,
                    },
                }
            }
        };
        Ok(HvOrderRef {
            partner_id: WirePartnerId::new(self.partner_id.clone())
                .map_err(EngineError::protocol)?,
            kind,
            order_id: WireOrderId::new(self.order_id.clone()).map_err(EngineError::protocol)?,
        })
    }
}

fn veu_error(order_type: &'static str) -> impl Fn(EngineError) -> VeuError {
    move |error| match error {
        EngineError::Bank { rejection, .. } => VeuError::Bank {
            order_type,
            code: rejection.code,
            text: rejection.text,
        },
        EngineError::Storage(e) => VeuError::Storage(e),
        other => VeuError::Transport(other.to_string()),
    }
}

fn unreadable(
    order_type: &'static str,
) -> impl Fn(kontor_protocol::orderdata::OrderDataError) -> VeuError {
    move |e| VeuError::Transport(format!("{order_type} answer unreadable: {e}"))
}

impl Engine {
    /// Downloads one VEU document; `None` when the bank has nothing (090005).
    async fn veu_download(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        params: VeuOrderParams,
        label: &'static str,
    ) -> Result<Option<Vec<u8>>, VeuError> {
        let request = DownloadRequest::new(params.order_type()).with_veu_params(params);
        match self
            .download(scope, user, request)
            .await
            .map_err(veu_error(label))?
        {
            DownloadOutcome::NoData { .. } => Ok(None),
            DownloadOutcome::Data { file, .. } => Ok(Some(
                self.read_file(scope, &file)
                    .await
                    .map_err(veu_error(label))?,
            )),
        }
    }

    async fn veu_reference(
        &self,
        scope: &TenantScope,
        item: &VeuItem,
    ) -> Result<VeuOrderRef, VeuError> {
        let mut tx = self.store().scope(scope).begin().await?;
        let connection: Connection = tx.get(item.connection_id).await?;
        tx.commit().await?;
        Ok(VeuOrderRef::for_item(&connection, item))
    }

    /// HVE or HVS for `signer`: the signature is uploaded without order data.
    async fn veu_signature_upload(
        &self,
        scope: &TenantScope,
        signer: &EbicsUser,
        reference: VeuOrderRef,
        cancel: bool,
        version: SignatureVersion,
        signature: &[u8],
    ) -> Result<(), VeuError> {
        let (params, label) = if cancel {
            (VeuOrderParams::Hvs(reference.clone()), "HVS")
        } else {
            (VeuOrderParams::Hve(reference.clone()), "HVE")
        };
        // H005 announces the digest of the signed data; the bank tells it with HVD.
        let host_speaks_h005 = {
            let session = self
                .open_session(scope, signer.id, super::session::Requirement::Ready)
                .await
                .map_err(veu_error(label))?;
            session.version().uses_btf()
        };
        let digest = if host_speaks_h005 {
            let xml = self
                .veu_download(
                    scope,
                    signer.id,
                    VeuOrderParams::Hvd(reference.clone()),
                    "HVD",
                )
                .await?
                .ok_or_else(|| VeuError::Transport("HVD returned no data".into()))?;
            Some(
                HVDResponseOrderData::parse(&xml)
                    .map_err(unreadable("HVD"))?
                    .data_digest
                    .digest,
            )
        } else {
            None
        };
        let signature = OrderSignatureData {
            signature_version: version,
            signature_value: signature.to_vec(),
            partner_id: reference.partner_id.clone(),
            user_id: signer.user_id.clone(),
            x509: None,
        };
        let mut request = UploadRequest::new(params.order_type(), Vec::new(), vec![signature])
            .with_veu_params(params);
        request.signed_digest = digest;
        self.upload(scope, signer.id, request)
            .await
            .map_err(veu_error(label))?;
        Ok(())
    }
}

impl VeuBank for Engine {
    async fn overview(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<Vec<VeuOverviewItem>, VeuError> {
        // HVZ carries amounts and digests; banks without it still offer HVU.
        match self
            .veu_download(scope, user, VeuOrderParams::Hvz, "HVZ")
            .await
        {
            Ok(None) => Ok(Vec::new()),
            Ok(Some(xml)) => Ok(HVZResponseOrderData::parse(&xml)
                .map_err(unreadable("HVZ"))?
                .orders
                .into_iter()
                .map(VeuOverviewItem::from)
                .collect()),
            Err(VeuError::Bank { .. }) => {
                match self
                    .veu_download(scope, user, VeuOrderParams::Hvu, "HVU")
                    .await?
                {
                    None => Ok(Vec::new()),
                    Some(xml) => Ok(HVUResponseOrderData::parse(&xml)
                        .map_err(unreadable("HVU"))?
                        .orders
                        .into_iter()
                        .map(VeuOverviewItem::from)
                        .collect()),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn details(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        item: &VeuItem,
    ) -> Result<VeuDetails, VeuError> {
        let reference = self.veu_reference(scope, item).await?;
        let status = self
            .veu_download(scope, user, VeuOrderParams::Hvd(reference.clone()), "HVD")
            .await?
            .ok_or_else(|| VeuError::Transport("HVD returned no data".into()))?;
        let status = HVDResponseOrderData::parse(&status).map_err(unreadable("HVD"))?;
        // Transactions are a convenience for the signer: an order without them (not a
        // payment file) or a refused HVT still has its details.
        let transactions = match self
            .veu_download(
                scope,
                user,
                VeuOrderParams::Hvt {
                    order: reference,
                    complete_order_data: false,
                    fetch_limit: 0,
                    fetch_offset: 0,
                },
                "HVT",
            )
            .await
        {
            Ok(Some(xml)) => HVTResponseOrderData::parse(&xml).ok(),
            Ok(None) | Err(VeuError::Bank { .. }) => None,
            Err(other) => return Err(other),
        };
        Ok(VeuDetails {
            status,
            transactions,
        })
    }

    async fn sign(
        &self,
        scope: &TenantScope,
        signer: &EbicsUser,
        item: &VeuItem,
        version: SignatureVersion,
        signature: &[u8],
    ) -> Result<(), VeuError> {
        let reference = self.veu_reference(scope, item).await?;
        self.veu_signature_upload(scope, signer, reference, false, version, signature)
            .await
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        user: &EbicsUser,
        item: &VeuItem,
        version: SignatureVersion,
        signature: &[u8],
    ) -> Result<(), VeuError> {
        let reference = self.veu_reference(scope, item).await?;
        self.veu_signature_upload(scope, user, reference, true, version, signature)
            .await
    }
}
