//! The append-only audit log: who did what to which record in a tenant.
//!
//! The actor is never passed in: it is the scope's (an authenticated operator or a named
//! system job), so a record cannot name someone else.

use chrono::{DateTime, Utc};

use super::{entity, repository};
use crate::db::{now, to_json, RowReader};
use crate::error::Result;
use crate::ids::AuditEventId;
use crate::status::AuditAction;
use crate::store::Actor;

/// One audit record. Never updated or deleted (enforced by database triggers).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    /// `OPERATOR` or `SYSTEM`.
    pub actor_kind: String,
    /// The operator id, or the system job's name.
    pub actor: String,
    pub action: AuditAction,
    /// What was acted on, e.g. `key_pair`.
    pub target_kind: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl AuditEvent {
    fn read(r: &RowReader<'_>) -> Result<Self> {
        Ok(Self {
            id: r.parsed("id")?,
            actor_kind: r.text("actor_kind")?,
            actor: r.text("actor")?,
            action: r.enumeration("action")?,
            target_kind: r.text("target_kind")?,
            target_id: r.text("target_id")?,
            detail: r.json("detail")?,
            created_at: r.ts("created_at")?,
        })
    }
}
// Not `Deletable`: the log is append-only.
entity!(AuditEvent, AuditEventId, "audit_events", "audit event");

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
        let (actor_kind, actor) = match &self.tx.actor {
            Actor::Operator { operator, .. } => ("OPERATOR", operator.to_db()),
            Actor::System { job } => ("SYSTEM", job.clone()),
        };
        let id = AuditEventId::new();
        self.tx
            .insert::<AuditEvent>(
                &[
                    "id",
                    "actor_kind",
                    "actor",
                    "action",
                    "target_kind",
                    "target_id",
                    "detail",
                    "created_at",
                ],
                vec![
                    id.to_db().into(),
                    actor_kind.into(),
                    actor.into(),
                    action.as_str().into(),
                    target_kind.into(),
                    target_id.into(),
                    to_json(&detail).into(),
                    now().into(),
                ],
            )
            .await?;
        self.tx.get(id).await
    }
}
