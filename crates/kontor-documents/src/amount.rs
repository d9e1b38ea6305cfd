//! Money amounts as exact decimals (never floating point).
//!
//! [`Amount`] wraps [`rust_decimal::Decimal`]. It may be negative (signed balances); payment and
//! entry amounts are positive and carry their direction separately. Parsing is strict: the
//! ISO 20022 `xs:decimal` lexical form for XML, and the SWIFT comma form for MT940.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::currency::Currency;

/// Largest number of digits in an ISO 20022 `ActiveOrHistoricCurrencyAndAmount` (totalDigits).
const MAX_TOTAL_DIGITS: u32 = 18;

/// Why a string is not an amount, or an amount is not acceptable for a payment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("{input:?} is not a valid amount")]
    Invalid { input: String },
    #[error("amount {input:?} is too large")]
    Overflow { input: String },
    #[error("amount {amount} must be greater than zero")]
    NotPositive { amount: Amount },
    #[error("amount {amount} {currency} has more than {allowed} decimals")]
    TooManyDecimals {
        amount: Amount,
        currency: Currency,
        allowed: u8,
    },
    #[error("amount {amount} has more than {MAX_TOTAL_DIGITS} digits")]
    TooManyDigits { amount: Amount },
    #[error(
        "currency {currency} is not a known ISO 4217 currency, its decimals cannot be checked"
    )]
    UnknownCurrency { currency: Currency },
}

/// An exact decimal amount.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(Decimal);

string_schema!(
    Amount,
    pattern = "^-?[0-9]+(\\.[0-9]+)?$",
    "An exact decimal amount as text, e.g. \"1250.00\"."
);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    pub const fn new(value: Decimal) -> Amount {
        Amount(value)
    }

    /// `units / 10^scale`, e.g. `from_minor_units(12345, 2)` is 123.45.
    pub fn from_minor_units(units: i64, scale: u32) -> Amount {
        Amount(Decimal::new(units, scale.min(28)))
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Parses the XML Schema `xs:decimal` form: optional sign, digits, optional `.` and digits.
    /// No exponent, no grouping characters, no surrounding text other than whitespace.
    pub fn parse(input: &str) -> Result<Amount, AmountError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits_only(int) || !digits_only(frac) {
            return Err(AmountError::Invalid { input: truncate(s) });
        }
        decimal_from_parts(s.starts_with('-'), int, frac, s)
    }

    /// Parses the SWIFT MT form: digits, a mandatory decimal comma, optional decimals
    /// (`1234,56`, `100,`). No sign: the direction is a separate field.
    pub fn parse_swift(input: &str) -> Result<Amount, AmountError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        let Some((int, frac)) = s.split_once(',') else {
            return Err(AmountError::Invalid { input: truncate(s) });
        };
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(AmountError::Invalid { input: truncate(s) });
        }
        decimal_from_parts(false, int, frac, s)
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn is_negative(&self) -> bool {
        self.0 < Decimal::ZERO
    }

    pub fn abs(&self) -> Amount {
        Amount(self.0.abs())
    }

    /// Number of significant decimals (trailing zeros do not count: `1.50` has 1).
    pub fn fraction_digits(&self) -> u32 {
        self.0.normalize().scale()
    }

    /// Checks what ISO 20022 and the EPC rulebooks require of a payment amount: greater than
    /// zero, at most as many decimals as the currency has minor units, at most 18 digits.
    pub fn check_payment_amount(&self, currency: Currency) -> Result<(), AmountError> {
        if !self.is_positive() {
            return Err(AmountError::NotPositive { amount: *self });
        }
        let allowed = currency
            .minor_units()
            .ok_or(AmountError::UnknownCurrency { currency })?;
        if self.fraction_digits() > u32::from(allowed) {
            return Err(AmountError::TooManyDecimals {
                amount: *self,
                currency,
                allowed,
            });
        }
        self.check_total_digits()
    }

    /// Significant digits before and after the decimal point (`0012.50` has 3).
    pub fn total_digits(&self) -> u32 {
        // `m / 10^s` without trailing fraction zeros has max(digits(m) - s, 0) integer digits
        // and s fraction digits: max(digits(m), s) in all. Counted, not formatted, because
        // every amount of a statement is checked.
        let normalized = self.0.normalize();
        let mantissa_digits = normalized
            .mantissa()
            .unsigned_abs()
            .checked_ilog10()
            .map_or(0, |log| log + 1);
        mantissa_digits.max(normalized.scale())
    }

    /// At most 18 significant digits, the ISO 20022 `totalDigits` of every amount type. Amounts
    /// read from documents are bounded by this, so sums of them cannot overflow.
    pub fn check_total_digits(&self) -> Result<(), AmountError> {
        if self.total_digits() > MAX_TOTAL_DIGITS {
            return Err(AmountError::TooManyDigits { amount: *self });
        }
        Ok(())
    }

    /// The same value written with at least the currency's minor units (`12.5` EUR → `12.50`,
    /// `12.000` JPY → `12`); more decimals are kept, never rounded away. Equal to `self`.
    pub fn with_minor_units(&self, currency: Currency) -> Amount {
        let min_scale = u32::from(currency.minor_units().unwrap_or(2));
        let mut value = self.0.normalize();
        if value.scale() < min_scale {
            value.rescale(min_scale);
        }
        Amount(value)
    }

    /// Plain decimal text with at least the currency's minor units (`12.5` EUR → `12.50`);
    /// more decimals are kept, never rounded away. Negative amounts get a leading `-`.
    pub fn format_for(&self, currency: Currency) -> String {
        self.with_minor_units(currency).to_string()
    }

    /// The SWIFT comma form of the absolute value, at least the currency's minor units
    /// (`1234.5` EUR → `1234,50`).
    pub fn format_swift(&self, currency: Currency) -> String {
        self.abs().format_for(currency).replace('.', ",")
    }
}

