//! Stored files, orders and the signatures collected for them.

use chrono::{DateTime, Utc};
use kontor_documents::pain::PaymentSummary;
use kontor_documents::{Amount, Currency};

use super::{entity, repository};
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::SignatureVersion;

use crate::db::{now, record, to_json, RowReader, Val};
use crate::error::{Result, StorageError};
use crate::ids::{EbicsUserId, FileId, OrderId, OrderSignatureId, TransactionId};
use crate::status::{FileKind, OrderStatus, ResultCode, SignatureClass};

record! {
    /// A stored file: inline content (small, e.g. an order's payment file) or a path under the
    /// data directory (large downloads, streamed to disk).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct StoredFile {
        pub id: FileId,
        pub kind: FileKind,
        pub path: Option<String>,
        #[serde(skip)]
        pub content: Option<Vec<u8>>,
        pub size: i64,
        /// SHA-256, lower-case hex.
        pub sha256: String,
        pub content_type: String,
        pub created_at: DateTime<Utc>,
    }
}

entity!(StoredFile, FileId, "files", "file", Deletable);

/// Where a new file's bytes are.
#[derive(Debug, Clone)]
pub enum FileBody {
    Inline(Vec<u8>),
    /// Already written to disk by the caller; `size` and `sha256` describe it.
    OnDisk {
        path: String,
        size: i64,
        sha256: String,
    },
}

/// What an order's payment file contains, for those who approve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentSummary {
    pub summary: PaymentSummary,
    /// The EBICS order data digest (what signatures cover), lower-case hex.
    pub order_data_digest: String,
}

#[derive(Debug, Clone)]
pub struct NewFile {
    pub kind: FileKind,
    pub body: FileBody,
    pub content_type: String,
}

/// Which signature classes make an order complete, as the bank requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum SignatureRule {
    /// One signature of class E, or two of classes A/B where at least one is A.
    Standard,
    /// One signature of any authorising class (E, A or B): for banks with single-signature setups.
    AnySingle,
}

impl SignatureRule {
    fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "STANDARD",
            Self::AnySingle => "ANY_SINGLE",
        }
    }

    /// Whether the collected classes authorise the order. T (transport) never counts.
    pub fn is_satisfied(self, classes: &[SignatureClass]) -> bool {
        use SignatureClass::*;
        let count = |c| classes.iter().filter(|x| **x == c).count();
        match self {
            Self::Standard => count(E) >= 1 || count(A) >= 2 || (count(A) >= 1 && count(B) >= 1),
            Self::AnySingle => count(E) + count(A) + count(B) >= 1,
        }
    }
}

impl std::str::FromStr for SignatureRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "STANDARD" => Ok(Self::Standard),
            "ANY_SINGLE" => Ok(Self::AnySingle),
            other => Err(format!("unknown signature rule {other:?}")),
        }
    }
}

record! {
    /// An upload order (payment file) and where it is in its lifecycle.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Order {
        pub id: OrderId,
        #[new] pub ebics_user_id: EbicsUserId,
        /// The classic order type (`CCT`, `CDD`, ...), or `BTU` for an upload named only by its
        /// BTF service.
        #[new] pub order_type: OrderType,
        /// The BTF service the order is sent with on an EBICS 3.0 host (the classic type's
        /// service as the bank offers it, or the one the operator named); `None` on H004.
        #[new] pub btf_service: Option<BtfService>,
        pub status: OrderStatus,
        pub bank_order_id: Option<String>,
        #[new] pub signature_rule: SignatureRule,
        #[new] pub content_file_id: FileId,
        /// SHA-256 of the order content, lower-case hex: what signers sign and what makes
        /// re-submission detectable.
        #[new] pub content_hash: String,
        #[new] pub content_size: i64,
        #[new] pub amount_total: Option<Amount>,
        #[new] pub currency: Option<Currency>,
        #[new] pub idempotency_key: Option<String>,
        pub transaction_id: Option<TransactionId>,
        pub bank_return_code: Option<ResultCode>,
        pub bank_return_text: Option<String>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewOrder;
}

crate::db::column_via!(SignatureRule => parsed);
crate::db::val_as_text!(SignatureRule => |r: &SignatureRule| r.as_str().to_owned());

entity!(Order, OrderId, "orders", "order", Deletable);

record! {
    /// A signature collected for an order.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct OrderSignature {
        pub id: OrderSignatureId,
        #[new] pub order_id: OrderId,
        #[new] pub signer_id: EbicsUserId,
        #[new] pub signature_class: SignatureClass,
        #[new] pub signature_version: SignatureVersion,
        #[new] pub signed_hash: String,
        #[new] pub signature_value: Vec<u8>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewOrderSignature;
}

entity!(
    OrderSignature,
    OrderSignatureId,
    "order_signatures",
    "order signature",
    Deletable
);

repository!(
    /// Files of the scope's tenant.
    Files,
    files
);

