//! A READY user's key change (HCA, HCS, PUB) and a signer's rotation of a signer-held
//! signature key.
//!
//! The lifecycle of the keys, and why nothing in flight is lost:
//! - the new keys are stored PENDING next to the ACTIVE ones; everything keeps working with
//!   the ACTIVE keys (`KeyPairs::current`) until the bank accepted the change;
//! - the change is refused while a transfer of the user is running, so no transfer meets keys
//!   it did not start with, and while an earlier change is still with the bank;
//! - the new keys turn SUBMITTED when the change is sent, with one ES made with the current
//!   signature key (by the daemon for a key it holds, by the signer on their own machine for a
//!   signer-held key: `kontor sign rotate`);
//! - the upload carries [`TransferEffect::ChangeKeys`]: when it ends, whoever ended it (this
//!   call or recovery after a crash), the new keys become ACTIVE and the old ones EXPIRED if
//!   the bank accepted it, or the new ones REVOKED if not. Expired private keys are kept (never
//!   deleted), encrypted as before;
//! - a change whose last segment reached the bank but whose answer was lost (or whose re-sent
//!   segment was refused) is decided by asking the bank ([`settle_change`]), never guessed:
//!   revoking keys the bank already holds would lock the user out.
//!
//! When even that cannot decide (a PUB, or a bank that cannot be asked), an operator settles
//! the change after checking with the bank ([`settle_undecided`]): accepted, refused, or ask
//! the bank again.
//!
//! Every step is an audit record (generated, submitted, activated, expired, revoked) with the
//! actor of the scope: the operator who asked, or the system job that finished the transfer.

use kontor_protocol::certificate::Certificate;
use kontor_protocol::keys::{public_key_hash, PrivateKey, PublicKey};
use kontor_protocol::orderdata::{
    HCARequestOrderData, HCSRequestOrderData, OrderSignatureData, PublicKeyData,
    SignaturePubKeyOrderData,
};
use kontor_protocol::signature::{sign_order_data, verify_order_data};
use kontor_protocol::SignatureVersion;
use kontor_storage::{
    AuditAction, BankHost, DbEnum, EbicsUser, EbicsUserId, EbicsUserStatus, KeyCustody, KeyPair,
    KeyStatus, KeyUsage, NewSignerKey, OrderStatus, ResultCode, ScopedTx, SegmentStatus,
    StorageError, Store, TenantScope, Transaction, TransactionId, TransactionPhase, TransferEffect,
    UserAtHost,
};

use super::keys::{generate_replacements, GeneratedKeys, KeyError};
pub use super::users::SignerKey;
use super::{AsUser, Refusal, ServiceError, Services};
use crate::ebics::key_management::set_key_status_audited;
pub use crate::ebics::KeyChange;
use crate::ebics::{EbicsError, KeyProbe, KeySubmission, UploadRequest};

/// How a key change ended: the bank accepted it and the new keys are ACTIVE.
#[derive(Debug, Clone)]
pub struct KeyChangeOutcome {
    pub change: KeyChange,
    pub transaction: TransactionId,
    /// The new keys, ACTIVE.
    pub keys: Vec<KeyPair>,
}

/// A signer's new signature key and the PUB order data they signed with the old one.
#[derive(Debug, Clone)]
pub struct SignerRotation {
    /// The PUB order data (`SignaturePubKeyOrderData`) naming the new key, as signed.
    pub document: Vec<u8>,
    /// The ES over `document` with the signer's current key.
    pub signature: Vec<u8>,
    /// The version of the ES (the current key's).
    pub signature_version: SignatureVersion,
    /// The version of the new key (A005/A006).
    pub new_key_version: SignatureVersion,
}

/// Changes keys the daemon holds: generates the new ones, signs the change with the user's
/// current signature key and sends it. Refused for a signer-held signature key (the signer
/// must sign: [`rotate_signer_key`] for PUB).
pub async fn change_keys(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    change: KeyChange,
) -> Result<KeyChangeOutcome, ServiceError> {
    let record = check_first(services, scope, user, change, KeyCustody::Daemon).await?;
    let generated = generate_replacements(&record, change.usages())
        .await
        .map_err(KeyError::into_service_error)?;
    let (mut tx, at_host, signing) =
        start_change(services, scope, user, KeyCustody::Daemon).await?;
    clear_the_way(&mut tx, user, change, Leftovers::Revoke).await?;
    let keys = store_generated(&mut tx, &generated, &at_host.host, user, change).await?;
    let private = tx.key_pairs().load_private_key(signing.id).await?;
    tx.commit().await?;
    let document = change_document(change, &at_host, &keys)?;
    let version = signing.signature_version()?;
    let private = PrivateKey::from_pkcs8_der(&private).map_err(internal)?;
    let value = sign_order_data(version, &private, &document).map_err(internal)?;
    drop(private);
    let signature = user_signature(&at_host, version, value);
    send(services, scope, user, change, &keys, document, signature).await
}

