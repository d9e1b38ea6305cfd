//! The bank's mutable state: subscribers, transactions in progress, the nonce cache, received
//! orders, the distributed signature and the log of served downloads.
//!
//! **In memory only, behind one lock.** Nothing survives a restart; the seed configuration is
//! the only persistent input. A single `parking_lot::Mutex` guards everything because every
//! operation is short (no I/O and no cryptography happen under the lock: callers compute
//! signatures, encryption and hashes before or after) and some steps must be atomic across
//! collections (an upload that completes becomes an order *and* maybe a VEU item).
//!
//! [`BankState`] is cheap to clone (an `Arc`), and every method takes the lock for exactly one
//! operation, so no caller can hold it across an `.await`.

pub mod nonces;
pub mod orders;
pub mod subscribers;
pub mod transactions;
pub mod veu;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use crate::config::{BankConfig, SeedUserStatus, SignatureClass};
use crate::ids::{AccountId, Nonce, OrderId, PartnerId, TransactionId, UserId};

pub use nonces::{NonceCache, ReplayError};
pub use orders::{
    DuplicateMessage, NewOrder, OrderIdAllocator, OrderRejectError, OrderSignature, OrderStatus,
    ReceivedOrder, ServedDownload,
};
pub use subscribers::{
    LetterHashes, LifecycleError, SubmittedKey, Subscriber, SubscriberKeys, SubscriberStatus,
};
pub use transactions::{
    CompletedUpload, Direction, FinishedDownload, NewTransaction, OrderKind, RecoveryInfo,
    Transaction, TransactionError, TransactionSummary, TransactionTable, UploadProgress,
    UploadSegment,
};
pub use veu::{signatures_release, VeuError, VeuItem, VeuSigner, VeuStatus};

type SubscriberKey = (PartnerId, UserId);

#[derive(Debug)]
struct Inner {
    subscribers: BTreeMap<SubscriberKey, Subscriber>,
    nonces: NonceCache,
    transactions: TransactionTable,
    order_ids: OrderIdAllocator,
    orders: Vec<ReceivedOrder>,
    veu: Vec<VeuItem>,
    downloads: Vec<ServedDownload>,
    ledger_overrides: BTreeMap<AccountId, u32>,
    final_replies: FinalReplies,
    /// H005 `DataDigest` announced at upload initialisation, checked against the data at the end.
    announced_digests: std::collections::HashMap<TransactionId, Vec<u8>>,
    /// Uploads whose H005 `SignatureFlag` asked for the distributed signature (`requestEDS`).
    eds_requested: std::collections::HashSet<TransactionId>,
}

/// Answers to the last request of finished transactions (last upload segment, receipt), kept so
/// a client that re-sends it after losing the answer gets the same answer instead of
/// `EBICS_TX_UNKNOWN_TXID` — and never a second order. Bounded: the oldest entries go first.
#[derive(Debug, Default)]
struct FinalReplies {
    order: std::collections::VecDeque<(TransactionId, u32)>,
    replies: std::collections::HashMap<(TransactionId, u32), FinalReply>,
}

/// A remembered final answer and whom it belongs to.
#[derive(Debug, Clone)]
pub struct FinalReply {
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub body: Vec<u8>,
}

const MAX_FINAL_REPLIES: usize = 4096;

/// A bank clerk's lifecycle step on a subscriber (admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    Suspend,
    /// Idempotent; unlocking returns to the status before the lock.
    Lock,
    Unlock,
    /// Back to `New` without keys.
    Reset,
}

/// Shared handle to the bank state. See the module documentation for the locking rules.
#[derive(Debug, Clone)]
pub struct BankState {
    inner: Arc<Mutex<Inner>>,
}

fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

