//! Bank hosts and the bank keys fetched from them (HPB).

use chrono::{DateTime, Utc};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::orderdata::ProtocolParams;
use kontor_protocol::{KeyVersion, ProtocolVersion};

use super::{entity, repository};
use crate::db::{now, record, RowReader};
use crate::error::Result;
use crate::ids::{BankHostId, BankKeyId};
use crate::status::{BankKeyKind, BankKeyVerification, VerificationMethod};

record! {
    /// An EBICS bank server.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct BankHost {
        pub id: BankHostId,
        #[new] pub host_id: String,
        #[new] pub name: String,
        #[new] pub url: String,
        #[new] pub protocol_version: ProtocolVersion,
        /// Business Transaction Formats (EBICS 3.0 service parameters) instead of order types.
        #[new] pub btf: bool,
        /// A production host (false: the bank's test system).
        #[new] pub production: bool,
        /// PEM certificates trusted for this host's TLS in addition to the usual roots (a bank's
        /// test system or private CA). Public data: it is shown like the URL.
        #[new] pub ca_bundle_pem: Option<String>,
        /// What the bank's HPD said at the last sync; `None` before one succeeded.
        pub bank_parameters: Option<BankParameters>,
        /// Send X.509 certificates with the keys on H004 as well (French banks require them on
        /// EBICS 2.5; H005 always sends them).
        pub x509_on_h004: bool,
        /// PEM CA certificates the bank's own key certificates (HPB) must chain to; without
        /// them only their validity period is checked.
        pub bank_ca_pem: Option<String>,
        pub created_at: DateTime<Utc>,
        /// When an operator removed the host while connections still referred to it: nothing is
        /// sent to a retired host any more, and what it produced stays readable.
        pub retired_at: Option<DateTime<Utc>>,
        pub retired_by: Option<String>,
    }
    /// What is needed to register a bank host.
    #[derive(Debug, Clone)]
    pub struct NewBankHost;
}

crate::db::column_via!(Option<BankParameters> => opt_json);

/// The bank parameters a host publishes with HPD (`HPDResponseOrderData/ProtocolParams`), as
/// the protocol reads them, and when they were fetched. Stored as one JSON object (the
/// parameters' fields and `fetched_at`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BankParameters {
    #[serde(flatten)]
    pub protocol: ProtocolParams,
    pub fetched_at: DateTime<Utc>,
}

entity!(BankHost, BankHostId, "bank_hosts", "bank host", Deletable);

/// Work still under way for a host's users: while any is left the host cannot be retired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveWork {
    /// Orders not yet COMPLETED, REJECTED or CANCELLED.
    pub orders: i64,
    /// EBICS transactions not yet ended.
    pub transactions: i64,
}

impl LiveWork {
    pub fn is_idle(&self) -> bool {
        self.orders == 0 && self.transactions == 0
    }
}

/// Changeable settings of a bank host; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct BankHostChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub production: Option<bool>,
    /// `Some(None)` removes the bundle.
    pub ca_bundle_pem: Option<Option<String>>,
    pub x509_on_h004: Option<bool>,
    /// `Some(None)` removes the bank CA certificates.
    pub bank_ca_pem: Option<Option<String>>,
}

record! {
    /// A bank's public key as fetched with HPB, and whether an operator verified it.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct BankKey {
        pub id: BankKeyId,
        #[new] pub bank_host_id: BankHostId,
        #[new] pub kind: BankKeyKind,
        /// X002 or E002, as `kind` requires.
        #[new] pub version: KeyVersion,
        /// SubjectPublicKeyInfo DER.
        #[new] pub public_key: Vec<u8>,
        #[new] pub certificate: Option<Vec<u8>>,
        /// The EBICS key hash (upper-case hex in the database and in JSON).
        #[new] pub key_hash: KeyHash,
        pub verification_status: BankKeyVerification,
        pub verification_method: Option<VerificationMethod>,
        pub verified_by: Option<String>,
        pub verified_at: Option<DateTime<Utc>>,
        /// 1 for the first key of its kind fetched from the host, +1 for each key that replaced it.
        pub generation: i64,
        /// When a newer key of the same kind was fetched (a rollover): the key is kept, readable,
        /// but no longer used.
        pub superseded_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewBankKey;
}

