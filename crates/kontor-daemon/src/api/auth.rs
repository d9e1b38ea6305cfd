//! Bearer-token authentication and route authorisation: the only way a request obtains a
//! tenant scope or a tenant transaction, and the one place that decides whether its caller may
//! use the route and the records it names.
//!
//! Every route declares an [`Access`] level in the route table (`api/mod.rs`); the table puts
//! it on the route, the OpenAPI document prints it, and [`Caller`] enforces it before the
//! handler or its body extractor runs (so a refused caller gets 403 even with a bad body).
//! [`Caller::tx`] opens the tenant transaction ([`Caller::read`] a read-only one for handlers
//! that only read); [`Caller::granted`] loads a record through it
//! and checks the caller's grants, answering a record outside them like another tenant's.
//! [`Caller::write`] runs a change in a transaction it commits, [`Caller::write_granted`] one
//! on a granted record, and [`Caller::acting_for`] checks a grant before a service call that
//! opens its own; [`Caller::services`] is the handlers' way to the services.
//!
//! Grants (`/v1/memberships/{id}/grants`) restrict an operator to some EBICS users. Such a
//! *restricted* operator may read and act for their granted users only; everything that is
//! tenant-wide — bank hosts and their keys, connections and the order types they offer,
//! accounts, EBICS users and their permissions, memberships — is changed only by
//! unrestricted Admins and Owners, since a change there reaches every user of the tenant.

use std::sync::{Mutex, PoisonError};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kontor_storage::admin::{AuthError, PlatformAdmin};
use kontor_storage::{
    AuthenticatedOperator, EbicsUser, EbicsUserId, Entity, EntityId, Newest, OfEbicsUser, Order,
    Role, Schedule, ScopedTx, StatementFile, Store, TenantScope, Transaction,
};

use super::error::ApiError;
use super::AppState;
use crate::services::Services;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (health, readiness, metrics, this document).
    Public,
    /// Every member. Restricted operators see only their granted EBICS users' records.
    Read,
    /// Admins and Owners, restricted ones included: acting for an EBICS user they are granted
    /// (orders, signatures, VEU, schedules, the user's lifecycle and signer keys) and managing
    /// their own API tokens.
    Operate,
    /// Unrestricted Admins and Owners: tenant-wide configuration (bank hosts and keys,
    /// connections and their order types, accounts, EBICS users, permissions).
    Configure,
    /// Unrestricted Owners: operators, memberships, grants and their tokens.
    Own,
    /// Platform administrators' tokens only (bound to no tenant): tenants themselves.
    Platform,
}

impl Access {
    /// Whether an operator with `role`, restricted to `grants` EBICS users, may call the route.
    pub fn allows(self, role: Role, restricted: bool) -> bool {
        match self {
            Self::Public | Self::Read => true,
            Self::Operate => role.can_mutate(),
            Self::Configure => role.can_mutate() && !restricted,
            Self::Own => role == Role::Owner && !restricted,
            Self::Platform => false,
        }
    }

    /// The sentence the OpenAPI document shows.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "No token needed.",
            Self::Read => "Any member of the tenant; operators restricted by grants see only records of their granted EBICS users.",
            Self::Operate => "Admin or Owner; operators restricted by grants only for their granted EBICS users.",
            Self::Configure => "Admin or Owner without grants: tenant-wide configuration is refused to restricted operators.",
            Self::Own => "Owner without grants.",
            Self::Platform => "Platform administrator token (created by `kontor platform-admin create`; bound to no tenant).",
        }
    }

    /// The machine-readable name (`x-kontor-access` in the OpenAPI document).
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Read => "read",
            Self::Operate => "operate",
            Self::Configure => "configure",
            Self::Own => "own",
            Self::Platform => "platform",
        }
    }
}