impl BankState {
    /// State seeded from the configuration: every configured user exists with its seed status.
    pub fn from_config(config: &BankConfig) -> Self {
        let subscribers = config
            .users
            .iter()
            .map(|u| {
                let status = match u.status {
                    SeedUserStatus::New => SubscriberStatus::New,
                    SeedUserStatus::Suspended => SubscriberStatus::Suspended,
                    SeedUserStatus::Locked => SubscriberStatus::Locked,
                };
                let mut s = Subscriber::new(
                    u.partner.clone(),
                    u.id.clone(),
                    u.name.clone(),
                    u.signature_class,
                    status,
                );
                if status == SubscriberStatus::Locked {
                    s.status_before_lock = Some(SubscriberStatus::New);
                }
                ((u.partner.clone(), u.id.clone()), s)
            })
            .collect();
        let limits = &config.limits;
        let inner = Inner {
            subscribers,
            nonces: NonceCache::new(seconds(limits.timestamp_tolerance_secs)),
            transactions: {
                let table = transactions::TransactionTable::new(
                    limits.max_open_transactions,
                    seconds(limits.transaction_idle_timeout_secs),
                );
                if config.bank.recovery {
                    table
                } else {
                    table.without_recovery()
                }
            },
            order_ids: OrderIdAllocator::default(),
            orders: Vec::new(),
            veu: Vec::new(),
            downloads: Vec::new(),
            ledger_overrides: BTreeMap::new(),
            final_replies: FinalReplies::default(),
            announced_digests: std::collections::HashMap::new(),
            eds_requested: std::collections::HashSet::new(),
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    // --- subscribers ------------------------------------------------------------------------

    /// A copy of one subscriber.
    pub fn subscriber(&self, partner: &PartnerId, user: &UserId) -> Option<Subscriber> {
        self.inner
            .lock()
            .subscribers
            .get(&(partner.clone(), user.clone()))
            .cloned()
    }

    /// Copies of all subscribers, ordered by partner and user id.
    pub fn subscribers(&self) -> Vec<Subscriber> {
        self.inner.lock().subscribers.values().cloned().collect()
    }

    /// Runs `f` on the subscriber under the state lock; the subscriber's own methods
    /// (`record_ini`, `record_hia`, ...) carry the lifecycle rules.
    pub fn with_subscriber<T>(
        &self,
        partner: &PartnerId,
        user: &UserId,
        f: impl FnOnce(&mut Subscriber) -> Result<T, LifecycleError>,
    ) -> Result<T, LifecycleError> {
        let mut inner = self.inner.lock();
        let subscriber = inner
            .subscribers
            .get_mut(&(partner.clone(), user.clone()))
            .ok_or_else(|| LifecycleError::UnknownSubscriber {
                partner: partner.clone(),
                user: user.clone(),
            })?;
        f(subscriber)
    }

    /// Switches whether the bank issues (and requires its own CA's) certificates for this
    /// subscriber's keys.
    pub fn set_bank_issued_certificates(
        &self,
        partner: &PartnerId,
        user: &UserId,
        required: bool,
    ) -> Result<Subscriber, LifecycleError> {
        self.with_subscriber(partner, user, |s| {
            s.bank_issued_certificates = required;
            Ok(s.clone())
        })
    }

    /// The bank clerk activates a subscriber (optionally checking the letter's hashes).
    pub fn activate_user(
        &self,
        partner: &PartnerId,
        user: &UserId,
        letter: Option<&LetterHashes>,
        now: DateTime<Utc>,
    ) -> Result<Subscriber, LifecycleError> {
        self.with_subscriber(partner, user, |s| {
            s.activate(letter, now).map(|_| s.clone())
        })
    }

    /// Replaces a Ready subscriber's keys after a verified key change (HCA, HCS, PUB).
    pub fn replace_keys(
        &self,
        partner: &PartnerId,
        user: &UserId,
        keys: SubscriberKeys,
    ) -> Result<SubscriberStatus, LifecycleError> {
        self.with_subscriber(partner, user, |s| s.replace_keys(keys))
    }

    /// Suspends a subscriber (SPR, or the clerk).
    pub fn suspend_user(
        &self,
        partner: &PartnerId,
        user: &UserId,
    ) -> Result<Subscriber, LifecycleError> {
        self.apply_user_action(partner, user, UserAction::Suspend)
    }

    /// Applies a clerk's lifecycle step to a subscriber and returns it as it is afterwards.
    pub fn apply_user_action(
        &self,
        partner: &PartnerId,
        user: &UserId,
        action: UserAction,
    ) -> Result<Subscriber, LifecycleError> {
        self.with_subscriber(partner, user, |s| {
            match action {
                UserAction::Suspend => {
                    s.suspend()?;
                }
                UserAction::Lock => {
                    s.lock();
                }
                UserAction::Unlock => {
                    s.unlock()?;
                }
                UserAction::Reset => {
                    s.reset();
                }
            }
            Ok(s.clone())
        })
    }

    // --- replay protection ------------------------------------------------------------------

    /// Checks and remembers a request's nonce and timestamp.
    pub fn check_nonce(
        &self,
        nonce: Nonce,
        timestamp: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), ReplayError> {
        self.inner
            .lock()
            .nonces
            .check_and_record(nonce, timestamp, now)
    }

    // --- transactions -----------------------------------------------------------------------

    /// Runs `f` on the transaction table under the state lock. The table's own methods
    /// (`begin_upload`, `download_segment`, ...) carry the transaction rules; this only
    /// scopes the lock to one step.
    pub fn with_transactions<T>(&self, f: impl FnOnce(&mut TransactionTable) -> T) -> T {
        f(&mut self.inner.lock().transactions)
    }

    /// A summary of a transaction in progress.
    pub fn transaction(&self, id: &TransactionId) -> Option<TransactionSummary> {
        self.inner
            .lock()
            .transactions
            .get(id)
            .map(Transaction::summary)
    }

    /// Summaries of all transactions in progress.
    pub fn transactions(&self) -> Vec<TransactionSummary> {
        self.inner.lock().transactions.summaries()
    }

    /// Drops idle transactions; returns their ids.
    pub fn expire_idle_transactions(&self, now: DateTime<Utc>) -> Vec<TransactionId> {
        let mut inner = self.inner.lock();
        let expired = inner.transactions.expire_idle(now);
        for id in &expired {
            inner.announced_digests.remove(id);
            inner.eds_requested.remove(id);
        }
        expired
    }

    /// Remembers the H005 `DataDigest` an upload announced.
    pub fn announce_data_digest(&self, id: TransactionId, digest: Vec<u8>) {
        self.inner.lock().announced_digests.insert(id, digest);
    }

    /// The announced `DataDigest` of an upload (removed: it is checked once).
    pub fn take_announced_digest(&self, id: &TransactionId) -> Option<Vec<u8>> {
        self.inner.lock().announced_digests.remove(id)
    }

    /// Remembers that an upload asked for the distributed signature (`requestEDS`).
    pub fn request_eds(&self, id: TransactionId) {
        self.inner.lock().eds_requested.insert(id);
    }

    /// Whether an upload asked for the distributed signature (removed: read once).
    pub fn take_eds_request(&self, id: &TransactionId) -> bool {
        self.inner.lock().eds_requested.remove(id)
    }

    // --- orders -----------------------------------------------------------------------------

    /// Allocates the next order id of a partner.
    pub fn allocate_order_id(&self, partner: &PartnerId) -> OrderId {
        self.inner.lock().order_ids.allocate(partner)
    }

    /// Stores a received order and, when it needs more signatures, its VEU item (atomically).
    /// A payment document whose message id the partner already submitted is refused in the
    /// same step (only an order cancelled in the VEU frees its message id), so two uploads of
    /// one file can never both be stored.
    pub fn record_order(
        &self,
        order: NewOrder,
        veu: Option<VeuItem>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedOrder, DuplicateMessage> {
        let stored = ReceivedOrder::from_new(order, now);
        let mut inner = self.inner.lock();
        if let Some(message_id) = &stored.message_id {
            if let Some(earlier) = inner.orders.iter().find(|o| {
                o.partner_id == stored.partner_id
                    && o.message_id.as_ref() == Some(message_id)
                    && o.status != OrderStatus::Cancelled
            }) {
                return Err(DuplicateMessage {
                    partner: stored.partner_id.clone(),
                    message_id: message_id.clone(),
                    earlier: earlier.order_id,
                });
            }
        }
        inner.orders.push(stored.clone());
        if let Some(item) = veu {
            inner.veu.push(item);
        }
        Ok(stored)
    }

    /// All received orders, oldest first.
    pub fn received_orders(&self) -> Vec<ReceivedOrder> {
        self.inner.lock().orders.clone()
    }

    /// Number of received orders.
    pub fn received_order_count(&self) -> usize {
        self.inner.lock().orders.len()
    }

    /// One received order.
    pub fn received_order(&self, partner: &PartnerId, order_id: OrderId) -> Option<ReceivedOrder> {
        self.inner
            .lock()
            .orders
            .iter()
            .find(|o| &o.partner_id == partner && o.order_id == order_id)
            .cloned()
    }

    /// The bank rejects an accepted order afterwards (e.g. insufficient funds at execution):
    /// HAC then reports it as `RJCT` with this reason.
    pub fn reject_order(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        reason_code: &str,
        reason: &str,
    ) -> Result<ReceivedOrder, OrderRejectError> {
        self.with_accepted_order(partner, order_id, |order| {
            order.status = OrderStatus::Rejected;
            order.status_reason = Some(reason.to_owned());
            order.status_reason_code = Some(reason_code.to_owned());
            Ok(())
        })
    }

    /// The bank rejects one transaction of an accepted payment at execution (e.g. `AC04`,
    /// the creditor's account is closed); the order stays accepted and HAC reports the
    /// transaction as `RJCT` with this reason.
    pub fn reject_transaction(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        end_to_end_id: &str,
        reason_code: &str,
    ) -> Result<ReceivedOrder, OrderRejectError> {
        self.with_accepted_order(partner, order_id, |order| {
            let known = kontor_documents::pain::parse_bytes(&order.content)
                .is_ok_and(|d| d.transactions().any(|t| t.end_to_end_id == end_to_end_id));
            if !known {
                return Err(OrderRejectError::UnknownTransaction {
                    order_id,
                    end_to_end_id: end_to_end_id.to_owned(),
                });
            }
            order
                .rejected_transactions
                .insert(end_to_end_id.to_owned(), reason_code.to_owned());
            Ok(())
        })
    }

    /// Changes the accepted order `order_id` of `partner`, which the bank may still reject
    /// (as a whole or one transaction) at execution, and returns it as it is afterwards; an
    /// unknown or not accepted order is refused.
    fn with_accepted_order(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        change: impl FnOnce(&mut ReceivedOrder) -> Result<(), OrderRejectError>,
    ) -> Result<ReceivedOrder, OrderRejectError> {
        let mut inner = self.inner.lock();
        let order = inner
            .orders
            .iter_mut()
            .find(|o| &o.partner_id == partner && o.order_id == order_id)
            .ok_or_else(|| OrderRejectError::UnknownOrder {
                partner: partner.clone(),
                order_id,
            })?;
        if order.status != OrderStatus::Accepted {
            return Err(OrderRejectError::NotAccepted {
                order_id,
                status: order.status,
            });
        }
        change(order)?;
        Ok(order.clone())
    }

    // --- distributed signature ---------------------------------------------------------------

    /// All VEU items, oldest first.
    pub fn veu_items(&self) -> Vec<VeuItem> {
        self.inner.lock().veu.clone()
    }

    /// Adds a signature to a VEU item; a release also marks the order accepted.
    pub fn sign_veu(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        user: UserId,
        class: SignatureClass,
        now: DateTime<Utc>,
    ) -> Result<VeuStatus, VeuError> {
        self.veu_step(partner, order_id, |item| {
            let status = item.sign(partner, user, class, now)?;
            let order_status = (status == VeuStatus::Released).then_some(OrderStatus::Accepted);
            Ok((status, order_status))
        })
    }

    /// Cancels a VEU item and its order.
    pub fn cancel_veu(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        user: &UserId,
    ) -> Result<VeuStatus, VeuError> {
        self.veu_step(partner, order_id, |item| {
            Ok((item.cancel(partner, user)?, Some(OrderStatus::Cancelled)))
        })
    }

    /// Applies a signer's `step` to the VEU item of `order_id` and, in the same lock, moves the
    /// order to the status the step implies (if any).
    fn veu_step(
        &self,
        partner: &PartnerId,
        order_id: OrderId,
        step: impl FnOnce(&mut VeuItem) -> Result<(VeuStatus, Option<OrderStatus>), VeuError>,
    ) -> Result<VeuStatus, VeuError> {
        let mut inner = self.inner.lock();
        let item = inner
            .veu
            .iter_mut()
            .find(|v| &v.partner_id == partner && v.order_id == order_id)
            .ok_or(VeuError::UnknownOrder(order_id))?;
        let (status, order_status) = step(item)?;
        if let Some(order_status) = order_status {
            Self::set_order_status(&mut inner, partner, order_id, order_status);
        }
        Ok(status)
    }

    fn set_order_status(
        inner: &mut Inner,
        partner: &PartnerId,
        order_id: OrderId,
        status: OrderStatus,
    ) {
        if let Some(order) = inner
            .orders
            .iter_mut()
            .find(|o| &o.partner_id == partner && o.order_id == order_id)
        {
            order.status = status;
        }
    }

    // --- recovery of finished transactions ---------------------------------------------------

    /// Remembers the answer to the last request (`step`: segment number, or 0 for a receipt).
    pub fn remember_final_reply(&self, id: TransactionId, step: u32, reply: FinalReply) {
        let mut inner = self.inner.lock();
        let cache = &mut inner.final_replies;
        if cache.replies.insert((id, step), reply).is_none() {
            cache.order.push_back((id, step));
        }
        while cache.order.len() > MAX_FINAL_REPLIES {
            if let Some(old) = cache.order.pop_front() {
                cache.replies.remove(&old);
            }
        }
    }

    /// The remembered answer to a repeated last request, if any.
    pub fn final_reply(&self, id: &TransactionId, step: u32) -> Option<FinalReply> {
        self.inner
            .lock()
            .final_replies
            .replies
            .get(&(*id, step))
            .cloned()
    }

    // --- ledger size knob -------------------------------------------------------------------

    /// Sets (or with `None` clears) the bookings per day generated for an account.
    pub fn set_entries_per_day(&self, account: AccountId, entries: Option<u32>) {
        let mut inner = self.inner.lock();
        match entries {
            Some(n) => inner.ledger_overrides.insert(account, n),
            None => inner.ledger_overrides.remove(&account),
        };
    }

    /// The runtime override of the bookings per day of an account.
    pub fn entries_per_day(&self, account: &AccountId) -> Option<u32> {
        self.inner.lock().ledger_overrides.get(account).copied()
    }

    // --- served downloads -------------------------------------------------------------------

    /// Records a download payload the bank served.
    pub fn record_served_download(&self, download: ServedDownload) {
        self.inner.lock().downloads.push(download);
    }

    /// All served downloads, oldest first.
    pub fn served_downloads(&self) -> Vec<ServedDownload> {
        self.inner.lock().downloads.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kontor_protocol::keys::KeyHash;

    fn state() -> (BankState, PartnerId, UserId) {
        let config = BankConfig::demo().expect("demo config");
        (
            BankState::from_config(&config),
            "PARTNER1".parse().expect("id"),
            "USER1".parse().expect("id"),
        )
    }

    fn key(version: &str, fill: u8) -> SubmittedKey {
        SubmittedKey {
            certificate: None,
            version: version.parse().expect("key version"),
            public_key: vec![fill],
            hash: KeyHash::from_bytes([fill; 32]),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn configured_users_start_new() {
        let (s, p, u) = state();
        assert_eq!(
            s.subscriber(&p, &u).map(|x| x.status),
            Some(SubscriberStatus::New)
        );
        assert_eq!(s.subscribers().len(), 5);
    }

    #[test]
    fn a_user_becomes_ready_through_ini_hia_and_activation() {
        let (s, p, u) = state();
        s.with_subscriber(&p, &u, |x| x.record_ini(key("A006", 1)))
            .expect("INI");
        s.with_subscriber(&p, &u, |x| x.record_hia(key("X002", 2), key("E002", 3)))
            .expect("HIA");
        let ready = s.activate_user(&p, &u, None, Utc::now()).expect("activate");
        assert_eq!(ready.status, SubscriberStatus::Ready);
        assert_eq!(
            s.subscriber(&p, &u).map(|x| x.status),
            Some(SubscriberStatus::Ready)
        );
    }

    #[test]
    fn lifecycle_calls_for_unknown_users_fail() {
        let (s, p, _) = state();
        let ghost: UserId = "GHOST".parse().expect("id");
        let err = s
            .with_subscriber(&p, &ghost, |x| x.record_ini(key("A006", 1)))
            .expect_err("unknown");
        assert!(matches!(err, LifecycleError::UnknownSubscriber { .. }));
        assert_eq!(
            err.return_code(),
            crate::return_codes::ReturnCode::USER_UNKNOWN
        );
    }

    #[test]
    fn a_replayed_nonce_is_rejected_through_the_shared_state() {
        let (s, _, _) = state();
        let now = Utc::now();
        let nonce = Nonce::from_bytes([7; 16]);
        assert_eq!(s.check_nonce(nonce, now, now), Ok(()));
        assert_eq!(
            s.clone().check_nonce(nonce, now, now),
            Err(ReplayError::NonceReplayed(nonce)),
            "clones share state"
        );
    }
}
