//! Orders the bank received (uploads), order id allocation and the log of served downloads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::SignatureClass;
use crate::ids::{OrderId, PartnerId, TransactionId, UserId, ORDER_ID_SPACE};
use crate::state::transactions::OrderKind;
use kontor_protocol::ProtocolVersion;

/// Hands out order ids per partner: `A001`, `A002`, ... (`[A-Z][A-Z0-9]{3}`, the same pattern in
/// H004 and H005), wrapping around after `ZZZZ`. Ids are unique per partner, which is how
/// EBICS scopes them.
#[derive(Debug, Clone, Default)]
pub struct OrderIdAllocator {
    next: HashMap<PartnerId, u32>,
}

impl OrderIdAllocator {
    /// The next order id for a partner.
    pub fn allocate(&mut self, partner: &PartnerId) -> OrderId {
        let slot = self.next.entry(partner.clone()).or_insert(1);
        let index = *slot;
        // Index 0 ("A000") is skipped on wrap-around too, so every sequence starts at A001.
        *slot = if index + 1 >= ORDER_ID_SPACE {
            1
        } else {
            index + 1
        };
        OrderId::from_index(index).unwrap_or(OrderId::FIRST)
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Fully authorised and accepted for execution.
    Accepted,
    /// Waiting for more signatures in the distributed signature (VEU).
    AwaitingSignatures,
    /// Rejected (signature, authorisation or content error).
    Rejected,
    /// Cancelled in the VEU.
    Cancelled,
}

/// One electronic signature on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderSignature {
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub signature_class: SignatureClass,
    /// `A005` / `A006`.
    pub version: String,
    /// Whether the protocol layer verified it.
    pub verified: bool,
    pub signed_at: DateTime<Utc>,
}

/// What the protocol layer hands over when an upload completed.
#[derive(Clone)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub order: OrderKind,
    pub protocol: ProtocolVersion,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub transaction_id: Option<TransactionId>,
    /// Decrypted, decompressed order data (e.g. a pain.001 document).
    pub content: Vec<u8>,
    pub signatures: Vec<OrderSignature>,
    pub status: OrderStatus,
    /// Free-text reason for `Rejected`.
    pub status_reason: Option<String>,
    /// `GrpHdr/MsgId` of a payment document (pain.001/pain.008): the bank's duplicate key.
    pub message_id: Option<String>,
}

/// `Debug` for an order type that shows which order it is and how large, never its content:
/// orders end up in logs and panics, and their content is payment files.
macro_rules! debug_order_without_content {
    ($order:ident, size: |$it:ident| $size:expr) => {
        impl std::fmt::Debug for $order {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $it = self;
                f.debug_struct(stringify!($order))
                    .field("order_id", &$it.order_id)
                    .field("order", &$it.order)
                    .field("partner_id", &$it.partner_id)
                    .field("user_id", &$it.user_id)
                    .field("size", &$size)
                    .field("status", &$it.status)
                    .finish_non_exhaustive()
            }
        }
    };
}

debug_order_without_content!(NewOrder, size: |order| order.content.len());

/// A received order.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedOrder {
    pub order_id: OrderId,
    pub order: OrderKind,
    pub protocol: ProtocolVersion,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    #[serde(skip)]
    pub content: Vec<u8>,
    pub size: usize,
    /// SHA-256 of the content, lower-case hex (lets tests compare without shipping content).
    pub sha256: String,
    pub signatures: Vec<OrderSignature>,
    pub status: OrderStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// ISO 20022 status reason code of a rejection after acceptance (e.g. `AM04`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<String>,
    /// `GrpHdr/MsgId` of a payment document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Single transactions of an accepted payment the bank rejected at execution, by
    /// end-to-end id, with their ISO status reason code (e.g. `AC04`, account closed).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub rejected_transactions: std::collections::BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

debug_order_without_content!(ReceivedOrder, size: |order| order.size);

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl ReceivedOrder {
    /// Builds the stored order from what the protocol layer delivered.
    pub fn from_new(new: NewOrder, now: DateTime<Utc>) -> Self {
        Self {
            size: new.content.len(),
            sha256: sha256_hex(&new.content),
            order_id: new.order_id,
            order: new.order,
            protocol: new.protocol,
            partner_id: new.partner_id,
            user_id: new.user_id,
            transaction_id: new.transaction_id,
            content: new.content,
            signatures: new.signatures,
            status: new.status,
            status_reason: new.status_reason,
            status_reason_code: None,
            message_id: new.message_id,
            rejected_transactions: Default::default(),
            created_at: now,
        }
    }
}

