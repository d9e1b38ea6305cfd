//! EBICS transactions in progress (upload and download), with segment bookkeeping and the
//! information needed for transaction recovery.
//!
//! Segment payloads are opaque: for downloads the protocol layer prepares all segments at
//! initialisation (already compressed, encrypted and base64-ready) and the table hands them out;
//! for uploads it collects the still-encrypted segments until the last one arrived.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use kontor_protocol::ProtocolVersion;
use serde::Serialize;

use crate::ids::{OrderId, OrderTypeCode, PartnerId, TransactionId, UserId};
use crate::return_codes::ReturnCode;
use kontor_protocol::order_type::BtfServiceText;

/// Which way the order data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upload,
    Download,
}

/// The order a transaction carries: the (admin) order type, plus the BTF service for H005.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OrderKind {
    pub order_type: OrderTypeCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<BtfServiceText>,
}

impl OrderKind {
    /// A classic (H004-style) order type.
    pub fn classic(order_type: OrderTypeCode) -> Self {
        Self {
            order_type,
            service: None,
        }
    }
}

/// What a transaction needs to start.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub protocol: ProtocolVersion,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub order: OrderKind,
    pub order_id: Option<OrderId>,
}

/// Counters that describe recovery activity within a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryInfo {
    /// Segments that were requested or sent again (a client recovering after a lost answer).
    pub repeated_segments: u32,
    /// Highest segment number handled successfully so far (0 before the first).
    pub last_good_segment: u32,
}

/// Direction-specific data of a transaction.
#[derive(Clone, PartialEq, Eq)]
pub enum TransactionData {
    Upload {
        /// Still-encrypted order data segments by number.
        segments: BTreeMap<u32, Vec<u8>>,
        /// The transaction key as received (still encrypted with the bank's E002 key), so no
        /// plaintext secret lives in bank state.
        encrypted_transaction_key: Vec<u8>,
        /// The signature data as received (still encrypted).
        signature_data: Vec<u8>,
    },
    Download {
        /// Prepared segments, index 0 = segment 1.
        segments: Vec<Vec<u8>>,
        /// Highest segment handed out.
        highest_sent: u32,
    },
}

impl std::fmt::Debug for TransactionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransactionData::Upload { segments, .. } => f
                .debug_struct("Upload")
                .field("segments_received", &segments.len())
                .finish_non_exhaustive(),
            TransactionData::Download {
                segments,
                highest_sent,
            } => f
                .debug_struct("Download")
                .field("segments", &segments.len())
                .field("highest_sent", highest_sent)
                .finish(),
        }
    }
}

/// A transaction in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: TransactionId,
    pub direction: Direction,
    pub protocol: ProtocolVersion,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub order: OrderKind,
    pub order_id: Option<OrderId>,
    pub num_segments: u32,
    pub started_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub recovery: RecoveryInfo,
    pub data: TransactionData,
}

/// A read-only summary of a transaction for the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionSummary {
    pub transaction_id: TransactionId,
    pub direction: Direction,
    pub protocol: ProtocolVersion,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub order: OrderKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    pub num_segments: u32,
    /// Upload: segments received; download: highest segment sent.
    pub segments_done: u32,
    pub started_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub recovery: RecoveryInfo,
}

impl Transaction {
    fn wrong_direction(&self) -> TransactionError {
        TransactionError::WrongDirection {
            id: self.id,
            actual: self.direction,
        }
    }

    /// The admin view.
    pub fn summary(&self) -> TransactionSummary {
        let segments_done = match &self.data {
            TransactionData::Upload { segments, .. } => segment_count(segments),
            TransactionData::Download { highest_sent, .. } => *highest_sent,
        };
        TransactionSummary {
            transaction_id: self.id,
            direction: self.direction,
            protocol: self.protocol,
            partner_id: self.partner_id.clone(),
            user_id: self.user_id.clone(),
            order: self.order.clone(),
            order_id: self.order_id,
            num_segments: self.num_segments,
            segments_done,
            started_at: self.started_at,
            last_activity: self.last_activity,
            recovery: self.recovery,
        }
    }
}

