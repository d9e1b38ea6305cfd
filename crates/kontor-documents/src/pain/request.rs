//! A payment as API clients describe it (JSON), checked field by field and turned into a
//! [`PaymentOrder`] that [`build`](super::build) writes as pain.001 or pain.008.
//!
//! Every leaf arrives as text, so one pass finds every mistake and names it by its JSON path
//! (`$.transactions[3].amount`), instead of stopping at the first. Amounts must be decimal
//! strings: a JSON number is refused, so no amount ever passes through a float.
//!
//! The rules are those of the SEPA schemes as German banks apply them (EPC rulebooks for SCT,
//! SCT Inst, SDD Core and B2B; DK "Anlage 3" of the EBICS specification, chapter 2):
//! euro only; amounts from 0.01 to 999 999 999.99 with at most two decimals; names at most 70
//! characters; unstructured remittance information at most 140; references (end-to-end id,
//! mandate id, creditor identifier) 1 to 35 characters of the SEPA reference set, neither
//! starting nor ending with `/` and without `//`; text in the SEPA Latin set with the DK
//! extension (umlauts, `ß`, `&`, `*`, `$`, `%`). The end-to-end ids of one payment must be
//! distinct: they are how the bank's status report is matched to each transfer.
//!
//! Dates (against the `today` the caller passes; this crate reads no clock): a credit transfer
//! executes today or later; an instant one today; a direct debit is collected on a TARGET day
//! at least one TARGET day after today (EPC: D-1 for Core and B2B since November 2016), under
//! a mandate signed no later than today.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::calendar::{is_target_day, next_target_day};
use super::{
    AccountParty, Mandate, PainVersion, PaymentInfo, PaymentKind, PaymentOrder, SequenceType,
    Transaction,
};
use crate::amount::Amount;
use crate::bic::Bic;
use crate::currency::Currency;
use crate::iban::Iban;

/// The most transactions one payment may carry.
pub const MAX_TRANSACTIONS: usize = 100_000;
/// The most field errors one answer lists (the total is counted beyond it).
pub const MAX_REPORTED_ERRORS: usize = 100;
/// EPC: the largest amount of one SEPA transaction, 999 999 999.99.
fn max_amount() -> Amount {
    Amount::from_minor_units(99_999_999_999, 2)
}

/// Which SEPA scheme a payment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scheme {
    /// SEPA credit transfer (pain.001, EBICS order type CCT / BTF SCT).
    Sct,
    /// SEPA instant credit transfer (pain.001 with local instrument `INST`; CIP / BTF SCI).
    SctInst,
    /// SEPA core direct debit (pain.008 with `CORE`; CDD / BTF SDD option COR).
    SddCore,
    /// SEPA business-to-business direct debit (pain.008 with `B2B`; CDB / BTF SDD option B2B).
    SddB2b,
}

impl Scheme {
    const ALL: [Scheme; 4] = [
        Scheme::Sct,
        Scheme::SctInst,
        Scheme::SddCore,
        Scheme::SddB2b,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Scheme::Sct => "SCT",
            Scheme::SctInst => "SCT_INST",
            Scheme::SddCore => "SDD_CORE",
            Scheme::SddB2b => "SDD_B2B",
        }
    }

    pub fn from_code(code: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn kind(self) -> PaymentKind {
        match self {
            Scheme::Sct | Scheme::SctInst => PaymentKind::CreditTransfer,
            Scheme::SddCore | Scheme::SddB2b => PaymentKind::DirectDebit,
        }
    }

    /// The message version a bank expects: pain.001.001.09 / pain.008.001.08 with EBICS 3.0
    /// (DK Anlage 3 since November 2022, the BTF formats), pain.001.001.03 /
    /// pain.008.001.02 with EBICS 2.5 (the ISO versions of the order types CCT, CIP, CDD, CDB).
    pub fn version(self, ebics_3: bool) -> PainVersion {
        match (self.kind(), ebics_3) {
            (PaymentKind::CreditTransfer, true) => PainVersion::Pain001_001_09,
            (PaymentKind::CreditTransfer, false) => PainVersion::Pain001_001_03,
            (PaymentKind::DirectDebit, true) => PainVersion::Pain008_001_08,
            (PaymentKind::DirectDebit, false) => PainVersion::Pain008_001_02,
        }
    }

    /// `PmtTpInf/LclInstrm/Cd`: `INST` marks an instant transfer (DK Anlage 3, SCT Inst),
    /// `CORE`/`B2B` the direct debit scheme.
    fn local_instrument(self) -> Option<&'static str> {
        match self {
            Scheme::Sct => None,
            Scheme::SctInst => Some("INST"),
            Scheme::SddCore => Some("CORE"),
            Scheme::SddB2b => Some("B2B"),
        }
    }
}

