//! International Bank Account Numbers (ISO 13616).
//!
//! An [`Iban`] can only be obtained through [`Iban::parse`] (or [`Iban::from_bban`]), so holding one
//! guarantees: only `A-Z0-9`, a country from the registry table below with the right length, check
//! digits other than `00`/`01`/`99`, and a valid mod-97 checksum.

use std::fmt;

use crate::inline_code::InlineCode;

/// IBAN lengths per country, from the SWIFT IBAN registry: every SEPA country plus common others.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    // SEPA
    ("AD", 24),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
    // Outside the core SEPA list, but common in European treasury.
    ("AE", 23),
    ("AL", 28),
    ("AZ", 28),
    ("BA", 20),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CR", 22),
    ("DO", 28),
    ("EG", 29),
    ("FO", 18),
    ("GE", 22),
    ("GL", 18),
    ("GT", 28),
    ("IL", 23),
    ("IQ", 23),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MU", 30),
    ("PK", 24),
    ("PS", 29),
    ("QA", 29),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VG", 24),
    ("XK", 20),
];

/// Expected total IBAN length for a country code, if the country is in the table.
pub fn iban_length_for_country(country: &str) -> Option<usize> {
    // Two-byte codes compared as arrays: no call to memcmp per row (one lookup per IBAN read).
    let [a, b] = *country.as_bytes() else {
        return None;
    };
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| *code.as_bytes() == [a, b])
        .map(|(_, len)| *len)
}

/// Why a string is not a valid IBAN. Messages show the IBAN grouped in blocks of four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("IBAN is empty")]
    Empty,
    #[error("IBAN {iban} contains the invalid character {character:?}")]
    InvalidCharacter { iban: String, character: char },
    #[error("IBAN {iban} does not start with a two-letter country code")]
    InvalidCountryCode { iban: String },
    #[error("IBAN {iban}: country {country} is not a known IBAN country")]
    UnsupportedCountry { iban: String, country: String },
    #[error("IBAN {iban} has {actual} characters, but IBANs of {country} have {expected}")]
    InvalidLength {
        iban: String,
        country: String,
        expected: usize,
        actual: usize,
    },
    #[error("IBAN {iban} has invalid check digits")]
    InvalidCheckDigits { iban: String },
    #[error("IBAN {iban} has an invalid checksum")]
    InvalidChecksum { iban: String },
}

/// The longest IBAN of ISO 13616.
const MAX_LEN: usize = 34;

/// A validated IBAN, stored in electronic form (upper case, no spaces).
///
/// Held inline, like a [`crate::Bic`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban {
    code: InlineCode<MAX_LEN>,
}

impl Iban {
    /// Parses an IBAN, ignoring any whitespace and accepting lower case letters.
    pub fn parse(input: &str) -> Result<Iban, IbanError> {
        // Statements carry IBANs in electronic form: upper case, no spaces, no copy on the heap.
        let upper = InlineCode::<MAX_LEN>::upper_case(input);
        let spaced: String;
        let compact: &str = match &upper {
            Some(upper) => upper.as_str(),
            None => {
                spaced = input
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                &spaced
            }
        };
        if compact.is_empty() {
            return Err(IbanError::Empty);
        }
        // Only for an error: a parser reading millions of IBANs should not format each.
        let shown = || group_for_display(compact);
        if let Some(bad) = compact.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(IbanError::InvalidCharacter {
                iban: shown(),
                character: bad,
            });
        }
        let bytes = compact.as_bytes();
        if bytes.len() < 2 || !bytes[..2].iter().all(u8::is_ascii_uppercase) {
            return Err(IbanError::InvalidCountryCode { iban: shown() });
        }
        let country = &compact[..2];
        let expected =
            iban_length_for_country(country).ok_or_else(|| IbanError::UnsupportedCountry {
                iban: shown(),
                country: country.to_string(),
            })?;
        if compact.len() != expected {
            return Err(IbanError::InvalidLength {
                iban: shown(),
                country: country.to_string(),
                expected,
                actual: compact.len(),
            });
        }
        let check = &compact[2..4];
        // 00, 01 and 99 can never result from the check digit computation (ECBS TR 201); 00 and 97
        // would otherwise both pass the mod-97 test.
        if !check.bytes().all(|b| b.is_ascii_digit()) || matches!(check, "00" | "01" | "99") {
            return Err(IbanError::InvalidCheckDigits { iban: shown() });
        }
        if mod97(&compact[4..], country, check) != 1 {
            return Err(IbanError::InvalidChecksum { iban: shown() });
        }
        // Every length in the table fits.
        let code = InlineCode::upper_case(compact).ok_or_else(|| IbanError::InvalidLength {
            iban: shown(),
            country: country.to_string(),
            expected,
            actual: compact.len(),
        })?;
        Ok(Iban { code })
    }

    /// Builds an IBAN from a country code and a BBAN by computing the check digits.
    pub fn from_bban(country: &str, bban: &str) -> Result<Iban, IbanError> {
        let country = country.to_ascii_uppercase();
        let bban: String = bban
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let shown = group_for_display(&format!("{country}??{bban}"));
        if let Some(bad) = bban.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(IbanError::InvalidCharacter {
                iban: shown,
                character: bad,
            });
        }
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(IbanError::InvalidCountryCode { iban: shown });
        }
        let remainder = mod97(&bban, &country, "00");
        let check = 98 - remainder;
        Iban::parse(&format!("{country}{check:02}{bban}"))
    }

    /// The electronic form: upper case, no spaces (e.g. `DE89370400440532013000`).
    pub fn electronic(&self) -> &str {
        self.code.as_str()
    }

    /// ISO 3166 country code (first two characters).
    pub fn country_code(&self) -> &str {
        &self.electronic()[..2]
    }

    /// The country-specific part after the check digits.
    pub fn bban(&self) -> &str {
        &self.electronic()[4..]
    }
}

