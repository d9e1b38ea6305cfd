//! `/v1/audit-events`: the tenant's append-only audit log.

use axum::Json;
use kontor_storage::{AuditEvent, EbicsUserId, Page};

use super::auth::Caller;
use super::error::ApiError;
use super::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes.read(
        "/v1/audit-events",
        "Append-only audit log of the tenant (restricted operators: records about their users)",
        list,
    )
}

async fn list(caller: Caller) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let mut tx = caller.read().await?;
    let all: Vec<AuditEvent> = tx.list(Page::first(1000)).await?;
    // An operator limited to some EBICS users reads only the records about those users.
    let about_granted_user = |e: &AuditEvent| {
        e.detail["ebics_user_id"]
            .as_str()
            .and_then(|id| id.parse::<EbicsUserId>().ok())
            .is_some_and(|id| caller.may_act_for(id))
    };
    Ok(Json(if caller.is_restricted() {
        all.into_iter().filter(about_granted_user).collect()
    } else {
        all
    }))
}
