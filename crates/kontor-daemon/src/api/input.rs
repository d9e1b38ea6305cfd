//! What the API accepts from a client, checked in one place before a handler runs.
//!
//! Every text a request body or query carries is a [`Valid<T>`]: it deserialises only from a
//! string that is non-empty, at most `T::MAX_CHARS` characters long, free of control
//! characters (NUL, line breaks, C1 controls, bidirectional overrides) and that `T` parses.
//! Anything else ends the request before the handler with 422 and a JSON error naming the
//! field and a stable code (`invalid_email`, `invalid_text`, ...), so nothing is stored:
//!
//! ```json
//! {"error": {"code": "invalid_email", "field": "email", "message": "email: not an e-mail address"}}
//! ```
//!
//! | type | limit | code |
//! |---|---|---|
//! | [`Name`] (names, display names, token names) | 140 | `invalid_text` |
//! | [`ShortText`] (bank account id, national number, bank code) | 35 | `invalid_text` |
//! | [`Email`] (RFC 5321 address with a dotted domain, stored lower-case) | 254 | `invalid_email` |
//! | [`HostId`], [`EbicsId`] (`A-Z a-z 0-9 , =`) | 35 | `invalid_host_id`, `invalid_ebics_id` |
//! | [`HttpUrl`] (http/https, a host, no credentials or fragment) | 2048 | `invalid_url` |
//! | record ids (UUID) | 64 | `invalid_id` |
//! | order type (3 letters or digits, upper-cased) | 3 | `invalid_order_type` |
//! | key hash (64 hex digits, spaces and colons ignored) | 200 | `invalid_key_hash` |
//! | [`SignatureValue`] (base64) | 4096 | `invalid_signature` |
//! | [`Cron`] (5 to 7 fields) | 120 | `invalid_cron` |
//! | [`TimeZone`] (IANA name) | 64 | `invalid_time_zone` |
//! | currency, IBAN, BIC, amount, role, signature class/version/rule, protocol version | | `invalid_<what>` |
//!
//! Amounts are checked against their currency's minor units by [`payment_amount`] (EUR 2
//! decimals, JPY none), as a bank would. The `Idempotency-Key` header is checked by
//! [`idempotency_key`].

use std::ops::Deref;
use std::str::FromStr;

use axum::http::HeaderMap;
use kontor_documents::{Amount, Bic, Currency, Iban};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::{ProtocolVersion, SignatureVersion};
use kontor_storage::{
    AccountId, BankHostId, ConnectionId, EbicsUserId, Role, SignatureClass, SignatureRule,
    StatementFileStatus, TenantId,
};
use serde::de::{Deserialize, Deserializer, Error as _};

use super::error::ApiError;
use crate::services::scheduler::CronSpec;

/// A kind of value the API accepts as text.
pub trait FromInput: Sized {
    /// The error code when the text is not such a value.
    const CODE: &'static str;
    /// The longest text accepted, in characters; checked before any parser sees the text.
    const MAX_CHARS: usize;
    /// Parses text that is non-empty, within the limit and free of control characters.
    fn from_input(text: &str) -> Result<Self, String>;
}

/// A request field holding a valid `T` (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid<T>(pub T);

impl<T> Valid<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Valid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Text of at most `T::MAX_CHARS` characters; ids are UUIDs.
impl<T: FromInput> schemars::JsonSchema for Valid<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValidText".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": T::MAX_CHARS,
        });
        if T::CODE == "invalid_id" {
            schema.insert("format".into(), "uuid".into());
        }
        schema
    }
}

impl<'de, T: FromInput> Deserialize<'de> for Valid<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        check_text(&text, T::MAX_CHARS)
            .and_then(|()| T::from_input(&text))
            .map(Valid)
            .map_err(|message| D::Error::custom(encode(T::CODE, &message)))
    }
}

