//! Every status Kontor stores, and the only place where status changes are decided.
//!
//! Each enum maps to a TEXT column. `transition` is the single authority on which moves are
//! legal; repositories write the value it returns with a compare-and-set, never a status they
//! made up.

use std::fmt;
use std::str::FromStr;

use kontor_protocol::certificate::KeyPurpose;

/// A status value read from the database that no enum variant matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?} in column {column}")]
pub struct UnknownEnumValue {
    pub column: &'static str,
    pub value: String,
}

/// A status change that the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal {machine} transition from {from} to {to}")]
pub struct IllegalTransition {
    pub machine: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

/// Implemented by every stored enum: its column name, string form and parsing.
pub trait DbEnum: Sized + Copy + 'static {
    /// The column (or concept) name used in errors.
    const COLUMN: &'static str;
    /// All variants, in declaration order.
    const ALL: &'static [Self];
    /// The stored string.
    fn as_str(self) -> &'static str;
    /// Parses a stored string.
    fn parse_db(value: &str) -> Result<Self, UnknownEnumValue> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == value)
            .ok_or_else(|| UnknownEnumValue {
                column: Self::COLUMN,
                value: value.to_owned(),
            })
    }
}

/// Declares a stored enum with its strings, `Display`, `FromStr` and `DbEnum`.
macro_rules! db_enum {
    ($(#[$meta:meta])* $name:ident, $column:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl DbEnum for $name {
            const COLUMN: &'static str = $column;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl $name {
            /// The stored string.
            pub fn as_str(self) -> &'static str {
                <Self as DbEnum>::as_str(self)
            }
        }

        crate::db::val_as_text!($name => |v: &$name| v.as_str().to_owned());

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownEnumValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as DbEnum>::parse_db(s)
            }
        }
    };
}

fn check<T: DbEnum>(
    machine: &'static str,
    from: T,
    to: T,
    allowed: bool,
) -> Result<T, IllegalTransition> {
    if allowed {
        Ok(to)
    } else {
        Err(IllegalTransition {
            machine,
            from: from.as_str(),
            to: to.as_str(),
        })
    }
}

db_enum!(
    /// Lifecycle of an EBICS user at its bank.
    EbicsUserStatus, "ebics_users.status" {
        New => "NEW",
        PartlyInitialisedIni => "PARTLY_INITIALISED_INI",
        PartlyInitialisedHia => "PARTLY_INITIALISED_HIA",
        /// INI and HIA (or H3K) sent; waiting for the bank keys to be fetched and verified.
        Initialised => "INITIALISED",
        /// Bank keys verified; orders may be sent.
        Ready => "READY",
        Suspended => "SUSPENDED",
        Locked => "LOCKED",
    }
);

impl EbicsUserStatus {
    /// Moves to `to` if the EBICS onboarding rules allow it.
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use EbicsUserStatus::*;
        let allowed = match (self, to) {
            (New, PartlyInitialisedIni | PartlyInitialisedHia) => true,
            // H3K sends all three keys at once.
            (New, Initialised) => true,
            (PartlyInitialisedIni, Initialised) | (PartlyInitialisedHia, Initialised) => true,
            (Initialised, Ready) => true,
            (Ready, Suspended) | (Suspended, Ready) => true,
            // A suspended user is re-initialised from scratch (new INI/HIA).
            (Suspended, New) => true,
            (from, Locked) => from != Locked,
            (Locked, New) => true,
            _ => false,
        };
        check("EBICS user", self, to, allowed)
    }
}

db_enum!(
    /// Lifecycle of a key pair.
    KeyStatus, "key_pairs.status" {
        Pending => "PENDING",
        Submitted => "SUBMITTED",
        Active => "ACTIVE",
        Expired => "EXPIRED",
        Revoked => "REVOKED",
    }
);

impl KeyStatus {
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use KeyStatus::*;
        let allowed = matches!(
            (self, to),
            (Pending, Submitted)
                | (Submitted, Active)
                | (Active, Expired)
                | (Pending | Submitted | Active, Revoked)
        );
        check("key", self, to, allowed)
    }
}

