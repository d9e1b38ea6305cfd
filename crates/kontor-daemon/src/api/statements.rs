//! `/v1/statements`: statements with their original camt/MT940 files.

use axum::Json;
use kontor_storage::{Account, AccountId, Statement, StatementId};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{On, QueryParams};
use super::files::download;
use super::input::Valid;
use super::page::{ItemPage, PageQuery};
use super::records::show;
use super::respond::FileDownload;
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read(
            "/v1/statements",
            "List statements (filter by account)",
            list,
        )
        .read(
            "/v1/statements/{id}",
            "Show a statement",
            show::<StatementId>,
        )
        .read(
            "/v1/statements/{id}/file",
            "Download the original camt/MT940 file",
            file,
        )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct StatementQuery {
    account: Option<Valid<AccountId>>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    caller: Caller,
    QueryParams(q): QueryParams<StatementQuery>,
) -> Result<Json<ItemPage<Statement>>, ApiError> {
    let page = PageQuery::newest_of(q.limit, q.cursor)?;
    let mut tx = caller.read().await?;
    let items: Vec<Statement> = match q.account {
        Some(account) => {
            let account = *account;
            let _: Account = tx.get(account).await?;
            tx.statements().newest_for_account(account, page).await?
        }
        None => tx.newest(page).await?,
    };
    Ok(Json(ItemPage::keyset(items, page.limit, |s| s.id)))
}

async fn file(On(caller, id): On<StatementId>) -> Result<FileDownload, ApiError> {
    let mut tx = caller.read().await?;
    let statement: Statement = tx.get(id).await?;
    drop(tx);
    let file = statement
        .file_id
        .ok_or(ApiError::NotFound("statement file"))?;
    download(caller.services(), &caller.scope, file).await
}
