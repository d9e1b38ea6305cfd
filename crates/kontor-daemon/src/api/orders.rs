//! Orders: upload of a pain.001/pain.008 file (validated and summarised), signatures,
//! submission through the engine, and cancellation.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kontor_documents::pain::{self, PaymentKind, PaymentSummary};
use kontor_protocol::signature::order_data_digest;
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    EbicsUserId, EbicsUserStatus, KeyUsage, Order, OrderId, OrderSignature, OrderStatus, Page,
    ScopedTx, SignatureClass, SignatureRule, StorageError, StoredFile, TransactionId,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{path_id, JsonBody, QueryParams};
use super::input::{idempotency_key, FromInput, KeyHash, OrderTypeCode, SignatureValue, Valid};
use super::users::granted_user;
use super::{Access, AppState, Routes};
use crate::engine::orders;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/orders", "List orders", list)
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

/// Loads an order and checks the caller's grant on its user; both misses answer 404.
async fn granted_order(
    tx: &mut ScopedTx<'_>,
    caller: &Caller,
    id: OrderId,
) -> Result<Order, ApiError> {
    let order: Order = tx.get(id).await?;
    caller
        .require_user(order.ebics_user_id)
        .map_err(|_| ApiError::NotFound("order"))?;
    Ok(order)
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Order>>, ApiError> {
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let all: Vec<Order> = tx.list(Page::first(1000)).await?;
    Ok(Json(
        all.into_iter()
            .filter(|o| caller.require_user(o.ebics_user_id).is_ok())
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    ebics_user_id: Valid<EbicsUserId>,
    order_type: Valid<OrderTypeCode>,
    /// STANDARD (default) or ANY_SINGLE.
    signature_rule: Option<Valid<SignatureRule>>,
}

/// Which pain message an order type carries.
fn expected_kind(order_type: &str) -> Option<PaymentKind> {
    match order_type {
        "CCT" | "CIP" | "XE2" | "CCU" => Some(PaymentKind::CreditTransfer),
        "CDD" | "CDB" | "XE3" | "CDC" => Some(PaymentKind::DirectDebit),
        _ => None,
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<CreateQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let user_id = *query.ebics_user_id;
    let order_type = query.order_type.into_inner().0;
    let signature_rule = query
        .signature_rule
        .map_or(SignatureRule::Standard, Valid::into_inner);
    let kind = expected_kind(&order_type).ok_or_else(|| {
        ApiError::invalid(
            "unsupported_order_type",
            format!("{order_type} is not a pain.001/pain.008 upload order type"),
        )
    })?;
    if body.is_empty() {
        return Err(ApiError::invalid(
            "empty_file",
            "the request body (the payment file) is empty",
        ));
    }
    let payment = pain::parse_bytes(&body)
        .map_err(|e| ApiError::invalid("invalid_payment_file", e.to_string()))?;
    if payment.kind() != kind {
        return Err(ApiError::invalid(
            "order_type_mismatch",
            format!(
                "{order_type} needs a {kind:?} file, this is a {:?}",
                payment.kind()
            ),
        ));
    }
    let summary = payment.summary();
    let content_hash = hex::encode(Sha256::digest(&body));

    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let user = granted_user(&mut tx, &caller, user_id).await?;
    let replay = |existing: Order| {
        let same = existing.ebics_user_id == user.id
            && existing.order_type == order_type
            && existing.content_hash == content_hash
            && existing.signature_rule == signature_rule;
        if same {
            Ok(replayed(existing))
        } else {
            Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was used for a different request".into(),
            })
        }
    };
    if let Some(key) = &key {
        if let Some(existing) = tx.orders().find_by_idempotency_key(key).await? {
            return replay(existing);
        }
    }
    if matches!(
        user.status,
        EbicsUserStatus::Suspended | EbicsUserStatus::Locked
    ) {
        return Err(ApiError::Conflict {
            code: "user_not_active",
            message: format!("the EBICS user is {}", user.status),
        });
    }
    let new = orders::CreateOrder {
        user: user.id,
        content: body.to_vec(),
        signature_rule,
        idempotency_key: key.clone(),
        order_type: Some(order_type.clone()),
    };
    let order = match orders::create_order(&mut tx, new).await {
        Ok(order) => order,
        Err(orders::OrderError::Storage(StorageError::Conflict { .. })) => {
            drop(tx);
            // Lost a race on the same key, or the same file is already a live order.
            let mut tx = state.store.scope(&caller.scope).begin().await?;
            if let Some(key) = &key {
                if let Some(existing) = tx.orders().find_by_idempotency_key(key).await? {
                    return replay(existing);
                }
            }
            return Err(ApiError::Conflict {
                code: "duplicate_order",
                message: "the same file is already an open order of this user and order type"
                    .into(),
            });
        }
        Err(other) => return Err(other.into()),
    };
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderView::new(order, Some(summary), &body, vec![])),
    )
        .into_response())
}

fn replayed(order: Order) -> Response {
    let mut response = (StatusCode::OK, Json(order)).into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// What a signer sees before signing.
#[derive(Serialize)]
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

#[derive(Serialize)]
struct SignatureView {
    signer_id: EbicsUserId,
    signature_class: SignatureClass,
    signature_version: String,
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

#[derive(Serialize)]
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
        content: &[u8],
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
            order_data_digest: hex::encode(order_data_digest(content)),
        });
        Self {
            order,
            summary,
            signatures: signatures.into_iter().map(Into::into).collect(),
        }
    }
}