db_enum!(
    /// Phase of a segmented EBICS upload or download.
    TransactionPhase, "transactions.phase" {
        Initialisation => "INITIALISATION",
        Transfer => "TRANSFER",
        Receipt => "RECEIPT",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Aborted => "ABORTED",
    }
);

impl TransactionPhase {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Aborted)
    }

    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use TransactionPhase::*;
        let allowed = match (self, to) {
            (Initialisation, Transfer) => true,
            // A single-segment upload or a download with one segment goes straight on.
            (Initialisation, Receipt) | (Initialisation, Completed) => true,
            (Transfer, Receipt) | (Transfer, Completed) => true,
            (Receipt, Completed) => true,
            (from, Failed | Aborted) => !from.is_final(),
            _ => false,
        };
        check("transaction", self, to, allowed)
    }
}

db_enum!(
    /// Lifecycle of a payment or other upload order.
    OrderStatus, "orders.status" {
        Draft => "DRAFT",
        PendingSignature => "PENDING_SIGNATURE",
        Signed => "SIGNED",
        Submitted => "SUBMITTED",
        Processing => "PROCESSING",
        Completed => "COMPLETED",
        Rejected => "REJECTED",
        Cancelled => "CANCELLED",
    }
);

impl OrderStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled)
    }

    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use OrderStatus::*;
        let allowed = match (self, to) {
            (Draft, PendingSignature) => true,
            // An order whose first signature already satisfies the rule (class E).
            (Draft | PendingSignature, Signed) => true,
            (Signed, Submitted) => true,
            (Submitted, Processing) => true,
            // The bank may refuse at upload time, before processing starts.
            (Submitted, Rejected) => true,
            (Processing, Completed | Rejected) => true,
            (Draft | PendingSignature | Signed, Cancelled) => true,
            _ => false,
        };
        check("order", self, to, allowed)
    }
}

db_enum!(
    /// Status of a distributed-signature (VEU) item at the bank.
    VeuStatus, "veu_items.status" {
        Pending => "PENDING",
        Signed => "SIGNED",
        Executed => "EXECUTED",
        Cancelled => "CANCELLED",
        Expired => "EXPIRED",
    }
);

impl VeuStatus {
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use VeuStatus::*;
        let allowed = matches!(
            (self, to),
            (Pending, Signed)
                | (Signed, Executed)
                | (Pending, Cancelled | Expired)
                | (Signed, Cancelled)
        );
        check("VEU", self, to, allowed)
    }
}

db_enum!(
    /// Status of one segment of a transaction.
    SegmentStatus, "segments.status" {
        Pending => "PENDING",
        Sent => "SENT",
        Received => "RECEIVED",
        Acknowledged => "ACKNOWLEDGED",
    }
);

impl SegmentStatus {
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use SegmentStatus::*;
        let allowed = matches!(
            (self, to),
            (Pending, Sent) | (Pending, Received) | (Sent, Acknowledged) | (Received, Acknowledged)
                // A segment whose send was interrupted is sent again.
                | (Sent, Pending)
        );
        check("segment", self, to, allowed)
    }
}

db_enum!(
    /// Events in a transaction's append-only audit trail.
    TransactionEventKind, "transaction_events.kind" {
        Initialised => "INITIALISED",
        TransferStarted => "TRANSFER_STARTED",
        SegmentSent => "SEGMENT_SENT",
        SegmentReceived => "SEGMENT_RECEIVED",
        ReceiptSent => "RECEIPT_SENT",
        Completed => "COMPLETED",
        Failed => "FAILED",
        RecoveryStarted => "RECOVERY_STARTED",
        Aborted => "ABORTED",
    }
);

