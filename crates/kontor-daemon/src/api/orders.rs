//! `/v1/orders`: payment orders from a pain.001/pain.008 file (validated and summarised),
//! their signatures, submission to the bank, and cancellation.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use kontor_documents::pain::{self, PaymentKind, PaymentSummary};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::{BtfService, ContainerType, MessageName, OrderType};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    EbicsUserId, Order, OrderId, OrderSignature, OrderStatus, ScopedTx, SignatureClass,
    SignatureRule, StoredFile, TransactionId,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{IdempotencyKey, JsonBody, On, QueryParams};
use super::files::download;
use super::input::{SignatureValue, Valid};
use super::records::list_visible;
use super::respond::{Accepted, Created, Either, FileDownload, Replayed};
use super::{Access, AppState, Routes};
use crate::services::orders::{self, received, CreateOrder, SignatureSubmission};
use crate::services::Services;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/orders", "List orders", list_visible::<Order>)
        .post(
            "/v1/orders",
            Access::Operate,
            "Upload a pain.001/pain.008 file as a new order (Idempotency-Key)",
            create,
        )
        .read(
            "/v1/orders/{id}",
            "Show an order with its content summary and signatures",
            show,
        )
        .read("/v1/orders/{id}/file", "Download the order's file", file)
        .post(
            "/v1/orders/{id}/signatures",
            Access::Operate,
            "Add a signer's A005/A006 signature",
            add_signature,
        )
        .post(
            "/v1/orders/{id}/submit",
            Access::Operate,
            "Submit a SIGNED order to the bank (engine)",
            submit,
        )
        .post(
            "/v1/orders/{id}/cancel",
            Access::Operate,
            "Cancel an order that was not submitted",
            cancel,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    ebics_user_id: Valid<EbicsUserId>,
    order_type: Valid<OrderType>,
    /// STANDARD (default) or ANY_SINGLE.
    signature_rule: Option<Valid<SignatureRule>>,
    /// With order type BTU: the BTF service (`SCT`, `SDD`, ...) and its parts.
    service: Option<String>,
    service_scope: Option<String>,
    service_option: Option<String>,
    container: Option<String>,
    /// The message the service carries (`pain.001`, `pain.008`) and its version, variant
    /// and format.
    message: Option<String>,
    message_version: Option<String>,
    message_variant: Option<String>,
    message_format: Option<String>,
}

impl CreateQuery {
    /// The BTF service the query names, checked against the schema's types.
    fn service(&self) -> Result<Option<BtfService>, ApiError> {
        let invalid = |message: String| ApiError::Input {
            code: "invalid_btf_service".into(),
            field: Some("service".into()),
            message,
        };
        let Some(name) = &self.service else {
            let stray = [
                &self.service_scope,
                &self.service_option,
                &self.container,
                &self.message,
                &self.message_version,
                &self.message_variant,
                &self.message_format,
            ];
            if stray.iter().any(|p| p.is_some()) {
                return Err(invalid("service parts are given only with service".into()));
            }
            return Ok(None);
        };
        let message = self.message.as_deref().ok_or_else(|| {
            invalid("a BTF service needs its message (e.g. message=pain.001)".into())
        })?;
        let container = self
            .container
            .as_deref()
            .map(|c| c.to_ascii_uppercase().parse::<ContainerType>())
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let service = BtfService {
            service_name: name.to_ascii_uppercase(),
            scope: self.service_scope.as_ref().map(|s| s.to_ascii_uppercase()),
            service_option: self.service_option.as_ref().map(|s| s.to_ascii_uppercase()),
            container,
            message: MessageName {
                name: message.to_ascii_lowercase(),
                version: self.message_version.clone(),
                variant: self.message_variant.clone(),
                format: self.message_format.clone(),
            },
        };
        service.validate().map_err(|e| invalid(e.to_string()))?;
        Ok(Some(service))
    }
}

/// The payment file is streamed (not buffered: axum's body limit does not apply to a raw
/// `Body`) up to the configured limit; a larger one answers 413 `payload_too_large` with
/// `limit_bytes`, at once when its `Content-Length` says so, and stores nothing.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<CreateQuery>,
    headers: HeaderMap,
    IdempotencyKey(key): IdempotencyKey,
    body: Body,
) -> Result<Either<Created<OrderView>, Replayed<Order>>, ApiError> {
    let limit = state.max_order_file_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let service = query.service()?;
    let user = *query.ebics_user_id;
    caller.acting_for(user).await?;
    let received::Received {
        created,
        order_data_digest,
    } = received::create_order_from_body(
        caller.services(),
        &caller.scope,
        CreateOrder {
            user,
            content: Vec::new(),
            signature_rule: query
                .signature_rule
                .map_or(SignatureRule::Standard, Valid::into_inner),
            idempotency_key: key,
            order_type: Some(query.order_type.into_inner()),
            service,
        },
        body.into_data_stream(),
        limit,
    )
    .await?;
    if created.replayed {
        return Ok(Either::B(Replayed(created.order)));
    }
    Ok(Either::A(Created(OrderView::new(
        created.order,
        created.summary,
        order_data_digest,
        vec![],
    ))))
}

/// What a signer sees before signing.
#[derive(Serialize, schemars::JsonSchema)]
struct ContentSummary {
    kind: PaymentKind,
    number_of_transactions: usize,
    control_sum: String,
    /// Totals per currency.
    totals: BTreeMap<String, String>,
    creditor_names: Vec<String>,
    debtor_accounts: Vec<String>,
    requested_dates: Vec<chrono::NaiveDate>,
    /// SHA-256 of the file, lower-case hex.
    content_hash: String,
    /// The EBICS order data digest (SHA-256 without CR/LF/Ctrl-Z) that signatures cover.
    order_data_digest: String,
}