/// A signer rotates their own signature key: the new key was generated and the PUB order
/// data signed with the old key on the signer's machine; only the public key (inside the
/// document) and the signature arrive here. The daemon checks both and sends the PUB.
pub async fn rotate_signer_key(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    rotation: SignerRotation,
) -> Result<KeyChangeOutcome, ServiceError> {
    let (mut tx, at_host, signing) =
        start_change(services, scope, user, KeyCustody::Signer).await?;
    check_signature_version(rotation.signature_version, &signing)?;
    let UserAtHost {
        user: record,
        connection,
        host,
    } = &at_host;
    let doc = SignaturePubKeyOrderData::parse(&rotation.document)
        .map_err(|e| invalid(format!("the PUB document does not parse: {e}")))?;
    if doc.version != host.protocol_version {
        return Err(invalid(format!(
            "the PUB document is {:?}, the bank speaks {:?}",
            doc.version, host.protocol_version
        )));
    }
    if doc.partner_id != connection.partner_id || doc.user_id != record.user_id {
        return Err(invalid("the PUB document names another user"));
    }
    if doc.signature_pub_key_info.version != rotation.new_key_version {
        return Err(invalid("the PUB document names another key version"));
    }
    let new_key = &doc.signature_pub_key_info.key;
    if host.protocol_version.uses_certificates() && matches!(new_key, PublicKeyData::Rsa { .. }) {
        return Err(Refusal::CertificateRequired(
            "an EBICS 3.0 bank takes the new signature key as an X.509 certificate".into(),
        )
        .into());
    }
    let (key, certificate) = key_of(new_key).map_err(invalid)?;
    verify_with_current(
        &signing,
        rotation.signature_version,
        &rotation.document,
        &rotation.signature,
    )?;
    let public_key = key.to_spki_der().map_err(internal)?;
    if public_key == signing.public_key {
        return Err(invalid("the new key is the current one"));
    }
    clear_the_way(&mut tx, user, KeyChange::Pub, Leftovers::Revoke).await?;
    let hash = public_key_hash(host.protocol_version, &key, certificate.as_ref())
        .map_err(|e| Refusal::CertificateRequired(e.to_string()))?;
    let new_key = tx
        .key_pairs()
        .register_signer_key(NewSignerKey {
            ebics_user_id: user,
            version: rotation.new_key_version,
            public_key,
            key_hash: hash,
            certificate: certificate.map(|c| c.to_der().to_vec()),
        })
        .await?;
    audit(
        &mut tx,
        AuditAction::KeyGenerated,
        &new_key,
        KeyChange::Pub,
        None,
    )
    .await?;
    tx.commit().await?;
    let signature = user_signature(&at_host, rotation.signature_version, rotation.signature);
    send(
        services,
        scope,
        user,
        KeyChange::Pub,
        &[new_key],
        rotation.document,
        signature,
    )
    .await
}

/// An HCA or HCS the daemon prepared for a signer-held user: its new keys (PENDING) and the
/// order data naming them, which the signer signs with their current signature key.
#[derive(Debug, Clone)]
pub struct PreparedChange {
    pub change: KeyChange,
    /// The order data (`HCARequestOrderData`/`HCSRequestOrderData`), to be signed as is.
    pub document: Vec<u8>,
    /// The new keys in the order the document lists them, PENDING.
    pub keys: Vec<KeyPair>,
}

/// A signer's ES over a [`PreparedChange`]'s document, made on their machine.
#[derive(Debug, Clone)]
pub struct SignedChange {
    pub change: KeyChange,
    pub document: Vec<u8>,
    pub signature: Vec<u8>,
    /// The version of the ES (the current key's).
    pub signature_version: SignatureVersion,
}

/// First half of an HCA/HCS for a user whose signature key a signer holds: the daemon
/// generates the new authentication and encryption keys, takes the signer's new signature
/// public key for HCS (its private part never leaves the signer's machine), stores all of
/// them PENDING and returns the order data for the signer to sign ([`send_signed_change`]).
/// Nothing is sent to the bank yet; preparing again replaces what an earlier preparation left.
/// The keys are stored in one transaction with the clearing of every earlier preparation's,
/// so an interrupted (or concurrent) preparation never leaves two sets PENDING.
pub async fn prepare_signer_change(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    change: KeyChange,
    new_signature: Option<SignerKey>,
) -> Result<PreparedChange, ServiceError> {
    services.bank()?;
    let new_signature = match (change, new_signature) {
        (KeyChange::Pub, _) => {
            return Err(invalid(
                "a signer replaces the signature key alone with `kontor sign rotate` (PUB)",
            ))
        }
        (KeyChange::Hca, Some(_)) => {
            return Err(invalid(
                "HCA keeps the signature key; send no new signature key",
            ))
        }
        (KeyChange::Hcs, None) => {
            return Err(invalid("HCS needs the signer's new signature public key"))
        }
        (_, key) => key,
    };
    let record = check_first(services, scope, user, change, KeyCustody::Signer).await?;
    let generated =
        generate_replacements(&record, &[KeyUsage::Authentication, KeyUsage::Encryption])
            .await
            .map_err(KeyError::into_service_error)?;
    let (mut tx, at_host, signing) =
        start_change(services, scope, user, KeyCustody::Signer).await?;
    clear_the_way(&mut tx, user, change, Leftovers::Revoke).await?;
    let mut keys = store_generated(&mut tx, &generated, &at_host.host, user, change).await?;
    if let Some(key) = new_signature {
        let record = key.record_for(user, at_host.host.protocol_version)?;
        if record.public_key == signing.public_key {
            return Err(invalid("the new signature key is the current one"));
        }
        let pair = tx.key_pairs().register_signer_key(record).await?;
        audit(&mut tx, AuditAction::KeyGenerated, &pair, change, None).await?;
        keys.push(pair);
    }
    tx.commit().await?;
    let document = change_document(change, &at_host, &keys)?;
    Ok(PreparedChange {
        change,
        document,
        keys,
    })
}

