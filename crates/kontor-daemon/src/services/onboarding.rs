//! Onboarding a user at its bank: keys (generated or registered by a signer), INI and HIA
//! (or H3K), HPB, activation once an operator has verified the bank keys, and the HTD/HAA sync
//! of order types, accounts and permissions.

use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AccountNumber, BankCode, HAAResponseOrderData, HTDResponseOrderData, OrderDataError,
};
use kontor_storage::{
    EbicsUserId, EbicsUserStatus, NewAccount, NewPermission, SignatureClass, StorageError, Store,
    TenantScope,
};

use super::bank::{Bank, Delivery};
use super::error::ServiceError;
use super::keys::{ensure_user_keys, KeyError};
use super::veu::class_of;
use super::Services;
use crate::ebics::session::verified_bank_keys;
use crate::ebics::{DownloadRequest, EbicsError, KeyOrder, UserContext};

/// What an HTD/HAA sync stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub order_types: Vec<String>,
    pub accounts: usize,
    pub permissions: usize,
}

/// Why onboarding stopped.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error(transparent)]
    Ebics(#[from] EbicsError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("bank sent no HTD data")]
    NoSubscriberData,
    #[error("invalid response from bank: {0}")]
    Unreadable(OrderDataError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<OnboardingError> for ServiceError {
    fn from(error: OnboardingError) -> Self {
        match error {
            OnboardingError::Ebics(e) => e.into(),
            OnboardingError::Storage(e) => Self::Storage(e),
            other => Self::Precondition(Box::new(other)),
        }
    }
}

/// Starts or continues onboarding for the API: see [`onboard`].
pub async fn initialise(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<EbicsUserStatus, ServiceError> {
    Ok(onboard(services.store(), services.bank()?, scope, user).await?)
}

/// Runs whatever onboarding steps are still due: keys, INI, HIA, HPB, activation (if the bank
/// keys are verified) and the sync. Stops without error where an operator must act (bank keys
/// awaiting verification). Returns the user's status.
pub async fn onboard(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<EbicsUserStatus, OnboardingError> {
    let mut status = UserContext::load(store, scope, user).await?.user.status;
    if status == EbicsUserStatus::New {
        ensure_user_keys(store, scope, user).await?;
    }
    if matches!(
        status,
        EbicsUserStatus::New | EbicsUserStatus::PartlyInitialisedHia
    ) {
        status = bank.send_key_order(scope, user, KeyOrder::Ini).await?;
    }
    if status == EbicsUserStatus::PartlyInitialisedIni {
        status = bank.send_key_order(scope, user, KeyOrder::Hia).await?;
    }
    if status != EbicsUserStatus::Initialised {
        return Ok(status);
    }
    let keys = bank.fetch_bank_keys(scope, user).await?;
    let ctx = UserContext::load(store, scope, user).await?;
    match verified_bank_keys(&ctx.host, &keys) {
        Ok(_) => {}
        // Rejected keys block with an error; unverified ones wait for the operator.
        Err(EbicsError::BankKeysNotVerified { reason, .. }) if reason.awaits_operator() => {
            return Ok(status)
        }
        Err(e) => return Err(e.into()),
    }
    status = bank.activate(scope, user).await?;
    sync_user_data(store, bank, scope, user).await?;
    Ok(status)
}

/// Downloads HTD (own subscriber data) and HAA, and stores the connection's order types,
/// its accounts and the user's permissions.
pub async fn sync_user_data(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<SyncReport, OnboardingError> {
    let htd = match bank
        .download(scope, user, DownloadRequest::new(OrderType::HTD))
        .await?
    {
        Delivery::Data { bytes, .. } => bytes,
        Delivery::NoData { .. } => return Err(OnboardingError::NoSubscriberData),
    };
    let htd = HTDResponseOrderData::parse(&htd).map_err(OnboardingError::Unreadable)?;
    // HAA is optional at many banks: a refusal leaves the HTD view.
    let haa = match bank
        .download(scope, user, DownloadRequest::new(OrderType::HAA))
        .await
    {
        Ok(Delivery::Data { bytes, .. }) => HAAResponseOrderData::parse(&bytes).ok(),
        Ok(Delivery::NoData { .. }) | Err(EbicsError::Bank { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let ctx = UserContext::load(store, scope, user).await?;
    let mut order_types: Vec<String> = htd
        .partner_info
        .order_infos
        .iter()
        .map(|o| o.order_type.clone())
        .chain(haa.iter().flat_map(|h| h.order_types.iter().cloned()))
        .collect();
    order_types.sort();
    order_types.dedup();

    let mut tx = store.scope(scope).begin().await?;
    tx.connections()
        .set_order_types(ctx.connection.id, &order_types)
        .await?;
    let existing = tx.accounts().list_for_connection(ctx.connection.id).await?;
    let mut account_ids = std::collections::HashMap::new();
    for info in &htd.partner_info.accounts {
        let iban = info.account_numbers.iter().find_map(|n| match n {
            AccountNumber::Standard {
                number,
                international: true,
            } => Some(number.clone()),
            _ => None,
        });
        let national = info.account_numbers.iter().find_map(|n| match n {
            AccountNumber::Standard {
                number,
                international: false,
            } => Some(number.clone()),
            AccountNumber::National { number, .. } => Some(number.clone()),
            _ => None,
        });
        let bic = info.bank_codes.iter().find_map(|c| match c {
            BankCode::Standard {
                code,
                international: true,
                ..
            } => Some(code.clone()),
            _ => None,
        });
        let bank_code = info.bank_codes.iter().find_map(|c| match c {
            BankCode::Standard {
                code,
                international: false,
                ..
            } => Some(code.clone()),
            BankCode::National { code, .. } => Some(code.clone()),
            _ => None,
        });
        let found = existing.iter().find(|a| {
            a.bank_account_id.as_deref() == Some(info.id.as_str())
                || (iban.is_some() && a.iban == iban)
        });
        let id = match found {
            Some(account) => account.id,
            None => {
                tx.accounts()
                    .create(
                        ctx.connection.id,
                        NewAccount {
                            bank_account_id: Some(info.id.clone()),
                            iban,
                            national_number: national,
                            bank_code,
                            bic,
                            holder_name: info
                                .account_holder
                                .clone()
                                .or_else(|| info.description.clone())
                                .unwrap_or_default(),
                            currency: info.currency.clone(),
                        },
                    )
                    .await?
                    .id
            }
        };
        account_ids.insert(info.id.clone(), id);
    }
    let mut permissions = Vec::new();
    for permission in &htd.user_info.permissions {
        let level = permission
            .authorisation_level
            .map_or(SignatureClass::T, class_of);
        let account = permission
            .account_id
            .as_ref()
            .and_then(|id| account_ids.get(id).copied());
        let types: Vec<String> = if permission.order_types.is_empty() {
            permission
                .service
                .iter()
                .map(|s| format!("BTF:{}", s.service_name))
                .collect()
        } else {
            permission.order_types.clone()
        };
        for order_type in types {
            permissions.push(NewPermission {
                ebics_user_id: ctx.user.id,
                order_type,
                account_id: account,
                authorisation_level: level,
                max_amount: permission.max_amount.as_ref().map(|a| a.value.to_string()),
                currency: permission.max_amount.as_ref().map(|a| a.currency.clone()),
            });
        }
    }
    let stored = tx
        .permissions()
        .replace_for_user(ctx.user.id, permissions)
        .await?;
    tx.commit().await?;
    Ok(SyncReport {
        order_types,
        accounts: account_ids.len(),
        permissions: stored.len(),
    })
}
