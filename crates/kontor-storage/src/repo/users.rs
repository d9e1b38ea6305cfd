//! EBICS users, their key pairs (private keys encrypted at rest) and their permissions.

use chrono::{DateTime, Utc};
use kontor_documents::{Amount, Currency};
use zeroize::Zeroizing;

use super::connections::Connection;
use super::hosts::BankHost;
use super::{entity, repository};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::{BtfService, OrderType};
use kontor_protocol::{KeyVersion, SignatureVersion};

use crate::db::{now, record, to_json};
use crate::error::{Result, StorageError};
use crate::ids::{AccountId, ConnectionId, EbicsUserId, KeyPairId, PermissionId, TenantId};
use crate::status::{
    EbicsUserStatus, KeyCustody, KeyStatus, KeyUsage, ResultCode, SignatureClass, WebhookEventType,
};

record! {
    /// A subscriber (user id) of a partner at a bank.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct EbicsUser {
        pub id: EbicsUserId,
        #[new] pub connection_id: ConnectionId,
        #[new] pub user_id: String,
        #[new] pub system_id: Option<String>,
        #[new] pub name: String,
        pub status: EbicsUserStatus,
        #[new] pub signature_class: SignatureClass,
        /// The bank's view of this user's permissions (from HTD), cached as JSON.
        pub permissions_cache: serde_json::Value,
        /// When the last sync of order types, accounts and permissions (HTD/HKD/HAA) succeeded.
        pub synced_at: Option<DateTime<Utc>>,
        /// Why the last sync failed (the bank's return code, or Kontor's error class) and what
        /// the operator should know; cleared by a successful sync.
        pub sync_failure_code: Option<ResultCode>,
        pub sync_failure_message: Option<String>,
        /// Why the user is LOCKED or SUSPENDED, as the bank said it (return code and text) and
        /// when; cleared when the status moves on.
        pub status_reason_code: Option<ResultCode>,
        pub status_reason_message: Option<String>,
        pub status_reason_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewEbicsUser;
}

entity!(
    EbicsUser,
    EbicsUserId,
    "ebics_users",
    "EBICS user",
    Deletable
);

