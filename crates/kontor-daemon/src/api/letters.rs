//! `/v1/ebics-users/{id}/letters`: the INI and HIA letters an operator prints, signs and sends
//! to the bank (rendered by the services from the keys stored now), as HTML or PDF, in German,
//! English or French (`?format=html|pdf&lang=de|en|fr`; HTML and English by default).

use axum::http::header;
use axum::response::IntoResponse;
use kontor_protocol::letters::LetterLanguage;
use kontor_storage::EbicsUserId;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{On, QueryParams};
use super::respond::Letter;
use super::Routes;
use crate::services::keys::{stored_letter, KeyError, LetterKind};

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/ebics-users/{id}/letters/ini",
            "INI letter (?format=html|pdf&lang=de|en|fr)",
            letter::<Ini>,
        )
        .read(
            "/v1/ebics-users/{id}/letters/hia",
            "HIA letter (?format=html|pdf&lang=de|en|fr)",
            letter::<Hia>,
        )
}

#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Format {
    #[default]
    Html,
    Pdf,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
enum Lang {
    #[serde(rename = "de")]
    De,
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "fr")]
    Fr,
}

impl From<Lang> for LetterLanguage {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::De => Self::German,
            Lang::En => Self::English,
            Lang::Fr => Self::French,
        }
    }
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LetterQuery {
    #[serde(default)]
    format: Format,
    #[serde(default)]
    lang: Lang,
}

/// The letter a route renders (`letter::<Ini>`, `letter::<Hia>`).
trait Kind {
    const KIND: LetterKind;
}

enum Ini {}
enum Hia {}

impl Kind for Ini {
    const KIND: LetterKind = LetterKind::Ini;
}

impl Kind for Hia {
    const KIND: LetterKind = LetterKind::Hia;
}

async fn letter<K: Kind>(
    On(caller, id): On<EbicsUserId>,
    QueryParams(query): QueryParams<LetterQuery>,
) -> Result<Letter, ApiError> {
    let kind = K::KIND;
    let mut tx = caller.tx().await?;
    caller.granted(&mut tx, id).await?;
    let rendered = stored_letter(&mut tx, id, kind, query.lang.into())
        .await
        .map_err(|e| match e {
            KeyError::NoKeys => ApiError::Conflict {
                code: "no_keys",
                message: e.to_string(),
            },
            KeyError::Storage(e) => e.into(),
            other => ApiError::Internal(Box::new(other)),
        })?;
    Ok(Letter(match query.format {
        Format::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            rendered.html().to_owned(),
        )
            .into_response(),
        Format::Pdf => {
            let name = match kind {
                LetterKind::Ini => "attachment; filename=\"ini-letter.pdf\"",
                LetterKind::Hia => "attachment; filename=\"hia-letter.pdf\"",
            };
            (
                [
                    (header::CONTENT_TYPE, "application/pdf"),
                    (header::CONTENT_DISPOSITION, name),
                ],
                rendered.pdf(),
            )
                .into_response()
        }
    }))
}