/// A leaf that must be a JSON string; anything else is remembered as the wrong type.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Text(String),
    NotText(IgnoredAny),
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Text {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string"})
    }
}

/// Declares a JSON input record: `Deserialize` rejecting unknown fields, `Debug`, `Clone`
/// and (with the `schemars` feature) a JSON Schema in which the fields marked `@required` are
/// required. The fields stay `Option`s so that validation names every missing one at once.
macro_rules! input_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* $(@$required:ident)? pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                $(#[cfg_attr(feature = "schemars", schemars($required))])?
                pub $field: $ty,
            )*
        }
    };
}

input_record! {
    /// A party with its account.
    pub struct PartyInput {
        @required pub name: Option<Text>,
        @required pub iban: Option<Text>,
        pub bic: Option<Text>,
    }
}

input_record! {
    /// A SEPA mandate (direct debits).
    pub struct MandateInput {
        @required pub id: Option<Text>,
        /// `YYYY-MM-DD`.
        @required pub signature_date: Option<Text>,
    }
}

input_record! {
    /// One transfer or debit.
    pub struct TransactionInput {
        @required pub end_to_end_id: Option<Text>,
        /// Decimal string, e.g. `"1250.00"`.
        @required pub amount: Option<Text>,
        /// `EUR` (the default; SEPA knows no other currency).
        pub currency: Option<Text>,
        /// The creditor of a transfer, the debtor of a direct debit.
        @required pub counterparty: Option<PartyInput>,
        /// Direct debits only.
        pub mandate: Option<MandateInput>,
        pub remittance_information: Option<Text>,
    }
}

input_record! {
    /// A payment of one scheme from (or, for direct debits, into) one account on one date.
    ///
    /// Every field is an `Option` so that validation names each missing one at once (422 with
    /// all errors); the JSON Schema marks those validation requires (`@required`).
    pub struct PaymentRequest {
        /// `SCT`, `SCT_INST`, `SDD_CORE` or `SDD_B2B`.
        @required pub scheme: Option<Text>,
        /// The ordering account: debited by transfers, credited by direct debits.
        @required pub account: Option<PartyInput>,
        /// Execution date (transfers; default today) or collection date (direct debits), `YYYY-MM-DD`.
        pub requested_date: Option<Text>,
        /// `BtchBookg`: one booking for the whole payment (default true).
        pub batch_booking: Option<bool>,
        /// ISO category purpose code, e.g. `SALA`.
        pub category_purpose: Option<Text>,
        /// SEPA creditor identifier (direct debits).
        pub creditor_scheme_id: Option<Text>,
        /// `FRST`, `RCUR`, `OOFF` or `FNAL` (direct debits).
        pub sequence_type: Option<Text>,
        @required pub transactions: Option<Vec<TransactionInput>>,
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct FieldError {
    /// JSON path of the field, e.g. `$.transactions[3].amount`.
    pub path: String,
    /// Stable code, e.g. `invalid_iban`.
    pub code: &'static str,
    pub message: String,
}

/// Every invalid field of a request (the first [`MAX_REPORTED_ERRORS`]) and how many in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestErrors {
    pub errors: Vec<FieldError>,
    pub total: usize,
}

impl std::fmt::Display for RequestErrors {
    /// The first error, and how many more there are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errors.first() {
            Some(first) => write!(f, "{}: {}", first.path, first.message)?,
            None => write!(f, "the payment is invalid")?,
        }
        match self.total.saturating_sub(1) {
            0 => Ok(()),
            more => write!(f, " (and {more} more invalid field(s))"),
        }
    }
}