/// Why a transaction step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("transaction {0} is unknown (never started, finished or expired)")]
    Unknown(TransactionId),
    #[error("transaction {0} belongs to another subscriber")]
    WrongSubscriber(TransactionId),
    #[error("transaction {id} is a {actual:?} transaction")]
    WrongDirection {
        id: TransactionId,
        actual: Direction,
    },
    #[error("segment {number} exceeds the {num_segments} segments of the transaction")]
    SegmentNumberExceeded { number: u32, num_segments: u32 },
    #[error("segment {number} flagged as last, but the transaction has {num_segments} segments")]
    SegmentNumberUnderrun { number: u32, num_segments: u32 },
    #[error("segment {number} arrived before segment {expected}")]
    SegmentOutOfOrder { number: u32, expected: u32 },
    #[error("segment numbers start at 1")]
    SegmentZero,
    #[error("a transaction needs at least one segment")]
    NoSegments,
    #[error("upload incomplete: {received} of {num_segments} segments received")]
    Incomplete { received: u32, num_segments: u32 },
    #[error("too many transactions in progress (limit {0})")]
    TooManyTransactions(usize),
    /// A segment asked for or sent again at a bank without recovery.
    #[error("segment {number} again: this bank supports no transaction recovery")]
    RecoveryNotSupported { number: u32 },
}

impl TransactionError {
    /// The EBICS return code that reports this error.
    pub fn return_code(&self) -> ReturnCode {
        match self {
            TransactionError::Unknown(_) | TransactionError::WrongSubscriber(_) => {
                ReturnCode::TX_UNKNOWN_TXID
            }
            TransactionError::WrongDirection { .. }
            | TransactionError::SegmentZero
            | TransactionError::NoSegments => ReturnCode::INVALID_REQUEST_CONTENT,
            TransactionError::SegmentNumberExceeded { .. } => {
                ReturnCode::TX_SEGMENT_NUMBER_EXCEEDED
            }
            TransactionError::SegmentNumberUnderrun { .. } => {
                ReturnCode::TX_SEGMENT_NUMBER_UNDERRUN
            }
            TransactionError::SegmentOutOfOrder { .. } => ReturnCode::TX_RECOVERY_SYNC,
            TransactionError::Incomplete { .. } => ReturnCode::TX_SEGMENT_NUMBER_UNDERRUN,
            TransactionError::TooManyTransactions(_) => ReturnCode::MAX_TRANSACTIONS_EXCEEDED,
            TransactionError::RecoveryNotSupported { .. } => ReturnCode::RECOVERY_NOT_SUPPORTED,
        }
    }
}

/// One order data segment of an upload, as a Transfer (or Initialisation) request carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadSegment {
    /// `SegmentNumber`, starting at 1.
    pub number: u32,
    /// `SegmentNumber/@lastSegment`.
    pub last: bool,
    /// The still-encrypted segment.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for UploadSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadSegment")
            .field("number", &self.number)
            .field("last", &self.last)
            .field("len", &self.data.len())
            .finish()
    }
}

/// Progress of an upload after a segment was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadProgress {
    /// More segments expected.
    Pending { received: u32, num_segments: u32 },
    /// All segments are there; call [`TransactionTable::complete_upload`].
    Complete,
}

/// All order data of a finished upload, in segment order.
#[derive(Clone, PartialEq, Eq)]
pub struct CompletedUpload {
    pub transaction: TransactionSummary,
    /// Concatenated still-encrypted order data segments.
    pub order_data: Vec<u8>,
    pub encrypted_transaction_key: Vec<u8>,
    pub signature_data: Vec<u8>,
}

impl std::fmt::Debug for CompletedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletedUpload")
            .field("transaction", &self.transaction)
            .field("order_data_len", &self.order_data.len())
            .finish_non_exhaustive()
    }
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedDownload {
    pub transaction: TransactionSummary,
    /// Whether the client acknowledged the data (ReceiptCode 0).
    pub acknowledged: bool,
}