/// The checks of a key change that generates keys, made before the CPU-heavy generation so
/// a refused change costs none; rolled back, they run again in the transaction that stores
/// the keys. Returns the user.
async fn check_first(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    change: KeyChange,
    custody: KeyCustody,
) -> Result<EbicsUser, ServiceError> {
    let (mut tx, UserAtHost { user: record, .. }, _) =
        start_change(services, scope, user, custody).await?;
    clear_the_way(&mut tx, user, change, Leftovers::Revoke).await?;
    // Dropped, not committed: the checks leave nothing behind.
    Ok(record)
}

/// Stores generated new keys PENDING and audits them, in the caller's transaction.
async fn store_generated(
    tx: &mut ScopedTx<'_>,
    generated: &GeneratedKeys,
    host: &BankHost,
    user: EbicsUserId,
    change: KeyChange,
) -> Result<Vec<KeyPair>, ServiceError> {
    let keys = generated
        .store(tx, user, host.protocol_version)
        .await
        .map_err(KeyError::into_service_error)?;
    for key in &keys {
        audit(tx, AuditAction::KeyGenerated, key, change, None).await?;
    }
    Ok(keys)
}

/// Second half of a signer-held user's HCA/HCS: checks that the signed document names
/// exactly the keys [`prepare_signer_change`] stored PENDING for this user and that the ES
/// verifies with the ACTIVE signature key, then sends it like any key change.
pub async fn send_signed_change(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    signed: SignedChange,
) -> Result<KeyChangeOutcome, ServiceError> {
    let (mut tx, at_host, signing) =
        start_change(services, scope, user, KeyCustody::Signer).await?;
    if signed.change == KeyChange::Pub {
        return Err(invalid(
            "a signer replaces the signature key alone with `kontor sign rotate` (PUB)",
        ));
    }
    check_signature_version(signed.signature_version, &signing)?;
    clear_the_way(&mut tx, user, signed.change, Leftovers::KeepPending).await?;
    let mut prepared = Vec::new();
    for usage in signed.change.usages() {
        let key = tx
            .key_pairs()
            .replacement(user, *usage)
            .await?
            .filter(|k| k.status == KeyStatus::Pending)
            .ok_or_else(|| {
                invalid(format!(
                    "no prepared {} key: prepare the change first",
                    usage.as_str()
                ))
            })?;
        prepared.push(key);
    }
    let UserAtHost {
        user: record,
        connection,
        host,
    } = &at_host;
    let listed =
        document_keys(&signed, host, &connection.partner_id, &record.user_id).map_err(invalid)?;
    for ((key, version), pair) in listed.iter().zip(&prepared) {
        let public = key.to_spki_der().map_err(internal)?;
        let same_version = version.is_none_or(|v| pair.version == v);
        if public != pair.public_key || !same_version {
            return Err(invalid(format!(
                "the document does not name the {} key the daemon prepared; prepare again",
                pair.usage.as_str()
            )));
        }
    }
    verify_with_current(
        &signing,
        signed.signature_version,
        &signed.document,
        &signed.signature,
    )?;
    tx.commit().await?;
    let signature = user_signature(&at_host, signed.signature_version, signed.signature);
    send(
        services,
        scope,
        user,
        signed.change,
        &prepared,
        signed.document,
        signature,
    )
    .await
}

/// The keys an HCA/HCS document names, in the order of [`KeyChange::usages`], each with its
/// version where the document states one (the signature key's); checked to be of the bank's
/// version and for this user.
fn document_keys(
    signed: &SignedChange,
    host: &BankHost,
    partner_id: &str,
    user_id: &str,
) -> Result<Vec<(PublicKey, Option<SignatureVersion>)>, String> {
    let unreadable = |e: kontor_protocol::orderdata::OrderDataError| {
        format!(
            "the {} document does not parse: {e}",
            signed.change.order_type()
        )
    };
    let (version, ids, keys) = match signed.change {
        KeyChange::Hca => {
            let doc = HCARequestOrderData::parse(&signed.document).map_err(unreadable)?;
            (
                doc.version,
                (doc.partner_id, doc.user_id),
                vec![(doc.authentication.key, None), (doc.encryption.key, None)],
            )
        }
        KeyChange::Hcs => {
            let doc = HCSRequestOrderData::parse(&signed.document).map_err(unreadable)?;
            (
                doc.version,
                (doc.partner_id, doc.user_id),
                vec![
                    (doc.authentication.key, None),
                    (doc.encryption.key, None),
                    (doc.signature.key, Some(doc.signature.version)),
                ],
            )
        }
        KeyChange::Pub => return Err("PUB is not prepared".into()),
    };
    if version != host.protocol_version {
        return Err(format!(
            "the document is {version:?}, the bank speaks {:?}",
            host.protocol_version
        ));
    }
    if ids.0 != partner_id || ids.1 != user_id {
        return Err("the document names another user".into());
    }
    keys.into_iter()
        .map(|(data, version)| Ok((key_of(&data)?.0, version)))
        .collect()
}

/// The public key a key document carries, as an RSA key value or inside a certificate (then
/// returned with it).
fn key_of(data: &PublicKeyData) -> Result<(PublicKey, Option<Certificate>), String> {
    match data {
        PublicKeyData::Rsa { key, .. } => {
            let key = PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)
                .map_err(|e| e.to_string())?;
            Ok((key, None))
        }
        PublicKeyData::Certificate(x509) => {
            let certificate =
                Certificate::from_der(&x509.certificate).map_err(|e| e.to_string())?;
            Ok((certificate.public_key().clone(), Some(certificate)))
        }
    }
}

