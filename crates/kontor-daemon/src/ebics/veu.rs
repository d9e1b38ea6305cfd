//! The EBICS side of the distributed signature (VEU): HVU/HVZ/HVD/HVT downloads and HVE/HVS
//! signature-only uploads.
//!
//! Order parameters use kontor-protocol's envelope types (`envelope::OrderParams::Hv*`), the
//! ones the request header is written with; `orderdata::veu_requests` describes the same
//! parameters as standalone documents and is not needed by a client.

use kontor_protocol::envelope::{
    HvListParams, HvOrderKind, HvOrderRef, HvtOrderFlags, OrderDetails, OrderId as WireOrderId,
    OrderParams, PartnerId as WirePartnerId,
};
use kontor_protocol::order_type::{OrderType, OrderTypeOrService};
use kontor_protocol::orderdata::{HVDResponseOrderData, OrderSignatureData};
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{EbicsUserId, TenantScope};
use serde::{Deserialize, Serialize};

use super::session::Requirement;
use super::{Client, DownloadOutcome, DownloadRequest, EbicsError, UploadRequest};

/// The order a VEU request refers to, in the JSON form stored with its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VeuOrderRef {
    pub partner_id: String,
    pub order_id: String,
    /// The order as the bank listed it (as in `veu_items.order_type`), stored by its canonical
    /// text under the name of the label records written before it had (`CCT`, `SCT/pain.001`).
    #[serde(rename = "order_label")]
    pub order: OrderTypeOrService,
}

/// The parameters of one VEU request (stored with the transaction so recovery can rebuild it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    ) -> Result<OrderDetails, EbicsError> {
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
    /// The order as the request names it: the service with every part the bank listed, or
    /// the order type (in H005 its DK service, for an item an H004 sync listed).
    fn to_wire(&self, version: ProtocolVersion) -> Result<HvOrderRef, EbicsError> {
        let kind = match &self.order {
            OrderTypeOrService::Service(service) => HvOrderKind::Service(service.clone()),
            OrderTypeOrService::OrderType(order_type) => {
                match (version.uses_btf(), order_type.btf_service()) {
                    (true, Some(service)) => HvOrderKind::Service(service),
                    _ => HvOrderKind::OrderType {
                        order_type: order_type.clone(),
                        file_format: None,
                    },
                }
            }
        };
        Ok(HvOrderRef {
            partner_id: WirePartnerId::new(self.partner_id.clone()).map_err(EbicsError::request)?,
            kind,
            order_id: WireOrderId::new(self.order_id.clone()).map_err(EbicsError::request)?,
        })
    }
}

/// A signer's HVE (approve) or HVS (cancel) of an order at the bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeuSignature {
    pub reference: VeuOrderRef,
    /// HVS instead of HVE.
    pub cancel: bool,
    pub version: SignatureVersion,
    /// Computed by the signer over the order's data digest.
    pub value: Vec<u8>,
}

impl Client {
    /// Downloads one VEU document; `None` when the bank has nothing (090005).
    async fn veu_document(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        params: VeuOrderParams,
    ) -> Result<Option<Vec<u8>>, EbicsError> {
        match self
            .download(scope, user, DownloadRequest::veu(params))
            .await?
        {
            DownloadOutcome::NoData { .. } => Ok(None),
            DownloadOutcome::Data { file, .. } => Ok(Some(self.read_file(scope, file.id).await?)),
        }
    }

    /// HVE or HVS for `signer`: the signature is uploaded without order data.
    pub async fn veu_signature(
        &self,
        scope: &TenantScope,
        signer: EbicsUserId,
        signature: VeuSignature,
    ) -> Result<(), EbicsError> {
        let VeuSignature {
            reference,
            cancel,
            version,
            value,
        } = signature;
        let params = if cancel {
            VeuOrderParams::Hvs(reference.clone())
        } else {
            VeuOrderParams::Hve(reference.clone())
        };
        let session = self.open_session(scope, signer, Requirement::Ready).await?;
        // H005 announces the digest of the signed data; the bank tells it with HVD.
        let digest = if session.version().uses_btf() {
            let xml = self
                .veu_document(scope, signer, VeuOrderParams::Hvd(reference.clone()))
                .await?
                .ok_or_else(|| EbicsError::Protocol("HVD returned no data".into()))?;
            Some(
                HVDResponseOrderData::parse(&xml)
                    .map_err(|e| EbicsError::Protocol(format!("HVD answer unreadable: {e}")))?
                    .data_digest
                    .digest,
            )
        } else {
            None
        };
        let signature = OrderSignatureData {
            signature_version: version,
            signature_value: value,
            partner_id: reference.partner_id.clone(),
            user_id: session.ctx.user.user_id.clone(),
            x509: None,
        };
        let mut request = UploadRequest::new(params.order_type(), Vec::new(), vec![signature])
            .with_veu_params(params);
        request.signed_digest = digest;
        self.upload(scope, signer, request).await?;
        Ok(())
    }
}
