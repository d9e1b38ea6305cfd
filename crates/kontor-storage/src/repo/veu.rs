//! Distributed-signature (VEU) items synced from the bank, and their signers.

use chrono::{DateTime, Utc};
use kontor_documents::{Amount, Currency};

use super::{entity, repository};
use crate::db::{now, record, RowReader};
use crate::error::{Result, StorageError};
use crate::ids::{ConnectionId, VeuItemId, VeuSignerId};
use crate::status::{SignatureClass, VeuStatus};

record! {
    /// An order at the bank that waits for more signatures.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct VeuItem {
        pub id: VeuItemId,
        #[new] pub connection_id: ConnectionId,
        #[new] pub bank_order_id: String,
        #[new] pub order_type: String,
        #[new] pub signatures_collected: i64,
        #[new] pub signatures_required: i64,
        #[new] pub amount: Option<Amount>,
        #[new] pub currency: Option<Currency>,
        #[new] pub originator: Option<String>,
        #[new] pub expires_at: Option<DateTime<Utc>>,
        pub status: VeuStatus,
        /// The order data digest a signer signs (lower-case hex), once the bank reported it.
        pub data_digest: Option<String>,
        /// The signature version the bank announced with the digest (A005, A006).
        pub data_digest_version: Option<String>,
        pub synced_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
    }
    /// What an HVU/HVZ sync reports about one item.
    #[derive(Debug, Clone)]
    pub struct VeuSnapshot;
}

entity!(VeuItem, VeuItemId, "veu_items", "VEU item", Deletable);

record! {
    /// Someone who signed (or must sign) a VEU item.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct VeuSigner {
        pub id: VeuSignerId,
        pub veu_item_id: VeuItemId,
        #[new] pub partner_id: String,
        #[new] pub user_id: String,
        #[new] pub name: Option<String>,
        #[new] pub signature_class: SignatureClass,
        #[new] pub signed_at: Option<DateTime<Utc>>,
    }
    #[derive(Debug, Clone)]
    pub struct NewVeuSigner;
}

entity!(
    VeuSigner,
    VeuSignerId,
    "veu_signers",
    "VEU signer",
    Deletable
);

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
                .update(
                    id,
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
        self.tx
            .create_new(&snapshot.into_row([
                ("status", VeuStatus::Pending.as_str().into()),
                ("synced_at", at.into()),
                ("created_at", at.into()),
            ]))
            .await
    }

    pub async fn set_status(
        &mut self,
        id: VeuItemId,
        from: VeuStatus,
        to: VeuStatus,
    ) -> Result<VeuItem> {
        self.tx
            .set_status(id, "status", from, to, VeuStatus::transition, &[])
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
            .updated(
                id,
                &[
                    ("data_digest", digest_hex.into()),
                    ("data_digest_version", signature_version.into()),
                ],
            )
            .await
    }

    pub async fn list_by_status(&mut self, status: VeuStatus) -> Result<Vec<VeuItem>> {
        self.tx.list_where("status", status).await
    }

    /// Replaces an item's signer list with the bank's current one.
    pub async fn replace_signers(
        &mut self,
        item: VeuItemId,
        signers: Vec<NewVeuSigner>,
    ) -> Result<Vec<VeuSigner>> {
        // Ensures the item is in this tenant before touching its children.
        let _: VeuItem = self.tx.get(item).await?;
        self.tx
            .delete_where::<VeuSigner>("veu_item_id", item)
            .await?;
        for signer in signers {
            self.tx
                .insert::<VeuSigner>(&signer.into_row([
                    ("id", VeuSignerId::new().into()),
                    ("veu_item_id", item.into()),
                ]))
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
        self.tx.list_where("veu_item_id", item).await
    }
}
