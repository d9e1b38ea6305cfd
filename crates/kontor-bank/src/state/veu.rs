//! Distributed electronic signature (VEU / EDS): orders waiting for more signatures.
//!
//! An order signed by a subscriber whose signature does not release it alone (class A or B)
//! enters the VEU. Further subscribers of the same partner sign (HVE) or cancel (HVS) it.
//! It is released once the required number of bank-technical signatures (E, A, B – never T)
//! from distinct signers is reached.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::{Currency, SignatureClass};
use crate::ids::{OrderId, PartnerId, UserId};
use crate::return_codes::ReturnCode;
use crate::state::transactions::OrderKind;

/// Where a VEU item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VeuStatus {
    /// Waiting for more signatures.
    Pending,
    /// Enough signatures: released for execution.
    Released,
    /// Cancelled by a signer.
    Cancelled,
}

/// A signature collected in the VEU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VeuSigner {
    pub user_id: UserId,
    pub signature_class: SignatureClass,
    pub signed_at: DateTime<Utc>,
}

/// An order awaiting signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VeuItem {
    pub order_id: OrderId,
    pub order: OrderKind,
    pub partner_id: PartnerId,
    /// The subscriber who submitted the order.
    pub originator: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Bank-technical signatures needed to release the order.
    pub required_signatures: u8,
    pub signers: Vec<VeuSigner>,
    pub status: VeuStatus,
    pub created_at: DateTime<Utc>,
}

/// Why a VEU action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VeuError {
    #[error("order {0} is not in the distributed signature")]
    UnknownOrder(OrderId),
    #[error("order {order_id} is already {status:?}")]
    NotPending {
        order_id: OrderId,
        status: VeuStatus,
    },
    #[error("{0} already signed this order")]
    DuplicateSignature(UserId),
    #[error("a transport signature (class T) cannot authorise an order")]
    TransportSignature,
    #[error("{user} belongs to partner {partner}, not to the order's partner")]
    ForeignSigner { user: UserId, partner: PartnerId },
}

impl VeuError {
    /// The EBICS business return code for this refusal.
    pub fn return_code(&self) -> ReturnCode {
        match self {
            VeuError::UnknownOrder(_) => ReturnCode::ORDERID_UNKNOWN,
            VeuError::NotPending { .. } => ReturnCode::INVALID_SIGNER_STATE,
            VeuError::DuplicateSignature(_) => ReturnCode::DUPLICATE_SIGNATURE,
            VeuError::TransportSignature | VeuError::ForeignSigner { .. } => {
                ReturnCode::SIGNER_UNKNOWN
            }
        }
    }
}

/// The release rule, in one place: one E signature, or two bank-technical signatures of which
/// at least one is A (A+A, A+B). B+B and transport signatures (T) never release.
pub fn signatures_release(classes: impl IntoIterator<Item = SignatureClass>) -> bool {
    let classes: Vec<SignatureClass> = classes.into_iter().collect();
    let bank_technical = classes.iter().filter(|c| c.is_bank_technical()).count();
    classes.contains(&SignatureClass::E)
        || (bank_technical >= 2 && classes.contains(&SignatureClass::A))
}

/// Signatures an order needs: one for an E signer, two (A + A/B) otherwise.
pub fn required_signatures(originator_class: SignatureClass) -> u8 {
    if originator_class.releases_alone() {
        1
    } else {
        2
    }
}

impl VeuItem {
    /// Bank-technical signatures collected so far.
    pub fn collected(&self) -> usize {
        self.signers
            .iter()
            .filter(|s| s.signature_class.is_bank_technical())
            .count()
    }

    /// Signing and cancelling need a pending order of the caller's own partner.
    fn check_open_to(&self, partner: &PartnerId, user: &UserId) -> Result<(), VeuError> {
        if self.status != VeuStatus::Pending {
            return Err(VeuError::NotPending {
                order_id: self.order_id,
                status: self.status,
            });
        }
        if partner != &self.partner_id {
            return Err(VeuError::ForeignSigner {
                user: user.clone(),
                partner: partner.clone(),
            });
        }
        Ok(())
    }