/// `int` and `frac` are ASCII digits (the callers checked).
fn decimal_from_parts(
    negative: bool,
    int: &str,
    frac: &str,
    original: &str,
) -> Result<Amount, AmountError> {
    let int = int.trim_start_matches('0');
    // Up to 18 digits fit a u64: the value is built from them directly (the common case, and
    // a statement has millions of amounts); longer ones go through the decimal text.
    if int.len() + frac.len() <= 18 {
        let units = int
            .bytes()
            .chain(frac.bytes())
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
        let value = Decimal::from_i128_with_scale(i128::from(units), frac.len() as u32);
        return Ok(Amount(if negative { -value } else { value }));
    }
    let int = if int.is_empty() { "0" } else { int };
    let text = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    let value = Decimal::from_str_exact(&text).map_err(|_| AmountError::Overflow {
        input: truncate(original),
    })?;
    Ok(Amount(if negative { -value } else { value }))
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

impl From<Decimal> for Amount {
    fn from(value: Decimal) -> Self {
        Amount(value)
    }
}

impl From<Amount> for Decimal {
    fn from(value: Amount) -> Self {
        value.0
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, rhs: Amount) -> Amount {
        Amount(self.0 + rhs.0)
    }
}

impl Sub for Amount {
    type Output = Amount;
    fn sub(self, rhs: Amount) -> Amount {
        Amount(self.0 - rhs.0)
    }
}

impl AddAssign for Amount {
    fn add_assign(&mut self, rhs: Amount) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Amount {
    fn sub_assign(&mut self, rhs: Amount) {
        self.0 -= rhs.0;
    }
}

impl Neg for Amount {
    type Output = Amount;
    fn neg(self) -> Amount {
        Amount(-self.0)
    }
}

impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Amount> for Amount {
    fn sum<I: Iterator<Item = &'a Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |acc, a| acc + *a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amt(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    #[test]
    fn xml_decimal_forms_parse_exactly() {
        assert_eq!(amt("123.45"), Amount::from_minor_units(12345, 2));
        assert_eq!(amt("+7"), Amount::from_minor_units(7, 0));
        assert_eq!(amt("-0.5"), Amount::from_minor_units(-5, 1));
        assert_eq!(amt(".25"), Amount::from_minor_units(25, 2));
        assert_eq!(amt("10."), Amount::from_minor_units(10, 0));
        assert_eq!(amt("0001.10"), Amount::from_minor_units(11, 1));
    }

    #[test]
    fn non_decimal_text_is_rejected() {
        for bad in [
            "", "abc", "1,5", "1e3", "1_000", "1.2.3", "--1", ".", "+", " 1 2",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn amounts_keep_their_written_scale_below_and_above_eighteen_digits() {
        // Up to 18 digits are read from the digits, longer ones through the decimal text:
        // both must give the value with the scale as written.
        for (text, units, scale) in [
            ("000123.4500", 1_234_500_i128, 4),
            ("999999999999999999", 999_999_999_999_999_999, 0),
            ("99999999999999999.9", 999_999_999_999_999_999, 1),
            ("1234567890123456789.5", 12_345_678_901_234_567_895, 1),
            (".25", 25, 2),
            ("7.", 7, 0),
            ("-0012.340", -12_340, 3),
        ] {
            let parsed = amt(text).as_decimal();
            assert_eq!(
                parsed,
                Decimal::from_i128_with_scale(units, scale),
                "{text}"
            );
            assert_eq!(parsed.scale(), scale, "{text}");
        }
        let swift = Amount::parse_swift("0000,10").unwrap().as_decimal();
        assert_eq!((swift.mantissa(), swift.scale()), (10, 2));
    }

    #[test]
    fn absurdly_long_numbers_overflow_instead_of_panicking() {
        let long = "9".repeat(60);
        assert!(matches!(
            Amount::parse(&long),
            Err(AmountError::Overflow { .. })
        ));
    }

    #[test]
    fn swift_amounts_use_a_decimal_comma() {
        assert_eq!(
            Amount::parse_swift("1234,56").unwrap(),
            Amount::from_minor_units(123456, 2)
        );
        assert_eq!(
            Amount::parse_swift("100,").unwrap(),
            Amount::from_minor_units(100, 0)
        );
        for bad in ["100", ",5", "1.5", "-1,0", "1,2,3"] {
            assert!(
                Amount::parse_swift(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn payment_amount_rules_follow_the_currency() {
        assert!(amt("0.01").check_payment_amount(Currency::EUR).is_ok());
        assert!(amt("1.50").check_payment_amount(Currency::EUR).is_ok());
        assert!(matches!(
            amt("1.005").check_payment_amount(Currency::EUR),
            Err(AmountError::TooManyDecimals { allowed: 2, .. })
        ));
        assert!(matches!(
            amt("1.5").check_payment_amount(Currency::JPY),
            Err(AmountError::TooManyDecimals { allowed: 0, .. })
        ));
        assert!(matches!(
            amt("0").check_payment_amount(Currency::EUR),
            Err(AmountError::NotPositive { .. })
        ));
        assert!(matches!(
            amt("-3").check_payment_amount(Currency::EUR),
            Err(AmountError::NotPositive { .. })
        ));
        assert!(matches!(
            amt("12345678901234567.89").check_payment_amount(Currency::EUR),
            Err(AmountError::TooManyDigits { .. })
        ));
        let xts = Currency::parse("XTS").unwrap();
        assert!(matches!(
            amt("1").check_payment_amount(xts),
            Err(AmountError::UnknownCurrency { .. })
        ));
    }

    #[test]
    fn formatting_pads_to_minor_units_but_never_rounds() {
        assert_eq!(amt("12.5").format_for(Currency::EUR), "12.50");
        assert_eq!(amt("12").format_for(Currency::EUR), "12.00");
        assert_eq!(amt("12.000").format_for(Currency::JPY), "12");
        assert_eq!(amt("1.2345").format_for(Currency::EUR), "1.2345");
        assert_eq!(amt("-3.1").format_for(Currency::EUR), "-3.10");
        assert_eq!(amt("-3.1").format_swift(Currency::EUR), "3,10");
        let padded = amt("12.5").with_minor_units(Currency::EUR);
        assert_eq!(
            (padded, padded.to_string().as_str()),
            (amt("12.5"), "12.50")
        );
    }

    #[test]
    fn total_digits_count_significant_digits_on_both_sides_of_the_point() {
        for (text, digits) in [
            ("0", 0),
            ("0.00", 0),
            ("-0.0", 0),
            ("0.05", 2),
            ("0012.50", 3),
            ("-12.5", 3),
            ("100", 3),
            ("100.000", 3),
            ("1000000.01", 9),
            ("0.000000001", 9),
            ("123456789012345678", 18),
            ("12345678901234567.89", 19),
        ] {
            assert_eq!(amt(text).total_digits(), digits, "{text}");
        }
    }

    #[test]
    fn equal_values_with_different_scale_compare_equal() {
        assert_eq!(amt("1.50"), amt("1.5"));
        assert_eq!(
            [amt("1.10"), amt("2.20")].iter().sum::<Amount>(),
            amt("3.3")
        );
    }
}
