//! The services' port to the EBICS floor, and its adapter for [`ebics::Client`].
//!
//! Every business workflow that needs the bank reaches it through [`Bank`]: key management
//! orders, downloads (with the delivered bytes), uploads and VEU signatures, with the EBICS
//! client's typed [`EbicsError`]. The daemon runs the real client; tests stand in for the bank
//! here without a network. The finer use-case ports ([`OrderUploader`], [`StatementDownloader`],
//! [`VeuBank`]) are implemented for every `Bank`, so a workflow can be tested against a fake of
//! just the part it uses.
//!
//! [`OrderUploader`]: super::orders::OrderUploader
//! [`StatementDownloader`]: super::statement_job::StatementDownloader
//! [`VeuBank`]: super::veu::VeuBank

use std::future::Future;

use futures::future::BoxFuture;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::return_code::ReturnCode;
use kontor_storage::{
    BankKey, EbicsUserId, EbicsUserStatus, KeyPair, StoredFile, TenantScope, TransactionId,
};

use crate::ebics::session::verified_bank_keys;
use crate::ebics::{
    self, BankKeyBlock, DownloadOutcome, DownloadRequest, EbicsError, KeyOrder, KeyProbe,
    UploadOutcome, UploadRequest, VeuSignature,
};

/// What a download delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The order data, stored as `file` (read it through [`Bank::files`]: a statement of any
    /// size is never read whole), and the transaction that carried it.
    Data {
        file: StoredFile,
        transaction: TransactionId,
    },
    /// `EBICS_NO_DOWNLOAD_DATA_AVAILABLE`.
    NoData { transaction: TransactionId },
}

/// The EBICS user a bank operation is made as, within the tenant that holds it: the scope
/// every call acts within.
#[derive(Debug, Clone, Copy)]
pub struct AsUser<'a> {
    pub scope: &'a TenantScope,
    pub user: EbicsUserId,
}

/// What every bank operation returns: the answer to come, or the EBICS client's error.
pub type BankCall<'a, T> = BoxFuture<'a, Result<T, EbicsError>>;

/// The EBICS operations the services use. Every call acts within its user's scope only.
pub trait Bank: Send + Sync {
    /// INI, HIA or H3K; returns the user's status afterwards.
    fn send_key_order<'a>(
        &'a self,
        who: AsUser<'a>,
        order: KeyOrder,
    ) -> BankCall<'a, EbicsUserStatus>;

    /// HPB: stores the bank's keys (unverified when new) and returns the host's keys.
    fn fetch_bank_keys<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, Vec<BankKey>>;

    /// INITIALISED → READY once the host's bank keys are verified.
    fn activate<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, EbicsUserStatus>;

    /// A persisted download, with the bytes it delivered.
    fn download<'a>(&'a self, who: AsUser<'a>, request: DownloadRequest) -> BankCall<'a, Delivery>;

    /// A persisted upload.
    fn upload<'a>(&'a self, who: AsUser<'a>, request: UploadRequest)
        -> BankCall<'a, UploadOutcome>;

    /// HVE or HVS with the signer's signature.
    fn veu_signature<'a>(&'a self, signer: AsUser<'a>, signature: VeuSignature)
        -> BankCall<'a, ()>;

    /// SPR: the user asks the bank to suspend it (with the signer's ES when a signer holds
    /// the signature key); `Ok` once the bank confirmed.
    fn suspend<'a>(
        &'a self,
        _who: AsUser<'a>,
        _signed: Option<ebics::SignerSpr>,
    ) -> BankCall<'a, ()> {
        Box::pin(async { Err(EbicsError::Request("this bank port cannot send SPR".into())) })
    }

    /// HPB made with these own keys of the user (authentication, encryption): whether the
    /// bank holds them (a key change whose answer was lost is decided with it).
    fn probe_keys<'a>(
        &'a self,
        _who: AsUser<'a>,
        _keys: (&'a KeyPair, &'a KeyPair),
    ) -> BankCall<'a, KeyProbe> {
        Box::pin(async {
            Err(EbicsError::Request(
                "this bank port cannot probe keys".into(),
            ))
        })
    }

    /// Where the files its downloads store can be read (a bank that stores none: inline).
    fn files(&self) -> ebics::Files {
        ebics::Files::inline_only()
    }
}

impl ebics::Client {
    /// The bank refused an order type as not allowed: the user's stored permissions are
    /// stale, so the sync runs again (the sync's own downloads never trigger this).
    async fn resync_if_refused<T>(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        outcome: &Result<T, EbicsError>,
    ) {
        if let Err(EbicsError::Bank { rejection, .. }) = outcome {
            super::onboarding::resync_if_not_allowed(
                self.store(),
                self,
                scope,
                user,
                &rejection.code,
            )
            .await;
        }
    }
}

