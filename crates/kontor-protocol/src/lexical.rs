//! The lexical rules of the H005 schema's BTF types (`ebics_types_H005.xsd`), which both the
//! order data's XML and a BTF service named through the API or the emulator's configuration
//! must follow, and of the subscriber ids both schemas share, which the envelopes and the
//! emulator's identifiers follow: one statement of each rule, each caller with its own error.

/// `PartnerIDType` / `UserIDType` of the H004 and H005 schemas: `[a-zA-Z0-9,=]{1,35}`.
pub fn is_subscriber_id(value: &str) -> bool {
    (1..=35).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b',' || b == b'=')
}

/// `CodeStringType` with the length bounds of the element it types: `[A-Z0-9]{min,max}`
/// (an order type, `OrderTBaseType`, is a code of exactly three).
pub fn is_code(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `MessageNameStringType` as the message names are written: `[a-z.0-9]{1,10}`.
pub(crate) fn is_message_name(value: &str) -> bool {
    (1..=10).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
}

/// `NumStringType` (a message's version or variant): `[0-9]{2,3}`.
pub(crate) fn is_num_string(value: &str) -> bool {
    (2..=3).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_takes_its_characters_and_lengths_only() {
        let cases = [
            ("code XML", is_code("XML", 1, 4), true),
            ("code at its longest", is_code("ZIP1", 1, 4), true),
            ("code too long", is_code("XML01", 1, 4), false),
            ("code empty", is_code("", 1, 4), false),
            ("code in lower case", is_code("xml", 1, 4), false),
            ("message name", is_message_name("camt.053"), true),
            ("message name of ten", is_message_name("pain.001.0"), true),
            (
                "message name of eleven",
                is_message_name("pain.001.09"),
                false,
            ),
            (
                "message name in upper case",
                is_message_name("CAMT.053"),
                false,
            ),
            ("message name empty", is_message_name(""), false),
            ("version of two digits", is_num_string("08"), true),
            ("variant of three digits", is_num_string("001"), true),
            ("one digit", is_num_string("8"), false),
            ("four digits", is_num_string("0801"), false),
            ("a letter", is_num_string("0a"), false),
            ("a non-ASCII digit", is_num_string("0٣"), false),
        ];
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(_, got, expected)| got != expected)
            .map(|(name, ..)| *name)
            .collect();
        assert!(wrong.is_empty(), "wrong for: {wrong:?}");
    }

    #[test]
    fn subscriber_ids_are_1_to_35_letters_digits_commas_and_equals_signs() {
        let long = "U".repeat(35);
        let too_long = "U".repeat(36);
        for (id, expected) in [
            ("PARTNER1", true),
            ("a,b=C9", true),
            (long.as_str(), true),
            (too_long.as_str(), false),
            ("", false),
            ("USER-1", false),
            ("USER 1", false),
        ] {
            assert_eq!(is_subscriber_id(id), expected, "{id:?}");
        }
    }
}
