//! The admin API's one error type, mapped once to HTTP status and a stable JSON error code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kontor_storage::StorageError;
use serde::Serialize;

use kontor_documents::pain::request::FieldError;

use crate::services::orders::OrderError;
use crate::services::{Refusal, ServiceError, UnusableAnswer};

/// Every failure a handler can return. Internal details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthorized,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A body, query or header field failed validation (see `api::input`).
    #[error("{message}")]
    Input {
        code: String,
        field: Option<String>,
        message: String,
    },
    /// Several fields failed validation: each with its JSON path and code (the first ones,
    /// and how many in all).
    #[error("{message}")]
    Fields {
        code: &'static str,
        message: String,
        errors: Vec<FieldError>,
        total: usize,
    },
    /// The request itself is malformed (unparsable JSON or query).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The request body is larger than the route takes; nothing was stored.
    #[error("the file is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("no engine runs in this process; try again later")]
    EngineUnavailable,
    /// The database is down or saturated: the request changed nothing and may be retried.
    #[error("the database is unavailable; try again later")]
    DatabaseUnavailable,
    #[error("the bank could not be reached: {0}")]
    BankUnreachable(String),
    /// The bank answered unusably (unreadable, or not signed by it).
    #[error("{message}")]
    BankAnswerUnusable { code: &'static str, message: String },
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal(#[source] anyhow_like::BoxError),
}

/// A boxed error without pulling anyhow into a library.
pub mod anyhow_like {
    pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
}

/// The body of every error answer.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub(crate) struct ErrorResponse<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct ErrorBody<'a> {
    /// The stable error code clients branch on (`unauthorized`, `forbidden`, `not_found`,
    /// `invalid_<field kind>`, `malformed_body`, `engine_unavailable`, ...).
    code: &'a str,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: String,
    /// The size limit, for `payload_too_large`.
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_bytes: Option<u64>,
    /// Each invalid field (path, code, message), for `invalid_payment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    /// How many fields are invalid (`errors` lists the first ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    error_count: Option<usize>,
}

