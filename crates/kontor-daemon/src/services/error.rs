//! The services' error type: what a workflow refused or could not do, typed, for the API to
//! map once to its JSON errors.

use kontor_storage::{EbicsUser, EbicsUserStatus, ResultCode, StorageError};

use super::orders::OrderError;
use super::scheduler::ScheduleSpecError;
use super::veu::VeuError;
use crate::ebics::EbicsError;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// This process runs no EBICS client (tests, a read-only replica).
    #[error("no EBICS client runs in this process; try again later")]
    BankUnavailable,
    /// The bank answered with an EBICS error.
    #[error("the bank refused: {code} {text}")]
    BankRefused { code: ResultCode, text: String },
    /// The bank could not be reached; the call may be retried.
    #[error("the bank could not be reached: {0}")]
    BankUnreachable(String),
    /// The bank answered, but the answer cannot be used. Asking again does not help; an
    /// operator must look at the bank's side.
    #[error("the bank's answer is unusable: {message}")]
    BankAnswerUnusable {
        why: UnusableAnswer,
        message: String,
    },
    /// The records are not in a state where the step applies (e.g. a user without keys).
    #[error("{0}")]
    Precondition(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Something that cannot happen with consistent records did.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a bank's answer cannot be used: unreadable is not unreachable, and not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnusableAnswer {
    /// It does not parse or decrypt.
    Unreadable,
    /// Its X002 signature does not verify with the verified bank key.
    SignatureInvalid,
}

/// A request a service refuses by a business or configuration rule.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("an operator with this e-mail address is already a member of this tenant")]
    EmailTaken,
    #[error("an owner cannot demote themselves; another owner must do it")]
    OwnerDemotesSelf,
    #[error("an owner cannot remove themselves; another owner must do it")]
    OwnerRemovesSelf,
    #[error("a tenant with this name already exists")]
    TenantNameTaken,
    #[error("a bank host with this host id already exists")]
    HostIdTaken,
    #[error(
        "the host's users still have {orders} unfinished order(s) and {transactions} running \
         transfer(s); finish or cancel them first"
    )]
    HostBusy { orders: i64, transactions: i64 },
    #[error("bank host {0} is retired; nothing is sent to it")]
    HostRetired(String),
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    HttpsRequired(String),
    #[error("{0}")]
    InvalidCaBundle(String),
    #[error("this connection already has an account with this IBAN")]
    AccountExists,
    #[error("this connection already has an EBICS user with this user id")]
    UserExists,
    #[error("the user is {status}, not {expected}")]
    UserNotIn {
        status: EbicsUserStatus,
        expected: EbicsUserStatus,
    },
    #[error(
        "the user is {0} and its signature key is known to the bank; change it through the \
         bank's key change, not by registering a new one"
    )]
    SignerKeyKnownToBank(EbicsUserStatus),
    #[error("{0}")]
    CertificateRequired(String),
    #[error("the schedule has runs; disable it instead")]
    ScheduleHasRuns,
    #[error("cron: {0}")]
    InvalidCron(ScheduleSpecError),
    #[error("the signer is not a user of the item's bank connection")]
    SignerNotInPartner,
    #[error("this key is not the signer's registered signature key")]
    UnknownSignerKey,
    #[error("{0}")]
    WebhookTarget(super::webhooks::target::TargetError),
    /// The user's signature key is held by a signer: the daemon cannot sign the key change.
    #[error(
        "the user's signature key is held by a signer, who must sign every key change: the \
         signer rotates the signature key with `kontor sign rotate`"
    )]
    SignerMustSignKeyChange,
    /// The daemon holds the signature key; a signer cannot rotate it.
    #[error(
        "the user's signature key is held by the daemon; change it with a PUB or HCS key change"
    )]
    DaemonHoldsSignatureKey,
    /// A key change waits until the user's running transfers have ended, so none of them
    /// meets keys it did not start with.
    #[error("{0} transfer(s) of this user are still running; try again when they have ended")]
    TransfersInFlight(usize),
    #[error("a key change of this user is already with the bank")]
    KeyChangeInProgress,
    /// Settling a key change that is decided already (or has no keys waiting).
    #[error(
        "this key change is not undecided: its keys are no longer waiting for the bank's verdict"
    )]
    NothingUndecided,
    /// Orders carry an ES of the signature key a change would replace and are not with the
    /// bank yet; the bank would refuse them afterwards.
    #[error(
        "{0} order(s) carry this user's signature and have not reached the bank; submit or \
         cancel them before changing the signature key"
    )]
    SignedOrdersWaiting(usize),
    /// A signer's electronic signature does not verify, or is of another version than the key.
    #[error("{0}")]
    InvalidSignature(String),
    /// A signer's key change document or signature is not acceptable.
    #[error("{0}")]
    InvalidKeyChange(String),
    /// A certificate that cannot be used: unreadable, for another key, or not valid now.
    #[error("{0}")]
    InvalidCertificate(String),
    /// A key's certificate can change only before the key was sent (INI/HIA/H3K).
    #[error("the {0} key was already sent to the bank; its certificate can no longer change")]
    KeyNotPending(kontor_storage::KeyUsage),
    /// H3K is not possible for this user (version, status or certificates).
    #[error("H3K: {0}")]
    H3kNotPossible(String),
    /// The bank refused the certificates of an H3K with a key management or X.509 code.
    #[error(
        "the bank refused the H3K certificates ({code} {text}); have the bank's CA issue them \
         (import them for the user's keys) or onboard with INI and HIA and the letters"
    )]
    H3kRefusedByBank { code: ResultCode, text: String },
}

