//! The EBICS client's error type.

use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_storage::{EbicsUserStatus, FileId, KeyUsage, KontorFailure, ResultCode, TransactionId};

/// What the bank answered when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRejection {
    /// The bank's EBICS return code, e.g. `091002`; for a refusal read back from a stored
    /// transaction, the code it ended with (Kontor's own where the bank gave none).
    pub code: ResultCode,
    /// The bank's report text (or the code's meaning when the bank sent none).
    pub text: String,
    /// Whether it is a technical return code (`091002` means another thing as a business
    /// code); `false` when only the stored code is known.
    pub technical: bool,
}

impl BankRejection {
    /// The refusal a transaction that ended FAILED or ABORTED records: its code and text.
    pub fn of_ended(transaction: &kontor_storage::Transaction) -> Self {
        Self {
            // Every ending records a code (`ledger::Ending`); a row without one shows none.
            code: transaction
                .failure_code
                .clone()
                .unwrap_or_else(|| "".into()),
            text: transaction.failure_text.clone().unwrap_or_default(),
            technical: false,
        }
    }
}

impl std::fmt::Display for BankRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Why an EBICS step failed.
#[derive(Debug, thiserror::Error)]
pub enum EbicsError {
    #[error(transparent)]
    Storage(#[from] kontor_storage::StorageError),
    #[error("key handling failed: {0}")]
    Key(String),
    /// The user lacks a key the step needs (generate or register it first).
    #[error("EBICS user {user_id} has no {usage} key; generate keys first")]
    MissingKey { user_id: String, usage: KeyUsage },
    /// The user's public key for this usage is not stored (nor registered by its signer).
    #[error("no {0} public key is stored for this user")]
    NoPublicKey(KeyUsage),
    /// A key exists but lacks what this protocol version needs (H005: certificates).
    #[error("{0}")]
    KeyUnusable(&'static str),
    /// A certificate the bank sent for its own key (HPB) is outside its validity period, not
    /// issued by the CA configured for the host, or made for another use (key usage): the
    /// keys are not stored.
    #[error("the bank's {kind} certificate is refused: {reason}")]
    BankCertificateInvalid {
        kind: kontor_storage::BankKeyKind,
        reason: kontor_protocol::certificate::TrustError,
    },
    /// A BTF service was asked of a host that speaks EBICS 2.5.
    #[error("BTF services need H005, host speaks {version}")]
    BtfNeedsH005 {
        version: kontor_protocol::ProtocolVersion,
    },
    #[error("an upload needs at least one electronic signature")]
    NoSignatures,
    /// The user is not in a status that allows this step.
    #[error("EBICS user {user_id} is {status}; {needed}")]
    UserNotReady {
        user_id: String,
        status: EbicsUserStatus,
        needed: &'static str,
    },
    /// The bank's keys are missing, unverified or rejected: nothing but INI/HIA/H3K/HPB may
    /// be sent until an operator verifies them.
    #[error("bank keys of host {host_id} are not usable: {reason}")]
    BankKeysNotVerified {
        host_id: String,
        reason: BankKeyBlock,
    },
    /// An operator removed the host while connections still referred to it: nothing is sent
    /// to it any more.
    #[error("bank host {host_id} is retired; nothing is sent to it")]
    HostRetired { host_id: String },
    /// The network failed, after retries where the failure was retryable.
    #[error(transparent)]
    Transport(#[from] super::transport::TransportError),
    /// The bank refused the request with a permanent (or retry-exhausted) return code.
    #[error("bank refused {order_type}: {rejection}")]
    Bank {
        order_type: OrderType,
        rejection: BankRejection,
        /// The persisted transaction, when the refusal ended one (its trail has the details).
        transaction: Option<TransactionId>,
    },
    /// An answer's X002 signature does not verify with the host's verified authentication
    /// key: it is never accepted (after the retries an unreadable answer gets).
    #[error("the bank's signature does not verify: {0}")]
    BankSignature(kontor_protocol::xmldsig::XmlDsigError),
    /// A message from the bank could not be parsed or decrypted.
    #[error("invalid response from bank: {0}")]
    Protocol(String),
    /// The request cannot be built from what is stored (an identifier or service the
    /// protocol does not allow, a record that does not serialise): nothing was sent.
    #[error("the request cannot be built: {0}")]
    Request(String),
    /// A transaction's stored request or recovery record cannot be read back: waiting
    /// cannot make it readable, so recovery ends the transaction.
    #[error("{what} of transaction {transaction} unreadable: {message}")]
    RecordUnreadable {
        transaction: TransactionId,
        what: &'static str,
        message: String,
    },
    /// A spooled upload segment no longer matches the checksum recorded when it was written.
    #[error("spooled segment {segment} of transaction {transaction} is damaged")]
    SpoolDamaged {
        transaction: TransactionId,
        segment: i64,
    },
    #[error("file {0} has no content")]
    FileWithoutContent(FileId),
    /// An on-disk file outside the data directory, or without one configured.
    #[error("cannot resolve stored file {0}")]
    FileUnreachable(FileId),
    /// A stored file read for an upload no longer has the size and SHA-256 recorded when it
    /// was stored: it is not sent (its signatures cover what was stored).
    #[error("stored file {0} no longer matches its recorded size and SHA-256; nothing was sent")]
    FileChanged(FileId),
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Why the host's bank keys block every order but key management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankKeyBlock {
    /// HPB has not delivered a key of this kind yet.
    NotFetched(kontor_storage::BankKeyKind),
    /// The newest key of this kind waits for an operator.
    AwaitingVerification {
        kind: kontor_storage::BankKeyKind,
        hash: KeyHash,
    },
    /// The bank answered 091008 (EBICS_BANK_PUBKEY_UPDATE_REQUIRED): it rolled its keys. HPB
    /// fetched the new ones; the newest of this kind waits for an operator.
    UpdateRequired {
        rejection: BankRejection,
        kind: kontor_storage::BankKeyKind,
        hash: KeyHash,
    },
    /// An operator rejected the newest key of this kind.
    Rejected {
        kind: kontor_storage::BankKeyKind,
        hash: KeyHash,
        by: String,
    },
    /// The session was opened for key management only.
    NotLoaded,
}

impl BankKeyBlock {
    /// Whether only an operator's verification is missing (onboarding then waits, rather
    /// than failing).
    pub fn awaits_operator(&self) -> bool {
        matches!(
            self,
            Self::NotFetched(_) | Self::AwaitingVerification { .. } | Self::UpdateRequired { .. }
        )
    }
}

impl std::fmt::Display for BankKeyBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFetched(kind) => write!(f, "no {kind} key fetched yet (HPB)"),
            Self::AwaitingVerification { kind, hash } => write!(
                f,
                "bank key verification required: {kind} key {} awaits verification by an operator",
                hash.to_hex_upper()
            ),
            Self::UpdateRequired {
                rejection,
                kind,
                hash,
            } => write!(
                f,
                "bank key verification required: the bank answered {rejection}; its new {kind} \
                 key {} awaits verification by an operator against the bank's letter",
                hash.to_hex_upper()
            ),
            Self::Rejected { kind, hash, by } => {
                write!(f, "{kind} key {} was rejected by {by}", hash.to_hex_upper())
            }
            Self::NotLoaded => f.write_str("session opened without bank keys"),
        }
    }
}

