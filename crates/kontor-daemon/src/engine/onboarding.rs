//! Onboarding a user at its bank: INI and HIA (or H3K), HPB, activation once an operator has
//! verified the bank keys, and the HKD/HTD/HAA sync of order types, accounts and permissions.

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::Certificate;
use kontor_protocol::compression;
use kontor_protocol::encryption;
use kontor_protocol::envelope::{
    KeyManagementResponse, NoPubKeyDigestsRequest, Nonce, SecurityMedium, UnsecuredRequest,
};
use kontor_protocol::keys::{public_key_hash, PublicKey};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::orderdata::{
    AccountNumber, AuthenticationPubKeyInfo, AuthorisationLevel, BankCode, CertificateInfo,
    EncryptionPubKeyInfo, H3KRequestOrderData, HAAResponseOrderData, HIARequestOrderData,
    HPBResponseOrderData, HTDResponseOrderData, PublicKeyData, RsaKeyValue, SignaturePubKeyInfo,
    SignaturePubKeyOrderData, X509Data,
};
use kontor_protocol::{AuthenticationVersion, EncryptionVersion, SignatureVersion};
use kontor_storage::{
    BankKey, BankKeyKind, EbicsUserId, EbicsUserStatus, KeyPair, KeyStatus, KeyUsage, NewAccount,
    NewBankKey, NewPermission, ScopedTx, SignatureClass, TenantScope,
};

use super::session::{product, rejection, Requirement, UserContext};
use super::{DownloadOutcome, DownloadRequest, Engine, EngineError};

/// One step of [`Engine::onboard`], for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnboardingStep {
    Ini,
    Hia,
    H3k,
    Hpb,
    Activated,
    Synced,
}

/// What an HKD/HTD/HAA sync stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub order_types: Vec<String>,
    pub accounts: usize,
    pub permissions: usize,
}

/// A user's public key as the bank needs it: the key, and for H005 its certificate.
#[derive(Debug, Clone)]
pub struct PublicKeyRecord {
    pub key: PublicKey,
    pub certificate: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    /// The stored key pair, when the daemon holds one (a signer's key may live elsewhere).
    pub key_pair: Option<KeyPair>,
}

/// The user's current public key for `usage`, wherever it is stored. INI needs only the
/// public signature key, so a signer who keeps the private key outside the daemon can still
/// be initialised once the public key is registered.
pub async fn public_key_for(
    tx: &mut ScopedTx<'_>,
    user: EbicsUserId,
    usage: KeyUsage,
) -> Result<PublicKeyRecord, EngineError> {
    let pair = tx.key_pairs().current(user, usage).await?.ok_or_else(|| {
        EngineError::Precondition(format!("no {usage} public key is stored for this user"))
    })?;
    Ok(PublicKeyRecord {
        key: PublicKey::from_spki_der(&pair.public_key).map_err(EngineError::key)?,
        certificate: pair.certificate.clone(),
        created_at: pair.created_at,
        key_pair: Some(pair),
    })
}

fn key_data(ctx: &UserContext, record: &PublicKeyRecord) -> Result<PublicKeyData, EngineError> {
    if ctx.uses_certificates() {
        let der = record.certificate.clone().ok_or_else(|| {
            EngineError::Precondition("an H005 key needs its X.509 certificate".into())
        })?;
        Ok(PublicKeyData::Certificate(X509Data::from_certificate(der)))
    } else {
        Ok(PublicKeyData::Rsa {
            key: RsaKeyValue {
                modulus: record.key.modulus(),
                exponent: record.key.exponent(),
            },
            timestamp: Some(record.created_at),
            x509: None,
        })
    }
}

fn check_key_management(
    order_type: &OrderType,
    response: &KeyManagementResponse,
) -> Result<(), EngineError> {
    for code in [
        &response.technical_return_code,
        &response.business_return_code,
    ] {
        if !code.is_ok() {
            return Err(EngineError::Bank {
                order_type: order_type.to_string(),
                rejection: rejection(code, &response.report_text),
                transaction: None,
            });
        }
    }
    Ok(())
}