/// The checks every text input passes before it is parsed.
fn check_text(text: &str, max_chars: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    // Counting stops early, so an overlong input costs no more than the limit.
    if text.chars().nth(max_chars).is_some() {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if text.chars().any(is_forbidden) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Control characters (C0 with NUL, DEL, C1) and the invisible bidirectional controls that
/// make a name display as something else.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

// Serde errors carry only text; the code travels in front of the message between two unit
// separators (a control character, so no accepted input can forge it) and [`field_error`]
// takes it apart again.
const MARK: char = '\u{1f}';

fn encode(code: &str, message: &str) -> String {
    format!("{MARK}{code}{MARK}{message}")
}

/// The API error for a body or query that did not deserialise: the field (serde's path),
/// the value's code (or `invalid_input` for a missing field, an unknown field or a wrong JSON
/// type) and the message.
pub(crate) fn field_error(path: &str, text: &str) -> ApiError {
    let field = (!path.is_empty() && path != ".").then(|| path.to_owned());
    let (code, message) = match text
        .split_once(MARK)
        .and_then(|(_, rest)| rest.split_once(MARK))
    {
        Some((code, message)) => (code.to_owned(), message.to_owned()),
        None => ("invalid_input".to_owned(), text.to_owned()),
    };
    let message = match &field {
        Some(field) => format!("{field}: {message}"),
        None => message,
    };
    ApiError::Input {
        code,
        field,
        message,
    }
}

// --- texts ------------------------------------------------------------------------------

macro_rules! text_input {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromInput for $name {
            const CODE: &'static str = "invalid_text";
            const MAX_CHARS: usize = $max;
            fn from_input(text: &str) -> Result<Self, String> {
                Ok(Self(text.trim().to_owned()))
            }
        }
    };
}

text_input!(
    /// A name a person reads: of a bank, a connection, an account holder, an EBICS user, an
    /// operator or a token. Trimmed. 140 characters is the longest ISO 20022 name (`Max140Text`).
    Name,
    140
);
text_input!(
    /// A short bank-side identifier (account id, national account number, bank code).
    ShortText,
    35
);

/// An operator's e-mail address, lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name the address's owner goes by: `name` when given, else the address.
    pub fn display_name(&self, name: Option<Valid<Name>>) -> String {
        name.map_or_else(|| self.0.clone(), |n| n.into_inner().into_string())
    }
}

impl FromInput for Email {
    const CODE: &'static str = "invalid_email";
    const MAX_CHARS: usize = 254;
    fn from_input(text: &str) -> Result<Self, String> {
        use email_address::{EmailAddress, Options};
        // A bare address (no display name, no IP literal) whose domain has a dot: an
        // operator's mailbox, not `root@localhost`.
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let address = EmailAddress::parse_with_options(text.trim(), options)
            .map_err(|e| format!("not an e-mail address ({e})"))?;
        Ok(Self(address.as_str().to_ascii_lowercase()))
    }
}

/// Characters of EBICS `HostID`, `PartnerID`, `UserID` and `SystemID` (ebics_types.xsd).
fn ebics_identifier(text: &str, what: &str) -> Result<String, String> {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ',' || c == '=')
    {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{what} must be 1-35 characters of A-Z, a-z, 0-9, ',' or '='"
        ))
    }
}

/// A text input held in a type of its own: its declaration, error code, limit and parser
/// (whose value the type wraps).
macro_rules! newtype_input {
    ($($(#[$doc:meta])* $vis:vis $name:ident($inner:ty) => $code:literal, $max:expr, |$text:ident| $parse:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name(pub $inner);

        impl FromInput for $name {
            const CODE: &'static str = $code;
            const MAX_CHARS: usize = $max;
            fn from_input($text: &str) -> Result<Self, String> {
                $parse.map(Self)
            }
        }
    )+};
}
pub(super) use newtype_input;

newtype_input! {
    /// An EBICS host id.
    pub HostId(String) => "invalid_host_id", 35, |text| ebics_identifier(text, "a host id");
    /// An EBICS partner, user or system id.
    pub EbicsId(String) => "invalid_ebics_id", 35, |text| ebics_identifier(text, "an EBICS id");
    /// A bank's EBICS endpoint: an absolute http(s) URL with a host and without credentials.
    pub HttpUrl(String) => "invalid_url", 2048, |text| http_url(text);
    /// A signature value, base64 (an RSA signature of at most 4096 bits is 684 characters).
    pub SignatureValue(Vec<u8>) => "invalid_signature", 4096, |text| base64_bytes(text);
    /// A cron expression: the classic five fields, or the `cron` crate's six or seven.
    pub Cron(String) => "invalid_cron", 120, |text| cron(text);
    /// An IANA time zone (`Europe/Berlin`).
    pub TimeZone(chrono_tz::Tz) => "invalid_time_zone", 64, |text| chrono_tz::Tz::from_str(text)
        .map_err(|_| format!("{text:?} is not an IANA time zone"));
}

fn http_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http(s) URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("must not carry credentials or a fragment".into());
    }
    Ok(url.into())
}