impl FinishedDownload {
    /// The technical return code of the receipt response.
    pub fn return_code(&self) -> ReturnCode {
        if self.acknowledged {
            ReturnCode::DOWNLOAD_POSTPROCESS_DONE
        } else {
            ReturnCode::DOWNLOAD_POSTPROCESS_SKIPPED
        }
    }
}

/// The transactions in progress.
#[derive(Debug, Clone)]
pub struct TransactionTable {
    max_open: usize,
    idle_timeout: Duration,
    open: HashMap<TransactionId, Transaction>,
    /// Whether a segment may be asked for or sent again (HPD `Recovery supported`).
    recovery: bool,
}

impl TransactionTable {
    /// An empty table.
    pub fn new(max_open: usize, idle_timeout: Duration) -> Self {
        Self {
            max_open,
            idle_timeout,
            open: HashMap::new(),
            recovery: true,
        }
    }

    /// A bank that announced no recovery in HPD refuses a repeated segment with
    /// `091105` EBICS_RECOVERY_NOT_SUPPORTED (EBICS Annex 1) instead of serving it again.
    pub fn without_recovery(mut self) -> Self {
        self.recovery = false;
        self
    }

    fn insert(&mut self, tx: Transaction) -> Result<TransactionId, TransactionError> {
        if self.open.len() >= self.max_open {
            return Err(TransactionError::TooManyTransactions(self.max_open));
        }
        let id = tx.id;
        self.open.insert(id, tx);
        Ok(id)
    }

    fn fresh_id(&self) -> TransactionId {
        loop {
            let id = TransactionId::random();
            if !self.open.contains_key(&id) {
                return id;
            }
        }
    }

    /// Opens a transaction of `num_segments` (> 0) segments with its direction-specific data.
    fn open_transaction(
        &mut self,
        new: NewTransaction,
        direction: Direction,
        num_segments: u32,
        data: TransactionData,
        now: DateTime<Utc>,
    ) -> Result<TransactionId, TransactionError> {
        if num_segments == 0 {
            return Err(TransactionError::NoSegments);
        }
        let tx = Transaction {
            id: self.fresh_id(),
            direction,
            protocol: new.protocol,
            partner_id: new.partner_id,
            user_id: new.user_id,
            order: new.order,
            order_id: new.order_id,
            num_segments,
            started_at: now,
            last_activity: now,
            recovery: RecoveryInfo::default(),
            data,
        };
        self.insert(tx)
    }