impl From<EbicsError> for ServiceError {
    fn from(error: EbicsError) -> Self {
        match error {
            EbicsError::Storage(e) => Self::Storage(e),
            EbicsError::Bank { rejection, .. } => Self::BankRefused {
                code: rejection.code,
                text: rejection.text,
            },
            EbicsError::Transport(e) => Self::BankUnreachable(e.to_string()),
            EbicsError::HostRetired { host_id } => Refusal::HostRetired(host_id).into(),
            EbicsError::BankSignature(_) => Self::BankAnswerUnusable {
                why: UnusableAnswer::SignatureInvalid,
                message: error.to_string(),
            },
            EbicsError::Protocol(_) => Self::BankAnswerUnusable {
                why: UnusableAnswer::Unreadable,
                message: error.to_string(),
            },
            other => Self::Precondition(Box::new(other)),
        }
    }
}

impl From<VeuError> for ServiceError {
    fn from(error: VeuError) -> Self {
        match error {
            VeuError::Storage(e) => Self::Storage(e),
            VeuError::Bank { code, text, .. } => Self::BankRefused { code, text },
            VeuError::Exchange(e) => e.into(),
            VeuError::Unreadable { .. } => Self::BankAnswerUnusable {
                why: UnusableAnswer::Unreadable,
                message: error.to_string(),
            },
            VeuError::Order(OrderError::Storage(e)) => Self::Storage(e),
            other => Self::Precondition(Box::new(other)),
        }
    }
}

impl Refusal {
    /// Refuses a workflow for a user that is not in the `expected` status.
    pub(crate) fn unless_user_in(user: &EbicsUser, expected: EbicsUserStatus) -> Result<(), Self> {
        if user.status == expected {
            Ok(())
        } else {
            Err(Self::UserNotIn {
                status: user.status,
                expected,
            })
        }
    }
}

impl ServiceError {
    /// Whether only an operator's verification of the bank's keys stands in the way (a
    /// rollover seen, or keys not verified yet): waiting, not failing, is the answer.
    pub(crate) fn awaits_bank_key_verification(&self) -> bool {
        let Self::Precondition(source) = self else {
            return false;
        };
        matches!(
            source.downcast_ref::<EbicsError>(),
            Some(EbicsError::BankKeysNotVerified { reason, .. }) if reason.awaits_operator()
        )
    }

    /// An order workflow's error where the route reports it as a failed precondition (the
    /// submission of an order), its storage errors as they are.
    pub(crate) fn precondition(error: OrderError) -> Self {
        match error {
            OrderError::Storage(e) => Self::Storage(e),
            OrderError::File(e) => Self::Internal(Box::new(e)),
            other => Self::Precondition(Box::new(other)),
        }
    }
}

/// Names a uniqueness conflict of a create as the refusal a client sees (`host_id_taken`,
/// ...); every other storage error stays what it is.
pub(crate) trait OnConflict<T> {
    fn on_conflict(self, refusal: Refusal) -> Result<T, ServiceError>;
}

impl<T> OnConflict<T> for Result<T, StorageError> {
    fn on_conflict(self, refusal: Refusal) -> Result<T, ServiceError> {
        self.map_err(|e| match e {
            StorageError::Conflict { .. } => refusal.into(),
            other => other.into(),
        })
    }
}