impl Engine {
    async fn send_unsecured(
        &self,
        ctx: &UserContext,
        order_type: OrderType,
        order_data_xml: Vec<u8>,
    ) -> Result<(), EngineError> {
        let request = UnsecuredRequest {
            version: ctx.version(),
            host_id: ctx.host_id()?,
            partner_id: ctx.partner_id()?,
            user_id: ctx.user_id()?,
            system_id: ctx.system_id()?,
            product: Some(product()),
            order_type: order_type.clone(),
            security_medium: SecurityMedium::default(),
            order_data: compression::compress(&order_data_xml),
        };
        let body = request
            .to_xml()
            .map_err(EngineError::protocol)?
            .into_bytes();
        let answer = self.post(&ctx.endpoint(), body).await?;
        let response = KeyManagementResponse::parse(&answer).map_err(EngineError::protocol)?;
        check_key_management(&order_type, &response)
    }

    /// Records that the bank accepted keys: key pairs PENDING → SUBMITTED and the user's status.
    async fn record_submitted(
        &self,
        scope: &TenantScope,
        ctx: &UserContext,
        keys: &[&PublicKeyRecord],
        to: EbicsUserStatus,
    ) -> Result<EbicsUserStatus, EngineError> {
        let mut tx = self.store().scope(scope).begin().await?;
        for pair in keys.iter().filter_map(|k| k.key_pair.as_ref()) {
            if pair.status == KeyStatus::Pending {
                tx.key_pairs()
                    .set_status(pair.id, KeyStatus::Pending, KeyStatus::Submitted)
                    .await?;
            }
        }
        let user = tx
            .ebics_users()
            .set_status(ctx.user.id, ctx.user.status, to)
            .await?;
        tx.commit().await?;
        tracing::info!(user = %ctx.user.user_id, host = %ctx.host.host_id, status = %user.status, "keys submitted");
        Ok(user.status)
    }