entity!(BankKey, BankKeyId, "bank_keys", "bank key", Deletable);

repository!(
    /// Bank hosts of the scope's tenant.
    BankHosts,
    bank_hosts
);

impl BankHosts<'_, '_> {
    pub async fn create(&mut self, new: NewBankHost) -> Result<BankHost> {
        self.tx
            .create_new(&new.into_row([("created_at", now().into())]))
            .await
    }

    /// Records the bank parameters HPD delivered.
    pub async fn set_parameters(
        &mut self,
        id: BankHostId,
        parameters: &BankParameters,
    ) -> Result<BankHost> {
        self.tx
            .updated(
                id,
                &[("bank_parameters", crate::db::to_json(parameters).into())],
            )
            .await
    }

    pub async fn update(&mut self, id: BankHostId, changes: BankHostChanges) -> Result<BankHost> {
        let current = self.tx.get(id).await?;
        self.tx
            .updated(
                id,
                &[
                    ("name", changes.name.unwrap_or(current.name).into()),
                    ("url", changes.url.unwrap_or(current.url).into()),
                    (
                        "production",
                        changes.production.unwrap_or(current.production).into(),
                    ),
                    (
                        "ca_bundle_pem",
                        changes
                            .ca_bundle_pem
                            .unwrap_or(current.ca_bundle_pem)
                            .into(),
                    ),
                    (
                        "x509_on_h004",
                        changes.x509_on_h004.unwrap_or(current.x509_on_h004).into(),
                    ),
                    (
                        "bank_ca_pem",
                        changes.bank_ca_pem.unwrap_or(current.bank_ca_pem).into(),
                    ),
                ],
            )
            .await
    }

    /// What the users of `host`'s connections still have under way.
    pub async fn live_work(&mut self, host: BankHostId) -> Result<LiveWork> {
        use crate::status::{OrderStatus, TransactionPhase};
        let final_orders = [
            OrderStatus::Completed,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ];
        let final_phases = [
            TransactionPhase::Completed,
            TransactionPhase::Failed,
            TransactionPhase::Aborted,
        ];
        let quoted = |values: &[&str]| {
            values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let users_of_host = "SELECT u.id FROM ebics_users u JOIN bank_connections c \
             ON c.id = u.connection_id AND c.tenant_id = u.tenant_id \
             WHERE c.bank_host_id = $1 AND c.tenant_id = $2";
        let sql = format!(
            "SELECT \
               (SELECT COUNT(*) FROM orders WHERE tenant_id = $2 AND status NOT IN ({}) \
                  AND ebics_user_id IN ({users_of_host})) AS orders, \
               (SELECT COUNT(*) FROM transactions WHERE tenant_id = $2 AND phase NOT IN ({}) \
                  AND ebics_user_id IN ({users_of_host})) AS transactions",
            quoted(&final_orders.map(|s| s.as_str())),
            quoted(&final_phases.map(|s| s.as_str())),
        );
        let tenant = self.tx.tenant_val();
        let row = self
            .tx
            .fetch_optional(&sql, &[host.to_db().into(), tenant])
            .await?
            .ok_or(crate::error::StorageError::NotFound {
                entity: "bank host",
            })?;
        let r = RowReader(&row);
        Ok(LiveWork {
            orders: r.int("orders")?,
            transactions: r.int("transactions")?,
        })
    }

    /// Retires `host` and disables the schedules of its users, so neither an operator nor
    /// the scheduler sends anything to it again; `retired_by` is the scope's actor. Retiring
    /// a retired host changes nothing.
    pub async fn retire(&mut self, host: BankHostId) -> Result<BankHost> {
        let by = match &self.tx.actor {
            crate::store::Actor::Operator { operator, .. } => operator.to_db(),
            crate::store::Actor::System { job } => job.clone(),
        };
        let tenant = self.tx.tenant_val();
        let at = now();
        self.tx
            .execute(
                "UPDATE bank_hosts SET retired_at = $1, retired_by = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND retired_at IS NULL",
                &[at.into(), by.into(), host.to_db().into(), tenant.clone()],
            )
            .await?;
        self.tx
            .execute(
                "UPDATE schedules SET enabled = $1 WHERE tenant_id = $2 AND ebics_user_id IN \
                 (SELECT u.id FROM ebics_users u JOIN bank_connections c \
                  ON c.id = u.connection_id AND c.tenant_id = u.tenant_id \
                  WHERE c.bank_host_id = $3 AND c.tenant_id = $2)",
                &[false.into(), tenant, host.to_db().into()],
            )
            .await?;
        self.tx.get(host).await
    }
}

repository!(
    /// Bank keys of the scope's tenant.
    BankKeys,
    bank_keys
);

impl BankKeys<'_, '_> {
    /// Records a key fetched with HPB as unverified: the next generation of its kind for the
    /// host, superseding the current one (which keeps its verification, for the record).
    pub async fn create(&mut self, new: NewBankKey) -> Result<BankKey> {
        let id = BankKeyId::new();
        let tenant = self.tx.tenant_val();
        let at = now();
        let known = self.list_for_host(new.bank_host_id).await?;
        let generation = known
            .iter()
            .filter(|k| k.kind == new.kind)
            .map(|k| k.generation)
            .max()
            .unwrap_or(0)
            + 1;
        self.tx
            .execute(
                "UPDATE bank_keys SET superseded_at = $1 \
                 WHERE bank_host_id = $2 AND kind = $3 AND tenant_id = $4 AND superseded_at IS NULL",
                &[
                    at.into(),
                    new.bank_host_id.to_db().into(),
                    new.kind.as_str().into(),
                    tenant,
                ],
            )
            .await
            .map_err(crate::error::StorageError::from)?;
        // Referencing a host of another tenant fails the composite foreign key.
        self.tx
            .insert::<BankKey>(&new.into_row([
                ("id", id.to_db().into()),
                (
                    "verification_status",
                    BankKeyVerification::Unverified.as_str().into(),
                ),
                ("generation", generation.into()),
                ("created_at", at.into()),
            ]))
            .await?;
        let key: BankKey = self.tx.get(id).await?;
        // Every bank key arrives unverified through here (HPB, and any later key change): an
        // operator must compare its hash with the bank's letter before the user may send.
        let data = serde_json::json!({
            "bank_host_id": key.bank_host_id,
            "bank_key_id": key.id,
            "kind": key.kind,
            "version": key.version,
            "key_hash": key.key_hash,
        });
        self.tx
            .webhooks()
            .emit(
                crate::status::WebhookEventType::BankKeysNeedVerification,
                data,
            )
            .await?;
        Ok(key)
    }

