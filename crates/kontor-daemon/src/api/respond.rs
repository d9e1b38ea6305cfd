//! Handler results whose type says their status and media type, so the OpenAPI document
//! ([`super::openapi`]) reads them from the handler's signature: `Json<T>` (200),
//! [`JsonText<T>`] (200, JSON written before), [`Created<T>`] (201), [`Accepted<T>`] (202),
//! [`NoContent`] (204), [`Either`] of two, and the non-JSON bodies (stored files, letters,
//! CSV, plain text).

use std::marker::PhantomData;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use super::openapi::{DocOutput, Docs, Operation};

/// 200 with a JSON body written before, as text: the bytes `Json<T>` would send for a `T`,
/// and documented as that `T`.
pub struct JsonText<T> {
    json: String,
    of: PhantomData<fn() -> T>,
}

impl<T> JsonText<T> {
    /// `json` must be what `serde_json` writes for a `T`; the API tests check each reply
    /// against the document.
    pub fn new(json: String) -> Self {
        Self {
            json,
            of: PhantomData,
        }
    }
}

impl<T> IntoResponse for JsonText<T> {
    fn into_response(self) -> Response {
        // The Content-Type `Json` sends.
        let json = HeaderValue::from_static("application/json");
        ([(header::CONTENT_TYPE, json)], self.json).into_response()
    }
}

impl<T: JsonSchema> DocOutput for JsonText<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        operation.json_response::<T>(docs, "200", "OK");
    }
}

/// 201 Created with a JSON body.
pub struct Created<T>(pub T);

/// 202 Accepted with a JSON body: the work goes on in the background.
pub struct Accepted<T>(pub T);

/// 202 Accepted without a body.
pub struct AcceptedEmpty;

/// 204 No Content.
pub struct NoContent;

/// 200 with the JSON of an earlier request with the same `Idempotency-Key`, marked by the
/// `idempotent-replayed: true` header.
pub struct Replayed<T>(pub T);

/// One of two results (e.g. a new record, or the replay of an earlier request).
pub enum Either<A, B> {
    A(A),
    B(B),
}

macro_rules! json_with_status {
    ($($ty:ident => $status:ident, $code:literal, $what:literal;)+) => {$(
        impl<T: Serialize> IntoResponse for $ty<T> {
            fn into_response(self) -> Response {
                (StatusCode::$status, Json(self.0)).into_response()
            }
        }

        impl<T: JsonSchema> DocOutput for $ty<T> {
            fn document(operation: &mut Operation, docs: &mut Docs) {
                operation.json_response::<T>(docs, $code, $what);
            }
        }
    )+};
}

json_with_status! {
    Created => CREATED, "201", "Created";
    Accepted => ACCEPTED, "202", "Accepted";
}

impl<T: Serialize> IntoResponse for Replayed<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.0).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    }
}

impl<T: JsonSchema> DocOutput for Replayed<T> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        operation.json_response::<T>(
            docs,
            "200",
            "The earlier request with this Idempotency-Key (header `idempotent-replayed: true`)",
        );
    }
}

macro_rules! status_without_body {
    ($($ty:ident => $status:ident, $code:literal, $what:literal;)+) => {$(
        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                StatusCode::$status.into_response()
            }
        }

        impl DocOutput for $ty {
            fn document(operation: &mut Operation, _: &mut Docs) {
                operation.response($code, $what, None);
            }
        }
    )+};
}

status_without_body! {
    AcceptedEmpty => ACCEPTED, "202", "Accepted";
    NoContent => NO_CONTENT, "204", "Done, nothing to show";
}

impl<A: IntoResponse, B: IntoResponse> IntoResponse for Either<A, B> {
    fn into_response(self) -> Response {
        match self {
            Self::A(a) => a.into_response(),
            Self::B(b) => b.into_response(),
        }
    }
}

impl<A: DocOutput, B: DocOutput> DocOutput for Either<A, B> {
    fn document(operation: &mut Operation, docs: &mut Docs) {
        A::document(operation, docs);
        B::document(operation, docs);
    }
}

/// The non-JSON bodies, built whole by their handlers: the type names the document's
/// description and media types.
macro_rules! built_response {
    ($($(#[$doc:meta])* $ty:ident: $description:literal, $content:expr;)+) => {$(
        $(#[$doc])*
        pub struct $ty(pub Response);

        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                self.0
            }
        }

        impl DocOutput for $ty {
            fn document(operation: &mut Operation, _: &mut Docs) {
                operation.response("200", $description, Some($content));
            }
        }
    )+};
}

built_response! {
    /// A stored file as it was received or downloaded, with its own `Content-Type`, its length
    /// and `x-content-sha256`.
    FileDownload: "The file, with its own Content-Type (XML, ZIP, text) and `x-content-sha256`", {
        let bytes = json!({"schema": {"type": "string", "format": "binary"}});
        json!({
            "application/octet-stream": bytes,
            "application/xml": bytes,
            "application/zip": bytes,
            "text/plain": bytes,
        })
    };
    /// An INI/HIA letter: PDF, or HTML when asked for.
    Letter: "The letter to sign and send to the bank", json!({
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "text/html": {"schema": {"type": "string"}},
    });
    /// A CSV export (RFC 4180, CRLF line ends, a header row).
    Csv: "CSV with a header row", json!({"text/csv": {"schema": {"type": "string"}}});
}

/// Plain text (a probe's answer, the Prometheus exposition format).
macro_rules! plain_text {
    ($($ty:ty),+) => {$(
        impl DocOutput for $ty {
            fn document(operation: &mut Operation, _: &mut Docs) {
                operation.response(
                    "200",
                    "Plain text",
                    Some(json!({"text/plain": {"schema": {"type": "string"}}})),
                );
            }
        }
    )+};
}

plain_text!(String, &'static str);