/// Marks the new keys SUBMITTED, uploads the change and settles the keys with the outcome.
async fn send(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    change: KeyChange,
    keys: &[KeyPair],
    document: Vec<u8>,
    signature: OrderSignatureData,
) -> Result<KeyChangeOutcome, ServiceError> {
    let store = services.store();
    // The keys turn SUBMITTED where the upload is recorded, not before: between the two a
    // new preparation would take them for leftovers of a change that never left.
    let submits = keys
        .iter()
        .map(|key| KeySubmission {
            key: key.id,
            audit_detail: audit_detail(key, change, None),
        })
        .collect();
    let request = UploadRequest::new(change.order_type(), document, vec![signature])
        .with_effect(TransferEffect::ChangeKeys)
        .submitting(submits);
    let outcome = services
        .bank()?
        .upload(AsUser { scope, user }, request)
        .await;
    // Settle whatever the upload left behind, accepted or not; recovery settles the rest.
    let settled = settle_finished_changes(services, scope, user).await?;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            // The answer was lost or refused, but the bank may hold the new keys: if asking
            // it showed so, the change succeeded.
            if let Some((transaction, keys)) = settled.into_iter().find(|(_, k)| !k.is_empty()) {
                return Ok(KeyChangeOutcome {
                    change,
                    transaction,
                    keys,
                });
            }
            let mut tx = store.scope(scope).begin().await?;
            revoke_unsent(&mut tx, user).await?;
            // Keys the upload never recorded are still PENDING (unless a new preparation
            // revoked them already): they never left either.
            for key in keys {
                let current = tx.get(key.id).await?;
                if current.status == KeyStatus::Pending {
                    let why =
                        serde_json::json!({ "reason": "the key change never reached the bank" });
                    revoke(&mut tx, &current, KeyStatus::Pending, why).await?;
                }
            }
            tx.commit().await?;
            return Err(error.into());
        }
    };
    let keys = settled
        .into_iter()
        .find(|(transaction, _)| *transaction == outcome.transaction)
        .map(|(_, keys)| keys)
        .unwrap_or_default();
    Ok(KeyChangeOutcome {
        change,
        transaction: outcome.transaction,
        keys,
    })
}

/// Settles the keys of every finished key change of the user whose effect is pending;
/// returns the keys each one activated. One that cannot be decided now stays pending for
/// the effect sweep.
async fn settle_finished_changes(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
) -> Result<Vec<(TransactionId, Vec<KeyPair>)>, ServiceError> {
    let mut tx = services.store().scope(scope).begin().await?;
    let pending: Vec<Transaction> = tx
        .transactions()
        .list_for_user(user)
        .await?
        .into_iter()
        .filter(|t| t.effect == Some(TransferEffect::ChangeKeys) && t.effect_pending())
        .collect();
    tx.commit().await?;
    let mut settled = Vec::new();
    for transaction in pending {
        match settle_change(services, scope, &transaction).await {
            Ok(keys) => settled.push((transaction.id, keys)),
            Err(error) => {
                tracing::warn!(transaction = %transaction.id, %error, "key change undecided; the effect sweep asks the bank again");
            }
        }
    }
    Ok(settled)
}

