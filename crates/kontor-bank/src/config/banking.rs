//! Banking value types of the seed configuration: IBAN, BIC and currency (from
//! `kontor-documents`) and the EBICS signature classes.

use std::fmt;

use kontor_protocol::orderdata::AuthorisationLevel;
use serde::{Deserialize, Serialize};

// IBAN, BIC and currency are the documents crate's types (one vocabulary): checked on
// deserialisation (ISO 13616 mod-97, ISO 9362, ISO 4217 form).
pub use kontor_documents::{Bic, Currency, Iban};

/// EBICS signature class of a subscriber or required by a permission.
///
/// `E` single signature, `A` first signature, `B` second signature, `T` transport signature
/// (authorises the submission only, never the order itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignatureClass {
    E,
    A,
    B,
    T,
}

impl SignatureClass {
    /// Whether a signature of this class counts towards releasing an order.
    pub fn is_bank_technical(self) -> bool {
        !matches!(self, SignatureClass::T)
    }

    /// Whether a signature of this class alone releases an order.
    pub fn releases_alone(self) -> bool {
        matches!(self, SignatureClass::E)
    }

    /// Whether this class satisfies a permission that requires `required`:
    /// E satisfies everything, A satisfies A and B, B only B, and T only T.
    pub fn satisfies(self, required: SignatureClass) -> bool {
        use SignatureClass::*;
        matches!(
            (self, required),
            (E, _) | (A, A | B | T) | (B, B | T) | (T, T)
        )
    }

    /// The class as the order data documents write it (`AuthorisationLevel`).
    pub fn authorisation_level(self) -> AuthorisationLevel {
        match self {
            SignatureClass::E => AuthorisationLevel::E,
            SignatureClass::A => AuthorisationLevel::A,
            SignatureClass::B => AuthorisationLevel::B,
            SignatureClass::T => AuthorisationLevel::T,
        }
    }
}

impl fmt::Display for SignatureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureClass::E => "E",
            SignatureClass::A => "A",
            SignatureClass::B => "B",
            SignatureClass::T => "T",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_class_strength_is_ordered() {
        use SignatureClass::*;
        assert!(E.satisfies(A));
        assert!(A.satisfies(B));
        assert!(!B.satisfies(A));
        assert!(!T.satisfies(B));
        assert!(!T.is_bank_technical());
    }
}
