//! Short identifiers ([`crate::Bic`], [`crate::Iban`]) held inline rather than on the heap.

/// Up to `N` ASCII letters and digits in upper case, held inline and zero padded.
///
/// A statement parser reads an IBAN and a BIC per booking: held like this, neither allocates.
/// The padding keeps the derived order that of the text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InlineCode<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> InlineCode<N> {
    /// `text` in upper case; `None` when it is longer than `N` characters or holds anything
    /// but ASCII letters and digits.
    pub(crate) fn upper_case(text: &str) -> Option<Self> {
        if text.len() > N || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut bytes = [0u8; N];
        for (to, from) in bytes.iter_mut().zip(text.bytes()) {
            *to = from.to_ascii_uppercase();
        }
        Some(InlineCode {
            bytes,
            len: u8::try_from(text.len()).ok()?,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only constructed from ASCII letters and digits.
        std::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use super::InlineCode;

    #[test]
    fn text_is_held_in_upper_case() {
        let code = InlineCode::<11>::upper_case("cobaDEff").unwrap();
        assert_eq!(code.as_str(), "COBADEFF");
        assert_eq!(code.as_bytes().len(), 8);
    }

    #[test]
    fn longer_text_and_other_characters_are_refused() {
        assert!(InlineCode::<8>::upper_case("COBADEFFX").is_none());
        assert!(InlineCode::<11>::upper_case("COBA DEFF").is_none());
        assert!(InlineCode::<11>::upper_case("CÖBADEFF").is_none());
    }

    #[test]
    fn order_is_that_of_the_text() {
        let short = InlineCode::<11>::upper_case("COBADEFF").unwrap();
        let long = InlineCode::<11>::upper_case("COBADEFFXXX").unwrap();
        assert!(short < long);
    }
}