impl EbicsError {
    pub(crate) fn protocol(e: impl std::fmt::Display) -> Self {
        Self::Protocol(e.to_string())
    }

    /// The failure code of a transaction that cannot succeed however often it is tried
    /// again: the bank's answer does not verify or does not parse, or the request cannot be
    /// built. `None` for every other error (the network, a refusal, storage).
    pub fn permanent_failure_code(&self) -> Option<KontorFailure> {
        match self {
            Self::BankSignature(_) => Some(KontorFailure::BankSignatureInvalid),
            Self::Protocol(_) => Some(KontorFailure::BankAnswerUnreadable),
            Self::Request(_) => Some(KontorFailure::RequestInvalid),
            _ => None,
        }
    }

    pub(crate) fn request(e: impl std::fmt::Display) -> Self {
        Self::Request(e.to_string())
    }

    pub(crate) fn key(e: impl std::fmt::Display) -> Self {
        Self::Key(e.to_string())
    }

    /// The refusal of a transaction that ended FAILED or ABORTED, from its record.
    pub(crate) fn ended(transaction: &kontor_storage::Transaction) -> Self {
        Self::Bank {
            order_type: transaction.order_type.clone(),
            rejection: BankRejection::of_ended(transaction),
            transaction: Some(transaction.id),
        }
    }
}
