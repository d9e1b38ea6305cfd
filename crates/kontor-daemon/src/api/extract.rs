//! Request extraction with the API's own error codes (malformed JSON is a JSON error too).

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body; a malformed one answers 400 `malformed_body` with the parser's message.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::BadRequest {
                code: "malformed_body",
                message: rejection.body_text(),
            }),
        }
    }
}

/// Parses a path id. A malformed id names no record: it answers like an unknown one.
pub fn path_id<T: std::str::FromStr>(raw: &str, entity: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(entity))
}

/// Parses an id given in a body or query; a malformed one is a 422 naming the field.
pub fn field_id<T: std::str::FromStr>(raw: &str, field: &'static str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("invalid_id", format!("{field} is not a valid id")))
}

/// Query parameters; malformed ones answer 400 `malformed_query`.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::BadRequest {
                code: "malformed_query",
                message: rejection.body_text(),
            }),
        }
    }
}
