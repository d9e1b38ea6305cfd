//! Subscriber (EBICS user) lifecycle, as a real bank runs it.
//!
//! ```text
//!            INI                 HIA
//!   New ──────────► IniReceived ─────┐
//!    │                               ▼
//!    │     HIA                     Initialised ──(bank clerk activates, letter checked)──► Ready
//!    └────────────► HiaReceived ─────┘   ▲
//!                                  INI   │
//!   any ──(suspend)──► Suspended ──(INI/HIA: re-initialisation, old keys dropped)──► ...
//!   any ──(lock)────► Locked ──(unlock)──► the status before the lock
//! ```
//!
//! Only `Ready` subscribers may run business transactions or fetch the bank keys (HPB).

use chrono::{DateTime, Utc};
use kontor_protocol::certificate::KeyPurpose;
use kontor_protocol::keys::KeyHash;
use kontor_protocol::KeyVersion;
use serde::{Deserialize, Serialize};

use crate::config::SignatureClass;
use crate::ids::{PartnerId, UserId};
use crate::keys::serialize_lower_hex;
use crate::return_codes::ReturnCode;

/// Where a subscriber is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubscriberStatus {
    /// Known to the bank, no keys yet.
    New,
    /// Signature key received (INI), authentication/encryption keys missing.
    IniReceived,
    /// Authentication and encryption keys received (HIA), signature key missing.
    HiaReceived,
    /// All keys received; waiting for the bank to check the letter and activate.
    Initialised,
    /// Activated: may transact.
    Ready,
    /// Suspended (SPR or by the bank): may only re-initialise with INI/HIA.
    Suspended,
    /// Locked by the bank: may do nothing until unlocked.
    Locked,
}

impl SubscriberStatus {
    /// Whether business orders and HPB are allowed.
    pub fn may_transact(self) -> bool {
        self == SubscriberStatus::Ready
    }
}

/// A public key as the subscriber submitted it. The bytes are opaque to this crate: the
/// protocol layer decides their encoding (e.g. DER SubjectPublicKeyInfo or an X.509
/// certificate) and computes the EBICS hash.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SubmittedKey {
    pub version: KeyVersion,
    /// Encoded public key (never a private key).
    #[serde(skip)]
    pub public_key: Vec<u8>,
    /// EBICS hash of the key, what the initialisation letter shows.
    #[serde(rename = "hash_sha256_hex", serialize_with = "serialize_lower_hex")]
    pub hash: KeyHash,
    pub received_at: DateTime<Utc>,
    /// The X.509 certificate (DER) sent with the key: always on H005, where the subscriber
    /// sent one on H004.
    #[serde(skip)]
    pub certificate: Option<Vec<u8>>,
}

impl std::fmt::Debug for SubmittedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmittedKey")
            .field("version", &self.version)
            .field("public_key_len", &self.public_key.len())
            .field("hash", &self.hash)
            .finish()
    }
}

/// The keys a subscriber submitted so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriberKeys {
    pub signature: Option<SubmittedKey>,
    pub authentication: Option<SubmittedKey>,
    pub encryption: Option<SubmittedKey>,
}

impl SubscriberKeys {
    /// The key for a purpose.
    pub fn get(&self, purpose: KeyPurpose) -> Option<&SubmittedKey> {
        match purpose {
            KeyPurpose::Signature => self.signature.as_ref(),
            KeyPurpose::Authentication => self.authentication.as_ref(),
            KeyPurpose::Encryption => self.encryption.as_ref(),
        }
    }
}

/// Hashes from the subscriber's initialisation letter, which the bank clerk compares with the
/// received keys before activating. Any hash that is given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LetterHashes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
}

/// A subscriber and its lifecycle data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub name: String,
    pub signature_class: SignatureClass,
    pub status: SubscriberStatus,
    /// For `Locked`: the status to return to on unlock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_before_lock: Option<SubscriberStatus>,
    pub keys: SubscriberKeys,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ini_received_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hia_received_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTime<Utc>>,
    /// The bank issues this subscriber's certificates (French banks): INI, HIA and H3K must
    /// carry certificates from the bank's CA ([`crate::ca::TestCa`]), on H004 too.
    pub bank_issued_certificates: bool,
}

/// A lifecycle step that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("subscriber {partner}/{user} is unknown")]
    UnknownSubscriber { partner: PartnerId, user: UserId },
    #[error("{action} is not allowed in status {status:?}")]
    InvalidState {
        action: &'static str,
        status: SubscriberStatus,
    },
    #[error("the {purpose:?} key hash on the letter does not match the received key")]
    LetterMismatch { purpose: KeyPurpose },
    #[error("the letter names a {purpose:?} key hash, but no such key was received")]
    LetterNamesMissingKey { purpose: KeyPurpose },
    #[error("{0:?} is not a hex SHA-256 hash")]
    MalformedLetterHash(String),
}

