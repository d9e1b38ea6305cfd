//! `/v1/accounts`: bank accounts (IBAN, BIC and currency validated) and their balances.

use kontor_documents::{Bic, Currency, Iban};
use kontor_storage::{Account, AccountId, Balance, ConnectionId, NewAccount};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::JsonBody;
use super::input::{Name, ShortText, Valid};
use super::records::{children, list, show};
use super::respond::Created;
use super::{Access, Routes};
use crate::services::connections;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/accounts", "List accounts", list::<Account>)
        .post(
            "/v1/accounts",
            Access::Configure,
            "Add an account (IBAN, BIC and currency validated)",
            create,
        )
        .read("/v1/accounts/{id}", "Show an account", show::<AccountId>)
        .read(
            "/v1/accounts/{id}/balances",
            "Balances of an account",
            children::<Balance>,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    connection_id: Valid<ConnectionId>,
    holder_name: Valid<Name>,
    currency: Valid<Currency>,
    iban: Option<Valid<Iban>>,
    bic: Option<Valid<Bic>>,
    bank_account_id: Option<Valid<ShortText>>,
    national_number: Option<Valid<ShortText>>,
    bank_code: Option<Valid<ShortText>>,
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateAccount>,
) -> Result<Created<Account>, ApiError> {
    let iban = body.iban.map(Valid::into_inner);
    let text = |t: Option<Valid<ShortText>>| t.map(|t| t.into_inner().into_string());
    if iban.is_none() && body.national_number.is_none() {
        return Err(ApiError::invalid(
            "missing_account_number",
            "an account needs an iban or a national_number",
        ));
    }
    let new = NewAccount {
        bank_account_id: text(body.bank_account_id),
        iban,
        national_number: text(body.national_number),
        bank_code: text(body.bank_code),
        bic: body.bic.map(Valid::into_inner),
        holder_name: body.holder_name.into_inner().into_string(),
        currency: *body.currency,
    };
    let connection = *body.connection_id;
    let account = caller
        .write(async |tx| connections::add_account(tx, connection, new).await)
        .await?;
    Ok(Created(account))
}
