//! Distributed-signature (VEU) items synced from the bank, and their signers.

use chrono::{DateTime, Utc};
use kontor_documents::{Amount, Currency};
use kontor_protocol::order_type::{BtfService, OrderTypeOrService};
use kontor_protocol::SignatureVersion;

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
        /// The order as the bank listed it: its order type, or its BTF service with every part
        /// (stored as its canonical text), which the requests about it repeat.
        #[new]
        #[serde(flatten, serialize_with = "listed_order_json")]
        #[cfg_attr(feature = "schemars", schemars(with = "ListedOrderJson"))]
        pub order_type: OrderTypeOrService,
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
        pub data_digest_version: Option<SignatureVersion>,
        pub synced_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
    }
    /// What an HVU/HVZ sync reports about one item.
    #[derive(Debug, Clone)]
    pub struct VeuSnapshot;
}

entity!(VeuItem, VeuItemId, "veu_items", "VEU item", Deletable);

/// A VEU item's order in JSON, as the API has always shown it and beside it the whole service,
/// the way an order shows its own.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
struct ListedOrderJson {
    /// The order type (`CCT`), or the service's name and message name (`SCT/pain.001`).
    order_type: String,
    /// The BTF service with every part the bank listed (H005); `null` for an order type.
    btf_service: Option<BtfService>,
}

fn listed_order_json<S: serde::Serializer>(
    order: &OrderTypeOrService,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(
        &ListedOrderJson {
            order_type: order.label(),
            btf_service: order.btf_service().cloned(),
        },
        serializer,
    )
}

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
    ///
    /// The bank's order ID names one order of the connection's partner per order type or
    /// service, so a stored item is the listed order when its label is the listed one: an item
    /// stored before every part of its service was kept has only its label (`SCT/pain.001`)
    /// and is found, and completed, all the same.
    pub async fn upsert(&mut self, snapshot: VeuSnapshot) -> Result<VeuItem> {
        let tenant = self.tx.tenant_val();
        let same_order = self
            .tx
            .fetch_all(
                "SELECT id, order_type FROM veu_items WHERE tenant_id = $1 AND connection_id = $2 AND bank_order_id = $3",
                &[
                    tenant,
                    snapshot.connection_id.to_db().into(),
                    snapshot.bank_order_id.clone().into(),
                ],
            )
            .await?;
        let label = snapshot.order_type.label();
        let mut existing = None;
        for row in &same_order {
            let row = RowReader(row);
            let stored: OrderTypeOrService = row.parsed("order_type")?;
            if stored.label() == label {
                existing = Some(row.parsed::<VeuItemId>("id")?);
            }
        }
        let at = now();
        if let Some(id) = existing {
            self.tx
                .update(
                    id,
                    &[
                        ("order_type", snapshot.order_type.into()),
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
        signature_version: Option<SignatureVersion>,
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
