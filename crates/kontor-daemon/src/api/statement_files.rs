//! `/v1/statements/files`: downloaded statement files with how their ingestion went, the
//! original file, and ingesting one again once the cause of a failure is fixed.

use axum::Json;
use kontor_storage::{StatementFile, StatementFileId, StatementFileStatus};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{On, QueryParams};
use super::files::download;
use super::input::Valid;
use super::page::{ItemPage, PageQuery};
use super::respond::FileDownload;
use super::{Access, Routes};
use crate::services::statement_files;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/statements/files",
            "List downloaded statement files, newest first (filter by status)",
            list,
        )
        .read(
            "/v1/statements/files/{id}",
            "Show a statement file: status, error, what each document yielded",
            show,
        )
        .read(
            "/v1/statements/files/{id}/content",
            "Download the file as the bank delivered it (bare or ZIP)",
            content,
        )
        .post(
            "/v1/statements/files/{id}/ingest",
            Access::Operate,
            "Ingest a stored statement file again (bookings are not stored twice)",
            ingest,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileQuery {
    /// PENDING, INGESTED, PARTIAL or FAILED.
    status: Option<Valid<StatementFileStatus>>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    caller: Caller,
    QueryParams(q): QueryParams<FileQuery>,
) -> Result<Json<ItemPage<StatementFile>>, ApiError> {
    let page = PageQuery::newest_of(q.limit, q.cursor)?;
    let mut tx = caller.read().await?;
    let files = tx
        .statement_files()
        .list(
            q.status.map(Valid::into_inner),
            caller.restricted_users(),
            page,
        )
        .await?;
    Ok(Json(ItemPage::keyset(files, page.limit, |f| f.id)))
}

async fn show(On(caller, id): On<StatementFileId>) -> Result<Json<StatementFile>, ApiError> {
    let mut tx = caller.tx().await?;
    Ok(Json(caller.granted(&mut tx, id).await?))
}

async fn content(On(caller, id): On<StatementFileId>) -> Result<FileDownload, ApiError> {
    let record = caller.acting_for(id).await?;
    download(caller.services(), &caller.scope, record.file_id).await
}

async fn ingest(On(caller, id): On<StatementFileId>) -> Result<Json<StatementFile>, ApiError> {
    caller.acting_for(id).await?;
    Ok(Json(
        statement_files::reingest_file(caller.services(), &caller.scope, id).await?,
    ))
}
