//! `/v1/payments`: payments described as JSON (SEPA credit transfers, instant transfers and
//! direct debits). The services check every field, build the pain.001/pain.008 and create
//! the order through the same path as `POST /v1/orders`; from then on it is an order like
//! any other (`/v1/orders/{id}/signatures`, `/submit`, ...). `GET /v1/payments/{id}` shows
//! each transfer with the bank's status.

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::Json;
use kontor_documents::pain::request::{PaymentRequest, Scheme};
use kontor_documents::pain::PaymentKind;
use kontor_storage::{EbicsUserId, Order, OrderId, SignatureRule};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{IdempotencyKey, JsonBody, On, QueryParams};
use super::input::Valid;
use super::respond::{Created, Either, Replayed};
use super::{Access, Routes};
use crate::services::payments::{self, NewPayment, TransferView};

/// The largest JSON payment body: room for 100 000 transactions.
const MAX_PAYMENT_BODY_BYTES: usize = 64 * 1024 * 1024;

pub fn routes(routes: Routes) -> Routes {
    routes
        .post(
            "/v1/payments",
            Access::Operate,
            "Create a payment order from JSON (SCT, SCT_INST, SDD_CORE, SDD_B2B; Idempotency-Key)",
            create.layer(DefaultBodyLimit::max(MAX_PAYMENT_BODY_BYTES)),
        )
        .read(
            "/v1/payments/{id}",
            "Show a payment order with the bank's status of each transfer",
            show,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    ebics_user_id: Valid<EbicsUserId>,
    /// STANDARD (default) or ANY_SINGLE.
    signature_rule: Option<Valid<SignatureRule>>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct CreatedView {
    order: Order,
    scheme: Scheme,
    message_id: String,
    number_of_transactions: usize,
    control_sum: String,
    /// The EBICS order data digest that signatures cover, lower-case hex.
    order_data_digest: String,
}

async fn create(
    caller: Caller,
    QueryParams(query): QueryParams<CreateQuery>,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(request): JsonBody<PaymentRequest>,
) -> Result<Either<Created<CreatedView>, Replayed<CreatedView>>, ApiError> {
    let user = *query.ebics_user_id;
    caller.acting_for(user).await?;
    let created = payments::create_payment(
        caller.services().store(),
        caller.services().files(),
        &caller.scope,
        NewPayment {
            user,
            request,
            signature_rule: query
                .signature_rule
                .map_or(SignatureRule::Standard, Valid::into_inner),
            idempotency_key: key,
        },
    )
    .await?;
    let replayed = created.created.replayed;
    let summary = created.created.summary.as_ref();
    let view = CreatedView {
        scheme: created.scheme,
        message_id: created.message_id,
        number_of_transactions: summary.map_or(0, |s| s.number_of_transactions),
        control_sum: summary.map_or_else(String::new, |s| s.control_sum.to_string()),
        order_data_digest: created.order_data_digest,
        order: created.created.order,
    };
    Ok(if replayed {
        Either::B(Replayed(view))
    } else {
        Either::A(Created(view))
    })
}

#[derive(Serialize, schemars::JsonSchema)]
struct PaymentView {
    order: Order,
    kind: PaymentKind,
    message_id: String,
    number_of_transactions: usize,
    control_sum: String,
    transfers: Vec<TransferView>,
}

async fn show(On(caller, id): On<OrderId>) -> Result<Json<PaymentView>, ApiError> {
    let mut tx = caller.read().await?;
    let order = caller.granted(&mut tx, id).await?;
    let (document, transfers) =
        payments::transfers(caller.services().files(), &mut tx, &order).await?;
    Ok(Json(PaymentView {
        kind: document.kind(),
        message_id: document.message_id.clone(),
        number_of_transactions: transfers.len(),
        control_sum: document.control_sum().to_string(),
        transfers,
        order,
    }))
}