impl Files<'_, '_> {
    pub async fn create(&mut self, new: NewFile) -> Result<StoredFile> {
        use sha2::{Digest, Sha256};
        let id = FileId::new();
        let (path, content, size, sha256): (Option<String>, Option<Vec<u8>>, i64, String) =
            match new.body {
                FileBody::Inline(bytes) => {
                    let hash = hex::encode(Sha256::digest(&bytes));
                    let len = bytes.len() as i64;
                    (None, Some(bytes), len, hash)
                }
                FileBody::OnDisk { path, size, sha256 } => (Some(path), None, size, sha256),
            };
        self.tx
            .create(
                id,
                &[
                    ("kind", new.kind.as_str().into()),
                    ("path", path.into()),
                    ("content", content.into()),
                    ("size", size.into()),
                    ("sha256", sha256.into()),
                    ("content_type", new.content_type.into()),
                    ("created_at", now().into()),
                ],
            )
            .await
    }

    /// Which of `paths` (relative to the data directory) a file record names, in one query.
    pub async fn recorded_paths(
        &mut self,
        paths: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        if paths.is_empty() {
            return Ok(Default::default());
        }
        let placeholders: Vec<String> = (2..paths.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT path FROM files WHERE tenant_id = $1 AND path IN ({})",
            placeholders.join(", ")
        );
        let mut values = vec![self.tx.tenant_val()];
        values.extend(paths.iter().map(|&path| path.into()));
        let recorded = self
            .tx
            .fetch_all_as(&sql, &values, |row| row.text("path"))
            .await?;
        Ok(recorded.into_iter().collect())
    }
}

repository!(
    /// Orders of the scope's tenant.
    Orders,
    orders
);