record! {
    /// One of a user's three key pairs. The private key is stored only as AES-256-GCM ciphertext.
    #[derive(Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct KeyPair {
        pub id: KeyPairId,
        pub ebics_user_id: EbicsUserId,
        pub usage: KeyUsage,
        /// A005/A006, X002 or E002, as `usage` requires.
        pub version: KeyVersion,
        pub status: KeyStatus,
        /// SubjectPublicKeyInfo DER.
        pub public_key: Vec<u8>,
        /// Who holds the private key; a signer-held key has no ciphertext here.
        pub custody: KeyCustody,
        #[serde(skip)]
        encrypted_private_key: Option<Vec<u8>>,
        /// The EBICS key hash (upper-case hex in the database and in JSON).
        pub key_hash: KeyHash,
        pub certificate: Option<Vec<u8>>,
        /// When the warning that the certificate expires soon was given (once).
        pub expiry_warned_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("id", &self.id)
            .field("usage", &self.usage)
            .field("version", &self.version)
            .field("status", &self.status)
            .field("custody", &self.custody)
            .field("key_hash", &self.key_hash)
            .field("encrypted_private_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// The ciphertext as stored (for backup tooling and tests); useless without the master key.
    /// Empty for a signer-held key, whose private part never reaches the daemon.
    pub fn encrypted_private_key(&self) -> &[u8] {
        self.encrypted_private_key.as_deref().unwrap_or_default()
    }

    /// The version signatures made with this key have; a key of another purpose has none,
    /// which for a key stored as the signature key means a corrupt row.
    pub fn signature_version(&self) -> Result<SignatureVersion> {
        self.version
            .signature()
            .ok_or_else(|| StorageError::Corrupt {
                column: "key_pairs.version",
                message: format!("{} is no signature version", self.version),
            })
    }
}
entity!(KeyPair, KeyPairId, "key_pairs", "key pair", Deletable);

/// A key pair to store: the private key arrives as PKCS#8 DER in a zeroizing buffer.
pub struct NewKeyPair {
    pub ebics_user_id: EbicsUserId,
    pub usage: KeyUsage,
    pub version: KeyVersion,
    pub public_key: Vec<u8>,
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
    pub key_hash: KeyHash,
    pub certificate: Option<Vec<u8>>,
}

/// A signer's signature public key: the private key stays on the signer's machine.
#[derive(Debug, Clone)]
pub struct NewSignerKey {
    pub ebics_user_id: EbicsUserId,
    pub version: SignatureVersion,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    pub key_hash: KeyHash,
    /// X.509 certificate (DER), required by H005 banks.
    pub certificate: Option<Vec<u8>>,
}

/// What binds a ciphertext to its record: moving it elsewhere makes decryption fail.
fn key_context(tenant: TenantId, id: KeyPairId, usage: KeyUsage) -> Vec<u8> {
    format!("kontor/key_pairs/{tenant}/{id}/{}", usage.as_str()).into_bytes()
}

record! {
    /// A permission the bank granted a user.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Permission {
        pub id: PermissionId,
        #[new] pub ebics_user_id: EbicsUserId,
        /// The order type as the bank names it (H005: the admin order type, `BTU`, `BTD`, ...).
        #[new] pub order_type: OrderType,
        /// H005: the BTF service the permission is restricted to (`None`: every service).
        #[new] pub btf_service: Option<BtfService>,
        #[new] pub account_id: Option<AccountId>,
        #[new] pub authorisation_level: SignatureClass,
        /// Exact decimal, e.g. "10000.00".
        #[new] pub max_amount: Option<Amount>,
        #[new] pub currency: Option<Currency>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewPermission;
}

entity!(
    Permission,
    PermissionId,
    "permissions",
    "permission",
    Deletable
);

/// An EBICS user with its connection and that connection's bank host: what talking to the
/// bank for the user, or checking an order against the bank's offer, starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAtHost {
    pub user: EbicsUser,
    pub connection: Connection,
    pub host: BankHost,
}

repository!(
    /// EBICS users of the scope's tenant.
    EbicsUsers,
    ebics_users
);

