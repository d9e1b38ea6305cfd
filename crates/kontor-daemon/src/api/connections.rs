//! `/v1/connections`: bank connections (a partner at a host) and the order types they offer.

use axum::Json;
use kontor_protocol::order_type::OrderType;
use kontor_storage::{BankHostId, Connection, ConnectionId, NewConnection};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On};
use super::input::{EbicsId, Name, Valid};
use super::records::{list, show};
use super::respond::Created;
use super::{Access, Routes};
use crate::services::connections;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/connections",
            "List bank connections",
            list::<Connection>,
        )
        .post(
            "/v1/connections",
            Access::Configure,
            "Create a bank connection (partner at a host)",
            create,
        )
        .read(
            "/v1/connections/{id}",
            "Show a bank connection",
            show::<ConnectionId>,
        )
        .put(
            "/v1/connections/{id}/order-types",
            Access::Configure,
            "Set the order types the bank offers",
            set_order_types,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateConnection {
    bank_host_id: Valid<BankHostId>,
    partner_id: Valid<EbicsId>,
    display_name: Valid<Name>,
    #[serde(default)]
    order_types: Vec<Valid<OrderType>>,
}

/// More than any bank offers a subscriber (HTD lists a few dozen).
const MAX_ORDER_TYPES: usize = 200;

/// Sorted, without duplicates, at most [`MAX_ORDER_TYPES`].
fn order_type_list(codes: Vec<Valid<OrderType>>) -> Result<Vec<OrderType>, ApiError> {
    if codes.len() > MAX_ORDER_TYPES {
        return Err(ApiError::Input {
            code: "invalid_order_type".into(),
            field: Some("order_types".into()),
            message: format!("order_types: at most {MAX_ORDER_TYPES} order types"),
        });
    }
    let mut list: Vec<OrderType> = codes.into_iter().map(Valid::into_inner).collect();
    list.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    list.dedup();
    Ok(list)
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateConnection>,
) -> Result<Created<Connection>, ApiError> {
    let order_types = order_type_list(body.order_types)?;
    let new = NewConnection {
        bank_host_id: *body.bank_host_id,
        partner_id: body.partner_id.into_inner().0,
        display_name: body.display_name.into_inner().into_string(),
    };
    let connection = caller
        .write(async |tx| connections::create(tx, new, &order_types).await)
        .await?;
    Ok(Created(connection))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrderTypes {
    order_types: Vec<Valid<OrderType>>,
}

async fn set_order_types(
    On(caller, id): On<ConnectionId>,
    JsonBody(body): JsonBody<OrderTypes>,
) -> Result<Json<Connection>, ApiError> {
    let order_types = order_type_list(body.order_types)?;
    let connection = caller
        .write(async |tx| connections::set_order_types(tx, id, &order_types).await)
        .await?;
    Ok(Json(connection))
}