db_enum!(
    /// The business effect a finished transfer has beyond the transfer itself. It is applied
    /// once, by whoever sees the transfer finish (the caller, recovery, or the effect sweep).
    TransferEffect, "transactions.effect" {
        /// A statement download: its file is ingested into statements, balances and bookings.
        IngestStatements => "INGEST_STATEMENTS",
        /// An order's upload: the order records the bank's answer (PROCESSING or REJECTED).
        SettleOrder => "SETTLE_ORDER",
        /// A user key change (HCA, HCS, PUB): the new keys become ACTIVE and the old ones
        /// EXPIRED when the bank accepted it, the new ones REVOKED when it did not.
        ChangeKeys => "CHANGE_KEYS",
    }
);

db_enum!(
    /// What an audit record says happened.
    AuditAction, "audit_events.action" {
        SignerKeyRegistered => "SIGNER_KEY_REGISTERED",
        SignerKeyRevoked => "SIGNER_KEY_REVOKED",
        /// A key pair was generated (or a signer's new public key registered) for a key change.
        KeyGenerated => "KEY_GENERATED",
        /// A key change order (HCA, HCS, PUB) carrying the key was sent to the bank.
        KeySubmitted => "KEY_SUBMITTED",
        /// The bank accepted the key: it is the user's key from now on.
        KeyActivated => "KEY_ACTIVATED",
        /// A newer key the bank accepted replaced this one.
        KeyExpired => "KEY_EXPIRED",
        /// The key will never be used (the bank refused its key change).
        KeyRevoked => "KEY_REVOKED",
        /// An operator settled a key change whose outcome the bank's answer did not give
        /// (accepted or refused after checking with the bank, or decided by a new probe).
        KeyChangeSettled => "KEY_CHANGE_SETTLED",
        /// A downloaded statement file (or a member of its container) could not be ingested.
        StatementFileFailed => "STATEMENT_FILE_FAILED",
        /// An operator had a stored statement file ingested again.
        StatementFileReingested => "STATEMENT_FILE_REINGESTED",
        /// An operator removed a host that connections still refer to: it was retired.
        BankHostRetired => "BANK_HOST_RETIRED",
        /// A state-changing API call (POST/PUT/PATCH/DELETE), whatever its outcome; the
        /// record's `operation` names the route.
        ApiCall => "API_CALL",
        /// A platform administrator created the tenant.
        TenantCreated => "TENANT_CREATED",
        /// HPB delivered a bank key other than the host's current one (a rollover): stored
        /// unverified, orders for the host held.
        BankKeyChanged => "BANK_KEY_CHANGED",
        /// An operator verified a bank key against the bank's letter.
        BankKeyVerified => "BANK_KEY_VERIFIED",
        /// An operator's letter hash did not match: the key is rejected.
        BankKeyRejected => "BANK_KEY_REJECTED",
        /// The bank confirmed a suspension (SPR).
        EbicsUserSuspended => "EBICS_USER_SUSPENDED",
        /// The bank reported the user locked or suspended (091002 and the like).
        EbicsUserLocked => "EBICS_USER_LOCKED",
        /// A CA-issued certificate replaced a pending key's self-signed one.
        CertificateImported => "CERTIFICATE_IMPORTED",
        /// A key's certificate expires within the warning period (recorded once per key).
        CertificateExpiring => "CERTIFICATE_EXPIRING",
    }
);

db_enum!(
    /// How an audited action ended.
    AuditOutcome, "audit_events.outcome" {
        Succeeded => "SUCCEEDED",
        /// Refused or failed; the record names the API's stable error code.
        Failed => "FAILED",
    }
);

db_enum!(
    /// Who acted in an audited action (the record's `actor` names which one).
    AuditActorKind, "audit_events.actor_kind" {
        /// An operator through the API; `actor` is the operator id.
        Operator => "OPERATOR",
        /// A system job (scheduler, recovery, a CLI bootstrap); `actor` is the job's name.
        System => "SYSTEM",
    }
);

db_enum!(
    /// An operator's role within one tenant.
    Role, "memberships.role" {
        Owner => "OWNER",
        Admin => "ADMIN",
        Viewer => "VIEWER",
    }
);

impl Role {
    /// Whether this role may change data (Viewers only read).
    pub fn can_mutate(self) -> bool {
        !matches!(self, Role::Viewer)
    }
}

