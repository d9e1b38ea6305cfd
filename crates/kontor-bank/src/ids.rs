//! Identifier newtypes. Each is validated when constructed (parsing or deserialising), so bank
//! state never holds an identifier that the EBICS schemas would reject.

use std::fmt;
use std::str::FromStr;

use kontor_protocol::lexical;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// An identifier string that does not have the required form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {rule}")]
pub struct InvalidId {
    /// What was being parsed (`partner id`, `order id`, ...).
    pub kind: &'static str,
    /// The rejected input (ids are public, so echoing them is fine).
    pub value: String,
    /// The rule it broke.
    pub rule: &'static str,
}

impl InvalidId {
    fn new(kind: &'static str, value: &str, rule: &'static str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
            rule,
        }
    }
}

/// The string conversions behind `#[serde(try_from = "String", into = "String")]`: parse on the
/// way in, the displayed form on the way out.
macro_rules! string_serde {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

/// Defines a string newtype with a validating `FromStr`, `Display` and string serde.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:expr, $rule:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as it appears in XML and JSON.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(InvalidId::new($kind, s, $rule))
                }
            }
        }

        string_serde!($name);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The bank's EBICS host id (HostIDType: a token of at most 35 characters; the emulator
    /// additionally restricts it to ASCII letters, digits, `-` and `_`).
    HostId,
    "host id",
    |s| (1..=35).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
    "1 to 35 ASCII letters, digits, '-' or '_'"
);

string_id!(
    /// An EBICS customer (partner) id.
    PartnerId,
    "partner id",
    lexical::is_subscriber_id,
    "1 to 35 characters of [a-zA-Z0-9,=]"
);

string_id!(
    /// An EBICS user (subscriber) id, unique within its partner.
    UserId,
    "user id",
    lexical::is_subscriber_id,
    "1 to 35 characters of [a-zA-Z0-9,=]"
);

string_id!(
    /// The emulator's own name for an account (used by permissions and the ledger).
    AccountId,
    "account id",
    |s| (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()),
    "1 to 64 printable ASCII characters without spaces"
);

string_id!(
    /// A three character EBICS order type (`STA`, `C53`, `CCT`, `HPB`, ...) or, in H005, an admin
    /// order type (`BTD`, `BTU`, `HPB`, ...). OrderTBaseType: `[A-Z0-9]{3}`.
    OrderTypeCode,
    "order type",
    |s| lexical::is_code(s, 3, 3),
    "exactly 3 characters of [A-Z0-9]"
);

/// Formats bytes as upper-case hex (the form the emulator emits for transaction ids and nonces).
fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Parses exactly `N` bytes from hex (either case: the schemas type these as `hexBinary`).
fn parse_hex<const N: usize>(
    s: &str,
    kind: &'static str,
    rule: &'static str,
) -> Result<[u8; N], InvalidId> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return Err(InvalidId::new(kind, s, rule));
    }
    hex::decode_to_slice(s, &mut out).map_err(|_| InvalidId::new(kind, s, rule))?;
    Ok(out)
}