impl ebics::Client {
    /// `call`, with a refusal for rolled bank keys turned into a hold
    /// ([`Self::hold_if_bank_keys_rolled`]).
    fn held<'a, T: Send + 'a>(
        &'a self,
        who: AsUser<'a>,
        call: impl Future<Output = Result<T, EbicsError>> + Send + 'a,
    ) -> BankCall<'a, T> {
        Box::pin(async move {
            let outcome = call.await;
            self.hold_if_bank_keys_rolled(who.scope, who.user, outcome)
                .await
        })
    }

    /// What a refusal says about the host or the user, acted on in one place. 091002
    /// (technical) locks the user ([`super::users::lock_if_refused_by_bank`]).
    ///
    /// 091008 EBICS_BANK_PUBKEY_UPDATE_REQUIRED: the bank rolled its keys. HPB fetches the new
    /// ones (stored unverified as the next generation, audited), and the refusal becomes a
    /// hold ([`BankKeyBlock::UpdateRequired`]) with the bank's code: nothing more is sent for
    /// the host until an operator verified the new keys against the bank's letter. Any other
    /// outcome passes unchanged.
    async fn hold_if_bank_keys_rolled<T>(
        &self,
        scope: &TenantScope,
        user: EbicsUserId,
        outcome: Result<T, EbicsError>,
    ) -> Result<T, EbicsError> {
        let rejection = match &outcome {
            Err(EbicsError::Bank { rejection, .. })
                if rejection.code.is(&ReturnCode::BankPubkeyUpdateRequired) =>
            {
                rejection.clone()
            }
            Err(EbicsError::Bank { rejection, .. }) => {
                if let Err(error) =
                    super::users::lock_if_refused_by_bank(self.store(), scope, user, rejection)
                        .await
                {
                    tracing::warn!(%error, "recording the bank's refusal of the user failed");
                }
                return outcome;
            }
            _ => return outcome,
        };
        let keys = match ebics::Client::fetch_bank_keys(self, scope, user).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, "HPB after 091008 failed");
                return outcome;
            }
        };
        let host = match ebics::load_user_at_host(self.store(), scope, user).await {
            Ok(ctx) => ctx.host,
            Err(_) => return outcome,
        };
        match verified_bank_keys(&host, &keys) {
            Err(EbicsError::BankKeysNotVerified {
                host_id,
                reason: BankKeyBlock::AwaitingVerification { kind, hash },
            }) => Err(EbicsError::BankKeysNotVerified {
                host_id,
                reason: BankKeyBlock::UpdateRequired {
                    rejection,
                    kind,
                    hash,
                },
            }),
            // The keys did not change (or were rejected): the refusal stands as it is.
            _ => outcome,
        }
    }
}

impl Bank for ebics::Client {
    fn send_key_order<'a>(
        &'a self,
        who: AsUser<'a>,
        order: KeyOrder,
    ) -> BankCall<'a, EbicsUserStatus> {
        Box::pin(ebics::Client::send_key_order(
            self, who.scope, who.user, order,
        ))
    }

    fn fetch_bank_keys<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, Vec<BankKey>> {
        Box::pin(ebics::Client::fetch_bank_keys(self, who.scope, who.user))
    }

    fn activate<'a>(&'a self, who: AsUser<'a>) -> BankCall<'a, EbicsUserStatus> {
        Box::pin(ebics::Client::activate(self, who.scope, who.user))
    }

    fn download<'a>(&'a self, who: AsUser<'a>, request: DownloadRequest) -> BankCall<'a, Delivery> {
        let AsUser { scope, user } = who;
        Box::pin(async move {
            let order_type = request.order_type.clone();
            let outcome = ebics::Client::download(self, scope, user, request).await;
            let outcome = self.hold_if_bank_keys_rolled(scope, user, outcome).await;
            if !matches!(
                order_type,
                OrderType::HTD | OrderType::HKD | OrderType::HAA | OrderType::HPD
            ) {
                self.resync_if_refused(scope, user, &outcome).await;
            }
            match outcome? {
                DownloadOutcome::NoData { transaction } => Ok(Delivery::NoData { transaction }),
                DownloadOutcome::Data { file, transaction } => {
                    Ok(Delivery::Data { file, transaction })
                }
            }
        })
    }

    fn upload<'a>(
        &'a self,
        who: AsUser<'a>,
        request: UploadRequest,
    ) -> BankCall<'a, UploadOutcome> {
        let AsUser { scope, user } = who;
        Box::pin(async move {
            let outcome = ebics::Client::upload(self, scope, user, request).await;
            let outcome = self.hold_if_bank_keys_rolled(scope, user, outcome).await;
            self.resync_if_refused(scope, user, &outcome).await;
            outcome
        })
    }

    fn veu_signature<'a>(
        &'a self,
        signer: AsUser<'a>,
        signature: VeuSignature,
    ) -> BankCall<'a, ()> {
        let call = ebics::Client::veu_signature(self, signer.scope, signer.user, signature);
        self.held(signer, call)
    }

    fn suspend<'a>(
        &'a self,
        who: AsUser<'a>,
        signed: Option<ebics::SignerSpr>,
    ) -> BankCall<'a, ()> {
        self.held(
            who,
            ebics::Client::send_spr(self, who.scope, who.user, signed),
        )
    }

    fn probe_keys<'a>(
        &'a self,
        who: AsUser<'a>,
        (authentication, encryption): (&'a KeyPair, &'a KeyPair),
    ) -> BankCall<'a, KeyProbe> {
        Box::pin(ebics::Client::probe_keys(
            self,
            who.scope,
            who.user,
            authentication,
            encryption,
        ))
    }

    fn files(&self) -> ebics::Files {
        ebics::Client::files(self).clone()
    }
}