/// Remainder of `bban + country + check` read as a number (letters as 10..35), modulo 97;
/// `u32::MAX` when a character is neither a digit nor a letter.
fn mod97(bban: &str, country: &str, check: &str) -> u32 {
    // Below 10^15 the accumulator takes two more digits without overflowing a u64, so the
    // division is needed about once every 13 characters, not once per character.
    // One plain loop per part: a chained iterator costs twice as much per character.
    let mut acc: u64 = 0;
    for part in [bban, country, check] {
        for b in part.bytes() {
            acc = match b {
                b'0'..=b'9' => acc * 10 + u64::from(b - b'0'),
                b'A'..=b'Z' => acc * 100 + u64::from(b - b'A' + 10),
                b'a'..=b'z' => acc * 100 + u64::from(b - b'a' + 10),
                _ => return u32::MAX,
            };
            if acc >= 1_000_000_000_000_000 {
                acc %= 97;
            }
        }
    }
    (acc % 97) as u32
}

fn group_for_display(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() + compact.len() / 4);
    for (i, c) in compact.chars().take(64).enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if compact.chars().count() > 64 {
        out.push('…');
    }
    out
}

impl fmt::Display for Iban {
    /// Paper form: groups of four separated by spaces (`DE89 3704 0044 0532 0130 00`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&group_for_display(self.electronic()))
    }
}

validated_text!(
    Iban,
    IbanError,
    electronic,
    "^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$",
    "An IBAN (ISO 13616), electronic form without spaces."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_iban_with_spaces_and_lower_case_is_normalised() {
        let iban = Iban::parse(" de89 3704 0044 0532 0130 00 ").unwrap();
        assert_eq!(iban.electronic(), "DE89370400440532013000");
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
        assert_eq!(iban.country_code(), "DE");
        assert_eq!(iban.bban(), "370400440532013000");
    }

    #[test]
    fn well_known_ibans_of_several_countries_are_valid() {
        for s in [
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91 ABNA 0417 1643 00",
            "AT61 1904 3002 3457 3201",
            "CH93 0076 2011 6238 5295 7",
            "BE68 5390 0754 7034",
            "NO93 8601 1117 947",
            "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
        ] {
            assert!(Iban::parse(s).is_ok(), "{s} should be valid");
        }
    }

    #[test]
    fn wrong_checksum_is_reported_with_grouped_iban() {
        let err = Iban::parse("DE89370400440532013001").unwrap_err();
        assert_eq!(
            err.to_string(),
            "IBAN DE89 3704 0044 0532 0130 01 has an invalid checksum"
        );
    }

    #[test]
    fn wrong_length_names_expected_length() {
        let err = Iban::parse("DE8937040044053201300").unwrap_err();
        assert!(matches!(
            err,
            IbanError::InvalidLength {
                expected: 22,
                actual: 21,
                ..
            }
        ));
    }

    #[test]
    fn unknown_country_and_bad_characters_are_rejected() {
        assert!(matches!(
            Iban::parse("ZZ89370400440532013000"),
            Err(IbanError::UnsupportedCountry { .. })
        ));
        assert!(matches!(
            Iban::parse("DE89-3704-0044"),
            Err(IbanError::InvalidCharacter { character: '-', .. })
        ));
        assert!(matches!(
            Iban::parse("1234"),
            Err(IbanError::InvalidCountryCode { .. })
        ));
        assert_eq!(Iban::parse("   "), Err(IbanError::Empty));
    }

    #[test]
    fn check_digits_00_01_99_are_rejected_even_if_mod97_matches() {
        // DE89... is valid; the same BBAN with 89 ± 97 is impossible, but 00/01/99 must fail early.
        for check in ["00", "01", "99"] {
            let s = format!("DE{check}370400440532013000");
            assert!(matches!(
                Iban::parse(&s),
                Err(IbanError::InvalidCheckDigits { .. })
            ));
        }
    }

    #[test]
    fn from_bban_computes_check_digits() {
        let iban = Iban::from_bban("DE", "370400440532013000").unwrap();
        assert_eq!(iban.electronic(), "DE89370400440532013000");
        let gb = Iban::from_bban("gb", "WEST12345698765432").unwrap();
        assert_eq!(gb.electronic(), "GB82WEST12345698765432");
    }
}