db_enum!(
    /// The EBICS signature class of a user or signature.
    SignatureClass, "signature_class" {
        /// Single signature: enough on its own.
        E => "E",
        /// First signature.
        A => "A",
        /// Second signature.
        B => "B",
        /// Transport signature: never authorises a payment.
        T => "T",
    }
);

db_enum!(
    /// How a run of a schedule ended (`job_runs.outcome`).
    RunOutcome, "job_runs.outcome" {
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        /// Held because its host's bank keys await verification; the schedule waits for them.
        Held => "HELD",
    }
);

db_enum!(
    /// What a key pair is for.
    KeyUsage, "key_pairs.usage" {
        Signature => "SIGNATURE",
        Authentication => "AUTHENTICATION",
        Encryption => "ENCRYPTION",
    }
);

impl KeyUsage {
    /// The protocol's name for what a key of this usage is for.
    pub fn purpose(self) -> KeyPurpose {
        match self {
            Self::Signature => KeyPurpose::Signature,
            Self::Authentication => KeyPurpose::Authentication,
            Self::Encryption => KeyPurpose::Encryption,
        }
    }
}

db_enum!(
    /// Who holds a key pair's private key: the daemon (encrypted under the master key) or a
    /// signer on their own machine (the daemon has only the public key).
    KeyCustody, "key_pairs.custody" {
        Daemon => "DAEMON",
        Signer => "SIGNER",
    }
);

db_enum!(
    /// The bank key kinds fetched with HPB.
    BankKeyKind, "bank_keys.kind" {
        Authentication => "AUTHENTICATION",
        Encryption => "ENCRYPTION",
    }
);

impl BankKeyKind {
    /// The protocol's name for what a bank key of this kind is for.
    pub fn purpose(self) -> KeyPurpose {
        match self {
            Self::Authentication => KeyPurpose::Authentication,
            Self::Encryption => KeyPurpose::Encryption,
        }
    }
}

db_enum!(
    /// Whether an operator checked a bank key against an independent source.
    BankKeyVerification, "bank_keys.verification_status" {
        Unverified => "UNVERIFIED",
        Verified => "VERIFIED",
        Rejected => "REJECTED",
    }
);

db_enum!(
    /// How a bank key was verified.
    VerificationMethod, "bank_keys.verification_method" {
        /// Compared with the hash on the bank's letter.
        Letter => "LETTER",
        /// The operator confirmed the fingerprint shown in the admin API.
        FingerprintConfirmed => "FINGERPRINT_CONFIRMED",
        /// A certificate chain to a trusted CA.
        CertificateChain => "CERTIFICATE_CHAIN",
    }
);

db_enum!(
    /// Direction of an EBICS transaction.
    Direction, "transactions.direction" {
        Upload => "UPLOAD",
        Download => "DOWNLOAD",
    }
);

db_enum!(
    /// What a stored file is.
    FileKind, "files.kind" {
        OrderContent => "ORDER_CONTENT",
        Download => "DOWNLOAD",
        Statement => "STATEMENT",
        Letter => "LETTER",
    }
);

db_enum!(
    /// Statement formats.
    StatementFormat, "statements.format" {
        Camt053 => "CAMT053",
        Camt052 => "CAMT052",
        Camt054 => "CAMT054",
        Mt940 => "MT940",
    }
);

db_enum!(
    /// How the ingestion of a downloaded statement file went.
    StatementFileStatus, "statement_files.status" {
        /// Stored; not (yet) ingested.
        Pending => "PENDING",
        /// Every document parsed and every statement was booked to an account.
        Ingested => "INGESTED",
        /// Every document parsed, but statements for accounts the tenant does not have were
        /// left out (ingest again after adding the account).
        Partial => "PARTIAL",
        /// The container was refused or a document did not parse; what did parse is booked.
        Failed => "FAILED",
    }
);

impl StatementFileStatus {
    /// Every attempt ends in an outcome; any stored file may be ingested again (bookings are
    /// de-duplicated), but an outcome never goes back to PENDING.
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        let allowed = to != Self::Pending;
        check("statement file", self, to, allowed)
    }
}