/// Parsing, string serde and upper-case hex display of a 16-byte `hexBinary` id.
macro_rules! hex_id {
    ($name:ident, $kind:literal) => {
        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex::<16>(s, $kind, "32 hex characters").map(Self)
            }
        }

        string_serde!($name);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&upper_hex(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

/// An EBICS transaction id: 16 random bytes, written as 32 upper-case hex characters
/// (TransactionIDType is `hexBinary` of length 16).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionId([u8; 16]);

impl TransactionId {
    /// A fresh id from the operating system's CSPRNG (ids must not be guessable: they are the
    /// only thing that ties a Transfer or Receipt request to its transaction).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

hex_id!(TransactionId, "transaction id");

/// A request nonce (NonceType: `hexBinary` of length 16).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nonce([u8; 16]);

impl Nonce {
    /// Wraps raw nonce bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

hex_id!(Nonce, "nonce");

/// An EBICS order id: OrderIDType in both H004 and H005 is a token of length 4 matching
/// `[A-Z][A-Z0-9]{3}` ("Auftragsnummer lt. DFÜ-Abkommen").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId([u8; 4]);

/// Number of order ids the 4-character space offers: 26 * 36^3.
pub const ORDER_ID_SPACE: u32 = 26 * 36 * 36 * 36;

const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl OrderId {
    /// `A001`, the first id the bank hands out.
    pub const FIRST: OrderId = OrderId(*b"A001");

    /// The `index`-th order id in the order `A000, A001, ..., A00Z, A010, ..., ZZZZ`.
    /// Returns `None` when `index` is outside the id space.
    pub fn from_index(index: u32) -> Option<Self> {
        if index >= ORDER_ID_SPACE {
            return None;
        }
        let lead = (index / (36 * 36 * 36)) as u8;
        let mut rest = index % (36 * 36 * 36);
        let mut out = [b'A' + lead, b'0', b'0', b'0'];
        for slot in out[1..].iter_mut().rev() {
            *slot = BASE36[(rest % 36) as usize];
            rest /= 36;
        }
        Some(Self(out))
    }

    /// The position of this id in the sequence used by [`OrderId::from_index`].
    pub fn index(&self) -> u32 {
        let lead = u32::from(self.0[0] - b'A');
        self.0[1..].iter().fold(lead, |acc, &c| {
            let digit = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A' + 10
            };
            acc * 36 + u32::from(digit)
        })
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }
}

impl FromStr for OrderId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let ok = b.len() == 4
            && b[0].is_ascii_uppercase()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            return Err(InvalidId::new(
                "order id",
                s,
                "4 characters matching [A-Z][A-Z0-9]{3}",
            ));
        }
        Ok(Self([b[0], b[1], b[2], b[3]]))
    }
}

string_serde!(OrderId);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subscriber_ids_follow_the_schema_pattern() {
        assert!("PARTNER1".parse::<PartnerId>().is_ok());
        assert!("user,=1".parse::<UserId>().is_ok());
        assert!("".parse::<UserId>().is_err());
        assert!("has space".parse::<UserId>().is_err());
        assert!("x".repeat(36).parse::<PartnerId>().is_err());
    }

    #[test]
    fn order_type_codes_are_three_upper_case_alphanumerics() {
        assert!("C53".parse::<OrderTypeCode>().is_ok());
        assert!("sta".parse::<OrderTypeCode>().is_err());
        assert!("STAT".parse::<OrderTypeCode>().is_err());
    }

    #[test]
    fn transaction_id_is_32_upper_case_hex_characters() {
        let id = TransactionId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
        assert_eq!(text.parse::<TransactionId>(), Ok(id));
        assert_eq!(text.to_ascii_lowercase().parse::<TransactionId>(), Ok(id));
        assert!("ABC".parse::<TransactionId>().is_err());
        assert_ne!(TransactionId::random(), TransactionId::random());
    }

    #[test]
    fn order_ids_start_at_a000_and_count_in_base_36() {
        let cases = [
            (0, "A000"),
            (1, "A001"),
            (35, "A00Z"),
            (36, "A010"),
            (36 * 36 * 36, "B000"),
            (ORDER_ID_SPACE - 1, "ZZZZ"),
        ];
        for (index, expected) in cases {
            assert_eq!(
                OrderId::from_index(index).map(|o| o.to_string()),
                Some(expected.into()),
                "index {index}"
            );
        }
        assert_eq!(OrderId::from_index(ORDER_ID_SPACE), None);
    }

    #[test]
    fn order_id_parsing_rejects_a_leading_digit() {
        assert!("1A00".parse::<OrderId>().is_err());
        assert!("a001".parse::<OrderId>().is_err());
        assert!("A0001".parse::<OrderId>().is_err());
    }

    proptest! {
        #[test]
        fn every_order_id_index_round_trips_and_matches_the_schema(index in 0u32..ORDER_ID_SPACE) {
            let id = OrderId::from_index(index).expect("in range");
            prop_assert_eq!(id.index(), index);
            let text = id.to_string();
            prop_assert_eq!(text.parse::<OrderId>(), Ok(id));
        }
    }
}
