//! The API's door to the engine: everything that needs a conversation with the bank.
//!
//! Handlers validate the request and check the caller's scope; the engine does the EBICS work.
//! The API holds an `Option<Arc<dyn EngineCommands>>`: without an engine (tests, a read-only
//! replica) these routes answer 503 `engine_unavailable` and nothing is changed.

use futures::future::BoxFuture;
use kontor_storage::{
    EbicsUserId, Order, OrderId, ScheduleId, StorageError, TenantScope, VeuItemId,
};

/// A detached A005/A006 signature computed by a signer on their own machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedSignature {
    /// The EBICS user who signed (their key is registered with the daemon).
    pub signer: EbicsUserId,
    /// A005 or A006.
    pub version: kontor_protocol::SignatureVersion,
    pub value: Vec<u8>,
}

/// What the bank shows about a VEU item before signing: the digest to sign.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VeuDigest {
    /// The order data digest (HVD `DataDigest`), lower-case hex: what a signer signs.
    pub data_digest: String,
    /// The signature version the bank expects.
    pub signature_version: String,
}

/// Why an engine command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum EngineCommandError {
    /// The record is not in a state where the command applies (e.g. user not NEW).
    #[error("{0}")]
    Precondition(String),
    /// The bank answered with an EBICS error.
    #[error("bank refused: {code} {text}")]
    BankRefused { code: String, text: String },
    /// The bank could not be reached; the command may be retried.
    #[error("bank unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type EngineResult<T> = BoxFuture<'static, Result<T, EngineCommandError>>;

/// Commands the admin API hands to the engine. Every command carries the caller's tenant
/// scope; the engine must act only within it.
pub trait EngineCommands: Send + Sync {
    /// Starts onboarding (INI/HIA or H3K, then HPB) for a NEW user.
    fn initialise_user(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()>;
    /// Uploads a SIGNED order exactly once and returns its state afterwards. Any number of
    /// concurrent or repeated calls, in any instance, cause one upload; the others return the
    /// order as it is (SUBMITTED while the winning call is still uploading).
    fn submit_order(&self, scope: TenantScope, order: OrderId) -> EngineResult<Order>;
    /// Refreshes the VEU items of a user's connection from the bank (HVU/HVZ).
    fn sync_veu(&self, scope: TenantScope, user: EbicsUserId) -> EngineResult<()>;
    /// Fetches the digest of a VEU item that a signer must sign (HVD).
    fn veu_digest(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signer: EbicsUserId,
    ) -> EngineResult<VeuDigest>;
    /// Adds a signer's signature to a VEU item at the bank (HVE).
    fn approve_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signature: DetachedSignature,
    ) -> EngineResult<()>;
    /// Cancels a VEU item at the bank (HVS), signed by `signature`.
    fn cancel_veu(
        &self,
        scope: TenantScope,
        item: VeuItemId,
        signature: DetachedSignature,
    ) -> EngineResult<()>;
    /// Runs a schedule now, outside its cron timing.
    fn run_schedule(&self, scope: TenantScope, schedule: ScheduleId) -> EngineResult<()>;
}