    /// Removes every key fetched from `host` (with the host itself: keys mean nothing
    /// without it). Returns how many were removed.
    pub async fn delete_for_host(&mut self, host: BankHostId) -> Result<u64> {
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "DELETE FROM bank_keys WHERE bank_host_id = $1 AND tenant_id = $2",
                &[host.to_db().into(), tenant],
            )
            .await
            .map_err(crate::error::StorageError::from)
    }

    pub async fn list_for_host(&mut self, host: BankHostId) -> Result<Vec<BankKey>> {
        self.tx.list_where("bank_host_id", host).await
    }

    /// Marks an unverified key verified or rejected. A rejected key may be verified after
    /// all (the operator mistyped the letter's hash and corrected it); a verified key is
    /// never re-decided: a new HPB yields a new key record.
    pub async fn decide(
        &mut self,
        id: BankKeyId,
        outcome: BankKeyVerification,
        method: VerificationMethod,
        verified_by: &str,
    ) -> Result<BankKey> {
        use BankKeyVerification::{Rejected, Unverified, Verified};
        let allowed = |from: BankKeyVerification, to: BankKeyVerification| {
            if matches!(
                (from, to),
                (Unverified, Verified | Rejected) | (Rejected, Verified)
            ) {
                Ok(to)
            } else {
                Err(crate::status::IllegalTransition {
                    machine: "bank key verification",
                    from: from.as_str(),
                    to: to.as_str(),
                })
            }
        };
        let current: BankKey = self.tx.get(id).await?;
        self.tx
            .set_status(
                id,
                "verification_status",
                current.verification_status,
                outcome,
                allowed,
                &[
                    ("verification_method", method.as_str().into()),
                    ("verified_by", verified_by.into()),
                    ("verified_at", now().into()),
                ],
            )
            .await?;
        self.tx.get(id).await
    }
}