    /// Adds a signature; returns the new status (`Released` once enough signatures are in).
    pub fn sign(
        &mut self,
        partner: &PartnerId,
        user: UserId,
        class: SignatureClass,
        now: DateTime<Utc>,
    ) -> Result<VeuStatus, VeuError> {
        self.check_open_to(partner, &user)?;
        if !class.is_bank_technical() {
            return Err(VeuError::TransportSignature);
        }
        if self.signers.iter().any(|s| s.user_id == user) {
            return Err(VeuError::DuplicateSignature(user));
        }
        // Two B signatures do not make a release: at least one signature must be E or A.
        self.signers.push(VeuSigner {
            user_id: user,
            signature_class: class,
            signed_at: now,
        });
        if signatures_release(self.signers.iter().map(|s| s.signature_class)) {
            self.status = VeuStatus::Released;
        }
        Ok(self.status)
    }

    /// Cancels the order (HVS).
    pub fn cancel(&mut self, partner: &PartnerId, user: &UserId) -> Result<VeuStatus, VeuError> {
        self.check_open_to(partner, user)?;
        self.status = VeuStatus::Cancelled;
        Ok(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(required: u8) -> VeuItem {
        VeuItem {
            order_id: OrderId::FIRST,
            order: OrderKind::classic("CCT".parse().expect("code")),
            partner_id: "P1".parse().expect("id"),
            originator: "U2".parse().expect("id"),
            amount: Some(Decimal::new(150_000, 2)),
            currency: Some("EUR".parse().expect("currency")),
            required_signatures: required,
            signers: vec![],
            status: VeuStatus::Pending,
            created_at: Utc::now(),
        }
    }

    fn p1() -> PartnerId {
        "P1".parse().expect("id")
    }

    fn user(id: &str) -> UserId {
        id.parse().expect("id")
    }

    /// `id` of partner P1 signs `v` now.
    fn sign_as(v: &mut VeuItem, id: &str, class: SignatureClass) -> Result<VeuStatus, VeuError> {
        v.sign(&p1(), user(id), class, Utc::now())
    }

    #[test]
    fn two_signatures_release_an_order_that_needs_two() {
        let mut v = item(required_signatures(SignatureClass::A));
        assert_eq!(
            sign_as(&mut v, "U2", SignatureClass::A),
            Ok(VeuStatus::Pending)
        );
        assert_eq!(
            sign_as(&mut v, "U3", SignatureClass::B),
            Ok(VeuStatus::Released)
        );
        assert_eq!(v.collected(), 2);
    }

    #[test]
    fn two_b_signatures_are_not_enough() {
        let mut v = item(2);
        sign_as(&mut v, "U3", SignatureClass::B).expect("B");
        assert_eq!(
            sign_as(&mut v, "U4", SignatureClass::B),
            Ok(VeuStatus::Pending)
        );
    }

    #[test]
    fn the_same_signer_cannot_sign_twice() {
        let mut v = item(2);
        sign_as(&mut v, "U2", SignatureClass::A).expect("first");
        let err = sign_as(&mut v, "U2", SignatureClass::A).expect_err("duplicate");
        assert_eq!(err.return_code(), ReturnCode::DUPLICATE_SIGNATURE);
    }

    #[test]
    fn transport_and_foreign_signatures_are_refused() {
        let mut v = item(2);
        assert_eq!(
            sign_as(&mut v, "T1", SignatureClass::T),
            Err(VeuError::TransportSignature)
        );
        let p2: PartnerId = "P2".parse().expect("id");
        assert!(matches!(
            v.sign(&p2, user("X"), SignatureClass::E, Utc::now()),
            Err(VeuError::ForeignSigner { .. })
        ));
        assert!(v.signers.is_empty());
    }

    #[test]
    fn a_cancelled_order_takes_no_more_signatures() {
        let mut v = item(2);
        assert_eq!(v.cancel(&p1(), &user("U3")), Ok(VeuStatus::Cancelled));
        let err = sign_as(&mut v, "U2", SignatureClass::E).expect_err("cancelled");
        assert_eq!(err.return_code(), ReturnCode::INVALID_SIGNER_STATE);
    }

    #[test]
    fn an_e_signer_needs_one_signature() {
        assert_eq!(required_signatures(SignatureClass::E), 1);
        let mut v = item(1);
        assert_eq!(
            sign_as(&mut v, "U1", SignatureClass::E),
            Ok(VeuStatus::Released)
        );
    }
}