db_enum!(
    /// How a stored statement file is wrapped, as its ingestion found it.
    StatementContainer, "statement_files.container" {
        /// The document itself (XML or MT940).
        Bare => "BARE",
        /// A ZIP archive of documents.
        Zip => "ZIP",
    }
);

db_enum!(
    /// The bank's status of one transfer of a payment order (pain.002 `TxSts`, reduced to
    /// what a treasurer acts on).
    TransferStatus, "payment_transfer_statuses.status" {
        /// Not final yet: the order awaits signatures, submission or the bank's decision.
        Pending => "PENDING",
        Accepted => "ACCEPTED",
        Rejected => "REJECTED",
    }
);

db_enum!(
    /// What happened, as a webhook receiver reads it (`type` of the event body and the
    /// subscription filter). Names follow `<resource>.<what happened>`.
    WebhookEventType, "webhook_events.event_type" {
        OrderCreated => "order.created",
        OrderSigned => "order.signed",
        OrderSubmitted => "order.submitted",
        OrderCompleted => "order.completed",
        OrderRejected => "order.rejected",
        VeuSignatureNeeded => "veu.signature_needed",
        VeuExecuted => "veu.executed",
        VeuCancelled => "veu.cancelled",
        StatementAvailable => "statement.available",
        TransactionFailed => "transaction.failed",
        BankKeysNeedVerification => "bank_keys.verification_needed",
        UserReady => "user.ready",
        UserSuspended => "user.suspended",
        UserLocked => "user.locked",
        CertificateExpiring => "certificate.expiring",
        /// A test event sent on request to one subscription only.
        Ping => "webhook.ping",
    }
);

db_enum!(
    /// Whether a webhook subscription receives events.
    WebhookSubscriptionStatus, "webhook_subscriptions.status" {
        /// Events are recorded and delivered.
        Enabled => "ENABLED",
        /// Switched off by an operator: no events are recorded for it.
        Disabled => "DISABLED",
        /// A delivery exhausted its retries: events are still recorded, and wait until an
        /// operator resumes the subscription.
        Parked => "PARKED",
    }
);

impl WebhookSubscriptionStatus {
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use WebhookSubscriptionStatus::*;
        let allowed = matches!(
            (self, to),
            (Enabled, Disabled | Parked) | (Disabled, Enabled) | (Parked, Enabled | Disabled)
        );
        check("webhook subscription", self, to, allowed)
    }

    /// Whether events are recorded for the subscription (delivered now or after a resume).
    pub fn records_events(self) -> bool {
        matches!(self, Self::Enabled | Self::Parked)
    }
}

db_enum!(
    /// Where one delivery of an event to one subscription stands.
    WebhookDeliveryStatus, "webhook_deliveries.status" {
        /// Waiting for its (next) attempt.
        Pending => "PENDING",
        /// The receiver answered 2xx.
        Delivered => "DELIVERED",
        /// Every retry failed; the subscription was parked. Resuming it sends it again.
        Failed => "FAILED",
    }
);

db_enum!(
    /// Kontor's own failure codes: why a transfer or a sync ended without success where no
    /// bank return code says why. Stored where the bank's codes are (see [`ResultCode`]).
    KontorFailure, "failure code" {
        /// The bank's answer did not verify with its X002 key; never retried.
        BankSignatureInvalid => "BANK_SIGNATURE_INVALID",
        /// The bank's answer could not be parsed or decrypted.
        BankAnswerUnreadable => "BANK_ANSWER_UNREADABLE",
        /// The request could not be built.
        RequestInvalid => "REQUEST_INVALID",
        /// A signature-only upload (HVE/HVS) whose answer was lost: never sent again; the
        /// bank's VEU tells whether the signature arrived.
        SignatureUnconfirmed => "SIGNATURE_UNCONFIRMED",
        /// An interrupted transfer at a bank whose HPD says it does not support recovery.
        RecoveryUnsupported => "RECOVERY_UNSUPPORTED",
        /// Recovery gave up on an interrupted transfer after its bounded passes.
        RecoveryExhausted => "RECOVERY_EXHAUSTED",
        /// Recovery aborted an interrupted transfer it cannot resume.
        Recovery => "RECOVERY",
        /// A spooled upload segment no longer reads back as stored.
        Spool => "SPOOL",
        /// The downloaded segments could not be put together into the order data.
        Assembly => "ASSEMBLY",
        /// A sync could not reach the bank.
        BankUnreachable => "BANK_UNREACHABLE",
        /// The bank answered a sync without subscriber data.
        NoSubscriberData => "NO_SUBSCRIBER_DATA",
        /// A sync failed on Kontor's side (keys, storage).
        SyncFailed => "SYNC_FAILED",
    }
);