/// Whether the bank took a finished key change, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The bank accepted it: in its answer, or a probe with the new keys showed it.
    Accepted { decided_by: &'static str },
    /// The bank did not take it: it refused, or the order data never reached it, or a probe
    /// showed it still holds the old keys.
    Refused { decided_by: &'static str },
}

/// The [`TransferEffect::ChangeKeys`] of a finished upload, decided from the bank, never
/// guessed. COMPLETED: the bank accepted. FAILED or ABORTED before the last segment was sent:
/// the order data never reached the bank, refused. FAILED or ABORTED after it (the answer was
/// lost, or the re-sent segment was refused, e.g. `061001` because the bank already verifies
/// with the new authentication key, or `091101` because it finished the transaction): HCA and
/// HCS ask the bank with [`crate::ebics::Client::probe_keys`]; a PUB (the bank cannot be asked
/// about a signature key without an order) stays undecided with [`KEY_CHANGE_UNCONFIRMED`].
/// Undecided is an error: the effect stays pending and the sweep asks again.
pub(crate) async fn settle_change(
    services: &Services,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<Vec<KeyPair>, ServiceError> {
    if !transaction.phase.is_final() {
        return Ok(Vec::new());
    }
    let verdict = if transaction.phase == TransactionPhase::Completed {
        Verdict::Accepted {
            decided_by: "bank_answer",
        }
    } else if reached_bank(services.store(), scope, transaction).await? {
        decide_from_bank(services, scope, transaction).await?
    } else {
        Verdict::Refused {
            decided_by: "bank_answer",
        }
    };
    let mut tx = services.store().scope(scope).begin().await?;
    let keys = settle_keys(&mut tx, transaction, verdict).await?;
    tx.commit().await?;
    Ok(keys)
}

/// An operator's decision about an undecided key change, after checking with the bank
/// (its letter, its support desk, or HVU/HKD showing which key it holds).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Settlement {
    /// The bank holds the new keys: they turn ACTIVE, the old ones EXPIRED.
    Accepted,
    /// The bank kept the old keys: the new ones turn REVOKED.
    Refused,
    /// Ask the bank again as the sweep does (HCA/HCS: HPB with the new keys, then the old).
    Probe,
}

/// How an operator settled an undecided key change: the change's keys as they are now.
#[derive(Debug, Clone)]
pub struct SettledChange {
    pub change: KeyChange,
    pub transaction: TransactionId,
    pub settlement: Settlement,
    /// The change's new keys after settling (ACTIVE or REVOKED).
    pub keys: Vec<KeyPair>,
}

/// Settles a key change whose outcome stayed undecided (its answer was lost and the bank
/// could not be asked, or the sweep gave up after its attempts: [`KEY_CHANGE_UNCONFIRMED`]).
/// `Probe` asks the bank once more and fails as before when it still cannot tell; the
/// operator's `Accepted`/`Refused` is applied like the bank's own answer. Refused with
/// [`Refusal::NothingUndecided`] when the change has no SUBMITTED keys waiting for a verdict.
/// Audited as `KEY_CHANGE_SETTLED` with the operator's note, besides the key records.
///
/// Exactly one settlement decides: the database transaction that applies the verdict checks
/// again that the change is undecided and moves each waiting key compare-and-set from
/// SUBMITTED, so of two settlements racing the second finds nothing undecided.
pub async fn settle_undecided(
    services: &Services,
    scope: &TenantScope,
    user: EbicsUserId,
    transaction: TransactionId,
    settlement: Settlement,
    note: Option<String>,
) -> Result<SettledChange, ServiceError> {
    let store = services.store();
    let verdict = match settlement {
        Settlement::Accepted => Verdict::Accepted {
            decided_by: "operator",
        },
        Settlement::Refused => Verdict::Refused {
            decided_by: "operator",
        },
        Settlement::Probe => {
            // Nothing is asked about a change that is decided already.
            let mut tx = store.scope(scope).read().await?;
            let (upload, _, _) = undecided_change(&mut tx, user, transaction).await?;
            tx.commit().await?;
            decide_from_bank(services, scope, &upload).await?
        }
    };
    let mut tx = store.scope(scope).begin().await?;
    let (upload, change, waiting) = undecided_change(&mut tx, user, transaction).await?;
    decide_keys(&mut tx, &upload, change, &waiting, verdict)
        .await
        .map_err(|e| match e {
            ServiceError::Storage(StorageError::StaleStatus { .. }) => {
                Refusal::NothingUndecided.into()
            }
            other => other,
        })?;
    tx.transactions().settle_effect(upload.id).await?;
    let mut keys = Vec::new();
    for key in &waiting {
        let now: KeyPair = tx.get(key.id).await?;
        keys.push(now);
    }
    let (outcome, decided_by) = match verdict {
        Verdict::Accepted { decided_by } => ("ACCEPTED", decided_by),
        Verdict::Refused { decided_by } => ("REFUSED", decided_by),
    };
    tx.audit()
        .record(
            AuditAction::KeyChangeSettled,
            "transaction",
            &upload.id.to_string(),
            serde_json::json!({
                "ebics_user_id": user,
                "order_type": change,
                "settlement": settlement,
                "outcome": outcome,
                "decided_by": decided_by,
                "note": note,
                "failure_code": upload.failure_code,
                "keys": keys.iter().map(|k| k.id).collect::<Vec<_>>(),
            }),
        )
        .await?;
    tx.commit().await?;
    Ok(SettledChange {
        change,
        transaction: upload.id,
        settlement,
        keys,
    })
}

/// The user's key change upload `transaction` with the SUBMITTED keys that wait for its
/// verdict; [`Refusal::NothingUndecided`] unless it is finished and undecided (its effect
/// pending, or given up as [`KEY_CHANGE_UNCONFIRMED`]).
async fn undecided_change(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    transaction: TransactionId,
) -> Result<(Transaction, KeyChange, Vec<KeyPair>), ServiceError> {
    let upload: Transaction = tx.get(transaction).await?;
    let change = KeyChange::of_order_type(upload.order_type.as_str())
        .filter(|_| {
            upload.ebics_user_id == user && upload.effect == Some(TransferEffect::ChangeKeys)
        })
        .ok_or(ServiceError::NotFound("key change"))?;
    let waiting = waiting_keys(tx, user, change).await?;
    let undecided = upload.phase.is_final()
        && !waiting.is_empty()
        && (upload.effect_pending()
            || upload
                .effect_error
                .as_deref()
                .is_some_and(|e| e.contains(KEY_CHANGE_UNCONFIRMED)));
    if !undecided {
        return Err(Refusal::NothingUndecided.into());
    }
    Ok((upload, change, waiting))
}

/// The SUBMITTED new keys of a change that wait for the bank's verdict.
async fn waiting_keys(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    change: KeyChange,
) -> Result<Vec<KeyPair>, ServiceError> {
    let mut waiting = Vec::new();
    for usage in change.usages() {
        if let Some(key) = tx.key_pairs().replacement(user, *usage).await? {
            if key.status == KeyStatus::Submitted {
                waiting.push(key);
            }
        }
    }
    Ok(waiting)
}

/// Code of a key change whose order data reached the bank but whose outcome the bank
/// could not be asked about (a PUB), or whose probe was inconclusive.
pub const KEY_CHANGE_UNCONFIRMED: &str = "KEY_CHANGE_UNCONFIRMED";

/// Whether the last segment (with which the bank applies the order) was sent.
async fn reached_bank(
    store: &Store,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<bool, ServiceError> {
    let mut tx = store.scope(scope).begin().await?;
    let segments = tx.transactions().segments(transaction.id).await?;
    tx.commit().await?;
    Ok(segments
        .iter()
        .any(|s| s.is_last && s.status != SegmentStatus::Pending))
}

/// Asks the bank which keys it holds: an HPB with the new authentication and encryption
/// keys; if it refuses those, the same with the ACTIVE ones, which must then work.
async fn decide_from_bank(
    services: &Services,
    scope: &TenantScope,
    transaction: &Transaction,
) -> Result<Verdict, ServiceError> {
    let unconfirmed = |why: &str| {
        ServiceError::Precondition(
            format!(
                "{KEY_CHANGE_UNCONFIRMED}: the {} upload reached the bank but its outcome is \
                 unknown ({}: {}); {why}",
                transaction.order_type,
                transaction
                    .failure_code
                    .as_ref()
                    .map_or("-", ResultCode::as_str),
                transaction.failure_text.as_deref().unwrap_or("-"),
            )
            .into(),
        )
    };
    let change = KeyChange::of_order_type(transaction.order_type.as_str())
        .ok_or_else(|| unconfirmed("not a key change"))?;
    if !change.usages().contains(&KeyUsage::Authentication) {
        return Err(unconfirmed(
            "a new signature key cannot be checked without an order; the new key stays \
             SUBMITTED until the bank (HVU/its letter) tells",
        ));
    }
    let user = transaction.ebics_user_id;
    let mut tx = services.store().scope(scope).begin().await?;
    let new_auth = tx
        .key_pairs()
        .replacement(user, KeyUsage::Authentication)
        .await?;
    let new_enc = tx
        .key_pairs()
        .replacement(user, KeyUsage::Encryption)
        .await?;
    let old_auth = tx
        .key_pairs()
        .current(user, KeyUsage::Authentication)
        .await?;
    let old_enc = tx.key_pairs().current(user, KeyUsage::Encryption).await?;
    tx.commit().await?;
    let (Some(new_auth), Some(new_enc)) = (new_auth, new_enc) else {
        // Nothing SUBMITTED is left to decide about.
        return Ok(Verdict::Refused {
            decided_by: "nothing_submitted",
        });
    };
    // Whatever stops the question from being answered leaves the change undecided; bank keys
    // awaiting an operator (the probe saw a rollover) keep the change waiting for them.
    let asking_failed = |e: EbicsError| match e {
        EbicsError::BankKeysNotVerified { .. } => ServiceError::from(e),
        other => unconfirmed(&format!("asking the bank failed: {other}")),
    };
    let bank = services.bank()?;
    let probe = bank
        .probe_keys(AsUser { scope, user }, (&new_auth, &new_enc))
        .await;
    if probe.map_err(asking_failed)? == KeyProbe::Held {
        return Ok(Verdict::Accepted {
            decided_by: "probe",
        });
    }
    let (Some(old_auth), Some(old_enc)) = (old_auth, old_enc) else {
        return Err(unconfirmed(
            "the bank refuses the new keys and no old ones are left",
        ));
    };
    let probe = bank
        .probe_keys(AsUser { scope, user }, (&old_auth, &old_enc))
        .await;
    match probe.map_err(asking_failed)? {
        KeyProbe::Held => Ok(Verdict::Refused {
            decided_by: "probe",
        }),
        KeyProbe::NotHeld => Err(unconfirmed(
            "the bank refuses both the new and the old authentication key",
        )),
    }
}

/// Applies a verdict to the change's SUBMITTED new keys ([`decide_keys`]) and marks the
/// effect done; applying it again changes nothing. Returns the keys it activated.
async fn settle_keys(
    tx: &mut ScopedTx<'_>,
    transaction: &Transaction,
    verdict: Verdict,
) -> Result<Vec<KeyPair>, ServiceError> {
    let Some(change) = KeyChange::of_order_type(transaction.order_type.as_str()) else {
        tx.transactions()
            .finish_effect(transaction.id, Some("not a key change"))
            .await?;
        return Ok(Vec::new());
    };
    let waiting = waiting_keys(tx, transaction.ebics_user_id, change).await?;
    let activated = decide_keys(tx, transaction, change, &waiting, verdict).await?;
    tx.transactions()
        .finish_effect(transaction.id, None)
        .await?;
    Ok(activated)
}

/// Accepted turns the `waiting` keys ACTIVE and the ones they replace EXPIRED; refused turns
/// them REVOKED. Every step is compare-and-set, the new key's first: a key another decision
/// moved meanwhile fails the whole decision with `StaleStatus`. Returns the keys it activated.
async fn decide_keys(
    tx: &mut ScopedTx<'_>,
    transaction: &Transaction,
    change: KeyChange,
    waiting: &[KeyPair],
    verdict: Verdict,
) -> Result<Vec<KeyPair>, ServiceError> {
    let mut activated = Vec::new();
    for new in waiting {
        let decided_by = match verdict {
            Verdict::Refused { decided_by } => {
                let revoked = tx
                    .key_pairs()
                    .set_status(new.id, KeyStatus::Submitted, KeyStatus::Revoked)
                    .await?;
                let why = serde_json::json!({
                    "failure_code": transaction.failure_code,
                    "failure_text": transaction.failure_text,
                    "decided_by": decided_by,
                });
                audit(tx, AuditAction::KeyRevoked, &revoked, change, Some(why)).await?;
                continue;
            }
            Verdict::Accepted { decided_by } => decided_by,
        };
        let old = tx
            .key_pairs()
            .current(new.ebics_user_id, new.usage)
            .await?
            .filter(|old| old.status == KeyStatus::Active);
        let active = tx
            .key_pairs()
            .set_status(new.id, KeyStatus::Submitted, KeyStatus::Active)
            .await?;
        if let Some(old) = old {
            let expired = tx
                .key_pairs()
                .set_status(old.id, KeyStatus::Active, KeyStatus::Expired)
                .await?;
            let by = serde_json::json!({ "replaced_by": new.id, "decided_by": decided_by });
            audit(tx, AuditAction::KeyExpired, &expired, change, Some(by)).await?;
        }
        let how = serde_json::json!({
            "decided_by": decided_by,
            "transfer_phase": transaction.phase.as_str(),
            "failure_code": transaction.failure_code,
        });
        audit(tx, AuditAction::KeyActivated, &active, change, Some(how)).await?;
        activated.push(active);
    }
    Ok(activated)
}

/// Opens a key change: refused without a bank to send it to, unless the user is READY, or
/// unless `custody` holds the user's ACTIVE signature key. Returns the open transaction, the
/// user with its connection and host, and that signature key.
async fn start_change<'s>(
    services: &'s Services,
    scope: &TenantScope,
    user: EbicsUserId,
    custody: KeyCustody,
) -> Result<(ScopedTx<'s>, UserAtHost, KeyPair), ServiceError> {
    services.bank()?;
    let mut tx = services.store().scope(scope).begin().await?;
    let at_host = ready_user(&mut tx, user).await?;
    let signing = signature_key_held_by(&mut tx, user, custody).await?;
    Ok((tx, at_host, signing))
}

/// The order data of `change` naming `keys`, in the form the user's bank takes them.
fn change_document(
    change: KeyChange,
    at_host: &UserAtHost,
    keys: &[KeyPair],
) -> Result<Vec<u8>, ServiceError> {
    change
        .document(
            crate::ebics::key_management::KeyFormat::of(&at_host.host),
            &at_host.connection.partner_id,
            &at_host.user.user_id,
            keys,
        )
        .map_err(internal)
}

/// A key change refused for what the client sent.
fn invalid(why: impl Into<String>) -> ServiceError {
    Refusal::InvalidKeyChange(why.into()).into()
}

/// A signer's ES must be of the version of the key it is checked with.
fn check_signature_version(
    version: SignatureVersion,
    signing: &KeyPair,
) -> Result<(), ServiceError> {
    if signing.version == version {
        return Ok(());
    }
    Err(invalid(format!(
        "the signature is {}, the current key is {}",
        version.as_str(),
        signing.version
    )))
}

/// Verifies a signer's ES over a key change document with the user's current signature key.
fn verify_with_current(
    signing: &KeyPair,
    version: SignatureVersion,
    document: &[u8],
    signature: &[u8],
) -> Result<(), ServiceError> {
    let current = PublicKey::from_spki_der(&signing.public_key).map_err(internal)?;
    verify_order_data(version, &current, document, signature)
        .map_err(|_| invalid("the signature does not verify with the current signature key"))
}

/// The user with its connection and host, if READY. Locks the user's row first: the key
/// changes of one user take turns, each seeing the keys the one before stored.
async fn ready_user(tx: &mut ScopedTx<'_>, user: EbicsUserId) -> Result<UserAtHost, ServiceError> {
    tx.ebics_users().lock(user).await?;
    let record: EbicsUser = tx.get(user).await?;
    Refusal::unless_user_in(&record, EbicsUserStatus::Ready)?;
    Ok(tx.ebics_users().with_host(record).await?)
}

async fn current_signature_key(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
) -> Result<KeyPair, ServiceError> {
    tx.key_pairs()
        .current(user, KeyUsage::Signature)
        .await?
        .filter(|k| k.status == KeyStatus::Active)
        .ok_or_else(|| {
            ServiceError::Precondition("the user has no ACTIVE signature key to sign with".into())
        })
}

/// The user's ACTIVE signature key, refused unless `custody` holds it: the daemon signs a
/// change only with a key it holds, a signer rotates only a key they hold.
async fn signature_key_held_by(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    custody: KeyCustody,
) -> Result<KeyPair, ServiceError> {
    let signing = current_signature_key(tx, user).await?;
    match (signing.custody, custody) {
        (KeyCustody::Signer, KeyCustody::Daemon) => Err(Refusal::SignerMustSignKeyChange.into()),
        (KeyCustody::Daemon, KeyCustody::Signer) => Err(Refusal::DaemonHoldsSignatureKey.into()),
        _ => Ok(signing),
    }
}

/// The user's ES over a key change document, as the upload carries it.
fn user_signature(
    at_host: &UserAtHost,
    version: SignatureVersion,
    value: Vec<u8>,
) -> OrderSignatureData {
    OrderSignatureData {
        signature_version: version,
        signature_value: value,
        partner_id: at_host.connection.partner_id.clone(),
        user_id: at_host.user.user_id.clone(),
        x509: None,
    }
}

/// Refuses while a transfer of the user runs, an earlier change is with the bank or (for a
/// new signature key) an order carries an ES of the current key but has not reached the bank:
/// the bank verifies every ES with the key it holds when the upload ends, so such an order
/// would be refused after the change. Revokes new keys an interrupted attempt left PENDING
/// (they were never sent), unless they are the prepared keys about to be sent.
async fn clear_the_way(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    change: KeyChange,
    pending: Leftovers,
) -> Result<(), ServiceError> {
    if change.usages().contains(&KeyUsage::Signature) {
        let mut waiting = 0;
        for status in [
            OrderStatus::PendingSignature,
            OrderStatus::Signed,
            OrderStatus::Submitted,
        ] {
            for order in tx.orders().list_by_status(status).await? {
                let signatures = tx.order_signatures().list_for_order(order.id).await?;
                if signatures.iter().any(|s| s.signer_id == user) {
                    waiting += 1;
                }
            }
        }
        if waiting > 0 {
            return Err(Refusal::SignedOrdersWaiting(waiting).into());
        }
    }
    let running = tx
        .transactions()
        .list_for_user(user)
        .await?
        .into_iter()
        .filter(|t| !t.phase.is_final())
        .count();
    if running > 0 {
        return Err(Refusal::TransfersInFlight(running).into());
    }
    for &usage in KeyUsage::ALL {
        let Some(left) = tx.key_pairs().replacement(user, usage).await? else {
            continue;
        };
        if left.status == KeyStatus::Submitted {
            if change_with_bank(tx, user).await? {
                return Err(Refusal::KeyChangeInProgress.into());
            }
            revoke_unsent(tx, user).await?;
        }
    }
    if pending == Leftovers::Revoke {
        // Every PENDING key of a READY user was left by a change that was never sent (not
        // only the newest per usage: preparations may have overlapped).
        for left in tx.key_pairs().list_for_user(user).await? {
            if left.status == KeyStatus::Pending {
                let why = serde_json::json!({ "reason": "left by an interrupted key change, never sent" });
                revoke(tx, &left, KeyStatus::Pending, why).await?;
            }
        }
    }
    Ok(())
}

/// What [`clear_the_way`] does with PENDING new keys it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leftovers {
    /// They are left by an interrupted attempt: revoked.
    Revoke,
    /// They are the keys a signer's signed change is about to send: kept.
    KeepPending,
}