/// The bytes of a stored file: inline, or on disk at its path relative to the data directory.
pub(crate) async fn file_bytes(state: &AppState, file: &StoredFile) -> Result<Vec<u8>, ApiError> {
    match (&file.content, &file.path) {
        (Some(content), _) => Ok(content.clone()),
        (None, Some(path)) => {
            let relative = std::path::Path::new(path);
            // Stored paths are written by the engine, always below the data directory; a
            // path that would leave it is corrupt, never followed.
            let inside = relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            let dir = state.data_dir.as_ref().filter(|_| inside).ok_or_else(|| {
                ApiError::Internal(format!("cannot resolve stored file {}", file.id).into())
            })?;
            tokio::fs::read(dir.join(relative))
                .await
                .map_err(|e| ApiError::Internal(Box::new(e)))
        }
        (None, None) => Err(ApiError::Internal("file without content or path".into())),
    }
}

/// A file as a download, with its SHA-256 so clients can check what they got.
pub(crate) async fn file_response(
    state: &AppState,
    file: &StoredFile,
) -> Result<Response, ApiError> {
    let bytes = file_bytes(state, file).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.sha256) {
        headers.insert("x-content-sha256", v);
    }
    Ok(response)
}

async fn load_view(
    state: &AppState,
    tx: &mut ScopedTx<'_>,
    order: Order,
) -> Result<OrderView, ApiError> {
    let file: StoredFile = tx.get(order.content_file_id).await?;
    let content = file_bytes(state, &file).await?;
    // Stored files passed validation; a file that no longer parses is shown without summary.
    let summary = pain::parse_bytes(&content).ok().map(|p| p.summary());
    let signatures = tx.order_signatures().list_for_order(order.id).await?;
    Ok(OrderView::new(order, summary, &content, signatures))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let order = granted_order(&mut tx, &caller, id).await?;
    Ok(Json(load_view(&state, &mut tx, order).await?))
}

async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let order = granted_order(&mut tx, &caller, id).await?;
    let file: StoredFile = tx.get(order.content_file_id).await?;
    file_response(&state, &file).await
}

#[derive(Deserialize)]
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
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddSignature>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let signer_id = *body.signer_id;
    let version = *body.signature_version;
    let value = body.signature.into_inner().0;

    let mut tx = state.store.scope(&caller.scope).begin().await?;
    granted_order(&mut tx, &caller, id).await?;
    let signer = granted_user(&mut tx, &caller, signer_id).await?;
    // Checked here, before verification, so a signer with the wrong key file gets a clear
    // answer instead of "signature does not verify".
    let unknown_key = || {
        ApiError::invalid(
            "unknown_signer_key",
            "this key is not the signer's registered signature key",
        )
    };
    let key = tx
        .key_pairs()
        .current(signer.id, KeyUsage::Signature)
        .await?
        .ok_or_else(unknown_key)?;
    if KeyHash::from_input(&key.key_hash).ok().as_ref() != Some(&body.key_hash.0) {
        return Err(unknown_key());
    }
    if key.version != version.as_str() {
        return Err(ApiError::invalid(
            "signature_version_mismatch",
            format!("the registered key signs {}", key.version),
        ));
    }
    let submission = orders::SignatureSubmission {
        order: id,
        signer: signer.id,
        version,
        value,
    };
    let order = orders::add_signature(&mut tx, submission)
        .await
        .map_err(|e| match e {
            orders::OrderError::Storage(StorageError::Conflict { .. }) => ApiError::Conflict {
                code: "already_signed",
                message: "this signer has already signed the order".into(),
            },
            orders::OrderError::NotPermitted(message) => {
                ApiError::invalid("signer_cannot_authorise", message)
            }
            other => other.into(),
        })?;
    let view = load_view(&state, &mut tx, order).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Serialize)]
struct Submitted {
    order_id: OrderId,
    /// SUBMITTED while the upload runs (e.g. another request's), PROCESSING once the bank
    /// took it, COMPLETED or REJECTED when the bank already decided.
    status: OrderStatus,
    /// The EBICS transaction that carried the upload, once recorded.
    transaction_id: Option<TransactionId>,
    bank_order_id: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let order = granted_order(&mut tx, &caller, id).await?;
    drop(tx);
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
    let order = state
        .engine()?
        .submit_order(caller.scope.clone(), id)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            order_id: id,
            status: order.status,
            transaction_id: order.transaction_id,
            bank_order_id: order.bank_order_id,
        }),
    ))
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    let mut tx = state.store.scope(&caller.scope).begin().await?;
    let order = granted_order(&mut tx, &caller, id).await?;
    let order = tx
        .orders()
        .set_status(id, order.status, OrderStatus::Cancelled)
        .await
        .map_err(|e| match e {
            StorageError::IllegalTransition(_) => ApiError::Conflict {
                code: "not_cancellable",
                message: format!(
                    "the order is {} and can no longer be cancelled",
                    order.status
                ),
            },
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(Json(order))
}