/// The code a transfer, a sync or an order ended with, as stored and shown: the bank's (its
/// EBICS return code, EBICS Annex 1, an order's `000000` too; or the ISO 20022 reason code of
/// its status report), or Kontor's own where no bank code says why it failed.
///
/// Any text reads: a known Kontor code is one, anything else is the bank's code as it sent
/// it (a code Kontor does not know is still the bank's answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ResultCode {
    /// The bank's code as received, e.g. `091002` or `AC04`.
    Bank(String),
    /// A code of Kontor's own.
    Kontor(KontorFailure),
}

impl ResultCode {
    /// The stored and shown text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Bank(code) => code,
            Self::Kontor(failure) => failure.as_str(),
        }
    }

    /// Whether this is the bank's return code `code`.
    pub fn is(&self, code: &kontor_protocol::return_code::ReturnCode) -> bool {
        matches!(self, Self::Bank(bank) if bank == code.code())
    }
}

impl From<&str> for ResultCode {
    fn from(text: &str) -> Self {
        match KontorFailure::parse_db(text) {
            Ok(failure) => Self::Kontor(failure),
            Err(_) => Self::Bank(text.to_owned()),
        }
    }
}

impl From<KontorFailure> for ResultCode {
    fn from(failure: KontorFailure) -> Self {
        Self::Kontor(failure)
    }
}

impl From<&kontor_protocol::return_code::ReturnCode> for ResultCode {
    fn from(code: &kontor_protocol::return_code::ReturnCode) -> Self {
        Self::Bank(code.code().to_owned())
    }
}

impl FromStr for ResultCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.into())
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for ResultCode {
    fn from(text: String) -> Self {
        text.as_str().into()
    }
}

impl From<ResultCode> for String {
    fn from(code: ResultCode) -> Self {
        code.as_str().to_owned()
    }
}

kontor_documents::string_schema!(
    ResultCode,
    "The bank's code (an EBICS return code of six digits, or an ISO 20022 status reason code), or Kontor's own failure code where the bank gave none (BANK_SIGNATURE_INVALID, BANK_ANSWER_UNREADABLE, ...)."
);