impl Orders<'_, '_> {
    /// Creates a DRAFT order. The same content for the same user and order type while an
    /// earlier order is alive is a `Conflict`: a duplicate payment, not a new one.
    pub async fn create(&mut self, new: NewOrder) -> Result<Order> {
        let at = now();
        self.tx
            .create_new(&new.into_row([
                ("status", OrderStatus::Draft.as_str().into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ]))
            .await
    }

    pub async fn find_by_idempotency_key(&mut self, key: &str) -> Result<Option<Order>> {
        Ok(self
            .tx
            .list_where::<Order>("idempotency_key", key)
            .await?
            .into_iter()
            .next())
    }

    /// Stores what the order's payment file contains, once, when the order is created.
    pub async fn store_summary(&mut self, order: OrderId, summary: &ContentSummary) -> Result<()> {
        let (sql, values) = self.tx.insert_sql(
            "order_summaries",
            &[
                ("order_id", order.to_db().into()),
                ("summary", to_json(&summary.summary).into()),
                (
                    "order_data_digest",
                    summary.order_data_digest.clone().into(),
                ),
            ],
            "",
        );
        self.tx
            .execute(&sql, &values)
            .await
            .map_err(|e| StorageError::from_write("order summary", e))?;
        Ok(())
    }

    /// What the order's payment file contains, as stored when the order was created; `None`
    /// for orders of earlier versions, whose file must be read.
    pub async fn summary(&mut self, order: OrderId) -> Result<Option<ContentSummary>> {
        let row = self
            .tx
            .fetch_optional(
                "SELECT summary, order_data_digest FROM order_summaries \
                 WHERE order_id = $1 AND tenant_id = $2",
                &[order.to_db().into(), self.tx.tenant_val()],
            )
            .await?;
        row.map(|row| {
            let r = RowReader(&row);
            Ok(ContentSummary {
                summary: r.json("summary")?,
                order_data_digest: r.str("order_data_digest")?.to_owned(),
            })
        })
        .transpose()
    }

    pub async fn list_by_status(&mut self, status: OrderStatus) -> Result<Vec<Order>> {
        self.tx.list_where("status", status).await
    }

    /// Moves the order's status (compare-and-set through the state machine).
    pub async fn set_status(
        &mut self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
    ) -> Result<Order> {
        self.set_status_with(id, from, to, &[]).await
    }

    /// Moves to SUBMITTED and records the transaction that carries the upload, atomically:
    /// only one caller can win this compare-and-set, which is what makes submission idempotent.
    pub async fn mark_submitted(
        &mut self,
        id: OrderId,
        transaction: TransactionId,
    ) -> Result<Order> {
        self.set_status_with(
            id,
            OrderStatus::Signed,
            OrderStatus::Submitted,
            &[("transaction_id", transaction.to_db().into())],
        )
        .await
    }

    /// Claims a SIGNED order for submission: SIGNED -> SUBMITTED, compare-and-set on both the
    /// status and the content hash the signers signed, and leases the attempt to `owner`.
    /// Exactly one of any number of concurrent callers (threads, retries, daemon instances)
    /// wins; the others get `StaleStatus`. Claiming happens before anything is sent, so a won
    /// claim is the only licence to upload.
    pub async fn claim_submission(
        &mut self,
        id: OrderId,
        content_hash: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Order> {
        let target = OrderStatus::Signed.transition(OrderStatus::Submitted)?;
        let n = self
            .tx
            .execute(
                "UPDATE orders SET status = $1, updated_at = $2, \
                 submit_lease_owner = $7, submit_lease_expires_at = $8 \
                 WHERE id = $3 AND tenant_id = $4 AND status = $5 AND content_hash = $6",
                &[
                    target.as_str().into(),
                    now().into(),
                    id.to_db().into(),
                    self.tx.tenant_val(),
                    OrderStatus::Signed.as_str().into(),
                    content_hash.into(),
                    owner.into(),
                    lease_until.into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("order", e))?;
        let order: Order = self.tx.get(id).await?;
        if n == 1 {
            Ok(order)
        } else {
            Err(StorageError::StaleStatus {
                entity: "order",
                expected: OrderStatus::Signed.as_str(),
            })
        }
    }

    /// Takes over a SUBMITTED order's attempt that has no upload transaction yet, when its
    /// lease expired (or `owner` holds it); returns whether `owner` holds it now.
    pub async fn take_over_submission(
        &mut self,
        id: OrderId,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .tx
            .execute(
                "UPDATE orders SET submit_lease_owner = $1, submit_lease_expires_at = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND status = $5 AND transaction_id IS NULL \
                 AND (submit_lease_owner = $1 OR submit_lease_expires_at IS NULL \
                      OR submit_lease_expires_at < $6)",
                &[
                    owner.into(),
                    lease_until.into(),
                    id.to_db().into(),
                    self.tx.tenant_val(),
                    OrderStatus::Submitted.as_str().into(),
                    now.into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("order", e))?;
        Ok(n == 1)
    }

    /// Gives up `owner`'s submission lease of a SUBMITTED order whose upload was held before
    /// reaching the bank, so the next submission uploads at once instead of after the lease.
    pub async fn release_submission(&mut self, id: OrderId, owner: &str) -> Result<bool> {
        let n = self
            .tx
            .execute(
                "UPDATE orders SET submit_lease_owner = NULL, submit_lease_expires_at = NULL \
                 WHERE id = $1 AND tenant_id = $2 AND status = $3 AND transaction_id IS NULL \
                 AND submit_lease_owner = $4",
                &[
                    id.to_db().into(),
                    self.tx.tenant_val(),
                    OrderStatus::Submitted.as_str().into(),
                    owner.into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("order", e))?;
        Ok(n == 1)
    }

    /// Links a SUBMITTED order to the transaction that carried its upload.
    pub async fn link_transaction(
        &mut self,
        id: OrderId,
        transaction: TransactionId,
    ) -> Result<()> {
        let n = self
            .tx
            .execute(
                "UPDATE orders SET transaction_id = $1, updated_at = $2 \
                 WHERE id = $3 AND tenant_id = $4 AND status = $5",
                &[
                    transaction.to_db().into(),
                    now().into(),
                    id.to_db().into(),
                    self.tx.tenant_val(),
                    OrderStatus::Submitted.as_str().into(),
                ],
            )
            .await
            .map_err(|e| StorageError::from_write("order", e))?;
        if n == 1 {
            Ok(())
        } else {
            Err(StorageError::StaleStatus {
                entity: "order",
                expected: OrderStatus::Submitted.as_str(),
            })
        }
    }

    /// Records the bank's answer (order id, return code and text) with a status change.
    pub async fn record_bank_result(
        &mut self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        bank_order_id: Option<&str>,
        return_code: Option<&ResultCode>,
        return_text: Option<&str>,
    ) -> Result<Order> {
        self.set_status_with(
            id,
            from,
            to,
            &[
                ("bank_order_id", bank_order_id.into()),
                ("bank_return_code", return_code.cloned().into()),
                ("bank_return_text", return_text.into()),
            ],
        )
        .await
    }

    async fn set_status_with(
        &mut self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        extra: &[(&str, Val)],
    ) -> Result<Order> {
        let mut extra = extra.to_vec();
        extra.push(("updated_at", now().into()));
        self.tx
            .set_status(id, "status", from, to, OrderStatus::transition, &extra)
            .await?;
        self.tx.get(id).await
    }
}

repository!(
    /// Order signatures of the scope's tenant.
    OrderSignatures,
    order_signatures
);

impl OrderSignatures<'_, '_> {
    /// Adds a signature; one signer signs an order once (`Conflict` otherwise).
    pub async fn create(&mut self, new: NewOrderSignature) -> Result<OrderSignature> {
        self.tx
            .create_new(&new.into_row([("created_at", now().into())]))
            .await
    }

    pub async fn list_for_order(&mut self, order: OrderId) -> Result<Vec<OrderSignature>> {
        self.tx.list_where("order_id", order).await
    }
}
