//! Onboarding a user at its bank: keys (generated or registered by a signer), INI and HIA
//! (or H3K), HPB, activation once an operator has verified the bank keys, and the HTD/HAA sync
//! of order types, accounts and permissions.

use kontor_documents::{Amount, Bic, Iban};
use kontor_protocol::certificate::Certificate;
use kontor_protocol::order_type::{OrderType, OrderTypeError};
use kontor_protocol::orderdata::{
    HAAResponseOrderData, HKDResponseOrderData, HPDResponseOrderData, HTDResponseOrderData,
    OrderDataError,
};
use kontor_protocol::return_code::ReturnCode;
use kontor_storage::{
    BankParameters, BtfOffer, DbEnum, EbicsUserId, EbicsUserStatus, KeyUsage, KontorFailure,
    NewAccount, NewPermission, ResultCode, SignatureClass, StorageError, Store, TenantScope,
};

use super::bank::{AsUser, Bank, Delivery};
use super::error::{Refusal, ServiceError};
use super::keys::{ensure_user_keys, KeyError};
use super::veu::class_of;
use super::Services;
use crate::ebics::session::verified_bank_keys;
use crate::ebics::{load_user_at_host, DownloadRequest, EbicsError, KeyOrder, Subscriber};

/// What an HTD/HKD/HAA sync stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SyncReport {
    pub order_types: Vec<OrderType>,
    pub btf_offers: Vec<BtfOffer>,
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
    #[error("the bank names a malformed order type: {0}")]
    MalformedOrderType(#[from] OrderTypeError),
    /// An IBAN, BIC, currency or limit in HTD that does not validate; nothing is stored.
    #[error("the bank's subscriber data (HTD) is unusable: {0}")]
    MalformedSubscriberData(String),
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

/// How a NEW user's public keys reach the bank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySubmission {
    /// INI (signature key) and HIA (authentication and encryption keys), each confirmed by
    /// a signed letter.
    #[default]
    IniHia,
    /// H3K (EBICS 3.0): all three keys as certificates in one order, without letters,
    /// for banks that accept it. The certificates must be CA-issued (at least the signature
    /// certificate: the CA's certification replaces the INI letter), so import them first.
    H3k,
}

/// Starts or continues onboarding for the API: see [`onboard_with`].
pub async fn initialise(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    submission: KeySubmission,
) -> Result<EbicsUserStatus, ServiceError> {
    let bank = services.bank()?;
    if submission == KeySubmission::H3k {
        check_h3k(services.store(), scope, user).await?;
    }
    match onboard_with(services.store(), bank, scope, user, submission).await {
        Err(OnboardingError::Ebics(EbicsError::Bank {
            order_type,
            rejection,
            ..
        })) if order_type == OrderType::H3K && rejection.code.as_str().starts_with("0912") => {
            // 0912xx are the key management and X.509 codes (EBICS 3.0 Annex 1): the bank
            // does not take these certificates for H3K (091214: not issued by a CA it
            // trusts). Nothing was recorded; the operator chooses what to do next.
            Err(Refusal::H3kRefusedByBank {
                code: rejection.code,
                text: rejection.text,
            }
            .into())
        }
        other => Ok(other?),
    }
}