crate::db::val_as_text!(ResultCode => |c: &ResultCode| c.as_str().to_owned());
crate::db::column_via!(ResultCode => parsed, Option<ResultCode> => opt_parsed);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: DbEnum + PartialEq + fmt::Debug>() {
        for v in T::ALL {
            assert_eq!(T::parse_db(v.as_str()), Ok(*v));
        }
        let err = T::parse_db("NOT_A_STATUS").unwrap_err();
        assert_eq!(err.column, T::COLUMN);
    }

    #[test]
    fn key_usages_and_bank_key_kinds_name_the_protocols_purposes() {
        // The stored text is the purpose's name in capitals.
        let names = |purposes: Vec<KeyPurpose>| -> Vec<String> {
            purposes
                .iter()
                .map(|p| p.to_string().to_uppercase())
                .collect()
        };
        let usages = KeyUsage::ALL.iter().map(|u| u.purpose()).collect();
        assert_eq!(
            names(usages),
            KeyUsage::ALL.iter().map(|u| u.as_str()).collect::<Vec<_>>()
        );
        let kinds = BankKeyKind::ALL.iter().map(|k| k.purpose()).collect();
        assert_eq!(
            names(kinds),
            BankKeyKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_enum_round_trips_and_rejects_unknown_values() {
        round_trips::<EbicsUserStatus>();
        round_trips::<KeyStatus>();
        round_trips::<TransactionPhase>();
        round_trips::<OrderStatus>();
        round_trips::<TransferStatus>();
        round_trips::<VeuStatus>();
        round_trips::<SegmentStatus>();
        round_trips::<TransactionEventKind>();
        round_trips::<Role>();
        round_trips::<TransferEffect>();
        round_trips::<AuditAction>();
        round_trips::<AuditOutcome>();
        round_trips::<AuditActorKind>();
        round_trips::<SignatureClass>();
        round_trips::<KeyUsage>();
        round_trips::<KeyCustody>();
        round_trips::<BankKeyKind>();
        round_trips::<BankKeyVerification>();
        round_trips::<VerificationMethod>();
        round_trips::<Direction>();
        round_trips::<FileKind>();
        round_trips::<StatementFormat>();
        round_trips::<StatementFileStatus>();
        round_trips::<StatementContainer>();
        round_trips::<KontorFailure>();
    }

    #[test]
    fn a_result_code_is_kontors_when_it_names_one_else_the_banks() {
        for failure in KontorFailure::ALL {
            let stored = ResultCode::from(*failure).to_string();
            assert_eq!(
                ResultCode::from(stored.as_str()),
                ResultCode::Kontor(*failure)
            );
        }
        let bank = ResultCode::from("091002");
        assert_eq!(bank, ResultCode::Bank("091002".into()));
        assert!(bank.is(&kontor_protocol::return_code::ReturnCode::InvalidUserOrUserState));
        assert!(!ResultCode::from(KontorFailure::Spool)
            .is(&kontor_protocol::return_code::ReturnCode::InvalidUserOrUserState));
    }

    #[test]
    fn ebics_user_onboarding_path_is_legal_and_shortcuts_are_not() {
        use EbicsUserStatus::*;
        let s = New.transition(PartlyInitialisedIni).unwrap();
        let s = s.transition(Initialised).unwrap();
        let s = s.transition(Ready).unwrap();
        assert_eq!(s, Ready);
        assert!(New.transition(Ready).is_err());
        assert!(PartlyInitialisedIni.transition(Ready).is_err());
        assert!(Locked.transition(Ready).is_err());
        assert!(Ready.transition(Locked).is_ok());
    }

    #[test]
    fn order_cannot_skip_signing_or_leave_a_final_state() {
        use OrderStatus::*;
        assert!(Draft.transition(Submitted).is_err());
        assert!(PendingSignature.transition(Submitted).is_err());
        assert!(Signed.transition(Submitted).is_ok());
        for from in [Completed, Rejected, Cancelled] {
            for to in OrderStatus::ALL {
                assert!(from.transition(*to).is_err(), "{from} -> {to}");
            }
        }
        assert!(
            Submitted.transition(Cancelled).is_err(),
            "uploaded orders are cancelled at the bank (HVS), not here"
        );
    }

    #[test]
    fn final_transaction_phases_are_final() {
        use TransactionPhase::*;
        for from in [Completed, Failed, Aborted] {
            for to in TransactionPhase::ALL {
                assert!(from.transition(*to).is_err());
            }
        }
        assert!(Transfer.transition(Failed).is_ok());
        assert!(Receipt.transition(Transfer).is_err());
    }

    #[test]
    fn key_and_veu_machines() {
        assert!(KeyStatus::Pending.transition(KeyStatus::Active).is_err());
        assert!(KeyStatus::Submitted.transition(KeyStatus::Active).is_ok());
        assert!(KeyStatus::Revoked.transition(KeyStatus::Active).is_err());
        assert!(VeuStatus::Pending.transition(VeuStatus::Executed).is_err());
        assert!(VeuStatus::Signed.transition(VeuStatus::Executed).is_ok());
    }

    #[test]
    fn illegal_transition_names_both_states() {
        let err = OrderStatus::Draft
            .transition(OrderStatus::Completed)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal order transition from DRAFT to COMPLETED"
        );
    }
}
