//! Request extraction with the API's own error codes: malformed JSON answers 400, a body or
//! query whose fields fail validation ([`super::input`]) answers 422 naming the field, and a
//! path id that is not an id names no record: it answers 404 like an unknown one.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use schemars::JsonSchema;
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::input::field_error;
use super::openapi::{DocInput, Docs, Operation};
use super::AppState;

/// A JSON body. Unparsable JSON (or no JSON content type) answers 400 `malformed_body`; a
/// missing, unknown or invalid field answers 422 with the field's code.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime_type::Essence>().ok())
            .is_some_and(|m| m.is_json());
        if !is_json {
            return Err(malformed(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| malformed(rejection.body_text()))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(value) => {
                deserializer
                    .end()
                    .map_err(|e| malformed(format!("the body is not valid JSON: {e}")))?;
                Ok(Self(value))
            }
            Err(error) => {
                let path = error.path().to_string();
                let inner = error.into_inner();
                if inner.classify() == serde_json::error::Category::Data {
                    // serde_json appends the position; the field path says more.
                    let text = inner.to_string();
                    let position = format!(" at line {} column {}", inner.line(), inner.column());
                    Err(field_error(
                        &path,
                        text.strip_suffix(&position).unwrap_or(&text),
                    ))
                } else {
                    Err(malformed(format!("the body is not valid JSON: {inner}")))
                }
            }
        }
    }
}

fn malformed(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "malformed_body",
        message,
    }
}

/// The essence of a media type, enough to tell JSON (`application/json`, `application/*+json`).
mod mime_type {
    pub struct Essence(String);

    impl std::str::FromStr for Essence {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            Ok(Self(
                s.split(';').next().ok_or(())?.trim().to_ascii_lowercase(),
            ))
        }
    }

    impl Essence {
        pub fn is_json(&self) -> bool {
            self.0 == "application/json"
                || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}

/// Parses a path id. A malformed id names no record: it answers like an unknown one.
pub fn path_id<T: std::str::FromStr>(raw: &str, entity: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(entity))
}

/// A record id that can stand in a path, with the name a 404 gives it.
pub trait PathId: std::str::FromStr {
    const ENTITY: &'static str;
}

macro_rules! path_ids {
    ($($id:ty => $entity:literal),+ $(,)?) => {$(
        impl PathId for $id {
            const ENTITY: &'static str = $entity;
        }
    )+};
}

path_ids! {
    kontor_storage::BankHostId => "bank host",
    kontor_storage::BankKeyId => "bank key",
    kontor_storage::ConnectionId => "bank connection",
    kontor_storage::AccountId => "account",
    kontor_storage::EbicsUserId => "EBICS user",
    kontor_storage::OrderId => "order",
    kontor_storage::VeuItemId => "VEU item",
    kontor_storage::TransactionId => "transaction",
    kontor_storage::ScheduleId => "schedule",
    kontor_storage::StatementId => "statement",
    kontor_storage::StatementFileId => "statement file",
    kontor_storage::OperatorId => "membership",
    kontor_storage::ApiTokenId => "API token",
    kontor_storage::WebhookSubscriptionId => "webhook subscription",
    kontor_storage::WebhookDeliveryId => "webhook delivery",
    kontor_storage::KeyPairId => "key pair",
}

/// The one id in a route's path, typed.
pub struct Id<T>(pub T);

impl<T: PathId> Id<T> {
    async fn from_parts(parts: &mut Parts) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, &())
                .await
                .map_err(|_| ApiError::NotFound(T::ENTITY))?;
        path_id(&raw, T::ENTITY).map(Self)
    }
}

/// A call on the one record the path names: the caller, extracted first (a refused caller
/// gets 403 whatever the id), and the record's typed id.
pub struct On<T>(pub Caller, pub T);

impl<T: PathId> FromRequestParts<AppState> for On<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Id(id) = Id::from_parts(parts).await?;
        Ok(Self(caller, id))
    }
}

/// The two ids in a route's path (`/v1/memberships/{operator_id}/grants/{ebics_user_id}`),
/// typed; either one malformed answers 404 naming its entity.
pub struct Ids<A, B>(pub A, pub B);

impl<A: PathId, B: PathId> Ids<A, B> {
    async fn from_parts(parts: &mut Parts) -> Result<Self, ApiError> {
        let axum::extract::Path((a, b)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, &())
                .await
                .map_err(|_| ApiError::NotFound(A::ENTITY))?;
        Ok(Self(path_id(&a, A::ENTITY)?, path_id(&b, B::ENTITY)?))
    }
}

/// Query parameters; a query that does not decode answers 400 `malformed_query`, an invalid
/// parameter 422 naming it.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> QueryParams<T> {
    async fn from_parts(parts: &mut Parts) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|error| {
                let path = error.path().to_string();
                field_error(&path, &error.into_inner().to_string())
            })
    }
}

/// `FromRequestParts` of the extractors that read the request head alone (their
/// `from_parts`), in any router state, rejecting with the API's own errors.
macro_rules! from_parts {
    ($($extractor:ident $(<$($param:ident: $bound:path),+>)?),+ $(,)?) => {$(
        impl<S: Send + Sync $($(, $param: $bound)+)?> FromRequestParts<S>
            for $extractor$(<$($param),+>)?
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
                Self::from_parts(parts).await
            }
        }
    )+};
}

from_parts!(
    Id<T: PathId>,
    Ids<A: PathId, B: PathId>,
    QueryParams<T: DeserializeOwned>,
    IdempotencyKey,
);

impl<T> DocInput for Id<T> {
    fn document(operation: &mut Operation, _: &mut Docs) {
        operation.path_id();
    }
}

impl<T> DocInput for On<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        Id::<T>::document(operation, docs);
    }
}

/// The path parameters stay documented as text, as the route's placeholders give them.
impl<A, B> DocInput for Ids<A, B> {
    fn document(_: &mut Operation, _: &mut Docs) {}
}

impl<T: JsonSchema> DocInput for QueryParams<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        operation.query::<T>(docs);
    }
}

impl<T: JsonSchema> DocInput for JsonBody<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        let schema = docs.input::<T>();
        operation.request_body(true, json!({"application/json": {"schema": schema}}));
    }
}

/// The optional `Idempotency-Key` header of a create call: a retry with the same key and the
/// same content returns the first answer instead of a second order.
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    async fn from_parts(parts: &mut Parts) -> Result<Self, ApiError> {
        super::input::idempotency_key(&parts.headers).map(Self)
    }
}

impl DocInput for IdempotencyKey {
    fn document(operation: &mut Operation, _: &mut Docs) {
        operation.parameter(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Repeating a create with the same key and content answers the first order again (200) instead of creating a second; the same key with other content answers 409 idempotency_key_reused.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        }));
    }
}
