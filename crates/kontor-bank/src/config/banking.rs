//! Small banking value types used by the seed configuration: IBAN, BIC, currency and the EBICS
//! signature classes. Each validates on construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::InvalidId;

/// An IBAN in electronic form (no spaces), checked with the ISO 13616 mod-97 rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iban(String);

impl Iban {
    /// The IBAN without spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter country code.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }
}

fn iban_checksum_ok(iban: &str) -> bool {
    // Move the first four characters to the end, map letters to 10..35, take the number mod 97.
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

impl FromStr for Iban {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let b = compact.as_bytes();
        let shape_ok = (15..=34).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..4].iter().all(u8::is_ascii_digit)
            && b[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !shape_ok || !iban_checksum_ok(&compact) {
            return Err(InvalidId {
                kind: "IBAN",
                value: s.to_owned(),
                rule: "ISO 13616 form with a valid mod-97 check",
            });
        }
        Ok(Self(compact))
    }
}

impl TryFrom<String> for Iban {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Iban> for String {
    fn from(i: Iban) -> String {
        i.0
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BIC (ISO 9362): 8 or 11 characters, `[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bic(String);

impl Bic {
    /// The BIC as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Bic {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let ok = (b.len() == 8 || b.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId {
                kind: "BIC",
                value: s.to_owned(),
                rule: "8 or 11 characters: [A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?",
            })
        }
    }
}

impl TryFrom<String> for Bic {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Bic> for String {
    fn from(b: Bic) -> String {
        b.0
    }
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 alphabetic currency code (three upper-case letters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// The code, e.g. `EUR`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Currency {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId {
                kind: "currency",
                value: s.to_owned(),
                rule: "three upper-case letters (ISO 4217)",
            })
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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
    fn valid_ibans_are_accepted_with_or_without_spaces() {
        assert!("DE89370400440532013000".parse::<Iban>().is_ok());
        assert_eq!(
            "DE89 3704 0044 0532 0130 00"
                .parse::<Iban>()
                .map(|i| i.to_string()),
            Ok("DE89370400440532013000".to_owned())
        );
        assert!("GB82WEST12345698765432".parse::<Iban>().is_ok());
    }

    #[test]
    fn an_iban_with_a_wrong_check_digit_is_rejected() {
        assert!("DE88370400440532013000".parse::<Iban>().is_err());
        assert!("de89370400440532013000".parse::<Iban>().is_err());
        assert!("DE89".parse::<Iban>().is_err());
    }

    #[test]
    fn bics_have_eight_or_eleven_characters() {
        assert!("COBADEFF".parse::<Bic>().is_ok());
        assert!("COBADEFFXXX".parse::<Bic>().is_ok());
        assert!("COBADEF".parse::<Bic>().is_err());
        assert!("C0BADEFF".parse::<Bic>().is_err());
    }

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
