//! Distributed-signature (VEU) items synced from the bank, and their signers.

use chrono::{DateTime, Utc};

use super::{entity, repository};
use crate::db::{now, RowReader};
use crate::error::{Result, StorageError};
use crate::ids::{ConnectionId, VeuItemId, VeuSignerId};
use crate::status::{SignatureClass, VeuStatus};

/// An order at the bank that waits for more signatures.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct VeuItem {
    pub id: VeuItemId,
    pub connection_id: ConnectionId,
    pub bank_order_id: String,
    pub order_type: String,
    pub signatures_collected: i64,
    pub signatures_required: i64,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub originator: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: VeuStatus,
    /// The order data digest a signer signs (lower-case hex), once the bank reported it.
    pub data_digest: Option<String>,
    /// The signature version the bank announced with the digest (A005, A006).
    pub data_digest_version: Option<String>,
    pub synced_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl VeuItem {
    fn read(r: &RowReader<'_>) -> Result<Self> {
        Ok(Self {
            id: r.parsed("id")?,
            connection_id: r.parsed("connection_id")?,
            bank_order_id: r.text("bank_order_id")?,
            order_type: r.text("order_type")?,
            signatures_collected: r.int("signatures_collected")?,
            signatures_required: r.int("signatures_required")?,
            amount: r.opt_text("amount")?,
            currency: r.opt_text("currency")?,
            originator: r.opt_text("originator")?,
            expires_at: r.opt_ts("expires_at")?,
            status: r.enumeration("status")?,
            data_digest: r.opt_text("data_digest")?,
            data_digest_version: r.opt_text("data_digest_version")?,
            synced_at: r.ts("synced_at")?,
            created_at: r.ts("created_at")?,
        })
    }
}
entity!(VeuItem, VeuItemId, "veu_items", "VEU item", Deletable);