/// Whether a key change upload of the user is running, waits for its keys to be settled, or
/// reached the bank and stayed undecided (its effect given up with
/// [`KEY_CHANGE_UNCONFIRMED`]): its SUBMITTED keys may be the bank's, so they are never
/// revoked by guess.
async fn change_with_bank(tx: &mut ScopedTx<'_>, user: EbicsUserId) -> Result<bool, ServiceError> {
    Ok(tx
        .transactions()
        .list_for_user(user)
        .await?
        .iter()
        .any(|t| {
            t.effect == Some(TransferEffect::ChangeKeys)
                && (!t.phase.is_final()
                    || t.effect_pending()
                    || t.effect_error
                        .as_deref()
                        .is_some_and(|e| e.contains(KEY_CHANGE_UNCONFIRMED)))
        }))
}

/// SUBMITTED new keys with no key change upload behind them never reached the bank (the
/// upload failed before it started, e.g. the bank keys await verification): REVOKED.
async fn revoke_unsent(tx: &mut ScopedTx<'_>, user: EbicsUserId) -> Result<(), ServiceError> {
    if change_with_bank(tx, user).await? {
        return Ok(());
    }
    for &usage in KeyUsage::ALL {
        let Some(key) = tx.key_pairs().replacement(user, usage).await? else {
            continue;
        };
        if key.status != KeyStatus::Submitted {
            continue;
        }
        let why = serde_json::json!({ "reason": "the key change never reached the bank" });
        revoke(tx, &key, KeyStatus::Submitted, why).await?;
    }
    Ok(())
}