#[derive(Serialize, schemars::JsonSchema)]
struct SignatureView {
    signer_id: EbicsUserId,
    signature_class: SignatureClass,
    signature_version: SignatureVersion,
    signed_hash: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<OrderSignature> for SignatureView {
    fn from(s: OrderSignature) -> Self {
        Self {
            signer_id: s.signer_id,
            signature_class: s.signature_class,
            signature_version: s.signature_version,
            signed_hash: s.signed_hash,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
struct OrderView {
    #[serde(flatten)]
    order: Order,
    summary: Option<ContentSummary>,
    signatures: Vec<SignatureView>,
}

impl OrderView {
    fn new(
        order: Order,
        summary: Option<PaymentSummary>,
        order_data_digest: String,
        signatures: Vec<OrderSignature>,
    ) -> Self {
        let summary = summary.map(|s| ContentSummary {
            kind: s.kind,
            number_of_transactions: s.number_of_transactions,
            control_sum: s.control_sum.to_string(),
            totals: s
                .totals
                .iter()
                .map(|(c, a)| (c.as_str().to_owned(), a.to_string()))
                .collect(),
            creditor_names: s.creditor_names,
            debtor_accounts: s
                .debtor_accounts
                .iter()
                .map(|i| i.electronic().to_owned())
                .collect(),
            requested_dates: s.requested_dates,
            content_hash: order.content_hash.clone(),
            order_data_digest,
        });
        Self {
            order,
            summary,
            signatures: signatures.into_iter().map(Into::into).collect(),
        }
    }
}

async fn load_view(
    services: &Services,
    tx: &mut ScopedTx<'_>,
    order: Order,
) -> Result<OrderView, ApiError> {
    let (summary, digest) = match tx.orders().summary(order.id).await? {
        Some(stored) => (Some(stored.summary), stored.order_data_digest),
        // Orders of earlier versions have no stored summary: their file is read.
        None => {
            let file: StoredFile = tx.get(order.content_file_id).await?;
            let content = services.file_content(&file).await?;
            // Stored files passed validation; a file that no longer parses is shown without
            // summary.
            let summary = pain::parse_bytes(&content).ok().map(|p| p.summary());
            (summary, hex::encode(order_data_digest(&content)))
        }
    };
    let signatures = tx.order_signatures().list_for_order(order.id).await?;
    Ok(OrderView::new(order, summary, digest, signatures))
}

async fn show(On(caller, id): On<OrderId>) -> Result<Json<OrderView>, ApiError> {
    let mut tx = caller.read().await?;
    let order = caller.granted(&mut tx, id).await?;
    Ok(Json(load_view(caller.services(), &mut tx, order).await?))
}

async fn file(On(caller, id): On<OrderId>) -> Result<FileDownload, ApiError> {
    let mut tx = caller.read().await?;
    let order = caller.granted(&mut tx, id).await?;
    drop(tx);
    download(caller.services(), &caller.scope, order.content_file_id).await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddSignature {
    /// The EBICS user who signed.
    signer_id: Valid<EbicsUserId>,
    /// A005 or A006.
    signature_version: Valid<SignatureVersion>,
    /// EBICS hash of the signer's public key (or certificate), as the signer sees it.
    key_hash: Valid<KeyHash>,
    /// The signature value, base64.
    signature: Valid<SignatureValue>,
}

async fn add_signature(
    On(caller, id): On<OrderId>,
    JsonBody(body): JsonBody<AddSignature>,
) -> Result<Created<OrderView>, ApiError> {
    let services = caller.services();
    let view = caller
        .write_granted(id, async |tx, _| {
            let signer = caller.granted(tx, *body.signer_id).await?;
            let submission = SignatureSubmission {
                order: id,
                signer: signer.id,
                version: *body.signature_version,
                value: body.signature.into_inner().0,
                key_hash: Some(body.key_hash.into_inner()),
            };
            let order = orders::add_signature(services.files(), tx, submission).await?;
            load_view(services, tx, order).await
        })
        .await?;
    Ok(Created(view))
}

#[derive(Serialize, schemars::JsonSchema)]
struct Submitted {
    order_id: OrderId,
    /// SUBMITTED while the upload runs (e.g. another request's), PROCESSING once the bank
    /// took it, COMPLETED or REJECTED when the bank already decided.
    status: OrderStatus,
    /// The EBICS transaction that carried the upload, once recorded.
    transaction_id: Option<TransactionId>,
    bank_order_id: Option<String>,
}

async fn submit(On(caller, id): On<OrderId>) -> Result<Accepted<Submitted>, ApiError> {
    let order = caller.acting_for(id).await?;
    // Submitting again after the upload answers the order's state: a client that lost the
    // first answer retries safely.
    if matches!(
        order.status,
        OrderStatus::Draft | OrderStatus::PendingSignature | OrderStatus::Cancelled
    ) {
        return Err(ApiError::Conflict {
            code: "not_signed",
            message: format!(
                "the order is {}; only SIGNED orders can be submitted",
                order.status
            ),
        });
    }
    let order = orders::submit_order(caller.services(), &caller.scope, id).await?;
    Ok(Accepted(Submitted {
        order_id: id,
        status: order.status,
        transaction_id: order.transaction_id,
        bank_order_id: order.bank_order_id,
    }))
}

async fn cancel(On(caller, id): On<OrderId>) -> Result<Json<Order>, ApiError> {
    let order = caller
        .write_granted(id, async |tx, _| orders::cancel(tx, id).await)
        .await?;
    Ok(Json(order))
}
