//! Persisted, segmented uploads (payment files with their electronic signatures).
//!
//! The order data is compressed, encrypted for the bank and segmented once; the encrypted
//! segments are spooled to the data directory and recorded (checksum, size) before the
//! first request, together with the bank's wrapped transaction key. A resumed upload sends
//! exactly the same bytes, so the bank never sees two different versions of one order.

use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::orderdata::OrderSignatureData;
use kontor_storage::{EbicsUserId, OrderId, TenantScope, TransactionId};

use super::{Engine, EngineError};

/// What to upload.
///
/// Build it with [`UploadRequest::new`] and the `with_*` methods: fields may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// A classic order type (`CCT`, `CDD`, ...). For H005 hosts it is mapped to `BTU` with its
    /// standard service unless [`UploadRequest::service`] is given.
    pub order_type: OrderType,
    /// An explicit BTF service (H005 only); the order type is then `BTU`.
    pub service: Option<BtfService>,
    /// The plain order data (e.g. a pain.001 document).
    pub data: Vec<u8>,
    /// The electronic signatures collected for `data` (computed by the signers, never by the
    /// engine). Build them from stored `order_signatures` with [`Engine::order_signatures`].
    pub signatures: Vec<OrderSignatureData>,
    /// The stored order this upload submits; links the transaction to it.
    pub order: Option<OrderId>,
}

impl UploadRequest {
    pub fn new(order_type: OrderType, data: Vec<u8>, signatures: Vec<OrderSignatureData>) -> Self {
        Self {
            order_type,
            service: None,
            data,
            signatures,
            order: None,
        }
    }

    pub fn with_service(mut self, service: BtfService) -> Self {
        self.service = Some(service);
        self
    }

    pub fn for_order(mut self, order: OrderId) -> Self {
        self.order = Some(order);
        self
    }
}

/// The result of a completed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    pub transaction: TransactionId,
    /// The bank's order id (H004: from the initialisation response; H005: assigned by the bank).
    pub bank_order_id: Option<String>,
    /// The business return code of the last response (`000000` when accepted).
    pub return_code: String,
}

impl Engine {
    /// Uploads order data with its signatures for a READY user with verified bank keys.
    ///
    /// Failure handling as for [`Engine::download`]. An upload that may already have reached
    /// the bank is never started again as a new transaction: it resumes or ends FAILED.
    pub async fn upload(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        request: UploadRequest,
    ) -> Result<UploadOutcome, EngineError> {
        let _ = (scope, user, request);
        todo!("upload")
    }

    /// The stored signatures of `order`, in the form [`UploadRequest::signatures`] needs
    /// (partner and user ids of each signer resolved through the scope).
    pub async fn order_signatures(
        &self,
        scope: &TenantScope,
        order: OrderId,
    ) -> Result<Vec<OrderSignatureData>, EngineError> {
        let _ = (scope, order);
        todo!("order_signatures")
    }
}
