//! The append-only audit log: who did what to which record in a tenant, in which API request,
//! and how it ended.
//!
//! The actor is never passed in: it is the scope's (an authenticated operator or a named
//! system job), so a record cannot name someone else. Explicit records ([`Audit::record`])
//! are written in the transaction of the change itself; the API also records every
//! state-changing call with its outcome ([`Audit::record_call`]) once it has answered.

use chrono::{DateTime, Utc};

use super::{entity, repository};
use crate::db::{now, record, to_json, Val};
use crate::error::Result;
use crate::ids::AuditEventId;
use crate::status::{AuditAction, AuditActorKind, AuditOutcome};
use crate::store::{Actor, Newest};

record! {
    /// One audit record. Never updated or deleted (enforced by database triggers).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct AuditEvent {
        pub id: AuditEventId,
        pub actor_kind: AuditActorKind,
        /// The operator id, or the system job's name.
        pub actor: String,
        pub action: AuditAction,
        /// The API route of an `API_CALL`, e.g. `POST /v1/orders/{id}/cancel`.
        pub operation: Option<String>,
        /// What was acted on, e.g. `key_pair`.
        pub target_kind: String,
        pub target_id: String,
        /// The API request (`x-request-id`) the action served.
        pub request_id: Option<String>,
        pub outcome: AuditOutcome,
        /// The API's stable error code of a failed action.
        pub error_code: Option<String>,
        pub detail: serde_json::Value,
        pub created_at: DateTime<Utc>,
    }
}

// Not `Deletable`: the log is append-only.
entity!(AuditEvent, AuditEventId, "audit_events", "audit event");

/// A state-changing API call, as the API floor saw it answered.
#[derive(Debug, Clone)]
pub struct ApiCallRecord {
    /// `METHOD /route/{template}`.
    pub operation: String,
    pub target_kind: String,
    pub target_id: String,
    pub outcome: AuditOutcome,
    pub error_code: Option<String>,
    pub detail: serde_json::Value,
}

/// Filters of the audit log; every one that is set must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// The operator id or the system job's name.
    pub actor: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub operation: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub request_id: Option<String>,
    /// Records at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Records before this instant.
    pub to: Option<DateTime<Utc>>,
}

repository!(
    /// The audit log of the scope's tenant.
    Audit,
    audit
);

impl Audit<'_, '_> {
    /// Records that the scope's actor did `action` to the target. Write it in the database
    /// transaction of the change itself, so the change and its record commit together.
    pub async fn record(
        &mut self,
        action: AuditAction,
        target_kind: &str,
        target_id: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEvent> {
        self.insert(
            action,
            None,
            target_kind,
            target_id,
            AuditOutcome::Succeeded,
            None,
            detail,
        )
        .await
    }

    /// Records a state-changing API call of the scope's actor with its outcome.
    pub async fn record_call(&mut self, call: ApiCallRecord) -> Result<AuditEvent> {
        self.insert(
            AuditAction::ApiCall,
            Some(call.operation),
            &call.target_kind,
            &call.target_id,
            call.outcome,
            call.error_code,
            call.detail,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &mut self,
        action: AuditAction,
        operation: Option<String>,
        target_kind: &str,
        target_id: &str,
        outcome: AuditOutcome,
        error_code: Option<String>,
        detail: serde_json::Value,
    ) -> Result<AuditEvent> {
        let (actor_kind, actor) = match &self.tx.actor {
            Actor::Operator { operator, .. } => (AuditActorKind::Operator, operator.to_db()),
            Actor::System { job } => (AuditActorKind::System, job.clone()),
        };
        let id = AuditEventId::new();
        let request_id = self.tx.request_id.clone();
        self.tx
            .create(
                id,
                &[
                    ("actor_kind", actor_kind.into()),
                    ("actor", actor.into()),
                    ("action", action.as_str().into()),
                    ("operation", operation.into()),
                    ("target_kind", target_kind.into()),
                    ("target_id", target_id.into()),
                    ("request_id", request_id.into()),
                    ("outcome", outcome.as_str().into()),
                    ("error_code", error_code.into()),
                    ("detail", to_json(&detail).into()),
                    ("created_at", now().into()),
                ],
            )
            .await
    }

    /// One keyset page of the log, newest first, of the records that match `filter`.
    pub async fn search(
        &mut self,
        filter: &AuditFilter,
        page: Newest<AuditEventId>,
    ) -> Result<Vec<AuditEvent>> {
        let mut equal: Vec<(&'static str, Val)> = Vec::new();
        let text = |v: &Option<String>| v.clone().map(Val::from);
        for (column, value) in [
            ("action", filter.action.map(|a| a.as_str().into())),
            ("actor", text(&filter.actor)),
            ("target_kind", text(&filter.target_kind)),
            ("target_id", text(&filter.target_id)),
            ("operation", text(&filter.operation)),
            ("outcome", filter.outcome.map(|o| o.as_str().into())),
            ("request_id", text(&filter.request_id)),
        ] {
            if let Some(value) = value {
                equal.push((column, value));
            }
        }
        let mut ranges: Vec<(&'static str, Val)> = Vec::new();
        if let Some(from) = filter.from {
            ranges.push(("created_at >=", from.into()));
        }
        if let Some(to) = filter.to {
            ranges.push(("created_at <", to.into()));
        }
        self.tx.newest_where_with(page, &equal, &ranges, None).await
    }
}
