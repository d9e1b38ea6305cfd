//! Typed record ids, so an order id can never be passed where a user id is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// An id string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not a valid id")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub(crate) fn to_db(self) -> String {
                self.0.to_string()
            }

        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        crate::db::val_as_text!($name => |id: &$name| id.to_db());

        impl crate::db::Column for $name {
            fn read(row: &crate::db::RowReader<'_>, column: &'static str) -> crate::Result<Self> {
                row.parsed(column)
            }
        }

        impl crate::db::Column for Option<$name> {
            fn read(row: &crate::db::RowReader<'_>, column: &'static str) -> crate::Result<Self> {
                row.opt_parsed(column)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| InvalidId {
                    kind: stringify!($name),
                    value: s.to_owned(),
                })
            }
        }
    )+};
}

id_type!(
    TenantId,
    OperatorId,
    ApiTokenId,
    BankHostId,
    BankKeyId,
    ConnectionId,
    AccountId,
    EbicsUserId,
    KeyPairId,
    PermissionId,
    FileId,
    OrderId,
    OrderSignatureId,
    VeuItemId,
    VeuSignerId,
    TransactionId,
    SegmentId,
    EventId,
    AuditEventId,
    ScheduleId,
    JobRunId,
    StatementId,
    StatementFileId,
    BalanceId,
    BookedTransactionId,
    WebhookSubscriptionId,
    WebhookEventId,
    WebhookDeliveryId,
    WebhookAttemptId,
);