/// The authenticated caller of a request, with their tenant scope; extracting it enforces
/// the route's [`Access`].
pub struct Caller {
    pub operator: AuthenticatedOperator,
    pub scope: TenantScope,
    /// The caller's way to the data and the bank: every service call takes it with `scope`.
    services: Services,
    /// On a [`Access::Read`] route, the read-only transaction the token was checked in: the
    /// handler's first [`Caller::read`] goes on in it, so a read request costs one connection
    /// and one transaction (each further one is a round trip to the database, and on release
    /// a ping). Other routes drop it at once: it would hold a read connection while they
    /// write or wait for a bank.
    checked_in: Mutex<Option<ScopedTx<'static>>>,
}

impl Caller {
    /// The services the caller acts through (always with [`Caller::scope`]).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Opens the caller's tenant transaction, for handlers that change data.
    pub async fn tx(&self) -> Result<ScopedTx<'_>, ApiError> {
        drop(self.take_checked_in());
        Ok(self.services.store().scope(&self.scope).begin().await?)
    }

    /// Runs `work` in the caller's tenant transaction and commits when it succeeds; an error
    /// rolls all of it back, so a refused request leaves nothing stored.
    pub async fn write<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut ScopedTx<'_>) -> Result<T, E>,
    ) -> Result<T, ApiError>
    where
        ApiError: From<E>,
    {
        let mut tx = self.tx().await?;
        let done = work(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// [`Caller::write`] for a record of an EBICS user the caller may act for: `work` gets it
    /// loaded and checked ([`Caller::granted`]) in the same transaction.
    pub async fn write_granted<I, T, E>(
        &self,
        id: I,
        work: impl AsyncFnOnce(&mut ScopedTx<'_>, I::Entity) -> Result<T, E>,
    ) -> Result<T, ApiError>
    where
        I: EntityId,
        I::Entity: OfUser,
        ApiError: From<E>,
    {
        self.write::<T, ApiError>(async |tx| {
            let record = self.granted(tx, id).await?;
            Ok(work(tx, record).await?)
        })
        .await
    }

    /// Checks that the caller may act for the record `id` names, in a transaction that ends
    /// at once: before a service call that opens its own (bank work holds no connection
    /// while it waits).
    pub async fn acting_for<I>(&self, id: I) -> Result<I::Entity, ApiError>
    where
        I: EntityId,
        I::Entity: OfUser,
    {
        self.granted(&mut self.tx().await?, id).await
    }

    /// Opens the caller's read-only tenant transaction, for handlers that only read (lists
    /// and details): it does not queue behind writers, and a write through it fails.
    pub async fn read(&self) -> Result<ScopedTx<'_>, ApiError> {
        match self.take_checked_in() {
            Some(tx) => Ok(tx),
            None => Ok(self.services.store().scope(&self.scope).read().await?),
        }
    }

    fn take_checked_in(&self) -> Option<ScopedTx<'static>> {
        self.checked_in
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Whether an operator restricted to certain EBICS users may see and act for `user`.
    pub fn may_act_for(&self, user: EbicsUserId) -> bool {
        let allowed = self.operator.restricted_to();
        allowed.is_empty() || allowed.contains(&user)
    }

    /// Whether the operator is restricted to certain EBICS users.
    pub fn is_restricted(&self) -> bool {
        !self.operator.restricted_to().is_empty()
    }

    /// Loads a record of an EBICS user the caller may act for (the user itself, an order, a
    /// transaction, a schedule); a record outside the grant answers 404 like another
    /// tenant's.
    pub async fn granted<I>(&self, tx: &mut ScopedTx<'_>, id: I) -> Result<I::Entity, ApiError>
    where
        I: EntityId,
        I::Entity: OfUser,
    {
        let record = tx.get(id).await?;
        if self.may_act_for(record.user()) {
            Ok(record)
        } else {
            Err(ApiError::NotFound(<I::Entity as Entity>::NAME))
        }
    }
}

impl Caller {
    /// One keyset page of records that the caller may see: all of the tenant's, or for an
    /// operator restricted by grants, those of the granted EBICS users (filtered in the
    /// query, so pages stay full and cursors stay exact).
    pub async fn visible<E>(
        &self,
        tx: &mut ScopedTx<'_>,
        page: Newest<E::Id>,
    ) -> Result<Vec<E>, ApiError>
    where
        E: OfEbicsUser,
        E::Id: EntityId,
    {
        Ok(tx.newest_of_users(page, self.restricted_users()).await?)
    }

    /// The EBICS users an operator restricted by grants is limited to; `None` when they
    /// are not restricted.
    pub fn restricted_users(&self) -> Option<&[EbicsUserId]> {
        self.is_restricted()
            .then_some(self.operator.restricted_to())
    }
}

/// A record that belongs to one EBICS user: an operator restricted by grants reaches it only
/// through a grant on that user.
pub trait OfUser {
    fn user(&self) -> EbicsUserId;
}

macro_rules! of_user {
    ($($record:ty => |$r:ident| $user:expr),+ $(,)?) => {$(
        impl OfUser for $record {
            fn user(&self) -> EbicsUserId {
                let $r = self;
                $user
            }
        }
    )+};
}

of_user! {
    EbicsUser => |u| u.id,
    Order => |o| o.ebics_user_id,
    Transaction => |t| t.ebics_user_id,
    Schedule => |s| s.ebics_user_id,
    StatementFile => |f| f.ebics_user_id,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A platform token has no place in a tenant: 403, as a tenant token on a platform route.
        let Identity::Operator(operator, checked_in) =
            authenticate(state.services.store(), parts).await?
        else {
            return Err(ApiError::Forbidden);
        };
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let scope = TenantScope::for_operator(&operator).serving_request(request_id);
        // From here on the call is the operator's: audited whatever its outcome.
        if let Some(slot) = parts.extensions.get::<super::audit::CallerSlot>() {
            slot.fill(scope.clone());
        }
        // Every route of the table carries its level; a route without one is refused.
        let access = parts.extensions.get::<Access>().copied();
        let restricted = !operator.restricted_to().is_empty();
        if !access.is_some_and(|a| a.allows(operator.role(), restricted)) {
            return Err(ApiError::Forbidden);
        }
        let checked_in = (access == Some(Access::Read))
            .then(|| (*checked_in).serving_request(scope.request_id().map(str::to_owned)));
        Ok(Self {
            operator,
            scope,
            services: state.services.clone(),
            checked_in: Mutex::new(checked_in),
        })
    }
}

/// Whom a valid bearer token belongs to.
enum Identity {
    /// A tenant token: an operator in that tenant, with the read-only tenant transaction
    /// its check ran in (a read route goes on in it).
    Operator(AuthenticatedOperator, Box<ScopedTx<'static>>),
    /// A platform token (bound to no tenant).
    Platform(PlatformAdmin),
}

/// The request's bearer token, as a tenant or a platform token; neither is 401.
async fn authenticate(store: &Store, parts: &Parts) -> Result<Identity, ApiError> {
    let token = bearer(parts)?;
    let now = chrono::Utc::now();
    match store.admin().authenticate_token_reading(token, now).await {
        Ok((operator, checked_in)) => {
            return Ok(Identity::Operator(operator, Box::new(checked_in)))
        }
        Err(AuthError::Storage(e)) => return Err(e.into()),
        Err(AuthError::Rejected(_)) => {}
    }
    match store.admin().authenticate_platform(token, now).await {
        Ok(admin) => Ok(Identity::Platform(admin)),
        Err(AuthError::Storage(e)) => Err(e.into()),
        Err(AuthError::Rejected(_)) => Err(ApiError::Unauthorized),
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)
}

/// A platform administrator calling a [`Access::Platform`] route with their platform token.
/// A valid tenant token answers 403 there, anything else 401.
pub struct PlatformCaller {
    pub admin: PlatformAdmin,
}

impl FromRequestParts<AppState> for PlatformCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(state.services.store(), parts).await? {
            Identity::Platform(admin)
                if parts.extensions.get::<Access>() == Some(&Access::Platform) =>
            {
                Ok(Self { admin })
            }
            // A tenant token, or a platform token on a tenant's route.
            _ => Err(ApiError::Forbidden),
        }
    }
}
