//! Business Identifier Codes (ISO 9362).
//!
//! A [`Bic`] holds 8 or 11 upper case characters following ISO 9362:2014: a four character party
//! prefix (letters or digits), a two letter country code, a two character location code and an
//! optional three character branch code — the pattern of `BICFIDec2014Identifier` in the
//! ISO 20022 schemas.

use std::fmt;

use crate::inline_code::InlineCode;

/// Why a string is not a valid BIC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BicError {
    #[error("BIC {bic:?} must have 8 or 11 characters, it has {actual}")]
    InvalidLength { bic: String, actual: usize },
    #[error("BIC {bic:?} contains the invalid character {character:?}")]
    InvalidCharacter { bic: String, character: char },
    #[error("BIC {bic:?} must have a two-letter country code at positions 5 and 6")]
    InvalidCountryCode { bic: String },
}

/// A structurally valid BIC in upper case, held inline.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bic {
    code: InlineCode<11>,
}

impl Bic {
    /// Parses a BIC; surrounding whitespace is ignored and lower case letters are accepted.
    pub fn parse(input: &str) -> Result<Bic, BicError> {
        let trimmed = input.trim();
        // Only for an error: the upper case text the messages show.
        let shown = || trimmed.to_ascii_uppercase();
        let len = trimmed.chars().count();
        if len != 8 && len != 11 {
            return Err(BicError::InvalidLength {
                bic: shown(),
                actual: len,
            });
        }
        if let Some(bad) = trimmed.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(BicError::InvalidCharacter {
                bic: shown(),
                character: bad.to_ascii_uppercase(),
            });
        }
        // 8 or 11 letters and digits: always fits.
        let code = InlineCode::upper_case(trimmed).ok_or_else(|| BicError::InvalidLength {
            bic: shown(),
            actual: len,
        })?;
        if !code.as_bytes()[4..6].iter().all(u8::is_ascii_uppercase) {
            return Err(BicError::InvalidCountryCode { bic: shown() });
        }
        Ok(Bic { code })
    }

    pub fn as_str(&self) -> &str {
        self.code.as_str()
    }

    /// Party prefix (institution code), characters 1–4.
    pub fn institution(&self) -> &str {
        &self.as_str()[..4]
    }

    /// ISO 3166 country code, characters 5–6.
    pub fn country_code(&self) -> &str {
        &self.as_str()[4..6]
    }

    /// Location code, characters 7–8.
    pub fn location(&self) -> &str {
        &self.as_str()[6..8]
    }

    /// Branch code (characters 9–11) when the BIC has 11 characters.
    pub fn branch(&self) -> Option<&str> {
        self.as_str().get(8..11)
    }

    /// Whether the BIC also fits the stricter `BICIdentifier` pattern of older schemas
    /// (pain.001.001.03, pain.008.001.02): six letters, then `[A-Z2-9][A-NP-Z0-9]`.
    pub fn fits_legacy_pattern(&self) -> bool {
        let b = self.code.as_bytes();
        b[..6].iter().all(u8::is_ascii_uppercase)
            && (b[6].is_ascii_uppercase() || (b'2'..=b'9').contains(&b[6]))
            && ((b[7].is_ascii_uppercase() && b[7] != b'O') || b[7].is_ascii_digit())
    }
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

validated_text!(
    Bic,
    BicError,
    as_str,
    "^[A-Z0-9]{8}([A-Z0-9]{3})?$",
    "A BIC (ISO 9362), 8 or 11 characters."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_and_eleven_character_bics_are_accepted() {
        let short = Bic::parse("COBADEFF").unwrap();
        assert_eq!(short.institution(), "COBA");
        assert_eq!(short.country_code(), "DE");
        assert_eq!(short.location(), "FF");
        assert_eq!(short.branch(), None);
        let long = Bic::parse(" deutdeffxxx ").unwrap();
        assert_eq!(long.as_str(), "DEUTDEFFXXX");
        assert_eq!(long.branch(), Some("XXX"));
    }

    #[test]
    fn legacy_pattern_excludes_digit_prefixes_and_passive_location_codes() {
        assert!(Bic::parse("COBADEFFXXX").unwrap().fits_legacy_pattern());
        assert!(Bic::parse("GENODEF1").unwrap().fits_legacy_pattern());
        assert!(!Bic::parse("1OBADEFF").unwrap().fits_legacy_pattern());
        assert!(!Bic::parse("COBADE1F").unwrap().fits_legacy_pattern());
        assert!(!Bic::parse("COBADEFO").unwrap().fits_legacy_pattern());
    }

    #[test]
    fn wrong_length_is_rejected() {
        assert!(matches!(
            Bic::parse("COBADEF"),
            Err(BicError::InvalidLength { actual: 7, .. })
        ));
        assert!(matches!(
            Bic::parse("COBADEFF1"),
            Err(BicError::InvalidLength { actual: 9, .. })
        ));
    }

    #[test]
    fn digits_in_country_code_and_symbols_are_rejected() {
        assert!(matches!(
            Bic::parse("COBA1EFF"),
            Err(BicError::InvalidCountryCode { .. })
        ));
        assert!(matches!(
            Bic::parse("COBA-DEFF"),
            Err(BicError::InvalidLength { .. }) | Err(BicError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            Bic::parse("COB@DEFF"),
            Err(BicError::InvalidCharacter { character: '@', .. })
        ));
    }
}