impl LifecycleError {
    /// The EBICS return code to answer a protocol request with.
    pub fn return_code(&self) -> ReturnCode {
        match self {
            LifecycleError::UnknownSubscriber { .. } => ReturnCode::USER_UNKNOWN,
            _ => ReturnCode::INVALID_USER_OR_USER_STATE,
        }
    }
}

impl Subscriber {
    /// A subscriber in status `status` without keys.
    pub fn new(
        partner_id: PartnerId,
        user_id: UserId,
        name: String,
        signature_class: SignatureClass,
        status: SubscriberStatus,
    ) -> Self {
        Self {
            partner_id,
            user_id,
            name,
            signature_class,
            status,
            status_before_lock: None,
            keys: SubscriberKeys::default(),
            ini_received_at: None,
            hia_received_at: None,
            activated_at: None,
            bank_issued_certificates: false,
        }
    }

    fn invalid(&self, action: &'static str) -> LifecycleError {
        LifecycleError::InvalidState {
            action,
            status: self.status,
        }
    }

    /// A suspended subscriber re-initialises from scratch: the old keys are void.
    fn restart_if_suspended(&mut self) {
        if self.status == SubscriberStatus::Suspended {
            self.keys = SubscriberKeys::default();
            self.ini_received_at = None;
            self.hia_received_at = None;
            self.activated_at = None;
            self.status = SubscriberStatus::New;
        }
    }

    /// INI received: stores the signature key.
    pub fn record_ini(&mut self, key: SubmittedKey) -> Result<SubscriberStatus, LifecycleError> {
        self.record_half(
            "INI",
            SubscriberStatus::IniReceived,
            SubscriberStatus::HiaReceived,
            |s| {
                s.ini_received_at = Some(key.received_at);
                s.keys.signature = Some(key);
            },
        )
    }

    /// HIA received: stores the authentication and encryption keys.
    pub fn record_hia(
        &mut self,
        authentication: SubmittedKey,
        encryption: SubmittedKey,
    ) -> Result<SubscriberStatus, LifecycleError> {
        self.record_half(
            "HIA",
            SubscriberStatus::HiaReceived,
            SubscriberStatus::IniReceived,
            |s| {
                s.hia_received_at = Some(authentication.received_at);
                s.keys.authentication = Some(authentication);
                s.keys.encryption = Some(encryption);
            },
        )
    }

    /// One half of the initialisation (INI or HIA, in either order): accepted for a new or
    /// suspended subscriber and after the other half (`other_half`); the subscriber is
    /// `Initialised` once both halves arrived, otherwise in `this_half`.
    fn record_half(
        &mut self,
        order: &'static str,
        this_half: SubscriberStatus,
        other_half: SubscriberStatus,
        store: impl FnOnce(&mut Self),
    ) -> Result<SubscriberStatus, LifecycleError> {
        if !matches!(
            self.status,
            SubscriberStatus::New | SubscriberStatus::Suspended
        ) && self.status != other_half
        {
            return Err(self.invalid(order));
        }
        self.restart_if_suspended();
        store(self);
        self.status = if self.status == other_half {
            SubscriberStatus::Initialised
        } else {
            this_half
        };
        Ok(self.status)
    }

    /// The bank clerk activates after checking the letter (if given, every hash must match).
    pub fn activate(
        &mut self,
        letter: Option<&LetterHashes>,
        now: DateTime<Utc>,
    ) -> Result<SubscriberStatus, LifecycleError> {
        if self.status != SubscriberStatus::Initialised {
            return Err(self.invalid("activation"));
        }
        if let Some(letter) = letter {
            let claims = [
                (KeyPurpose::Signature, &letter.signature),
                (KeyPurpose::Authentication, &letter.authentication),
                (KeyPurpose::Encryption, &letter.encryption),
            ];
            for (purpose, claimed) in claims {
                let Some(claimed) = claimed else { continue };
                let claimed_hash: KeyHash = claimed
                    .parse()
                    .map_err(|_| LifecycleError::MalformedLetterHash(claimed.clone()))?;
                let received = self
                    .keys
                    .get(purpose)
                    .ok_or(LifecycleError::LetterNamesMissingKey { purpose })?;
                if received.hash != claimed_hash {
                    return Err(LifecycleError::LetterMismatch { purpose });
                }
            }
        }
        self.status = SubscriberStatus::Ready;
        self.activated_at = Some(now);
        Ok(self.status)
    }