    /// Starts a download whose segments are already prepared.
    pub fn begin_download(
        &mut self,
        new: NewTransaction,
        segments: Vec<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<TransactionId, TransactionError> {
        let num_segments =
            u32::try_from(segments.len()).map_err(|_| TransactionError::NoSegments)?;
        let data = TransactionData::Download {
            segments,
            highest_sent: 0,
        };
        self.open_transaction(new, Direction::Download, num_segments, data, now)
    }

    /// Starts an upload announcing `num_segments` segments.
    pub fn begin_upload(
        &mut self,
        new: NewTransaction,
        num_segments: u32,
        encrypted_transaction_key: Vec<u8>,
        signature_data: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<TransactionId, TransactionError> {
        let data = TransactionData::Upload {
            segments: BTreeMap::new(),
            encrypted_transaction_key,
            signature_data,
        };
        self.open_transaction(new, Direction::Upload, num_segments, data, now)
    }

    /// The transaction, if it is in progress.
    pub fn get(&self, id: &TransactionId) -> Option<&Transaction> {
        self.open.get(id)
    }

    /// Summaries of all transactions in progress, oldest first.
    pub fn summaries(&self) -> Vec<TransactionSummary> {
        let mut all: Vec<_> = self.open.values().map(Transaction::summary).collect();
        all.sort_by_key(|t| (t.started_at, t.transaction_id));
        all
    }

    fn owned_mut(
        &mut self,
        id: &TransactionId,
        partner: &PartnerId,
        user: &UserId,
        direction: Direction,
    ) -> Result<&mut Transaction, TransactionError> {
        let tx = self
            .open
            .get_mut(id)
            .ok_or(TransactionError::Unknown(*id))?;
        if &tx.partner_id != partner || &tx.user_id != user {
            return Err(TransactionError::WrongSubscriber(*id));
        }
        if tx.direction != direction {
            return Err(tx.wrong_direction());
        }
        Ok(tx)
    }

    /// Hands out download segment `number` (1-based). Asking again for a segment already sent is
    /// allowed (recovery) and counted.
    pub fn download_segment(
        &mut self,
        id: &TransactionId,
        partner: &PartnerId,
        user: &UserId,
        number: u32,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, bool), TransactionError> {
        let recovery = self.recovery;
        let tx = self.owned_mut(id, partner, user, Direction::Download)?;
        let num_segments = tx.num_segments;
        check_segment_number(number, num_segments)?;
        let TransactionData::Download {
            segments,
            highest_sent,
        } = &mut tx.data
        else {
            return Err(tx.wrong_direction());
        };
        if number <= *highest_sent {
            if !recovery {
                return Err(TransactionError::RecoveryNotSupported { number });
            }
            tx.recovery.repeated_segments += 1;
        } else if number > *highest_sent + 1 {
            return Err(TransactionError::SegmentOutOfOrder {
                number,
                expected: *highest_sent + 1,
            });
        }
        *highest_sent = (*highest_sent).max(number);
        let segment = segments[(number - 1) as usize].clone();
        tx.recovery.last_good_segment = *highest_sent;
        tx.last_activity = now;
        Ok((segment, number == num_segments))
    }

    /// Ends a download with the client's receipt (`ReceiptCode` 0 = acknowledged).
    pub fn finish_download(
        &mut self,
        id: &TransactionId,
        partner: &PartnerId,
        user: &UserId,
        receipt_code: u8,
    ) -> Result<FinishedDownload, TransactionError> {
        self.owned_mut(id, partner, user, Direction::Download)?;
        let tx = self.open.remove(id).ok_or(TransactionError::Unknown(*id))?;
        Ok(FinishedDownload {
            transaction: tx.summary(),
            acknowledged: receipt_code == 0,
        })
    }

    /// Stores upload segment `number`; `last` is the client's `lastSegment` flag. Sending a
    /// segment again replaces it (recovery) and is counted.
    pub fn record_upload_segment(
        &mut self,
        id: &TransactionId,
        partner: &PartnerId,
        user: &UserId,
        segment: UploadSegment,
        now: DateTime<Utc>,
    ) -> Result<UploadProgress, TransactionError> {
        let UploadSegment { number, last, data } = segment;
        let recovery = self.recovery;
        let tx = self.owned_mut(id, partner, user, Direction::Upload)?;
        let num_segments = tx.num_segments;
        check_segment_number(number, num_segments)?;
        if last && number < num_segments {
            return Err(TransactionError::SegmentNumberUnderrun {
                number,
                num_segments,
            });
        }
        let TransactionData::Upload { segments, .. } = &mut tx.data else {
            return Err(tx.wrong_direction());
        };
        let expected = segment_count(segments) + 1;
        if segments.contains_key(&number) {
            if !recovery {
                return Err(TransactionError::RecoveryNotSupported { number });
            }
            tx.recovery.repeated_segments += 1;
        } else if number != expected {
            return Err(TransactionError::SegmentOutOfOrder { number, expected });
        }
        segments.insert(number, data);
        let received = segment_count(segments);
        tx.recovery.last_good_segment = received;
        tx.last_activity = now;
        Ok(if received == num_segments {
            UploadProgress::Complete
        } else {
            UploadProgress::Pending {
                received,
                num_segments,
            }
        })
    }

    /// Removes a fully received upload and returns its data.
    pub fn complete_upload(
        &mut self,
        id: &TransactionId,
        partner: &PartnerId,
        user: &UserId,
    ) -> Result<CompletedUpload, TransactionError> {
        let tx = self.owned_mut(id, partner, user, Direction::Upload)?;
        let TransactionData::Upload { segments, .. } = &tx.data else {
            return Err(tx.wrong_direction());
        };
        let received = segment_count(segments);
        if received != tx.num_segments {
            return Err(TransactionError::Incomplete {
                received,
                num_segments: tx.num_segments,
            });
        }
        let tx = self.open.remove(id).ok_or(TransactionError::Unknown(*id))?;
        let summary = tx.summary();
        let TransactionData::Upload {
            segments,
            encrypted_transaction_key,
            signature_data,
        } = tx.data
        else {
            return Err(TransactionError::WrongDirection {
                id: *id,
                actual: Direction::Download,
            });
        };
        Ok(CompletedUpload {
            transaction: summary,
            order_data: segments.into_values().flatten().collect(),
            encrypted_transaction_key,
            signature_data,
        })
    }

    /// Drops transactions idle for longer than the timeout; returns their ids.
    pub fn expire_idle(&mut self, now: DateTime<Utc>) -> Vec<TransactionId> {
        let timeout = self.idle_timeout;
        let expired: Vec<_> = self
            .open
            .values()
            .filter(|t| now - t.last_activity > timeout)
            .map(|t| t.id)
            .collect();
        for id in &expired {
            self.open.remove(id);
        }
        expired
    }

    /// Number of transactions in progress.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether no transaction is in progress.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

/// Segment numbers are 1-based and never exceed the announced count.
fn check_segment_number(number: u32, num_segments: u32) -> Result<(), TransactionError> {
    if number == 0 {
        return Err(TransactionError::SegmentZero);
    }
    if number > num_segments {
        return Err(TransactionError::SegmentNumberExceeded {
            number,
            num_segments,
        });
    }
    Ok(())
}

fn segment_count(segments: &BTreeMap<u32, Vec<u8>>) -> u32 {
    u32::try_from(segments.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> (PartnerId, UserId) {
        ("P1".parse().expect("id"), "U1".parse().expect("id"))
    }

    fn new_tx(order_type: &str) -> NewTransaction {
        let (partner_id, user_id) = who();
        NewTransaction {
            protocol: ProtocolVersion::H004,
            partner_id,
            user_id,
            order: OrderKind::classic(order_type.parse().expect("code")),
            order_id: None,
        }
    }

    fn table() -> TransactionTable {
        TransactionTable::new(10, Duration::seconds(600))
    }

    /// Starts a download of `segments` for the subscriber of [`who`].
    fn begin_download(
        t: &mut TransactionTable,
        order_type: &str,
        segments: &[&[u8]],
        now: DateTime<Utc>,
    ) -> TransactionId {
        let segments = segments.iter().map(|s| s.to_vec()).collect();
        t.begin_download(new_tx(order_type), segments, now)
            .expect("begin")
    }

    /// Asks for download segment `number` as the subscriber of [`who`].
    fn fetch(
        t: &mut TransactionTable,
        id: &TransactionId,
        number: u32,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, bool), TransactionError> {
        let (p, u) = who();
        t.download_segment(id, &p, &u, number, now)
    }

    /// Starts a CCT upload of `num_segments` for the subscriber of [`who`] (transaction key
    /// `key`, signatures `sig`).
    fn begin_upload(
        t: &mut TransactionTable,
        num_segments: u32,
        now: DateTime<Utc>,
    ) -> TransactionId {
        t.begin_upload(
            new_tx("CCT"),
            num_segments,
            b"key".to_vec(),
            b"sig".to_vec(),
            now,
        )
        .expect("begin")
    }

    /// Acknowledges a download with `receipt_code` as the subscriber of [`who`].
    fn finish(
        t: &mut TransactionTable,
        id: &TransactionId,
        receipt_code: u8,
    ) -> Result<FinishedDownload, TransactionError> {
        let (p, u) = who();
        t.finish_download(id, &p, &u, receipt_code)
    }

    /// Completes an upload as the subscriber of [`who`].
    fn complete(
        t: &mut TransactionTable,
        id: &TransactionId,
    ) -> Result<CompletedUpload, TransactionError> {
        let (p, u) = who();
        t.complete_upload(id, &p, &u)
    }

    /// Sends one upload segment as the subscriber of [`who`].
    fn send(
        t: &mut TransactionTable,
        id: &TransactionId,
        number: u32,
        last: bool,
        data: &[u8],
        now: DateTime<Utc>,
    ) -> Result<UploadProgress, TransactionError> {
        let (p, u) = who();
        let segment = UploadSegment {
            number,
            last,
            data: data.to_vec(),
        };
        t.record_upload_segment(id, &p, &u, segment, now)
    }

    #[test]
    fn a_download_hands_out_its_segments_in_order_and_ends_with_a_receipt() {
        let mut t = table();
        let now = Utc::now();
        let id = begin_download(&mut t, "STA", &[b"one", b"two"], now);
        assert_eq!(fetch(&mut t, &id, 1, now), Ok((b"one".to_vec(), false)));
        assert_eq!(fetch(&mut t, &id, 2, now), Ok((b"two".to_vec(), true)));
        assert_eq!(
            fetch(&mut t, &id, 3, now),
            Err(TransactionError::SegmentNumberExceeded {
                number: 3,
                num_segments: 2
            })
        );
        let done = finish(&mut t, &id, 0).expect("receipt");
        assert!(done.acknowledged);
        assert_eq!(done.return_code(), ReturnCode::DOWNLOAD_POSTPROCESS_DONE);
        assert_eq!(
            fetch(&mut t, &id, 1, now),
            Err(TransactionError::Unknown(id))
        );
    }

    #[test]
    fn a_bank_without_recovery_refuses_a_repeated_segment_with_091105() {
        let mut t = table().without_recovery();
        let now = Utc::now();
        let id = begin_download(&mut t, "C53", &[b"a", b"b"], now);
        fetch(&mut t, &id, 1, now).expect("first");
        let again = fetch(&mut t, &id, 1, now).unwrap_err();
        assert_eq!(again.return_code(), ReturnCode::RECOVERY_NOT_SUPPORTED);
        assert_eq!(t.get(&id).map(|tx| tx.recovery.repeated_segments), Some(0));
        fetch(&mut t, &id, 2, now).expect("the next one is served");
    }

    #[test]
    fn a_repeated_download_segment_is_served_again_and_counted_as_recovery() {
        let mut t = table();
        let now = Utc::now();
        let id = begin_download(&mut t, "C53", &[b"a", b"b"], now);
        fetch(&mut t, &id, 1, now).expect("first");
        assert_eq!(fetch(&mut t, &id, 1, now), Ok((b"a".to_vec(), false)));
        assert_eq!(t.get(&id).map(|tx| tx.recovery.repeated_segments), Some(1));
        assert!(matches!(
            fetch(&mut t, &id, 0, now),
            Err(TransactionError::SegmentZero)
        ));
    }

    #[test]
    fn a_negative_receipt_skips_post_processing() {
        let mut t = table();
        let id = begin_download(&mut t, "STA", &[b"x"], Utc::now());
        let done = finish(&mut t, &id, 1).expect("receipt");
        assert_eq!(done.return_code(), ReturnCode::DOWNLOAD_POSTPROCESS_SKIPPED);
    }

    #[test]
    fn another_subscriber_cannot_touch_a_transaction() {
        let (p, _) = who();
        let mut t = table();
        let id = begin_download(&mut t, "STA", &[b"x"], Utc::now());
        let intruder: UserId = "U2".parse().expect("id");
        assert_eq!(
            t.download_segment(&id, &p, &intruder, 1, Utc::now()),
            Err(TransactionError::WrongSubscriber(id))
        );
        assert_eq!(
            TransactionError::WrongSubscriber(id).return_code(),
            ReturnCode::TX_UNKNOWN_TXID
        );
    }

    #[test]
    fn an_upload_collects_segments_and_completes() {
        let mut t = table();
        let now = Utc::now();
        let id = begin_upload(&mut t, 3, now);
        assert_eq!(
            send(&mut t, &id, 1, false, b"ab", now),
            Ok(UploadProgress::Pending {
                received: 1,
                num_segments: 3
            })
        );
        assert!(matches!(
            complete(&mut t, &id),
            Err(TransactionError::Incomplete {
                received: 1,
                num_segments: 3
            })
        ));
        assert_eq!(
            send(&mut t, &id, 3, true, b"ef", now),
            Err(TransactionError::SegmentOutOfOrder {
                number: 3,
                expected: 2
            })
        );
        send(&mut t, &id, 2, false, b"cd", now).expect("segment 2");
        assert_eq!(
            send(&mut t, &id, 3, true, b"ef", now),
            Ok(UploadProgress::Complete)
        );
        let done = complete(&mut t, &id).expect("complete");
        assert_eq!(done.order_data, b"abcdef");
        assert_eq!(done.encrypted_transaction_key, b"key");
        assert!(t.is_empty());
    }

    #[test]
    fn an_early_last_segment_flag_is_an_underrun() {
        let mut t = table();
        let id = begin_upload(&mut t, 2, Utc::now());
        let err = send(&mut t, &id, 1, true, &[1], Utc::now()).expect_err("underrun");
        assert_eq!(err.return_code(), ReturnCode::TX_SEGMENT_NUMBER_UNDERRUN);
        let err = send(&mut t, &id, 3, false, &[1], Utc::now()).expect_err("exceeded");
        assert_eq!(err.return_code(), ReturnCode::TX_SEGMENT_NUMBER_EXCEEDED);
    }

    #[test]
    fn a_resent_upload_segment_replaces_the_old_one() {
        let mut t = table();
        let now = Utc::now();
        let id = begin_upload(&mut t, 2, now);
        send(&mut t, &id, 1, false, b"old", now).expect("1");
        send(&mut t, &id, 1, false, b"new", now).expect("1 again");
        send(&mut t, &id, 2, true, b"!", now).expect("2");
        assert_eq!(
            complete(&mut t, &id).map(|d| d.order_data),
            Ok(b"new!".to_vec())
        );
    }

    #[test]
    fn the_number_of_open_transactions_is_limited() {
        let mut t = TransactionTable::new(2, Duration::seconds(600));
        let now = Utc::now();
        t.begin_download(new_tx("STA"), vec![vec![1]], now)
            .expect("1");
        t.begin_download(new_tx("STA"), vec![vec![1]], now)
            .expect("2");
        let err = t
            .begin_download(new_tx("STA"), vec![vec![1]], now)
            .expect_err("3");
        assert_eq!(err.return_code(), ReturnCode::MAX_TRANSACTIONS_EXCEEDED);
        assert!(matches!(
            t.begin_download(new_tx("STA"), vec![], now),
            Err(TransactionError::TooManyTransactions(2) | TransactionError::NoSegments)
        ));
    }

    #[test]
    fn idle_transactions_expire() {
        let mut t = table();
        let t0 = Utc::now();
        let stale = t
            .begin_download(new_tx("STA"), vec![vec![1], vec![2]], t0)
            .expect("stale");
        let busy = t
            .begin_download(new_tx("STA"), vec![vec![1], vec![2]], t0)
            .expect("busy");
        fetch(&mut t, &busy, 1, t0 + Duration::seconds(500)).expect("activity");
        let expired = t.expire_idle(t0 + Duration::seconds(700));
        assert_eq!(expired, vec![stale]);
        assert!(t.get(&busy).is_some());
    }
}