impl EbicsUsers<'_, '_> {
    /// Registers a user in status NEW.
    pub async fn create(&mut self, new: NewEbicsUser) -> Result<EbicsUser> {
        let at = now();
        self.tx
            .create_new(&new.into_row([
                ("status", EbicsUserStatus::New.as_str().into()),
                ("permissions_cache", "[]".into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ]))
            .await
    }

    /// Holds the user's row until the transaction ends, so writers of one user's keys (key
    /// changes) take turns and each sees what the one before committed: PostgreSQL locks the
    /// row; SQLite serialises every writer already.
    pub async fn lock(&mut self, id: EbicsUserId) -> Result<()> {
        let tenant = self.tx.tenant_val();
        self.tx
            .update_if(
                id,
                "UPDATE ebics_users SET updated_at = updated_at WHERE id = $1 AND tenant_id = $2",
                &[id.to_db().into(), tenant],
            )
            .await?;
        Ok(())
    }

    /// Moves the user's status if the state machine allows it and nobody moved it meanwhile.
    pub async fn set_status(
        &mut self,
        id: EbicsUserId,
        from: EbicsUserStatus,
        to: EbicsUserStatus,
    ) -> Result<EbicsUser> {
        self.move_status(id, from, to, None).await
    }

    /// Moves the user like [`Self::set_status`] and records why, as the bank said it (e.g.
    /// LOCKED with `091002` and its text).
    pub async fn set_status_with_reason(
        &mut self,
        id: EbicsUserId,
        from: EbicsUserStatus,
        to: EbicsUserStatus,
        code: &ResultCode,
        message: &str,
    ) -> Result<EbicsUser> {
        self.move_status(id, from, to, Some((code, message))).await
    }

    /// The one writer of a user's status: the move, the bank's `(code, text)` for it, and the
    /// move's webhook event, in the caller's transaction.
    async fn move_status(
        &mut self,
        id: EbicsUserId,
        from: EbicsUserStatus,
        to: EbicsUserStatus,
        reason: Option<(&ResultCode, &str)>,
    ) -> Result<EbicsUser> {
        let at = now();
        // A reason belongs to the status it explains: a move without one clears the last.
        let (code, message) = reason.unzip();
        let columns = [
            ("updated_at", at.into()),
            ("status_reason_code", code.cloned().into()),
            ("status_reason_message", message.into()),
            ("status_reason_at", reason.map(|_| at).into()),
        ];
        self.tx
            .set_status(
                id,
                "status",
                from,
                to,
                EbicsUserStatus::transition,
                &columns,
            )
            .await?;
        let user: EbicsUser = self.tx.get(id).await?;
        // Every move of a user's status goes through here (onboarding, suspension, a bank
        // that locks the user), so its webhook event is written here, in the same transaction.
        let event = match to {
            EbicsUserStatus::Ready => Some(WebhookEventType::UserReady),
            EbicsUserStatus::Suspended => Some(WebhookEventType::UserSuspended),
            EbicsUserStatus::Locked => Some(WebhookEventType::UserLocked),
            _ => None,
        };
        if let Some(event) = event {
            let data = serde_json::json!({
                "ebics_user_id": user.id,
                "connection_id": user.connection_id,
                "user_id": user.user_id,
                "status": user.status,
                "previous_status": from,
            });
            self.tx.webhooks().emit(event, data).await?;
        }
        Ok(user)
    }

    /// Records a successful sync: the failure of an earlier one is cleared.
    pub async fn record_sync_success(&mut self, id: EbicsUserId) -> Result<EbicsUser> {
        self.record_sync(id, None).await
    }

    /// Records why a sync failed; the last success (if any) stays.
    pub async fn record_sync_failure(
        &mut self,
        id: EbicsUserId,
        code: &ResultCode,
        message: &str,
    ) -> Result<EbicsUser> {
        self.record_sync(id, Some((code, message))).await
    }

    /// Records how a sync ended: a success (`None`) stamps `synced_at`, a failure its
    /// `(code, message)`; either replaces the failure recorded before.
    async fn record_sync(
        &mut self,
        id: EbicsUserId,
        failure: Option<(&ResultCode, &str)>,
    ) -> Result<EbicsUser> {
        let at = now();
        let (code, message) = failure.unzip();
        let mut columns = vec![
            ("sync_failure_code", code.cloned().into()),
            ("sync_failure_message", message.into()),
            ("updated_at", at.into()),
        ];
        if failure.is_none() {
            columns.push(("synced_at", at.into()));
        }
        self.tx.updated(id, &columns).await
    }

    pub async fn set_permissions_cache(
        &mut self,
        id: EbicsUserId,
        cache: &serde_json::Value,
    ) -> Result<()> {
        self.tx
            .touch(id, [("permissions_cache", to_json(cache).into())])
            .await
    }

    pub async fn rename(&mut self, id: EbicsUserId, name: &str) -> Result<EbicsUser> {
        self.tx.touch(id, [("name", name.into())]).await?;
        self.tx.get(id).await
    }

    pub async fn list_for_connection(
        &mut self,
        connection: ConnectionId,
    ) -> Result<Vec<EbicsUser>> {
        self.tx.list_where("connection_id", connection).await
    }

    /// The user `id` with its connection and bank host.
    pub async fn at_host(&mut self, id: EbicsUserId) -> Result<UserAtHost> {
        let user: EbicsUser = self.tx.get(id).await?;
        self.with_host(user).await
    }

    /// A user already read (and checked) with its connection and bank host.
    pub async fn with_host(&mut self, user: EbicsUser) -> Result<UserAtHost> {
        let connection: Connection = self.tx.get(user.connection_id).await?;
        let host: BankHost = self.tx.get(connection.bank_host_id).await?;
        Ok(UserAtHost {
            user,
            connection,
            host,
        })
    }
}

repository!(
    /// Key pairs of the scope's tenant.
    KeyPairs,
    key_pairs
);

impl KeyPairs<'_, '_> {
    /// Stores a key pair in status PENDING, encrypting the private key under the master key.
    pub async fn create(&mut self, new: NewKeyPair) -> Result<KeyPair> {
        let id = KeyPairId::new();
        let context = key_context(self.tx.tenant(), id, new.usage);
        let ciphertext = self
            .tx
            .store
            .master_key()
            .encrypt(&new.private_key_pkcs8, &context);
        let at = now();
        self.tx
            .insert::<KeyPair>(&[
                ("id", id.to_db().into()),
                ("ebics_user_id", new.ebics_user_id.to_db().into()),
                ("usage", new.usage.as_str().into()),
                ("version", new.version.into()),
                ("status", KeyStatus::Pending.as_str().into()),
                ("public_key", new.public_key.into()),
                ("encrypted_private_key", ciphertext.into()),
                ("key_hash", new.key_hash.into()),
                ("certificate", new.certificate.into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ])
            .await?;
        self.tx.get(id).await
    }

    /// Registers a signer-held signature key in status PENDING: only the public key and
    /// certificate are stored; the signer signs on their own machine.
    pub async fn register_signer_key(&mut self, new: NewSignerKey) -> Result<KeyPair> {
        let at = now();
        self.tx
            .create_new(&[
                ("ebics_user_id", new.ebics_user_id.to_db().into()),
                ("usage", KeyUsage::Signature.as_str().into()),
                ("version", KeyVersion::from(new.version).into()),
                ("status", KeyStatus::Pending.as_str().into()),
                ("public_key", new.public_key.into()),
                ("key_hash", new.key_hash.into()),
                ("certificate", new.certificate.into()),
                ("custody", KeyCustody::Signer.as_str().into()),
                ("created_at", at.into()),
                ("updated_at", at.into()),
            ])
            .await
    }

    /// Decrypts a key pair's private key (PKCS#8 DER). Fails with `KeyDecryption` for a wrong
    /// master key or an altered or misplaced ciphertext, and with `InvalidInput` for a
    /// signer-held key, whose private part the daemon never has.
    pub async fn load_private_key(&mut self, id: KeyPairId) -> Result<Zeroizing<Vec<u8>>> {
        let pair: KeyPair = self.tx.get(id).await?;
        let ciphertext =
            pair.encrypted_private_key
                .as_deref()
                .ok_or(StorageError::InvalidInput {
                    field: "key_pair",
                    message: "the private key is held by a signer, not by the daemon".into(),
                })?;
        let context = key_context(self.tx.tenant(), pair.id, pair.usage);
        Ok(self.tx.store.master_key().decrypt(ciphertext, &context)?)
    }

    pub async fn set_status(
        &mut self,
        id: KeyPairId,
        from: KeyStatus,
        to: KeyStatus,
    ) -> Result<KeyPair> {
        let stamp = [("updated_at", now().into())];
        self.tx
            .set_status(id, "status", from, to, KeyStatus::transition, &stamp)
            .await?;
        self.tx.get(id).await
    }

    /// Replaces a PENDING key pair's certificate (a CA-issued one for the same public key,
    /// with the key hash that goes with it); fails with `StaleStatus` once the key was sent.
    pub async fn replace_certificate(
        &mut self,
        id: KeyPairId,
        certificate: Vec<u8>,
        key_hash: KeyHash,
    ) -> Result<KeyPair> {
        let tenant = self.tx.tenant_val();
        let changed = self
            .tx
            .update_if(
                id,
                "UPDATE key_pairs SET certificate = $1, key_hash = $2, expiry_warned_at = NULL, \
                 updated_at = $3 WHERE id = $4 AND tenant_id = $5 AND status = $6",
                &[
                    certificate.into(),
                    key_hash.into(),
                    now().into(),
                    id.to_db().into(),
                    tenant,
                    KeyStatus::Pending.as_str().into(),
                ],
            )
            .await?;
        if !changed {
            return Err(StorageError::StaleStatus {
                entity: "key pair",
                expected: KeyStatus::Pending.as_str(),
            });
        }
        self.tx.get(id).await
    }

    /// Records that the expiry warning for this key's certificate was given; `false` when
    /// it already had been (so exactly one caller logs and audits it).
    pub async fn mark_expiry_warned(&mut self, id: KeyPairId) -> Result<bool> {
        let tenant = self.tx.tenant_val();
        let changed = self
            .tx
            .execute(
                "UPDATE key_pairs SET expiry_warned_at = $1 WHERE id = $2 AND tenant_id = $3 \
                 AND expiry_warned_at IS NULL",
                &[now().into(), id.to_db().into(), tenant],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn list_for_user(&mut self, user: EbicsUserId) -> Result<Vec<KeyPair>> {
        self.tx.list_where("ebics_user_id", user).await
    }

    /// The user's key pairs for `usage`, in id order (the newest last).
    async fn list_for_usage(&mut self, user: EbicsUserId, usage: KeyUsage) -> Result<Vec<KeyPair>> {
        Ok(self
            .list_for_user(user)
            .await?
            .into_iter()
            .filter(|k| k.usage == usage)
            .collect())
    }

    /// The key pair the user works with for `usage`: the ACTIVE one, or before activation the
    /// newest that is not expired or revoked. A replacement waiting for the bank's acceptance
    /// of a key change (see [`KeyPairs::replacement`]) is not current: everything keeps
    /// signing and decrypting with the key the bank knows until the bank accepted the new one.
    pub async fn current(&mut self, user: EbicsUserId, usage: KeyUsage) -> Result<Option<KeyPair>> {
        let keys = self.list_for_usage(user, usage).await?;
        if let Some(active) = keys.iter().rfind(|k| k.status == KeyStatus::Active) {
            return Ok(Some(active.clone()));
        }
        Ok(keys
            .into_iter()
            .rfind(|k| !matches!(k.status, KeyStatus::Expired | KeyStatus::Revoked)))
    }

    /// The newest PENDING or SUBMITTED key pair for `usage` while an ACTIVE one exists: the
    /// new key of a key change the bank has not accepted yet.
    pub async fn replacement(
        &mut self,
        user: EbicsUserId,
        usage: KeyUsage,
    ) -> Result<Option<KeyPair>> {
        let keys = self.list_for_usage(user, usage).await?;
        if !keys.iter().any(|k| k.status == KeyStatus::Active) {
            return Ok(None);
        }
        Ok(keys
            .into_iter()
            .rfind(|k| matches!(k.status, KeyStatus::Pending | KeyStatus::Submitted)))
    }
}

repository!(
    /// Permissions of the scope's tenant.
    Permissions,
    permissions
);

impl Permissions<'_, '_> {
    pub async fn create(&mut self, new: NewPermission) -> Result<Permission> {
        self.tx
            .create_new(&new.into_row([("created_at", now().into())]))
            .await
    }

    pub async fn set_limit(
        &mut self,
        id: PermissionId,
        max_amount: Option<Amount>,
        currency: Option<Currency>,
    ) -> Result<Permission> {
        self.tx
            .updated(
                id,
                &[
                    ("max_amount", max_amount.into()),
                    ("currency", currency.into()),
                ],
            )
            .await
    }

    pub async fn list_for_user(&mut self, user: EbicsUserId) -> Result<Vec<Permission>> {
        self.tx.list_where("ebics_user_id", user).await
    }

    /// Replaces all of a user's permissions (after an HTD sync).
    pub async fn replace_for_user(
        &mut self,
        user: EbicsUserId,
        permissions: Vec<NewPermission>,
    ) -> Result<Vec<Permission>> {
        self.tx
            .delete_where::<Permission>("ebics_user_id", user)
            .await?;
        let mut out = Vec::with_capacity(permissions.len());
        for p in permissions {
            out.push(self.create(p).await?);
        }
        Ok(out)
    }
}