    /// A key change (HCA, HCS or PUB) of a Ready subscriber: the keys given replace the
    /// current ones at once. The caller has verified the change's ES with the signature key it
    /// replaces, so the bank's next check of any kind uses the new keys.
    pub fn replace_keys(
        &mut self,
        keys: SubscriberKeys,
    ) -> Result<SubscriberStatus, LifecycleError> {
        if self.status != SubscriberStatus::Ready {
            return Err(self.invalid("key change"));
        }
        if let Some(key) = keys.signature {
            self.keys.signature = Some(key);
        }
        if let Some(key) = keys.authentication {
            self.keys.authentication = Some(key);
        }
        if let Some(key) = keys.encryption {
            self.keys.encryption = Some(key);
        }
        Ok(self.status)
    }

    /// Suspends the subscriber (SPR order or bank decision). Idempotent.
    pub fn suspend(&mut self) -> Result<SubscriberStatus, LifecycleError> {
        if self.status == SubscriberStatus::Locked {
            return Err(self.invalid("suspension"));
        }
        self.status = SubscriberStatus::Suspended;
        Ok(self.status)
    }

    /// Locks the subscriber; remembers the status to return to. Idempotent.
    pub fn lock(&mut self) -> SubscriberStatus {
        if self.status != SubscriberStatus::Locked {
            self.status_before_lock = Some(self.status);
            self.status = SubscriberStatus::Locked;
        }
        self.status
    }

    /// Unlocks a locked subscriber.
    pub fn unlock(&mut self) -> Result<SubscriberStatus, LifecycleError> {
        if self.status != SubscriberStatus::Locked {
            return Err(self.invalid("unlock"));
        }
        self.status = self
            .status_before_lock
            .take()
            .unwrap_or(SubscriberStatus::New);
        Ok(self.status)
    }

