//! `/v1/ebics-users/{id}/letters`: the INI and HIA letters an operator prints, signs and sends
//! to the bank (rendered by the services from the keys stored now).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use kontor_storage::EbicsUserId;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Id;
use super::Routes;
use crate::services::keys::{stored_letter, KeyError, LetterKind};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/ebics-users/{id}/letters/ini", "INI letter (HTML)", ini)
        .read("/v1/ebics-users/{id}/letters/hia", "HIA letter (HTML)", hia)
}

async fn ini(caller: Caller, Id(id): Id<EbicsUserId>) -> Result<Response, ApiError> {
    letter(caller, id, LetterKind::Ini).await
}

async fn hia(caller: Caller, Id(id): Id<EbicsUserId>) -> Result<Response, ApiError> {
    letter(caller, id, LetterKind::Hia).await
}

async fn letter(caller: Caller, id: EbicsUserId, kind: LetterKind) -> Result<Response, ApiError> {
    let mut tx = caller.tx().await?;
    caller.granted(&mut tx, id).await?;
    let rendered = stored_letter(&mut tx, id, kind)
        .await
        .map_err(|e| match e {
            KeyError::NoKeys => ApiError::Conflict {
                code: "no_keys",
                message: e.to_string(),
            },
            KeyError::Storage(e) => e.into(),
            other => ApiError::Internal(Box::new(other)),
        })?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        rendered.html().to_owned(),
    )
        .into_response())
}