/// Bytes given as base64 (signatures, key change documents).
pub(super) fn base64_bytes(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "not base64".into())
}

fn cron(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !(5..=7).contains(&text.split_whitespace().count()) {
        return Err("cron needs 5 fields (minute hour day month weekday)".into());
    }
    // The scheduler's own reading; whether it fires again depends on the time zone.
    CronSpec::parse(text, "UTC").map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

/// An order type: three letters or digits (`CCT`, `C53`), upper-cased; codes Kontor does not
/// name are a bank's own ([`OrderType::Other`]).
impl FromInput for OrderType {
    const CODE: &'static str = "invalid_order_type";
    const MAX_CHARS: usize = 3;
    fn from_input(text: &str) -> Result<Self, String> {
        OrderType::parse_lenient(&text.to_ascii_uppercase())
            .map_err(|_| format!("{text:?} is not an order type code"))
    }
}

// --- values of other crates ---------------------------------------------------------------

macro_rules! parsed_input {
    ($($ty:ty => $code:literal, $max:literal, |$text:ident| $parse:expr;)+) => {$(
        impl FromInput for $ty {
            const CODE: &'static str = $code;
            const MAX_CHARS: usize = $max;
            fn from_input($text: &str) -> Result<Self, String> {
                $parse
            }
        }
    )+};
}
pub(super) use parsed_input;

parsed_input! {
    Currency => "invalid_currency", 3, |text| {
        let currency = Currency::parse(text).map_err(|e| e.to_string())?;
        if currency.is_known() {
            Ok(currency)
        } else {
            Err(format!("{text:?} is not an ISO 4217 currency"))
        }
    };
    Iban => "invalid_iban", 42, |text| Iban::parse(text).map_err(|e| e.to_string());
    Bic => "invalid_bic", 11, |text| Bic::parse(text).map_err(|e| e.to_string());
    Amount => "invalid_amount", 40, |text| Amount::parse(text).map_err(|e| e.to_string());
    Role => "invalid_role", 10, |text| upper_case(text, "role must be OWNER, ADMIN or VIEWER");
    SignatureClass => "invalid_signature_class", 1, |text| upper_case(text, "must be E, A, B or T");
    SignatureVersion => "invalid_signature_version", 4, |text| text
        .parse()
        .map_err(|_| "must be A005 or A006".to_owned());
    SignatureRule => "invalid_signature_rule", 20, |text| text.parse();
    StatementFileStatus => "invalid_status", 20, |text| {
        upper_case(text, "must be PENDING, INGESTED, PARTIAL or FAILED")
    };
    // The hash of a public key or certificate as a letter prints it: 64 hex digits (SHA-256),
    // spaces and colons between them ignored.
    KeyHash => "invalid_key_hash", 200, |text| text
        .parse()
        .map_err(|_| "must be the 64 hex digits of a SHA-256 hash".to_owned());
    ProtocolVersion => "invalid_protocol_version", 4, |text| text
        .parse()
        .map_err(|e: kontor_protocol::version::UnknownProtocolVersion| e.to_string());
}

/// Record ids a body or query names.
macro_rules! id_input {
    ($($id:ty),+) => {
        parsed_input! {
            $($id => "invalid_id", 64, |text| text.parse().map_err(|_| "not a valid id".to_owned());)+
        }
    };
}

id_input!(EbicsUserId, ConnectionId, BankHostId, AccountId, TenantId);

/// A code of a fixed set, in any case (`owner`, `Owner`): upper-cased and parsed as `T`;
/// `refusal` says which codes there are.
fn upper_case<T: FromStr>(text: &str, refusal: &str) -> Result<T, String> {
    text.to_ascii_uppercase()
        .parse()
        .map_err(|_| refusal.to_owned())
}

/// A limit or payment amount in `currency`: positive, with no more decimals than the
/// currency's minor units (EUR 2, JPY 0) and at most 18 digits. Returns it written with the
/// currency's decimals (`10` EUR → `10.00`).
pub(crate) fn payment_amount(
    field: &'static str,
    amount: Amount,
    currency: Currency,
) -> Result<Amount, ApiError> {
    amount
        .check_payment_amount(currency)
        .map_err(|e| ApiError::Input {
            code: "invalid_amount".into(),
            field: Some(field.into()),
            message: format!("{field}: {e}"),
        })?;
    Ok(amount.with_minor_units(currency))
}

/// The optional `Idempotency-Key` header: 1-255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| ApiError::Input {
            code: "invalid_idempotency_key".into(),
            field: Some("Idempotency-Key".into()),
            message: "Idempotency-Key must be 1-255 visible ASCII characters".into(),
        })?;
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: FromInput>(text: &str) -> Result<T, String> {
        let value = serde_json::Value::String(text.to_owned());
        Valid::<T>::deserialize(value)
            .map(Valid::into_inner)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn texts_refuse_empty_overlong_and_control_characters() {
        assert_eq!(parse::<Name>("  Bank A  ").unwrap().as_str(), "Bank A");
        assert_eq!(
            parse::<Name>(&"é".repeat(140))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            140
        );
        for bad in [
            "",
            "   ",
            "a\0b",
            "a\nb",
            "a\u{7f}",
            "a\u{85}",
            "evil\u{202e}txt",
        ] {
            assert!(parse::<Name>(bad).is_err(), "{bad:?}");
        }
        let long = parse::<Name>(&"x".repeat(141)).unwrap_err();
        assert!(
            long.contains("invalid_text") && long.contains("at most 140"),
            "{long}"
        );
    }

    #[test]
    fn e_mail_addresses_need_a_mailbox_and_a_dotted_domain() {
        assert_eq!(
            parse::<Email>("Ops@ACME.example").unwrap().as_str(),
            "ops@acme.example"
        );
        for bad in [
            "@",
            "a@",
            "@b.example",
            "a@b",
            "a b@c.example",
            "A <a@b.example>",
            "a@[127.0.0.1]",
        ] {
            assert!(parse::<Email>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_key_hashes_and_codes() {
        assert!(parse::<HttpUrl>("https://bank.example/ebicsweb").is_ok());
        for bad in [
            "ftp://bank.example",
            "bank.example",
            "https://u:p@bank.example/",
            "https://",
        ] {
            assert!(parse::<HttpUrl>(bad).is_err(), "{bad:?}");
        }
        let hash = "ab".repeat(32);
        assert_eq!(
            parse::<KeyHash>(&format!("{}: {}", &hash[..32], &hash[32..]))
                .unwrap()
                .to_hex_upper(),
            hash.to_ascii_uppercase()
        );
        assert!(parse::<KeyHash>("AB").is_err());
        assert_eq!(parse::<OrderType>("cct").unwrap(), OrderType::CCT);
        assert_eq!(parse::<OrderType>("xe2").unwrap().as_str(), "XE2");
        assert!(parse::<OrderType>("C#T").is_err());
        assert!(parse::<Currency>("XYZ").is_err());
    }

    #[test]
    fn amounts_follow_the_currencys_minor_units() {
        // (amount, currency, as written; `None`: refused)
        let cases = [
            ("10", "EUR", Some("10.00")),
            ("1.001", "EUR", None),
            ("0", "EUR", None),
            ("1000", "JPY", Some("1000")),
            ("1000.5", "JPY", None),
        ];
        for (amount, currency, written) in cases {
            let amount = Amount::parse(amount).unwrap();
            let currency = Currency::parse(currency).unwrap();
            let checked = payment_amount("max_amount", amount, currency).map(|a| a.to_string());
            assert_eq!(checked.ok().as_deref(), written, "{amount} {currency:?}");
        }
    }

    #[test]
    fn the_code_survives_serde_and_names_the_field() {
        let text = parse::<Email>("@").unwrap_err();
        let ApiError::Input {
            code,
            field,
            message,
        } = field_error("email", &text)
        else {
            panic!()
        };
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_email", Some("email"))
        );
        assert!(
            message.starts_with("email: not an e-mail address"),
            "{message}"
        );
    }
}