    /// Back to `New` without keys (the bank resets the subscriber).
    pub fn reset(&mut self) -> SubscriberStatus {
        *self = Self::new(
            self.partner_id.clone(),
            self.user_id.clone(),
            self.name.clone(),
            self.signature_class,
            SubscriberStatus::New,
        );
        self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriber() -> Subscriber {
        Subscriber::new(
            "P1".parse().expect("id"),
            "U1".parse().expect("id"),
            "User".into(),
            SignatureClass::E,
            SubscriberStatus::New,
        )
    }

    fn key(version: &str, fill: u8) -> SubmittedKey {
        SubmittedKey {
            certificate: None,
            version: version.parse().expect("key version"),
            public_key: vec![fill; 8],
            hash: KeyHash::from_bytes([fill; 32]),
            received_at: Utc::now(),
        }
    }

    /// A subscriber after INI (signature key 1) and HIA (keys 2 and 3), awaiting activation.
    fn initialised() -> Subscriber {
        let mut s = subscriber();
        s.record_ini(key("A006", 1)).expect("INI");
        s.record_hia(key("X002", 2), key("E002", 3)).expect("HIA");
        s
    }

    /// The hashes of the signature, authentication and encryption key the bank holds.
    fn hashes(s: &Subscriber) -> [Option<KeyHash>; 3] {
        [
            KeyPurpose::Signature,
            KeyPurpose::Authentication,
            KeyPurpose::Encryption,
        ]
        .map(|purpose| s.keys.get(purpose).map(|k| k.hash))
    }

    /// An initialised subscriber the clerk has activated.
    fn ready() -> Subscriber {
        let mut s = initialised();
        s.activate(None, Utc::now()).expect("activate");
        s
    }

    #[test]
    fn ini_then_hia_initialises() {
        let mut s = subscriber();
        assert_eq!(
            s.record_ini(key("A006", 1)),
            Ok(SubscriberStatus::IniReceived)
        );
        assert!(!s.status.may_transact());
        assert_eq!(
            s.record_hia(key("X002", 2), key("E002", 3)),
            Ok(SubscriberStatus::Initialised)
        );
        assert!(
            !s.status.may_transact(),
            "initialised is not ready: the letter must be checked"
        );
    }

    #[test]
    fn hia_then_ini_initialises() {
        let mut s = subscriber();
        assert_eq!(
            s.record_hia(key("X002", 2), key("E002", 3)),
            Ok(SubscriberStatus::HiaReceived)
        );
        assert_eq!(
            s.record_ini(key("A006", 1)),
            Ok(SubscriberStatus::Initialised)
        );
    }

    #[test]
    fn a_second_ini_is_rejected_and_keeps_the_first_key() {
        let mut s = subscriber();
        s.record_ini(key("A006", 1)).expect("first INI");
        let err = s.record_ini(key("A006", 9)).expect_err("second INI");
        assert_eq!(
            err,
            LifecycleError::InvalidState {
                action: "INI",
                status: SubscriberStatus::IniReceived
            }
        );
        assert_eq!(err.return_code(), ReturnCode::INVALID_USER_OR_USER_STATE);
        assert_eq!(hashes(&s)[0], Some(KeyHash::from_bytes([1; 32])));
    }

    #[test]
    fn activation_requires_both_letters() {
        let mut s = subscriber();
        s.record_ini(key("A006", 1)).expect("INI");
        assert!(matches!(
            s.activate(None, Utc::now()),
            Err(LifecycleError::InvalidState { .. })
        ));
        s.record_hia(key("X002", 2), key("E002", 3)).expect("HIA");
        assert_eq!(s.activate(None, Utc::now()), Ok(SubscriberStatus::Ready));
        assert!(s.status.may_transact());
        assert!(s.activated_at.is_some());
    }

    #[test]
    fn activation_with_a_matching_letter_succeeds() {
        let mut s = initialised();
        let letter = LetterHashes {
            signature: Some(KeyHash::from_bytes([1; 32]).to_string()),
            authentication: Some(KeyHash::from_bytes([2; 32]).to_hex_lower()),
            encryption: None,
        };
        assert_eq!(
            s.activate(Some(&letter), Utc::now()),
            Ok(SubscriberStatus::Ready)
        );
    }

    #[test]
    fn activation_with_a_wrong_letter_hash_is_refused() {
        let mut s = initialised();
        let letter = LetterHashes {
            encryption: Some(KeyHash::from_bytes([7; 32]).to_hex_lower()),
            ..LetterHashes::default()
        };
        assert_eq!(
            s.activate(Some(&letter), Utc::now()),
            Err(LifecycleError::LetterMismatch {
                purpose: KeyPurpose::Encryption
            })
        );
        assert_eq!(s.status, SubscriberStatus::Initialised);
        let garbage = LetterHashes {
            signature: Some("xyz".into()),
            ..LetterHashes::default()
        };
        assert!(matches!(
            s.activate(Some(&garbage), Utc::now()),
            Err(LifecycleError::MalformedLetterHash(_))
        ));
    }

    #[test]
    fn a_suspended_subscriber_reinitialises_from_scratch() {
        let mut s = ready();
        assert_eq!(s.suspend(), Ok(SubscriberStatus::Suspended));
        assert!(!s.status.may_transact());
        assert_eq!(
            s.record_hia(key("X002", 5), key("E002", 6)),
            Ok(SubscriberStatus::HiaReceived)
        );
        assert!(
            s.keys.signature.is_none(),
            "old signature key is void after suspension"
        );
        assert_eq!(
            s.record_ini(key("A006", 4)),
            Ok(SubscriberStatus::Initialised)
        );
    }

    #[test]
    fn a_key_change_replaces_only_the_keys_it_carries_and_needs_ready() {
        let mut s = initialised();
        let change = SubscriberKeys {
            authentication: Some(key("X002", 7)),
            encryption: Some(key("E002", 8)),
            ..SubscriberKeys::default()
        };
        assert!(
            s.replace_keys(change.clone()).is_err(),
            "not before activation"
        );
        s.activate(None, Utc::now()).expect("activate");
        assert_eq!(s.replace_keys(change), Ok(SubscriberStatus::Ready));
        assert_eq!(
            hashes(&s),
            [1, 7, 8].map(|fill| Some(KeyHash::from_bytes([fill; 32])))
        );
    }

    #[test]
    fn lock_and_unlock_restore_the_previous_status() {
        let mut s = ready();
        assert_eq!(s.lock(), SubscriberStatus::Locked);
        assert_eq!(s.lock(), SubscriberStatus::Locked, "idempotent");
        assert!(!s.status.may_transact());
        assert!(s.record_ini(key("A006", 1)).is_err());
        assert!(
            s.suspend().is_err(),
            "a locked subscriber must be unlocked first"
        );
        assert_eq!(s.unlock(), Ok(SubscriberStatus::Ready));
        assert!(s.unlock().is_err());
    }

    #[test]
    fn reset_returns_to_new_without_keys() {
        let mut s = subscriber();
        s.record_ini(key("A006", 1)).expect("INI");
        assert_eq!(s.reset(), SubscriberStatus::New);
        assert_eq!(s.keys, SubscriberKeys::default());
        assert_eq!(
            s.record_ini(key("A006", 1)),
            Ok(SubscriberStatus::IniReceived)
        );
    }
}