impl ApiError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The stable, documented error code clients can branch on.
    pub fn code(&self) -> &str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { code, .. } => code,
            Self::Invalid { code, .. } => code,
            Self::Input { code, .. } => code,
            Self::Fields { code, .. } => code,
            Self::BadRequest { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::EngineUnavailable => "engine_unavailable",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::BankUnreachable(_) => "bank_unreachable",
            Self::BankAnswerUnusable { code, .. } => code,
            Self::NoRoute => "no_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Invalid { .. } | Self::Input { .. } | Self::Fields { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::EngineUnavailable | Self::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BankUnreachable(_) | Self::BankAnswerUnusable { .. } => StatusCode::BAD_GATEWAY,
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(source) = &self {
            tracing::error!(error = %source, "internal error");
        }
        let field = match &self {
            Self::Input { field, .. } => field.as_deref(),
            _ => None,
        };
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code(),
                field,
                message: self.to_string(),
                limit_bytes: match &self {
                    Self::PayloadTooLarge { limit } => Some(*limit),
                    _ => None,
                },
                errors: match &self {
                    Self::Fields { errors, .. } => Some(errors),
                    _ => None,
                },
                error_count: match &self {
                    Self::Fields { total, .. } => Some(*total),
                    _ => None,
                },
            },
        };
        let code = super::audit::ErrorCode(self.code().to_owned());
        let mut response = (self.status(), Json(body)).into_response();
        // For the audit record of the call (`audit::record_calls`).
        response.extensions_mut().insert(code);
        if matches!(self, Self::DatabaseUnavailable) {
            // Clients and load balancers may retry after a short pause.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound { entity } => Self::NotFound(entity),
            StorageError::Conflict { entity, .. } => Self::Conflict {
                code: "conflict",
                message: format!("{entity} already exists"),
            },
            StorageError::StaleStatus { entity, .. } => Self::Conflict {
                code: "stale_status",
                message: format!("{entity} was changed concurrently; reload and retry"),
            },
            StorageError::IllegalTransition(t) => Self::Conflict {
                code: "illegal_transition",
                message: t.to_string(),
            },
            StorageError::InvalidReference { entity } => Self::Invalid {
                code: "invalid_reference",
                message: format!("{entity} refers to a record that does not exist"),
            },
            StorageError::InUse { entity } => Self::Conflict {
                code: "in_use",
                message: format!("{entity} is still in use"),
            },
            StorageError::InvalidInput { field, message } => Self::Invalid {
                code: "invalid_input",
                message: format!("{field}: {message}"),
            },
            StorageError::InvalidId(e) => Self::Invalid {
                code: "invalid_id",
                message: e.to_string(),
            },
            StorageError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::DatabaseUnavailable
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Storage(e) => e.into(),
            ServiceError::NotFound(entity) => Self::NotFound(entity),
            ServiceError::BankUnavailable => Self::EngineUnavailable,
            ServiceError::BankRefused { code, text } => Self::Conflict {
                code: "bank_refused",
                message: format!("the bank refused: {code} {text}"),
            },
            ServiceError::BankUnreachable(message) => Self::BankUnreachable(message),
            ServiceError::BankAnswerUnusable { why, message } => Self::BankAnswerUnusable {
                code: match why {
                    UnusableAnswer::SignatureInvalid => "bank_signature_invalid",
                    UnusableAnswer::Unreadable => "bank_answer_unreadable",
                },
                message,
            },
            ServiceError::Precondition(e) => Self::Conflict {
                code: "precondition_failed",
                message: e.to_string(),
            },
            ServiceError::Order(e) => e.into(),
            ServiceError::Refused(refusal) => refusal.into(),
            ServiceError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.to_string();
        let conflict = |code| Self::Conflict {
            code,
            message: message.clone(),
        };
        let invalid = |code| Self::Invalid {
            code,
            message: message.clone(),
        };
        match refusal {
            Refusal::EmailTaken => conflict("email_taken"),
            Refusal::TenantNameTaken => conflict("tenant_name_taken"),
            Refusal::OwnerDemotesSelf | Refusal::OwnerRemovesSelf => conflict("last_owner"),
            Refusal::HostIdTaken => conflict("host_id_taken"),
            Refusal::HostBusy { .. } => conflict("host_busy"),
            Refusal::HostRetired(_) => conflict("host_retired"),
            Refusal::InvalidUrl(_) => invalid("invalid_url"),
            Refusal::HttpsRequired(_) => invalid("https_required"),
            Refusal::InvalidCaBundle(_) => invalid("invalid_ca_bundle"),
            Refusal::AccountExists => conflict("account_exists"),
            Refusal::UserExists => conflict("user_exists"),
            Refusal::UserNotIn { .. } => conflict("illegal_transition"),
            Refusal::SignerKeyKnownToBank(_) => conflict("user_not_new"),
            Refusal::CertificateRequired(_) => invalid("certificate_required"),
            Refusal::ScheduleHasRuns => conflict("in_use"),
            Refusal::InvalidCron(_) => Self::Input {
                code: "invalid_cron".into(),
                field: Some("cron".into()),
                message,
            },
            Refusal::SignerNotInPartner => invalid("signer_not_in_partner"),
            Refusal::UnknownSignerKey => invalid("unknown_signer_key"),
            Refusal::WebhookTarget(_) => invalid("webhook_target_refused"),
            Refusal::SignerMustSignKeyChange => conflict("signer_holds_signature_key"),
            Refusal::DaemonHoldsSignatureKey => conflict("daemon_holds_signature_key"),
            Refusal::TransfersInFlight(_) => conflict("transfers_in_flight"),
            Refusal::KeyChangeInProgress => conflict("key_change_in_progress"),
            Refusal::NothingUndecided => conflict("nothing_undecided"),
            Refusal::SignedOrdersWaiting(_) => conflict("signed_orders_waiting"),
            Refusal::InvalidKeyChange(_) => invalid("invalid_key_change"),
            Refusal::InvalidSignature(_) => invalid("invalid_signature"),
            Refusal::InvalidCertificate(_) => invalid("invalid_certificate"),
            Refusal::KeyNotPending(_) => conflict("key_not_pending"),
            Refusal::H3kNotPossible(_) => invalid("h3k_not_possible"),
            Refusal::H3kRefusedByBank { .. } => conflict("h3k_refused_by_bank"),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        use OrderError as E;
        let message = error.to_string();
        match error {
            E::HostRetired(_) => Self::Conflict {
                code: "host_retired",
                message,
            },
            E::EmptyFile => Self::invalid("empty_file", message),
            E::UnsupportedOrderType(_) | E::NoBtfEquivalent(_) | E::BtfNeedsH005 => {
                Self::invalid("unsupported_order_type", message)
            }
            E::ServiceRequired
            | E::ServiceWithoutBtu(_)
            | E::UnsupportedService(_)
            | E::InvalidService(_) => Self::invalid("invalid_btf_service", message),
            E::InvalidDocument(e) => Self::invalid("invalid_payment_file", e.to_string()),
            E::KindMismatch { .. } => Self::invalid("order_type_mismatch", message),
            E::MixedCurrencies => Self::invalid("mixed_currencies", message),
            E::UserNotActive(_) => Self::Conflict {
                code: "user_not_active",
                message,
            },
            E::OrderTypeNotOffered(_) => Self::invalid("order_type_not_offered", message),
            E::NotPermitted(_) => Self::invalid("not_permitted_by_bank", message),
            E::SyncFailed(_) => Self::Conflict {
                code: "sync_failed",
                message,
            },
            E::IdempotencyKeyReused => Self::Conflict {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was used for a different request".into(),
            },
            E::DuplicateOrder => Self::Conflict {
                code: "duplicate_order",
                message,
            },
            E::UnknownSignerKey => Self::invalid("unknown_signer_key", message),
            E::SignatureVersionMismatch(_) => Self::invalid("signature_version_mismatch", message),
            E::SignerCannotAuthorise(reason) => Self::invalid("signer_cannot_authorise", reason),
            E::AlreadySigned => Self::Conflict {
                code: "already_signed",
                message,
            },
            E::InvalidSignature => Self::invalid(
                "invalid_signature",
                "the signature does not verify against the order content and the registered key",
            ),
            E::WrongStatus(status) => Self::Conflict {
                code: "not_awaiting_signatures",
                message: format!("the order is {status} and no longer awaits signatures"),
            },
            E::NotCancellable(_) => Self::Conflict {
                code: "not_cancellable",
                message,
            },
            E::Uncertain(_) => Self::Conflict {
                code: "upload_uncertain",
                message,
            },
            E::File(e) => Self::Internal(Box::new(e)),
            E::Storage(e) => e.into(),
        }
    }
}

