//! `/v1/ebics-users/{id}/permissions`: what the bank permits a user (order types, accounts,
//! limits in the currency's minor units).

use kontor_documents::{Amount, Currency};
use kontor_protocol::order_type::OrderType;
use kontor_storage::{AccountId, EbicsUserId, NewPermission, Permission, SignatureClass};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{JsonBody, On};
use super::input::{payment_amount, Valid};
use super::records::children_granted;
use super::respond::Created;
use super::{Access, Routes};
use crate::services::users;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/ebics-users/{id}/permissions",
            "Permissions of a user",
            children_granted::<Permission>,
        )
        .post(
            "/v1/ebics-users/{id}/permissions",
            Access::Configure,
            "Add a permission (limits in the currency's minor units)",
            add,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddPermission {
    order_type: Valid<OrderType>,
    account_id: Option<Valid<AccountId>>,
    authorisation_level: Valid<SignatureClass>,
    max_amount: Option<Valid<Amount>>,
    currency: Option<Valid<Currency>>,
}

async fn add(
    On(caller, id): On<EbicsUserId>,
    JsonBody(body): JsonBody<AddPermission>,
) -> Result<Created<Permission>, ApiError> {
    let max_amount = match (body.max_amount, body.currency) {
        (Some(amount), Some(currency)) => {
            Some((payment_amount("max_amount", *amount, *currency)?, *currency))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "invalid_limit",
                "max_amount and currency go together",
            ))
        }
    };
    let (max_amount, currency) = max_amount.unzip();
    let new = NewPermission {
        ebics_user_id: id,
        order_type: body.order_type.into_inner(),
        btf_service: None,
        account_id: body.account_id.map(Valid::into_inner),
        authorisation_level: *body.authorisation_level,
        max_amount,
        currency,
    };
    let permission = caller
        .write_granted(id, async |tx, _| users::add_permission(tx, new).await)
        .await?;
    Ok(Created(permission))
}