/// What an HVU/HVZ sync reports about one item.
#[derive(Debug, Clone)]
pub struct VeuSnapshot {
    pub connection_id: ConnectionId,
    pub bank_order_id: String,
    pub order_type: String,
    pub signatures_collected: i64,
    pub signatures_required: i64,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub originator: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Someone who signed (or must sign) a VEU item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct VeuSigner {
    pub id: VeuSignerId,
    pub veu_item_id: VeuItemId,
    pub partner_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub signature_class: SignatureClass,
    pub signed_at: Option<DateTime<Utc>>,
}

impl VeuSigner {
    fn read(r: &RowReader<'_>) -> Result<Self> {
        Ok(Self {
            id: r.parsed("id")?,
            veu_item_id: r.parsed("veu_item_id")?,
            partner_id: r.text("partner_id")?,
            user_id: r.text("user_id")?,
            name: r.opt_text("name")?,
            signature_class: r.enumeration("signature_class")?,
            signed_at: r.opt_ts("signed_at")?,
        })
    }
}
entity!(
    VeuSigner,
    VeuSignerId,
    "veu_signers",
    "VEU signer",
    Deletable
);

#[derive(Debug, Clone)]
pub struct NewVeuSigner {
    pub partner_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub signature_class: SignatureClass,
    pub signed_at: Option<DateTime<Utc>>,
}

repository!(
    /// VEU items of the scope's tenant.
    VeuItems,
    veu_items
);

impl VeuItems<'_, '_> {
    /// Inserts or refreshes an item from a bank sync; a new item starts PENDING.
    pub async fn upsert(&mut self, snapshot: VeuSnapshot) -> Result<VeuItem> {
        let tenant = self.tx.tenant_val();
        let existing = self
            .tx
            .fetch_optional(
                "SELECT id FROM veu_items WHERE tenant_id = $1 AND connection_id = $2 AND bank_order_id = $3 AND order_type = $4",
                &[
                    tenant,
                    snapshot.connection_id.to_db().into(),
                    snapshot.bank_order_id.clone().into(),
                    snapshot.order_type.clone().into(),
                ],
            )
            .await?;
        let at = now();
        if let Some(row) = existing {
            let id: VeuItemId = RowReader(&row).parsed("id")?;
            self.tx
                .update::<VeuItem>(
                    id.to_db(),
                    &[
                        ("signatures_collected", snapshot.signatures_collected.into()),
                        ("signatures_required", snapshot.signatures_required.into()),
                        ("amount", snapshot.amount.into()),
                        ("currency", snapshot.currency.into()),
                        ("originator", snapshot.originator.into()),
                        ("expires_at", snapshot.expires_at.into()),
                        ("synced_at", at.into()),
                    ],
                )
                .await?;
            return self.tx.get(id).await;
        }
        let id = VeuItemId::new();
        self.tx
            .insert::<VeuItem>(
                &[
                    "id",
                    "connection_id",
                    "bank_order_id",
                    "order_type",
                    "signatures_collected",
                    "signatures_required",
                    "amount",
                    "currency",
                    "originator",
                    "expires_at",
                    "status",
                    "synced_at",
                    "created_at",
                ],
                vec![
                    id.to_db().into(),
                    snapshot.connection_id.to_db().into(),
                    snapshot.bank_order_id.into(),
                    snapshot.order_type.into(),
                    snapshot.signatures_collected.into(),
                    snapshot.signatures_required.into(),
                    snapshot.amount.into(),
                    snapshot.currency.into(),
                    snapshot.originator.into(),
                    snapshot.expires_at.into(),
                    VeuStatus::Pending.as_str().into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
        self.tx.get(id).await
    }

    pub async fn set_status(
        &mut self,
        id: VeuItemId,
        from: VeuStatus,
        to: VeuStatus,
    ) -> Result<VeuItem> {
        self.tx
            .set_status::<VeuItem, _>(id.to_db(), "status", from, to, VeuStatus::transition, &[])
            .await?;
        self.tx.get(id).await
    }

    /// Stores the digest the bank reported for an item (HVZ or HVD): from then on it is read
    /// from here, without asking the bank again.
    pub async fn record_digest(
        &mut self,
        id: VeuItemId,
        digest_hex: &str,
        signature_version: Option<&str>,
    ) -> Result<VeuItem> {
        self.tx
            .update::<VeuItem>(
                id.to_db(),
                &[
                    ("data_digest", digest_hex.into()),
                    ("data_digest_version", signature_version.into()),
                ],
            )
            .await?;
        self.tx.get(id).await
    }

    pub async fn list_by_status(&mut self, status: VeuStatus) -> Result<Vec<VeuItem>> {
        self.tx.list_where("status", status.as_str().into()).await
    }

    /// Replaces an item's signer list with the bank's current one.
    pub async fn replace_signers(
        &mut self,
        item: VeuItemId,
        signers: Vec<NewVeuSigner>,
    ) -> Result<Vec<VeuSigner>> {
        // Ensures the item is in this tenant before touching its children.
        let _: VeuItem = self.tx.get(item).await?;
        let tenant = self.tx.tenant_val();
        self.tx
            .execute(
                "DELETE FROM veu_signers WHERE tenant_id = $1 AND veu_item_id = $2",
                &[tenant, item.to_db().into()],
            )
            .await?;
        for s in signers {
            let id = VeuSignerId::new();
            self.tx
                .insert::<VeuSigner>(
                    &[
                        "id",
                        "veu_item_id",
                        "partner_id",
                        "user_id",
                        "name",
                        "signature_class",
                        "signed_at",
                    ],
                    vec![
                        id.to_db().into(),
                        item.to_db().into(),
                        s.partner_id.into(),
                        s.user_id.into(),
                        s.name.into(),
                        s.signature_class.as_str().into(),
                        s.signed_at.into(),
                    ],
                )
                .await
                .map_err(|e| match e {
                    StorageError::Conflict { constraint, .. } => StorageError::Conflict {
                        entity: "VEU signer",
                        constraint,
                    },
                    other => other,
                })?;
        }
        self.signers(item).await
    }

    pub async fn signers(&mut self, item: VeuItemId) -> Result<Vec<VeuSigner>> {
        self.tx.list_where("veu_item_id", item.to_db().into()).await
    }
}
