//! Bearer-token authentication: the only way a request obtains a tenant scope.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kontor_storage::admin::AuthError;
use kontor_storage::{AuthenticatedOperator, EbicsUserId, Role, TenantScope};

use super::error::ApiError;
use super::AppState;

/// The authenticated caller of a request, with their tenant scope.
pub struct Caller {
    pub operator: AuthenticatedOperator,
    pub scope: TenantScope,
}

impl Caller {
    /// Refuses Viewers: every mutating handler calls this first.
    pub fn require_mutation(&self) -> Result<(), ApiError> {
        if self.operator.role().can_mutate() {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Refuses everyone but Owners (membership and token administration).
    pub fn require_owner(&self) -> Result<(), ApiError> {
        if self.operator.role() == Role::Owner {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Whether an operator restricted to certain EBICS users may act for `user`.
    /// A user outside the grant answers 404, like another tenant's record.
    pub fn require_user(&self, user: EbicsUserId) -> Result<(), ApiError> {
        let allowed = self.operator.restricted_to();
        if allowed.is_empty() || allowed.contains(&user) {
            Ok(())
        } else {
            Err(ApiError::NotFound("EBICS user"))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let operator = state
            .store
            .admin()
            .authenticate_token(token.trim(), chrono::Utc::now())
            .await
            .map_err(|e| match e {
                AuthError::Rejected(_) => ApiError::Unauthorized,
                AuthError::Storage(e) => ApiError::from(e),
            })?;
        let scope = TenantScope::for_operator(&operator);
        Ok(Self { operator, scope })
    }
}