impl From<crate::services::payments::PaymentError> for ApiError {
    fn from(error: crate::services::payments::PaymentError) -> Self {
        use crate::services::payments::PaymentError as E;
        match error {
            E::Invalid(invalid) => Self::Fields {
                code: "invalid_payment",
                message: invalid.to_string(),
                errors: invalid.errors,
                total: invalid.total,
            },
            E::Unbuildable(e) => Self::invalid("invalid_payment", e.to_string()),
            E::Order(e) => e.into(),
        }
    }
}

impl From<crate::services::orders::received::ReceiveError> for ApiError {
    fn from(error: crate::services::orders::received::ReceiveError) -> Self {
        use crate::services::orders::received::ReceiveError as E;
        match error {
            E::TooLarge { limit } => Self::PayloadTooLarge { limit },
            E::Body(message) => Self::BadRequest {
                code: "malformed_body",
                message: format!("the request body could not be read: {message}"),
            },
            E::Io(e) => Self::Internal(Box::new(e)),
            E::Order(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::veu::VeuError;

    /// Unreadable is not unreachable and not refused: each keeps its own code.
    #[test]
    fn bank_failures_keep_their_class() {
        let unreadable: ApiError = ServiceError::from(VeuError::Unreadable {
            order_type: "HVD",
            message: "missing DataDigest".into(),
        })
        .into();
        assert_eq!(
            (unreadable.status(), unreadable.code()),
            (StatusCode::BAD_GATEWAY, "bank_answer_unreadable")
        );
        let refused: ApiError = ServiceError::from(VeuError::Bank {
            order_type: "HVE".into(),
            code: "091305".into(),
            text: "signer state".into(),
        })
        .into();
        assert_eq!(refused.code(), "bank_refused");
        let unreachable: ApiError =
            ServiceError::BankUnreachable("connection refused".into()).into();
        assert_eq!(unreachable.code(), "bank_unreachable");
        let unsigned: ApiError = ServiceError::BankAnswerUnusable {
            why: UnusableAnswer::SignatureInvalid,
            message: "bad signature".into(),
        }
        .into();
        assert_eq!(unsigned.code(), "bank_signature_invalid");
    }
}