/// A payment document whose message id the bank already received from the partner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message id {message_id} was already submitted by partner {partner} (order {earlier})")]
pub struct DuplicateMessage {
    pub partner: PartnerId,
    pub message_id: String,
    pub earlier: OrderId,
}

/// Why an order cannot be rejected after the fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejectError {
    #[error("order {order_id} of partner {partner} is unknown")]
    UnknownOrder {
        partner: PartnerId,
        order_id: OrderId,
    },
    /// Only executed orders can bounce (VEU-pending ones are cancelled through the VEU).
    #[error("order {order_id} is {status:?}, only accepted orders can be rejected")]
    NotAccepted {
        order_id: OrderId,
        status: OrderStatus,
    },
    #[error("order {order_id} has no transaction with end-to-end id {end_to_end_id:?}")]
    UnknownTransaction {
        order_id: OrderId,
        end_to_end_id: String,
    },
}

/// A download the bank served (plain payload digest, before compression and encryption):
/// lets interoperability tests prove that what a client stored is what the bank generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedDownload {
    pub transaction_id: TransactionId,
    /// The (admin) order type, e.g. `STA`, `C53` or `BTD`.
    pub order_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<kontor_protocol::order_type::BtfServiceText>,
    pub partner_id: PartnerId,
    pub user_id: UserId,
    pub size: usize,
    /// SHA-256 of the plain payload, lower-case hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_count_from_a001_per_partner() {
        let mut alloc = OrderIdAllocator::default();
        let p1: PartnerId = "P1".parse().expect("id");
        let p2: PartnerId = "P2".parse().expect("id");
        let first: Vec<String> = (0..3).map(|_| alloc.allocate(&p1).to_string()).collect();
        assert_eq!(first, ["A001", "A002", "A003"]);
        assert_eq!(
            alloc.allocate(&p2).to_string(),
            "A001",
            "each partner has its own sequence"
        );
        for _ in 0..32 {
            alloc.allocate(&p1);
        }
        assert_eq!(
            alloc.allocate(&p1).to_string(),
            "A010",
            "A00Z is followed by A010"
        );
    }

    #[test]
    fn order_ids_wrap_around_after_zzzz() {
        let p: PartnerId = "P1".parse().expect("id");
        let mut alloc = OrderIdAllocator {
            next: HashMap::from([(p.clone(), ORDER_ID_SPACE - 1)]),
        };
        assert_eq!(alloc.allocate(&p).to_string(), "ZZZZ");
        assert_eq!(alloc.allocate(&p).to_string(), "A001");
    }

    fn new_order(content: &[u8]) -> NewOrder {
        NewOrder {
            order_id: OrderId::FIRST,
            order: OrderKind::classic("CCT".parse().expect("code")),
            protocol: ProtocolVersion::H004,
            partner_id: "P1".parse().expect("id"),
            user_id: "U1".parse().expect("id"),
            transaction_id: None,
            content: content.to_vec(),
            signatures: vec![],
            status: OrderStatus::Accepted,
            status_reason: None,
            message_id: None,
        }
    }

    #[test]
    fn received_orders_carry_size_and_digest_of_their_content() {
        let order = ReceivedOrder::from_new(new_order(b"abc"), Utc::now());
        assert_eq!(order.size, 3);
        assert_eq!(
            order.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_output_shows_the_size_of_the_content_but_not_the_content() {
        let content = b"<Document>payment</Document>";
        let new = new_order(content);
        let received = ReceivedOrder::from_new(new.clone(), Utc::now());
        let content_bytes = format!("{:?}", content.to_vec());
        for printed in [format!("{new:?}"), format!("{received:?}")] {
            let size = format!("size: {}", content.len());
            assert!(printed.contains(&size), "{printed}");
            assert!(!printed.contains("content"), "{printed}");
            assert!(!printed.contains(&content_bytes), "{printed}");
        }
        assert!(format!("{new:?}").starts_with("NewOrder { order_id: "));
        assert!(format!("{received:?}").starts_with("ReceivedOrder { order_id: "));
    }
}