/// Refuses H3K where it cannot work, before anything is sent: only a NEW user of an H005
/// host whose three keys carry certificates, the signature certificate issued by a CA
/// (EBICS 3.0, H3K: the bank trusts the CA instead of an initialisation letter).
async fn check_h3k(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<(), ServiceError> {
    let refuse = |why: String| -> ServiceError { Refusal::H3kNotPossible(why).into() };
    let ctx = load_user_at_host(store, scope, user)
        .await
        .map_err(OnboardingError::from)?;
    if !ctx.version().uses_certificates() {
        return Err(refuse(format!(
            "H3K exists from EBICS 3.0 (H005); host {} speaks {}",
            ctx.host.host_id,
            ctx.version()
        )));
    }
    if ctx.user.status != EbicsUserStatus::New {
        return Err(refuse(format!("the user is {}, not NEW", ctx.user.status)));
    }
    let mut tx = store.scope(scope).begin().await?;
    for &usage in KeyUsage::ALL {
        let certificate = tx
            .key_pairs()
            .current(user, usage)
            .await?
            .and_then(|pair| pair.certificate)
            .map(|der| Certificate::from_der(&der))
            .transpose()
            .map_err(|e| refuse(format!("the {usage} certificate is unreadable: {e}")))?
            .ok_or_else(|| {
                refuse(format!(
                    "the {usage} key has no certificate; generate keys and import the CA-issued certificates first"
                ))
            })?;
        if usage == KeyUsage::Signature && !certificate.is_ca_issued() {
            return Err(refuse(
                "the signature certificate is self-signed; H3K needs the one a CA issued".into(),
            ));
        }
    }
    Ok(())
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
    onboard_with(store, bank, scope, user, KeySubmission::IniHia).await
}

/// [`onboard`], with the keys of a NEW user sent as `submission` says.
async fn onboard_with(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
    submission: KeySubmission,
) -> Result<EbicsUserStatus, OnboardingError> {
    let current = load_user_at_host(store, scope, user).await?.user;
    let mut status = current.status;
    if status == EbicsUserStatus::Ready {
        // A READY user whose sync never succeeded or last failed gets it run again.
        if current.synced_at.is_none() || current.sync_failure_code.is_some() {
            sync_user_data(store, bank, scope, user).await?;
        }
        return Ok(status);
    }
    if status == EbicsUserStatus::New {
        ensure_user_keys(store, scope, user).await?;
        if submission == KeySubmission::H3k {
            status = bank
                .send_key_order(AsUser { scope, user }, KeyOrder::H3k)
                .await?;
        }
    }
    if matches!(
        status,
        EbicsUserStatus::New | EbicsUserStatus::PartlyInitialisedHia
    ) {
        status = bank
            .send_key_order(AsUser { scope, user }, KeyOrder::Ini)
            .await?;
    }
    if status == EbicsUserStatus::PartlyInitialisedIni {
        status = bank
            .send_key_order(AsUser { scope, user }, KeyOrder::Hia)
            .await?;
    }
    if status != EbicsUserStatus::Initialised {
        return Ok(status);
    }
    let keys = bank.fetch_bank_keys(AsUser { scope, user }).await?;
    let ctx = load_user_at_host(store, scope, user).await?;
    match verified_bank_keys(&ctx.host, &keys) {
        Ok(_) => {}
        // Rejected keys block with an error; unverified ones wait for the operator.
        Err(EbicsError::BankKeysNotVerified { reason, .. }) if reason.awaits_operator() => {
            return Ok(status)
        }
        Err(e) => return Err(e.into()),
    }
    // The sync runs before activation: a user becomes READY only with its order types,
    // services and permissions known. A failed sync leaves it INITIALISED, the failure shown.
    sync_user_data(store, bank, scope, user).await?;
    status = bank.activate(AsUser { scope, user }).await?;
    Ok(status)
}

/// Runs the sync for the API (`POST /v1/ebics-users/{id}/sync`): see [`sync_user_data`]. A
/// failure is recorded on the user and returned. An INITIALISED user (bank keys verified)
/// whose first sync failed becomes READY with this one.
pub async fn sync(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<SyncReport, ServiceError> {
    let bank = services.bank()?;
    let report = sync_user_data(services.store(), bank, scope, user).await?;
    let status = load_user_at_host(services.store(), scope, user)
        .await
        .map_err(OnboardingError::from)?
        .user
        .status;
    if status == EbicsUserStatus::Initialised {
        bank.activate(AsUser { scope, user }).await?;
    }
    Ok(report)
}

/// Return codes with which a bank says an order type or service is not (or no longer)
/// allowed for the user: the stored view of its permissions is stale, so the sync runs again.
/// 090003 EBICS_AUTHORISATION_ORDER_TYPE_FAILED, 091005 EBICS_INVALID_ORDER_TYPE and 091006
/// EBICS_UNSUPPORTED_ORDER_TYPE (EBICS 3.0 Annex 1, return codes). 090005 is not one of them:
/// it only says there is no data to download.
fn means_not_allowed(code: &ResultCode) -> bool {
    [
        ReturnCode::AuthorisationOrderTypeFailed,
        ReturnCode::InvalidOrderType,
        ReturnCode::UnsupportedOrderType,
    ]
    .iter()
    .any(|not_allowed| code.is(not_allowed))
}

/// Runs the sync again when `error` is a bank's "order type not allowed". The outcome (or
/// failure) is recorded on the user; the caller's error stays what it was.
pub async fn resync_if_not_allowed(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
    code: &ResultCode,
) {
    if !means_not_allowed(code) {
        return;
    }
    tracing::info!(%user, %code, "bank refused an order type: syncing permissions again");
    if let Err(error) = sync_user_data(store, bank, scope, user).await {
        tracing::warn!(%user, %error, "sync after a refused order type failed");
    }
}

/// Downloads HTD (own subscriber data), HKD (the partner's data, for the order types and
/// services it offers), HAA and HPD (the bank's parameters, stored on the host), stores the connection's order types, BTF offers and accounts
/// and the user's permissions, and records the outcome on the user: `synced_at` on success,
/// the failure's code and message otherwise (shown by the API until a sync succeeds).
pub async fn sync_user_data(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<SyncReport, OnboardingError> {
    let result = sync_once(store, bank, scope, user).await;
    let mut tx = store.scope(scope).begin().await?;
    match &result {
        Ok(_) => {
            tx.ebics_users().record_sync_success(user).await?;
        }
        Err(error) => {
            tracing::warn!(%user, %error, "sync of order types and permissions failed");
            tx.ebics_users()
                .record_sync_failure(user, &error.code(), &error.to_string())
                .await?;
        }
    }
    tx.commit().await?;
    result
}

async fn sync_once(
    store: &Store,
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<SyncReport, OnboardingError> {
    let htd = match bank
        .download(AsUser { scope, user }, DownloadRequest::new(OrderType::HTD))
        .await?
    {
        Delivery::Data { file, .. } => bank.files().content(&file).await?,
        Delivery::NoData { .. } => return Err(OnboardingError::NoSubscriberData),
    };
    let htd = HTDResponseOrderData::parse(&htd).map_err(OnboardingError::Unreadable)?;
    // HKD and HAA are optional at many banks: a refusal leaves the HTD view. What they do
    // deliver must parse: an unreadable answer is a failed sync, not a smaller one.
    let hkd = match optional_download(bank, scope, user, OrderType::HKD).await? {
        Some(bytes) => {
            Some(HKDResponseOrderData::parse(&bytes).map_err(OnboardingError::Unreadable)?)
        }
        None => None,
    };
    let haa = match optional_download(bank, scope, user, OrderType::HAA).await? {
        Some(bytes) => {
            Some(HAAResponseOrderData::parse(&bytes).map_err(OnboardingError::Unreadable)?)
        }
        None => None,
    };
    let hpd = match optional_download(bank, scope, user, OrderType::HPD).await? {
        Some(bytes) => {
            Some(HPDResponseOrderData::parse(&bytes).map_err(OnboardingError::Unreadable)?)
        }
        None => None,
    };
    let ctx = load_user_at_host(store, scope, user).await?;
    let order_infos = htd
        .partner_info
        .order_infos
        .iter()
        .chain(hkd.iter().flat_map(|h| h.partner_info.order_infos.iter()));
    let mut order_types: Vec<OrderType> = Vec::new();
    let mut btf_offers: Vec<BtfOffer> = Vec::new();
    for info in order_infos {
        let order_type = OrderType::parse_lenient(&info.order_type)?;
        if let Some(service) = &info.service {
            let offer = BtfOffer {
                order_type: order_type.clone(),
                service: service.clone(),
            };
            if !btf_offers.contains(&offer) {
                btf_offers.push(offer);
            }
        }
        order_types.push(order_type);
    }
    for code in haa.iter().flat_map(|h| h.order_types.iter()) {
        if let Ok(order_type) = OrderType::parse_lenient(code) {
            order_types.push(order_type);
        }
    }
    order_types.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    order_types.dedup();

    let mut tx = store.scope(scope).begin().await?;
    if let Some(hpd) = hpd {
        tx.bank_hosts()
            .set_parameters(ctx.host.id, &bank_parameters(hpd))
            .await?;
    }
    tx.connections()
        .set_order_types(ctx.connection.id, &order_types)
        .await?;
    tx.connections()
        .set_btf_offers(ctx.connection.id, &btf_offers)
        .await?;
    let existing = tx.accounts().list_for_connection(ctx.connection.id).await?;
    let mut account_ids = std::collections::HashMap::new();
    for info in &htd.partner_info.accounts {
        let in_htd = |what: &str, e: &dyn std::fmt::Display| {
            OnboardingError::MalformedSubscriberData(format!("account {} {what}: {e}", info.id))
        };
        let iban = info
            .iban()
            .map(|i| Iban::parse(i).map_err(|e| in_htd("IBAN", &e)))
            .transpose()?;
        let national = info.national_account_number().map(str::to_owned);
        let bic = info
            .bic()
            .map(|b| Bic::parse(b).map_err(|e| in_htd("BIC", &e)))
            .transpose()?;
        let bank_code = info.national_bank_code().map(str::to_owned);
        let currency = info.currency;
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
                            currency,
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
        // H005: one admin order type per permission, perhaps limited to one service; BTU/SCT
        // and BTU/SDD stay two permissions.
        let service = permission.service.clone();
        let limit = permission
            .max_amount
            .as_ref()
            .map(|max| (Amount::new(max.value), max.currency));
        for code in &permission.order_types {
            let order_type = OrderType::parse_lenient(code)?;
            permissions.push(NewPermission {
                ebics_user_id: ctx.user.id,
                order_type,
                btf_service: service.clone(),
                account_id: account,
                authorisation_level: level,
                max_amount: limit.map(|(amount, _)| amount),
                currency: limit.map(|(_, currency)| currency),
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
        btf_offers,
        accounts: account_ids.len(),
        permissions: stored.len(),
    })
}

/// HPD's protocol parameters as the host stores them (HPD is optional like HKD and HAA).
fn bank_parameters(hpd: HPDResponseOrderData) -> BankParameters {
    BankParameters {
        protocol: hpd.protocol_params,
        fetched_at: chrono::Utc::now(),
    }
}

/// A download the bank may refuse or have nothing for: `None` then.
async fn optional_download(
    bank: &dyn Bank,
    scope: &TenantScope,
    user: EbicsUserId,
    order_type: OrderType,
) -> Result<Option<Vec<u8>>, OnboardingError> {
    match bank
        .download(AsUser { scope, user }, DownloadRequest::new(order_type))
        .await
    {
        Ok(Delivery::Data { file, .. }) => Ok(Some(bank.files().content(&file).await?)),
        Ok(Delivery::NoData { .. }) | Err(EbicsError::Bank { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl OnboardingError {
    /// A stable code for the failure as the user record shows it: the bank's return code
    /// when it refused, else the class of the failure (a sync and a transfer that fail alike
    /// say so alike).
    pub fn code(&self) -> ResultCode {
        let own = match self {
            Self::Ebics(EbicsError::Bank { rejection, .. }) => return rejection.code.clone(),
            Self::Ebics(EbicsError::Transport(_)) => KontorFailure::BankUnreachable,
            Self::Ebics(EbicsError::BankSignature(_)) => KontorFailure::BankSignatureInvalid,
            Self::Ebics(EbicsError::Protocol(_))
            | Self::Unreadable(_)
            | Self::MalformedOrderType(_)
            | Self::MalformedSubscriberData(_) => KontorFailure::BankAnswerUnreadable,
            Self::NoSubscriberData => KontorFailure::NoSubscriberData,
            Self::Ebics(_) | Self::Keys(_) | Self::Storage(_) => KontorFailure::SyncFailed,
        };
        own.into()
    }
}