impl std::error::Error for RequestErrors {}

/// A value as error messages quote it: at most 40 characters.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// What the caller decides about the message: its id, creation time, today's date and the
/// protocol generation of the bank.
#[derive(Debug, Clone)]
pub struct MessageContext {
    /// `GrpHdr/MsgId`, at most 35 characters; the payment information gets `<message id>-1`
    /// cut to 35.
    pub message_id: String,
    pub created: NaiveDateTime,
    pub today: NaiveDate,
    /// The bank speaks EBICS 3.0 (H005): pain.001.001.09 / pain.008.001.08.
    pub ebics_3: bool,
}

/// The checked payment: its scheme and the message to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPayment {
    pub scheme: Scheme,
    pub order: PaymentOrder,
}

impl PaymentRequest {
    /// Checks every field and returns the payment message, or every invalid field.
    pub fn check(&self, context: &MessageContext) -> Result<CheckedPayment, RequestErrors> {
        let mut c = Checker::default();
        let scheme = c.scheme(self.scheme.as_ref());
        let kind = scheme.map(Scheme::kind);
        let account = match &self.account {
            Some(party) => c.party("$.account", party),
            None => c.missing("$.account"),
        };
        let requested_date = c.requested_date(self, scheme, context.today);
        let category_purpose = self.category_purpose.as_ref().and_then(|code| {
            let code = c.text("$.category_purpose", code)?;
            let valid = code.len() == 4 && code.bytes().all(|b| b.is_ascii_uppercase());
            c.check(valid, "$.category_purpose", "invalid_code", || {
                format!(
                    "{} is not an ISO category purpose code (four capital letters)",
                    shown(&code)
                )
            })
            .then_some(code)
        });
        let direct_debit = kind == Some(PaymentKind::DirectDebit);
        let creditor_scheme_id = c
            .debit_only(
                direct_debit,
                "$.creditor_scheme_id",
                self.creditor_scheme_id.as_ref(),
                kind,
            )
            .and_then(|text| c.creditor_id("$.creditor_scheme_id", text));
        let sequence_type = c
            .debit_only(
                direct_debit,
                "$.sequence_type",
                self.sequence_type.as_ref(),
                kind,
            )
            .and_then(|text| {
                let sequence = SequenceType::from_code(&text);
                c.check(
                    sequence.is_some(),
                    "$.sequence_type",
                    "invalid_code",
                    || {
                        format!(
                            "{} is not a sequence type (FRST, RCUR, OOFF or FNAL)",
                            shown(&text)
                        )
                    },
                );
                sequence
            });
        let transactions = c.transactions(self.transactions.as_deref(), kind, context.today);
        if c.total > 0 {
            return Err(RequestErrors {
                errors: c.errors,
                total: c.total,
            });
        }
        let (Some(scheme), Some(account), Some(requested_date), Some(transactions)) =
            (scheme, account, requested_date, transactions)
        else {
            // Each missing value was reported above.
            return Err(RequestErrors {
                errors: vec![],
                total: 0,
            });
        };
        let payment_info_id: String = format!("{}-1", context.message_id)
            .chars()
            .rev()
            .take(35)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let order = PaymentOrder {
            version: scheme.version(context.ebics_3),
            message_id: context.message_id.clone(),
            created: context.created,
            initiating_party: Some(account.name.clone()),
            payment_infos: vec![PaymentInfo {
                id: payment_info_id,
                batch_booking: Some(self.batch_booking.unwrap_or(true)),
                service_level: Some("SEPA".into()),
                local_instrument: scheme.local_instrument().map(str::to_owned),
                sequence_type,
                category_purpose,
                requested_date,
                account,
                creditor_scheme_id,
                charge_bearer: Some("SLEV".into()),
                transactions,
            }],
        };
        Ok(CheckedPayment { scheme, order })
    }
}