    /// Sends INI (signature public key only: the private key may live with the signer).
    /// NEW → PARTLY_INITIALISED_INI (or PARTLY_INITIALISED_HIA → INITIALISED).
    pub async fn send_ini(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EngineError> {
        let ctx = self.user_context(scope, user).await?;
        let to = match ctx.user.status {
            EbicsUserStatus::New => EbicsUserStatus::PartlyInitialisedIni,
            EbicsUserStatus::PartlyInitialisedHia => EbicsUserStatus::Initialised,
            status => {
                return Err(not_for_status(
                    &ctx,
                    status,
                    "INI needs NEW or PARTLY_INITIALISED_HIA",
                ))
            }
        };
        let mut tx = self.store().scope(scope).begin().await?;
        let signature = public_key_for(&mut tx, user, KeyUsage::Signature).await?;
        tx.commit().await?;
        let document = SignaturePubKeyOrderData {
            version: ctx.version(),
            signature_pub_key_info: SignaturePubKeyInfo {
                key: key_data(&ctx, &signature)?,
                version: SignatureVersion::A006,
            },
            partner_id: ctx.connection.partner_id.clone(),
            user_id: ctx.user.user_id.clone(),
        };
        let xml = document.to_xml().map_err(EngineError::protocol)?;
        self.send_unsecured(&ctx, OrderType::INI, xml).await?;
        self.record_submitted(scope, &ctx, &[&signature], to).await
    }

    /// Sends HIA (authentication and encryption public keys).
    /// NEW → PARTLY_INITIALISED_HIA (or PARTLY_INITIALISED_INI → INITIALISED).
    pub async fn send_hia(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EngineError> {
        let ctx = self.user_context(scope, user).await?;
        let to = match ctx.user.status {
            EbicsUserStatus::New => EbicsUserStatus::PartlyInitialisedHia,
            EbicsUserStatus::PartlyInitialisedIni => EbicsUserStatus::Initialised,
            status => {
                return Err(not_for_status(
                    &ctx,
                    status,
                    "HIA needs NEW or PARTLY_INITIALISED_INI",
                ))
            }
        };
        let mut tx = self.store().scope(scope).begin().await?;
        let authentication = public_key_for(&mut tx, user, KeyUsage::Authentication).await?;
        let encryption = public_key_for(&mut tx, user, KeyUsage::Encryption).await?;
        tx.commit().await?;
        let document = HIARequestOrderData {
            version: ctx.version(),
            authentication: AuthenticationPubKeyInfo {
                key: key_data(&ctx, &authentication)?,
                version: AuthenticationVersion::X002,
            },
            encryption: EncryptionPubKeyInfo {
                key: key_data(&ctx, &encryption)?,
                version: EncryptionVersion::E002,
            },
            partner_id: ctx.connection.partner_id.clone(),
            user_id: ctx.user.user_id.clone(),
        };
        let xml = document.to_xml().map_err(EngineError::protocol)?;
        self.send_unsecured(&ctx, OrderType::HIA, xml).await?;
        self.record_submitted(scope, &ctx, &[&authentication, &encryption], to)
            .await
    }

    /// Sends all three keys as certificates at once (H3K). NEW → INITIALISED.
    pub async fn send_h3k(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EngineError> {
        let ctx = self.user_context(scope, user).await?;
        if ctx.user.status != EbicsUserStatus::New {
            return Err(not_for_status(&ctx, ctx.user.status, "H3K needs NEW"));
        }
        let mut tx = self.store().scope(scope).begin().await?;
        let signature = public_key_for(&mut tx, user, KeyUsage::Signature).await?;
        let authentication = public_key_for(&mut tx, user, KeyUsage::Authentication).await?;
        let encryption = public_key_for(&mut tx, user, KeyUsage::Encryption).await?;
        tx.commit().await?;
        let certificate = |record: &PublicKeyRecord| {
            record
                .certificate
                .clone()
                .map(X509Data::from_certificate)
                .ok_or_else(|| {
                    EngineError::Precondition("H3K needs certificates for all keys".into())
                })
        };
        let document = H3KRequestOrderData {
            version: ctx.version(),
            signature: CertificateInfo {
                x509: certificate(&signature)?,
                version: SignatureVersion::A006,
            },
            authentication: CertificateInfo {
                x509: certificate(&authentication)?,
                version: AuthenticationVersion::X002,
            },
            encryption: CertificateInfo {
                x509: certificate(&encryption)?,
                version: EncryptionVersion::E002,
            },
            partner_id: ctx.connection.partner_id.clone(),
            user_id: ctx.user.user_id.clone(),
        };
        let xml = document.to_xml().map_err(EngineError::protocol)?;
        self.send_unsecured(&ctx, OrderType::H3K, xml).await?;
        self.record_submitted(
            scope,
            &ctx,
            &[&signature, &authentication, &encryption],
            EbicsUserStatus::Initialised,
        )
        .await
    }

    /// Fetches the bank's keys (HPB) for an INITIALISED (or READY) user and stores them
    /// UNVERIFIED, unless identical keys are already stored for the host. Returns the host's
    /// keys.
    pub async fn fetch_bank_keys(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<Vec<BankKey>, EngineError> {
        let session = self.open_session(scope, user, Requirement::OwnKeys).await?;
        let ctx = &session.ctx;
        if !matches!(
            ctx.user.status,
            EbicsUserStatus::Initialised | EbicsUserStatus::Ready
        ) {
            return Err(not_for_status(
                ctx,
                ctx.user.status,
                "HPB needs an INITIALISED user",
            ));
        }
        let request = NoPubKeyDigestsRequest {
            version: ctx.version(),
            host_id: ctx.host_id()?,
            nonce: Nonce::random(&mut rand::rngs::OsRng),
            timestamp: Utc::now(),
            partner_id: ctx.partner_id()?,
            user_id: ctx.user_id()?,
            system_id: ctx.system_id()?,
            product: Some(product()),
            order_type: OrderType::HPB,
            security_medium: SecurityMedium::default(),
        };
        let body = request
            .to_signed_xml(session.authentication_key())
            .map_err(EngineError::protocol)?;
        let response = session.exchange_key_management(self, body).await?;
        check_key_management(&OrderType::HPB, &response)?;
        let transfer = response
            .data_transfer
            .ok_or_else(|| EngineError::Protocol("HPB response without order data".into()))?;
        let compressed = encryption::decrypt(
            session.encryption_key(),
            &transfer.data_encryption_info.transaction_key,
            &transfer.order_data,
        )
        .map_err(EngineError::protocol)?;
        let xml = compression::decompress(&compressed, 1 << 20).map_err(EngineError::protocol)?;
        let hpb = HPBResponseOrderData::parse(&xml).map_err(EngineError::protocol)?;
        if hpb.host_id != ctx.host.host_id {
            return Err(EngineError::Protocol(format!(
                "HPB answer names host {}, expected {}",
                hpb.host_id, ctx.host.host_id
            )));
        }
        let received = [
            bank_key(
                ctx,
                BankKeyKind::Authentication,
                &hpb.authentication.key,
                hpb.authentication.version.as_str(),
            )?,
            bank_key(
                ctx,
                BankKeyKind::Encryption,
                &hpb.encryption.key,
                hpb.encryption.version.as_str(),
            )?,
        ];
        let mut tx = self.store().scope(scope).begin().await?;
        let known = tx.bank_keys().list_for_host(ctx.host.id).await?;
        for key in received {
            // The same key fetched again keeps its verification; a changed key starts unverified.
            let newest = known
                .iter()
                .filter(|k| k.kind == key.kind)
                .max_by_key(|k| (k.created_at, k.id));
            if newest.map(|k| k.key_hash.as_str()) != Some(key.key_hash.as_str()) {
                tracing::info!(host = %ctx.host.host_id, kind = %key.kind, hash = %key.key_hash, "bank key stored, awaiting verification");
                tx.bank_keys().create(key).await?;
            }
        }
        let keys = tx.bank_keys().list_for_host(ctx.host.id).await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// INITIALISED → READY once the host's current bank keys are VERIFIED; fails with
    /// [`EngineError::BankKeysNotVerified`] otherwise.
    pub async fn activate(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EngineError> {
        let session = self.open_session(scope, user, Requirement::Ready).await?;
        Ok(session.ctx.user.status)
    }

    /// Runs whatever onboarding steps are still due: INI, HIA, HPB, activation (if the bank
    /// keys are verified) and the sync. Stops without error where an operator must act (bank
    /// keys awaiting verification). Returns the user's status.
    pub async fn onboard(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<EbicsUserStatus, EngineError> {
        let mut status = self.user_context(scope, user).await?.user.status;
        if status == EbicsUserStatus::New {
            self.ensure_user_keys(scope, user).await?;
        }
        if matches!(
            status,
            EbicsUserStatus::New | EbicsUserStatus::PartlyInitialisedHia
        ) {
            status = self.send_ini(scope, user).await?;
        }
        if status == EbicsUserStatus::PartlyInitialisedIni {
            status = self.send_hia(scope, user).await?;
        }
        if status != EbicsUserStatus::Initialised {
            return Ok(status);
        }
        let keys = self.fetch_bank_keys(scope, user).await?;
        let ctx = self.user_context(scope, user).await?;
        match super::session::verified_bank_keys(&ctx.host, &keys) {
            Ok(_) => {}
            // Rejected keys block with an error; unverified ones wait for the operator.
            Err(EngineError::BankKeysNotVerified { reason, .. })
                if !reason.contains("rejected") =>
            {
                return Ok(status)
            }
            Err(e) => return Err(e),
        }
        status = self.activate(scope, user).await?;
        self.sync_user_data(scope, user).await?;
        Ok(status)
    }

    /// Downloads HTD (own subscriber data) and HAA, and stores the connection's order types,
    /// its accounts and the user's permissions.
    pub async fn sync_user_data(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
    ) -> Result<SyncReport, EngineError> {
        let htd = match self
            .download(scope, user, DownloadRequest::new(OrderType::HTD))
            .await?
        {
            DownloadOutcome::Data { file, .. } => self.read_file(scope, &file).await?,
            DownloadOutcome::NoData { .. } => {
                return Err(EngineError::Protocol("bank sent no HTD data".into()))
            }
        };
        let htd = HTDResponseOrderData::parse(&htd).map_err(EngineError::protocol)?;
        // HAA is optional at many banks: a refusal leaves the HTD view.
        let haa = match self
            .download(scope, user, DownloadRequest::new(OrderType::HAA))
            .await
        {
            Ok(DownloadOutcome::Data { file, .. }) => {
                let bytes = self.read_file(scope, &file).await?;
                HAAResponseOrderData::parse(&bytes).ok()
            }
            Ok(DownloadOutcome::NoData { .. }) | Err(EngineError::Bank { .. }) => None,
            Err(e) => return Err(e),
        };
        let ctx = self.user_context(scope, user).await?;
        let mut order_types: Vec<String> = htd
            .partner_info
            .order_infos
            .iter()
            .map(|o| o.order_type.clone())
            .chain(haa.iter().flat_map(|h| h.order_types.iter().cloned()))
            .collect();
        order_types.sort();
        order_types.dedup();

        let mut tx = self.store().scope(scope).begin().await?;
        tx.connections()
            .set_order_types(ctx.connection.id, &order_types)
            .await?;
        let existing = tx.accounts().list_for_connection(ctx.connection.id).await?;
        let mut account_ids = std::collections::HashMap::new();
        for info in &htd.partner_info.accounts {
            let iban = info.account_numbers.iter().find_map(|n| match n {
                AccountNumber::Standard {
                    number,
                    international: true,
                } => Some(number.clone()),
                _ => None,
            });
            let national = info.account_numbers.iter().find_map(|n| match n {
                AccountNumber::Standard {
                    number,
                    international: false,
                } => Some(number.clone()),
                AccountNumber::National { number, .. } => Some(number.clone()),
                _ => None,
            });
            let bic = info.bank_codes.iter().find_map(|c| match c {
                BankCode::Standard {
                    code,
                    international: true,
                    ..
                } => Some(code.clone()),
                _ => None,
            });
            let bank_code = info.bank_codes.iter().find_map(|c| match c {
                BankCode::Standard {
                    code,
                    international: false,
                    ..
                } => Some(code.clone()),
                BankCode::National { code, .. } => Some(code.clone()),
                _ => None,
            });
            let found = existing.iter().find(|a| {
                a.bank_account_id.as_deref() == Some(info.id.as_str())
                    || (iban.is_some() && a.iban == iban)
            });
            let id = match found {
                Some(account) => account.id,
                None => {
                    tx.accounts()
                        .create(
                            ctx.connection.id,
                            NewAccount {
                                bank_account_id: Some(info.id.clone()),
                                iban,
                                national_number: national,
                                bank_code,
                                bic,
                                holder_name: info
                                    .account_holder
                                    .clone()
                                    .or_else(|| info.description.clone())
                                    .unwrap_or_default(),
                                currency: info.currency.clone(),
                            },
                        )
                        .await?
                        .id
                }
            };
            account_ids.insert(info.id.clone(), id);
        }
        let mut permissions = Vec::new();
        for permission in &htd.user_info.permissions {
            let level = match permission.authorisation_level {
                Some(AuthorisationLevel::E) => SignatureClass::E,
                Some(AuthorisationLevel::A) => SignatureClass::A,
                Some(AuthorisationLevel::B) => SignatureClass::B,
                Some(AuthorisationLevel::T) | None => SignatureClass::T,
            };
            let account = permission
                .account_id
                .as_ref()
                .and_then(|id| account_ids.get(id).copied());
            let types: Vec<String> = if permission.order_types.is_empty() {
                permission
                    .service
                    .iter()
                    .map(|s| format!("BTF:{}", s.service_name))
                    .collect()
            } else {
                permission.order_types.clone()
            };
            for order_type in types {
                permissions.push(NewPermission {
                    ebics_user_id: ctx.user.id,
                    order_type,
                    account_id: account,
                    authorisation_level: level,
                    max_amount: permission.max_amount.as_ref().map(|a| a.value.to_string()),
                    currency: permission.max_amount.as_ref().map(|a| a.currency.clone()),
                });
            }
        }
        let stored = tx
            .permissions()
            .replace_for_user(ctx.user.id, permissions)
            .await?;
        tx.commit().await?;
        Ok(SyncReport {
            order_types,
            accounts: account_ids.len(),
            permissions: stored.len(),
        })
    }
}

fn bank_key(
    ctx: &UserContext,
    kind: BankKeyKind,
    data: &PublicKeyData,
    version: &str,
) -> Result<NewBankKey, EngineError> {
    let (key, certificate) = match data {
        PublicKeyData::Rsa { key, x509, .. } => (
            PublicKey::from_modulus_exponent(&key.modulus, &key.exponent)
                .map_err(EngineError::key)?,
            x509.as_ref().map(|x| x.certificate.clone()),
        ),
        PublicKeyData::Certificate(x509) => {
            let certificate = Certificate::from_der(&x509.certificate).map_err(EngineError::key)?;
            (
                certificate.public_key().clone(),
                Some(x509.certificate.clone()),
            )
        }
    };
    let parsed = certificate
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(EngineError::key)?;
    let hash = public_key_hash(ctx.version(), &key, parsed.as_ref()).map_err(EngineError::key)?;
    Ok(NewBankKey {
        bank_host_id: ctx.host.id,
        kind,
        version: version.to_owned(),
        public_key: key.to_spki_der().map_err(EngineError::key)?,
        certificate,
        key_hash: hash.to_hex_upper(),
    })
}

fn not_for_status(ctx: &UserContext, status: EbicsUserStatus, needed: &'static str) -> EngineError {
    EngineError::UserNotReady {
        user_id: ctx.user.user_id.clone(),
        status,
        needed,
    }
}
