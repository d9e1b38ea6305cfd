//! ISO 4217 currency codes.
//!
//! [`Currency`] accepts any three upper case letters, exactly like the ISO 20022
//! `ActiveOrHistoricCurrencyCode` type, so statements in rare currencies still parse. Whether a code
//! is an active ISO 4217 currency, and how many minor units it has, comes from the table below;
//! payment validation rejects codes not in it because their decimals cannot be checked.

use std::fmt;

/// Active ISO 4217 codes whose minor unit is not 2. Every other code in [`TWO_DECIMALS`] has 2.
const OTHER_MINOR_UNITS: &[(&str, u8)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// Active ISO 4217 codes with two minor units.
const TWO_DECIMALS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UZS", "VES", "WST", "XCD", "XCG", "YER", "ZAR",
    "ZMW", "ZWG",
];

/// Why a string is not a currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("currency code {code:?} must be three upper case letters (ISO 4217)")]
    InvalidFormat { code: String },
}

/// A three-letter ISO 4217 currency code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const CHF: Currency = Currency(*b"CHF");
    pub const JPY: Currency = Currency(*b"JPY");

    /// Parses a code of exactly three upper case ASCII letters (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<Currency, CurrencyError> {
        let code = input.trim();
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(CurrencyError::InvalidFormat {
                code: code.chars().take(16).collect(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only constructed from ASCII upper case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Number of decimals (ISO 4217 minor units), `None` when the code is not in the table.
    pub fn minor_units(&self) -> Option<u8> {
        let code = self.as_str();
        if let Some((_, units)) = OTHER_MINOR_UNITS.iter().find(|(c, _)| *c == code) {
            return Some(*units);
        }
        TWO_DECIMALS.contains(&code).then_some(2)
    }

    /// Whether the code is an active ISO 4217 currency known to this crate.
    pub fn is_known(&self) -> bool {
        self.minor_units().is_some()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

validated_text!(
    Currency,
    CurrencyError,
    as_str,
    "^[A-Z]{3}$",
    "An ISO 4217 currency code."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_currencies_have_their_minor_units() {
        assert_eq!(Currency::EUR.minor_units(), Some(2));
        assert_eq!(Currency::JPY.minor_units(), Some(0));
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), Some(3));
        assert_eq!(Currency::parse("CHF").unwrap(), Currency::CHF);
    }

    #[test]
    fn unknown_but_well_formed_codes_parse_without_minor_units() {
        let xts = Currency::parse("XTS").unwrap();
        assert!(!xts.is_known());
        assert_eq!(xts.minor_units(), None);
    }

    #[test]
    fn malformed_codes_are_rejected() {
        for bad in ["eur", "EU", "EURO", "E1R", "", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