/// Collects errors, the first [`MAX_REPORTED_ERRORS`] in full.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
    total: usize,
}

impl Checker {
    fn error(&mut self, path: &str, code: &'static str, message: String) {
        self.total += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(FieldError {
                path: path.to_owned(),
                code,
                message,
            });
        }
    }

    /// Records an error unless `ok`; returns `ok`.
    fn check(
        &mut self,
        ok: bool,
        path: &str,
        code: &'static str,
        message: impl FnOnce() -> String,
    ) -> bool {
        if !ok {
            self.error(path, code, message());
        }
        ok
    }

    fn missing<T>(&mut self, path: &str) -> Option<T> {
        self.error(path, "missing_field", "this field is required".into());
        None
    }

    /// The string of a leaf, or an error when it is another JSON type.
    fn text(&mut self, path: &str, value: &Text) -> Option<String> {
        match value {
            Text::Text(text) => Some(text.clone()),
            Text::NotText(_) => {
                self.error(
                    path,
                    "not_a_string",
                    "this field must be a JSON string".into(),
                );
                None
            }
        }
    }

    fn required_text(&mut self, path: &str, value: Option<&Text>) -> Option<String> {
        match value {
            Some(value) => self.text(path, value),
            None => self.missing(path),
        }
    }

    fn scheme(&mut self, value: Option<&Text>) -> Option<Scheme> {
        let text = self.required_text("$.scheme", value)?;
        let scheme = Scheme::from_code(&text);
        self.check(scheme.is_some(), "$.scheme", "invalid_scheme", || {
            format!(
                "{} is not a scheme (SCT, SCT_INST, SDD_CORE or SDD_B2B)",
                shown(&text)
            )
        });
        scheme
    }

    /// A field only direct debits carry: required there, refused in transfers.
    fn debit_only(
        &mut self,
        direct_debit: bool,
        path: &str,
        value: Option<&Text>,
        kind: Option<PaymentKind>,
    ) -> Option<String> {
        match (direct_debit, value) {
            (true, _) => self.required_text(path, value),
            (false, Some(_)) if kind.is_some() => {
                self.error(
                    path,
                    "not_allowed",
                    "only direct debits carry this field".into(),
                );
                None
            }
            (false, _) => None,
        }
    }

    fn name(&mut self, path: &str, value: Option<&Text>) -> Option<String> {
        let name = self.required_text(path, value)?;
        self.latin_text(path, &name, 70).then_some(name)
    }

    /// Records an error unless `text` has 1 to `max` characters (and, with `non_blank`, not
    /// only white space).
    fn text_length(&mut self, path: &str, text: &str, max: usize, non_blank: bool) -> bool {
        let len = text.chars().count();
        let blank = non_blank && text.trim().is_empty();
        self.check(
            (1..=max).contains(&len) && !blank,
            path,
            "invalid_length",
            || format!("must have 1 to {max} characters, it has {len}"),
        )
    }

    /// Text of 1 to `max` characters from the SEPA Latin set with the DK extension.
    fn latin_text(&mut self, path: &str, text: &str, max: usize) -> bool {
        if !self.text_length(path, text, max, true) {
            return false;
        }
        let bad = text.chars().find(|c| !is_sepa_text_char(*c));
        self.check(bad.is_none(), path, "invalid_characters", || {
            format!(
                "{:?} is not in the SEPA character set (letters, digits, space and / - ? : ( ) . , ' + & * $ % and German umlauts)",
                bad.unwrap_or_default()
            )
        })
    }

    /// A SEPA reference: 1 to 35 characters of the reference set, no leading or trailing `/`,
    /// no `//` (EPC implementation guidelines, "Presence of '/'").
    fn reference(&mut self, path: &str, text: &str) -> bool {
        if !self.text_length(path, text, 35, false) {
            return false;
        }
        let bad = text.chars().find(|c| !is_sepa_reference_char(*c));
        if !self.check(bad.is_none(), path, "invalid_characters", || {
            format!(
                "{:?} is not allowed in a SEPA reference (letters, digits, space and / - ? : ( ) . , ' +)",
                bad.unwrap_or_default()
            )
        }) {
            return false;
        }
        let slashes_ok = !text.starts_with('/') && !text.ends_with('/') && !text.contains("//");
        self.check(slashes_ok, path, "invalid_reference", || {
            "must not start or end with '/' nor contain '//'".into()
        })
    }

    fn iban(&mut self, path: &str, value: Option<&Text>) -> Option<Iban> {
        let text = self.required_text(path, value)?;
        // Even with spaces an IBAN has at most 34 characters; the error would quote it all.
        self.identifier(path, &text, 42, "invalid_iban", "an IBAN", Iban::parse)
    }

    fn bic(&mut self, path: &str, value: Option<&Text>) -> Option<Option<Bic>> {
        let Some(value) = value else {
            return Some(None);
        };
        let text = self.text(path, value)?;
        self.identifier(path, &text, 11, "invalid_bic", "a BIC", Bic::parse)
            .map(Some)
    }

    /// Parses an IBAN or BIC; text longer than `max_chars` is refused before parsing, so the
    /// error quotes it shortened.
    fn identifier<T, E: std::fmt::Display>(
        &mut self,
        path: &str,
        text: &str,
        max_chars: usize,
        code: &'static str,
        what: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        if text.chars().count() > max_chars {
            self.error(
                path,
                code,
                format!("{} is too long for {what}", shown(text)),
            );
            return None;
        }
        match parse(text) {
            Ok(value) => Some(value),
            Err(e) => {
                self.error(path, code, e.to_string());
                None
            }
        }
    }

    fn party(&mut self, path: &str, party: &PartyInput) -> Option<AccountParty> {
        let name = self.name(&format!("{path}.name"), party.name.as_ref());
        let iban = self.iban(&format!("{path}.iban"), party.iban.as_ref());
        let bic = self.bic(&format!("{path}.bic"), party.bic.as_ref());
        Some(AccountParty {
            name: name?,
            iban: iban?,
            bic: bic?,
        })
    }

    fn date(&mut self, path: &str, value: &Text) -> Option<NaiveDate> {
        let text = self.text(path, value)?;
        let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10);
        self.check(date.is_some(), path, "invalid_date", || {
            format!("{} is not a date (YYYY-MM-DD)", shown(&text))
        });
        date
    }

    fn requested_date(
        &mut self,
        request: &PaymentRequest,
        scheme: Option<Scheme>,
        today: NaiveDate,
    ) -> Option<NaiveDate> {
        const PATH: &str = "$.requested_date";
        let given = match &request.requested_date {
            Some(value) => Some(self.date(PATH, value)?),
            None => None,
        };
        match scheme? {
            Scheme::Sct => {
                let date = given.unwrap_or(today);
                self.check(date >= today, PATH, "date_in_the_past", || {
                    format!("the execution date {date} is in the past (today is {today})")
                })
                .then_some(date)
            }
            Scheme::SctInst => {
                let date = given.unwrap_or(today);
                self.check(date == today, PATH, "invalid_date", || {
                    format!("an instant transfer executes today ({today}), not on {date}")
                })
                .then_some(date)
            }
            Scheme::SddCore | Scheme::SddB2b => {
                let Some(date) = given else {
                    return self.missing(PATH);
                };
                let earliest = next_target_day(today);
                if !self.check(date >= today, PATH, "date_in_the_past", || {
                    format!("the collection date {date} is in the past (today is {today})")
                }) {
                    return None;
                }
                if !self.check(date >= earliest, PATH, "date_too_early", || {
                    format!("a direct debit is collected at the earliest one TARGET day after today: {earliest}")
                }) {
                    return None;
                }
                self.check(is_target_day(date), PATH, "not_a_business_day", || {
                    format!("{date} is not a TARGET business day")
                })
                .then_some(date)
            }
        }
    }

    /// A SEPA creditor identifier: country, two check digits (ISO 7064 MOD 97-10 over the
    /// national identifier, the country and `00`), a three character business code and the
    /// national identifier (EPC262-08, "Creditor Identifier").
    fn creditor_id(&mut self, path: &str, text: String) -> Option<String> {
        let id = text.trim().to_ascii_uppercase();
        if !self.reference(path, &id) {
            return None;
        }
        let valid = id.len() >= 8
            && id.is_ascii()
            && id[..2].bytes().all(|b| b.is_ascii_uppercase())
            && id[2..4].bytes().all(|b| b.is_ascii_digit())
            && id[7..].bytes().all(|b| b.is_ascii_alphanumeric())
            && mod97(&format!("{}{}", &id[7..], &id[..4])) == Some(1);
        self.check(valid, path, "invalid_creditor_id", || {
            format!("{} is not a valid SEPA creditor identifier", shown(&text))
        })
        .then_some(id)
    }

    fn transactions(
        &mut self,
        inputs: Option<&[TransactionInput]>,
        kind: Option<PaymentKind>,
        today: NaiveDate,
    ) -> Option<Vec<Transaction>> {
        const PATH: &str = "$.transactions";
        let Some(inputs) = inputs else {
            return self.missing(PATH);
        };
        if !self.check(
            (1..=MAX_TRANSACTIONS).contains(&inputs.len()),
            PATH,
            "invalid_length",
            || {
                format!(
                    "a payment carries 1 to {MAX_TRANSACTIONS} transactions, this one {}",
                    inputs.len()
                )
            },
        ) {
            return None;
        }
        let mut seen: HashSet<&str> = HashSet::with_capacity(inputs.len());
        let mut out = Vec::with_capacity(inputs.len());
        let mut complete = true;
        for (i, input) in inputs.iter().enumerate() {
            let at = format!("{PATH}[{i}]");
            if let Some(Text::Text(id)) = &input.end_to_end_id {
                if !seen.insert(id.as_str()) {
                    self.error(
                        &format!("{at}.end_to_end_id"),
                        "duplicate_end_to_end_id",
                        format!(
                            "{} is used by an earlier transaction of this payment",
                            shown(id)
                        ),
                    );
                    complete = false;
                }
            }
            match self.transaction(&at, input, kind, today) {
                Some(tx) => out.push(tx),
                None => complete = false,
            }
        }
        complete.then_some(out)
    }

    fn transaction(
        &mut self,
        at: &str,
        input: &TransactionInput,
        kind: Option<PaymentKind>,
        today: NaiveDate,
    ) -> Option<Transaction> {
        let end_to_end_id = self
            .required_text(&format!("{at}.end_to_end_id"), input.end_to_end_id.as_ref())
            .filter(|id| self.reference(&format!("{at}.end_to_end_id"), id));
        let currency = self.currency(&format!("{at}.currency"), input.currency.as_ref());
        let amount = self.amount(&format!("{at}.amount"), input.amount.as_ref());
        let counterparty = match &input.counterparty {
            Some(party) => self.party(&format!("{at}.counterparty"), party),
            None => self.missing(&format!("{at}.counterparty")),
        };
        // `None`: invalid (reported); `Some(None)`: absent.
        let remittance = match &input.remittance_information {
            Some(value) => {
                let path = format!("{at}.remittance_information");
                self.text(&path, value)
                    .filter(|text| self.latin_text(&path, text, 140))
                    .map(Some)
            }
            None => Some(None),
        };
        let mandate_path = format!("{at}.mandate");
        let mandate = match (kind, &input.mandate) {
            (Some(PaymentKind::DirectDebit), Some(mandate)) => {
                self.mandate(&mandate_path, mandate, today).map(Some)
            }
            (Some(PaymentKind::DirectDebit), None) => self.missing(&mandate_path),
            (Some(PaymentKind::CreditTransfer), Some(_)) => {
                self.error(
                    &mandate_path,
                    "not_allowed",
                    "only direct debits carry a mandate".into(),
                );
                None
            }
            (_, _) => Some(None),
        };
        Some(Transaction {
            end_to_end_id: end_to_end_id?,
            instruction_id: None,
            amount: amount?,
            currency: currency?,
            counterparty: counterparty?,
            mandate: mandate?,
            remittance: remittance?,
        })
    }

    fn currency(&mut self, path: &str, value: Option<&Text>) -> Option<Currency> {
        let Some(value) = value else {
            return Some(Currency::EUR);
        };
        let text = self.text(path, value)?;
        self.check(text == "EUR", path, "invalid_currency", || {
            format!("SEPA payments are in EUR, not {}", shown(&text))
        })
        .then_some(Currency::EUR)
    }

    fn amount(&mut self, path: &str, value: Option<&Text>) -> Option<Amount> {
        let value = match value {
            Some(Text::Text(text)) => text,
            Some(Text::NotText(_)) => {
                self.error(
                    path,
                    "not_a_string",
                    "amounts are decimal strings such as \"1250.00\", never JSON numbers".into(),
                );
                return None;
            }
            None => return self.missing(path),
        };
        let amount = match Amount::parse(value) {
            Ok(amount) => amount,
            Err(e) => {
                self.error(path, "invalid_amount", e.to_string());
                return None;
            }
        };
        if let Err(e) = amount.check_payment_amount(Currency::EUR) {
            self.error(path, "invalid_amount", e.to_string());
            return None;
        }
        self.check(amount <= max_amount(), path, "invalid_amount", || {
            format!("amount {amount} is above the SEPA maximum of 999999999.99")
        })
        .then_some(amount)
    }

    fn mandate(&mut self, path: &str, mandate: &MandateInput, today: NaiveDate) -> Option<Mandate> {
        let id_path = format!("{path}.id");
        let id = self
            .required_text(&id_path, mandate.id.as_ref())
            .filter(|id| self.reference(&id_path, id));
        let date_path = format!("{path}.signature_date");
        let signature_date = match &mandate.signature_date {
            Some(value) => self.date(&date_path, value).filter(|date| {
                self.check(*date <= today, &date_path, "date_in_the_future", || {
                    format!("the mandate cannot be signed after today ({today})")
                })
            }),
            None => self.missing(&date_path),
        };
        Some(Mandate {
            id: id?,
            signature_date: signature_date?,
        })
    }
}

/// ISO 7064 MOD 97-10 of an alphanumeric string (letters count 10 to 35).
fn mod97(text: &str) -> Option<u32> {
    text.chars().try_fold(0u32, |rest, c| {
        let value = c.to_digit(36)?;
        Some(if value >= 10 {
            (rest * 100 + value) % 97
        } else {
            (rest * 10 + value) % 97
        })
    })
}

/// The SEPA reference character set (EPC SCT/SDD implementation guidelines, 1.4).
fn is_sepa_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// The SEPA Latin set and the DK extension of Anlage 3 (umlauts, ß, & * $ %).
fn is_sepa_text_char(c: char) -> bool {
    is_sepa_reference_char(c) || "ÄÖÜäöüß&*$%".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_identifiers_are_checked_by_mod_97() {
        let mut c = Checker::default();
        assert!(c.creditor_id("$", "DE98ZZZ09999999999".into()).is_some());
        assert!(c.creditor_id("$", "DE97ZZZ09999999999".into()).is_none());
        assert_eq!(c.total, 1);
    }

    #[test]
    fn the_sepa_maximum_is_exact() {
        assert_eq!(max_amount(), Amount::parse("999999999.99").unwrap());
    }
}