/// Revokes a new key that never became the bank's (compare-and-set from `from`) and audits
/// why.
async fn revoke(
    tx: &mut ScopedTx<'_>,
    key: &KeyPair,
    from: KeyStatus,
    why: serde_json::Value,
) -> Result<(), ServiceError> {
    let moves = (from, KeyStatus::Revoked);
    let detail = with_key(key, why);
    set_key_status_audited(tx, key.id, moves, AuditAction::KeyRevoked, detail).await?;
    Ok(())
}

fn with_key(key: &KeyPair, mut detail: serde_json::Value) -> serde_json::Value {
    if let Some(map) = detail.as_object_mut() {
        map.insert("ebics_user_id".into(), serde_json::json!(key.ebics_user_id));
        map.insert("usage".into(), serde_json::json!(key.usage));
        map.insert("key_hash".into(), serde_json::json!(key.key_hash));
        map.insert("custody".into(), serde_json::json!(key.custody));
    }
    detail
}

async fn audit(
    tx: &mut ScopedTx<'_>,
    action: AuditAction,
    key: &KeyPair,
    change: KeyChange,
    extra: Option<serde_json::Value>,
) -> Result<(), ServiceError> {
    tx.audit()
        .record(
            action,
            "key_pair",
            &key.id.to_string(),
            audit_detail(key, change, extra),
        )
        .await?;
    Ok(())
}

/// The detail of a key's audit record: the key, the change and what `extra` adds.
fn audit_detail(
    key: &KeyPair,
    change: KeyChange,
    extra: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut detail = extra.unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = detail.as_object_mut() {
        map.insert("order_type".into(), serde_json::json!(change));
    }
    with_key(key, detail)
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
    ServiceError::Internal(Box::new(error))
}
