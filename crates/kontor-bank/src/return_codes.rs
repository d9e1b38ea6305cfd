//! EBICS return codes (H004 and H005 share the numbers).
//!
//! EBICS has two tables: *technical* codes go into `header/mutable/ReturnCode`, *business*
//! codes into `body/ReturnCode`. A few numbers exist in both tables with different meanings
//! (`091002` is `EBICS_INVALID_USER_OR_USER_STATE` as a technical code but
//! `EBICS_DOWNLOAD_UNSIGNED_ONLY` as a business code), so a code is only meaningful together with
//! its [`ReturnCodeKind`].
//!
//! The short texts are the emulator's own wording; the symbols are the names used by the
//! EBICS specification.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which of the two EBICS return code tables a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnCodeKind {
    /// Transport/protocol level: `header/mutable/ReturnCode`.
    Technical,
    /// Order level: `body/ReturnCode`.
    Business,
}

/// One entry of the EBICS return code tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReturnCode {
    /// Six digits, e.g. `"061001"`.
    pub code: &'static str,
    /// The specification's symbolic name, e.g. `"EBICS_AUTHENTICATION_FAILED"`.
    pub symbol: &'static str,
    /// Which table the code belongs to.
    pub kind: ReturnCodeKind,
    /// A short English explanation.
    pub text: &'static str,
}

use ReturnCodeKind::{Business, Technical};

macro_rules! codes {
    ($($name:ident = ($code:literal, $symbol:literal, $kind:ident, $text:literal);)*) => {
        impl ReturnCode {
            $(
                #[doc = concat!("`", $code, "` ", $symbol)]
                pub const $name: ReturnCode = ReturnCode { code: $code, symbol: $symbol, kind: $kind, text: $text };
            )*
        }

        /// Every known return code, technical and business.
        pub const ALL: &[ReturnCode] = &[$(ReturnCode::$name),*];
    };
}

codes! {
    OK = ("000000", "EBICS_OK", Technical, "OK");
    DOWNLOAD_POSTPROCESS_DONE = ("011000", "EBICS_DOWNLOAD_POSTPROCESS_DONE", Technical, "positive receipt processed, download finished");
    DOWNLOAD_POSTPROCESS_SKIPPED = ("011001", "EBICS_DOWNLOAD_POSTPROCESS_SKIPPED", Technical, "negative receipt processed, download data kept");
    TX_SEGMENT_NUMBER_UNDERRUN = ("011101", "EBICS_TX_SEGMENT_NUMBER_UNDERRUN", Technical, "last segment flagged before the announced number of segments");
    ORDER_PARAMS_IGNORED = ("031001", "EBICS_ORDER_PARAMS_IGNORED", Technical, "unsupported order parameters ignored");
    AUTHENTICATION_FAILED = ("061001", "EBICS_AUTHENTICATION_FAILED", Technical, "authentication signature could not be verified");
    INVALID_REQUEST = ("061002", "EBICS_INVALID_REQUEST", Technical, "request not valid");
    INTERNAL_ERROR = ("061099", "EBICS_INTERNAL_ERROR", Technical, "internal error at the bank");
    TX_RECOVERY_SYNC = ("061101", "EBICS_TX_RECOVERY_SYNC", Technical, "transaction recovery: resynchronise");
    INVALID_USER_OR_USER_STATE = ("091002", "EBICS_INVALID_USER_OR_USER_STATE", Technical, "subscriber unknown or in a state that does not allow this");
    USER_UNKNOWN = ("091003", "EBICS_USER_UNKNOWN", Technical, "subscriber unknown");
    INVALID_USER_STATE = ("091004", "EBICS_INVALID_USER_STATE", Technical, "subscriber state does not allow this");
    INVALID_ORDER_TYPE = ("091005", "EBICS_INVALID_ORDER_TYPE", Technical, "order type unknown");
    UNSUPPORTED_ORDER_TYPE = ("091006", "EBICS_UNSUPPORTED_ORDER_TYPE", Technical, "order type not supported by this bank");
    DISTRIBUTED_SIGNATURE_AUTHORISATION_FAILED = ("091007", "EBICS_DISTRIBUTED_SIGNATURE_AUTHORISATION_FAILED", Technical, "subscriber may not use the distributed signature");
    BANK_PUBKEY_UPDATE_REQUIRED = ("091008", "EBICS_BANK_PUBKEY_UPDATE_REQUIRED", Technical, "bank key digests outdated: fetch HPB again");
    SEGMENT_SIZE_EXCEEDED = ("091009", "EBICS_SEGMENT_SIZE_EXCEEDED", Technical, "segment larger than allowed");
    INVALID_XML = ("091010", "EBICS_INVALID_XML", Technical, "request is not well-formed or not schema-valid");
    INVALID_HOST_ID = ("091011", "EBICS_INVALID_HOST_ID", Technical, "host id unknown");
    TX_UNKNOWN_TXID = ("091101", "EBICS_TX_UNKNOWN_TXID", Technical, "transaction id unknown");
    TX_ABORT = ("091102", "EBICS_TX_ABORT", Technical, "transaction aborted");
    TX_MESSAGE_REPLAY = ("091103", "EBICS_TX_MESSAGE_REPLAY", Technical, "nonce replayed or timestamp outside the tolerance");
    TX_SEGMENT_NUMBER_EXCEEDED = ("091104", "EBICS_TX_SEGMENT_NUMBER_EXCEEDED", Technical, "segment number beyond the announced number of segments");
    INVALID_ORDER_PARAMS = ("091112", "EBICS_INVALID_ORDER_PARAMS", Technical, "order parameters not valid");
    INVALID_REQUEST_CONTENT = ("091113", "EBICS_INVALID_REQUEST_CONTENT", Technical, "request content not valid");
    MAX_ORDER_DATA_SIZE_EXCEEDED = ("091117", "EBICS_MAX_ORDER_DATA_SIZE_EXCEEDED", Technical, "order data too large");
    MAX_SEGMENTS_EXCEEDED = ("091118", "EBICS_MAX_SEGMENTS_EXCEEDED", Technical, "too many segments");
    MAX_TRANSACTIONS_EXCEEDED = ("091119", "EBICS_MAX_TRANSACTIONS_EXCEEDED", Technical, "too many open transactions");
    PARTNER_ID_MISMATCH = ("091120", "EBICS_PARTNER_ID_MISMATCH", Technical, "partner id does not match the signer's");
    INCOMPATIBLE_ORDER_ATTRIBUTE = ("091121", "EBICS_INCOMPATIBLE_ORDER_ATTRIBUTE", Technical, "order attribute does not fit the order type");
    ORDER_ALREADY_EXISTS = ("091122", "EBICS_ORDER_ALREADY_EXISTS", Technical, "order already exists");

    NO_ONLINE_CHECKS = ("011301", "EBICS_NO_ONLINE_CHECKS", Business, "order accepted without online checks");
    DOWNLOAD_SIGNED_ONLY = ("091001", "EBICS_DOWNLOAD_SIGNED_ONLY", Business, "bank only offers signed downloads");
    DOWNLOAD_UNSIGNED_ONLY = ("091002", "EBICS_DOWNLOAD_UNSIGNED_ONLY", Business, "bank only offers unsigned downloads");
    AUTHORISATION_ORDER_TYPE_FAILED = ("090003", "EBICS_AUTHORISATION_ORDER_TYPE_FAILED", Business, "subscriber not authorised for this order type (H005: ..._ORDER_IDENTIFIER_FAILED)");
    INVALID_ORDER_DATA_FORMAT = ("090004", "EBICS_INVALID_ORDER_DATA_FORMAT", Business, "order data format not valid");
    NO_DOWNLOAD_DATA_AVAILABLE = ("090005", "EBICS_NO_DOWNLOAD_DATA_AVAILABLE", Business, "no download data available");
    UNSUPPORTED_REQUEST_FOR_ORDER_INSTANCE = ("090006", "EBICS_UNSUPPORTED_REQUEST_FOR_ORDER_INSTANCE", Business, "request not supported for this order");
    RECOVERY_NOT_SUPPORTED = ("091105", "EBICS_RECOVERY_NOT_SUPPORTED", Business, "transaction recovery not supported");
    INVALID_SIGNATURE_FILE_FORMAT = ("091111", "EBICS_INVALID_SIGNATURE_FILE_FORMAT", Business, "signature file format not valid");
    ORDERID_UNKNOWN = ("091114", "EBICS_ORDERID_UNKNOWN", Business, "order id unknown");
    ORDERID_ALREADY_EXISTS = ("091115", "EBICS_ORDERID_ALREADY_EXISTS", Business, "order id already used (H005: ..._ALREADY_FINAL)");
    PROCESSING_ERROR = ("091116", "EBICS_PROCESSING_ERROR", Business, "error while processing the order");
    KEYMGMT_UNSUPPORTED_VERSION_SIGNATURE = ("091201", "EBICS_KEYMGMT_UNSUPPORTED_VERSION_SIGNATURE", Business, "signature key version not supported");
    KEYMGMT_UNSUPPORTED_VERSION_AUTHENTICATION = ("091202", "EBICS_KEYMGMT_UNSUPPORTED_VERSION_AUTHENTICATION", Business, "authentication key version not supported");
    KEYMGMT_UNSUPPORTED_VERSION_ENCRYPTION = ("091203", "EBICS_KEYMGMT_UNSUPPORTED_VERSION_ENCRYPTION", Business, "encryption key version not supported");
    KEYMGMT_KEYLENGTH_ERROR_SIGNATURE = ("091204", "EBICS_KEYMGMT_KEYLENGTH_ERROR_SIGNATURE", Business, "signature key length not accepted");
    KEYMGMT_KEYLENGTH_ERROR_AUTHENTICATION = ("091205", "EBICS_KEYMGMT_KEYLENGTH_ERROR_AUTHENTICATION", Business, "authentication key length not accepted");
    KEYMGMT_KEYLENGTH_ERROR_ENCRYPTION = ("091206", "EBICS_KEYMGMT_KEYLENGTH_ERROR_ENCRYPTION", Business, "encryption key length not accepted");
    KEYMGMT_NO_X509_SUPPORT = ("091207", "EBICS_KEYMGMT_NO_X509_SUPPORT", Business, "bank does not accept X.509 data");
    X509_CERTIFICATE_EXPIRED = ("091208", "EBICS_X509_CERTIFICATE_EXPIRED", Business, "certificate expired");
    X509_CERTIFICATE_NOT_VALID_YET = ("091209", "EBICS_X509_CERTIFICATE_NOT_VALID_YET", Business, "certificate not valid yet");
    X509_WRONG_KEY_USAGE = ("091210", "EBICS_X509_WRONG_KEY_USAGE", Business, "certificate key usage wrong");
    X509_WRONG_ALGORITHM = ("091211", "EBICS_X509_WRONG_ALGORITHM", Business, "certificate algorithm not accepted");
    X509_INVALID_THUMBPRINT = ("091212", "EBICS_X509_INVALID_THUMBPRINT", Business, "certificate thumbprint wrong");
    X509_CTL_INVALID = ("091213", "EBICS_X509_CTL_INVALID", Business, "certificate trust list not valid");
    X509_UNKNOWN_CERTIFICATE_AUTHORITY = ("091214", "EBICS_X509_UNKNOWN_CERTIFICATE_AUTHORITY", Business, "certificate authority unknown");
    X509_INVALID_POLICY = ("091215", "EBICS_X509_INVALID_POLICY", Business, "certificate policy not valid");
    X509_INVALID_BASIC_CONSTRAINTS = ("091216", "EBICS_X509_INVALID_BASIC_CONSTRAINTS", Business, "certificate basic constraints not valid");
    ONLY_X509_SUPPORT = ("091217", "EBICS_ONLY_X509_SUPPORT", Business, "bank only accepts X.509 certificates");
    KEYMGMT_DUPLICATE_KEY = ("091218", "EBICS_KEYMGMT_DUPLICATE_KEY", Business, "the same key was sent for two purposes");
    CERTIFICATES_VALIDATION_ERROR = ("091219", "EBICS_CERTIFICATES_VALIDATION_ERROR", Business, "certificate validation failed");
    SIGNATURE_VERIFICATION_FAILED = ("091301", "EBICS_SIGNATURE_VERIFICATION_FAILED", Business, "electronic signature could not be verified");
    ACCOUNT_AUTHORISATION_FAILED = ("091302", "EBICS_ACCOUNT_AUTHORISATION_FAILED", Business, "signer not authorised for this account");
    AMOUNT_CHECK_FAILED = ("091303", "EBICS_AMOUNT_CHECK_FAILED", Business, "amount exceeds the signer's limit");
    SIGNER_UNKNOWN = ("091304", "EBICS_SIGNER_UNKNOWN", Business, "signer unknown");
    INVALID_SIGNER_STATE = ("091305", "EBICS_INVALID_SIGNER_STATE", Business, "signer state does not allow signing");
    DUPLICATE_SIGNATURE = ("091306", "EBICS_DUPLICATE_SIGNATURE", Business, "signer already signed this order");
}

/// A code the tables do not contain (or that is ambiguous where a unique answer was needed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown EBICS return code {code:?}{}", kind.map(|k| format!(" ({k:?})")).unwrap_or_default())]
pub struct UnknownReturnCode {
    /// The code that was looked up.
    pub code: String,
    /// The table it was looked up in, if one was given.
    pub kind: Option<ReturnCodeKind>,
}

impl ReturnCode {
    /// Looks a code up in one table.
    pub fn lookup(code: &str, kind: ReturnCodeKind) -> Option<ReturnCode> {
        ALL.iter()
            .copied()
            .find(|c| c.code == code && c.kind == kind)
    }

    /// Looks a code up where the caller may not know the table: a unique match wins; a number
    /// that is in both tables resolves to the technical entry unless `kind` says otherwise.
    pub fn resolve(
        code: &str,
        kind: Option<ReturnCodeKind>,
    ) -> Result<ReturnCode, UnknownReturnCode> {
        let unknown = || UnknownReturnCode {
            code: code.to_owned(),
            kind,
        };
        match kind {
            Some(k) => Self::lookup(code, k).ok_or_else(unknown),
            None => Self::lookup(code, Technical)
                .or_else(|| Self::lookup(code, Business))
                .ok_or_else(unknown),
        }
    }

    /// The `ReportText` a response carries for this code, e.g. `[EBICS_OK] OK`.
    pub fn report_text(&self) -> String {
        format!("[{}] {}", self.symbol, self.text)
    }

    /// Whether this code reports success (`000000`, or one of the positive technical codes).
    pub fn is_ok(&self) -> bool {
        matches!(self.code, "000000" | "011000" | "011301" | "031001")
    }
}

impl From<ReturnCode> for kontor_protocol::return_code::ReturnCode {
    /// The same code in the protocol crate's vocabulary (which also classifies retries).
    fn from(code: ReturnCode) -> Self {
        match code.kind {
            Technical => Self::technical(code.code),
            Business => Self::business(code.code),
        }
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The emulator answers with exactly the codes the protocol crate (and so Kontor's client)
    /// knows, under the same symbols: one vocabulary, two tables that cannot drift apart.
    #[test]
    fn every_code_is_the_protocol_crates_code_with_the_same_symbol() {
        use kontor_protocol::return_code::{ReturnCode as Protocol, ReturnCodeKind as Table};
        for c in ALL {
            let protocol = Protocol::from(*c);
            assert!(
                !matches!(protocol, Protocol::Unknown { .. }),
                "{c} unknown to the protocol crate"
            );
            assert_eq!(protocol.code(), c.code);
            assert!(
                matches!(
                    (protocol.kind(), c.kind),
                    (Table::Technical | Table::Both, Technical)
                        | (Table::Business | Table::Both, Business)
                ),
                "{c}: {:?}",
                protocol.kind()
            );
            assert_eq!(protocol.symbolic_name(), Some(c.symbol), "{c}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_unique_per_table() {
        let mut seen = HashSet::new();
        for c in ALL {
            assert_eq!(c.code.len(), 6, "{c}");
            assert!(c.code.bytes().all(|b| b.is_ascii_digit()), "{c}");
            assert!(seen.insert((c.code, c.kind)), "duplicate {c}");
        }
    }

    #[test]
    fn the_issue_text_codes_mean_something_else_than_it_says() {
        // 091002 is not "authentication failed": that is 061001.
        assert_eq!(
            ReturnCode::resolve("091002", None).map(|c| c.symbol),
            Ok("EBICS_INVALID_USER_OR_USER_STATE")
        );
        assert_eq!(ReturnCode::AUTHENTICATION_FAILED.code, "061001");
        // 091116 is EBICS_PROCESSING_ERROR; "order type not allowed" is 090003 (business).
        assert_eq!(
            ReturnCode::resolve("091116", None).map(|c| c.symbol),
            Ok("EBICS_PROCESSING_ERROR")
        );
        assert_eq!(ReturnCode::AUTHORISATION_ORDER_TYPE_FAILED.code, "090003");
        // 091005 is EBICS_INVALID_ORDER_TYPE; "no download data" is 090005.
        assert_eq!(
            ReturnCode::resolve("091005", None).map(|c| c.symbol),
            Ok("EBICS_INVALID_ORDER_TYPE")
        );
        assert_eq!(ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE.code, "090005");
    }

    #[test]
    fn a_number_in_both_tables_resolves_by_kind() {
        assert_eq!(
            ReturnCode::resolve("091002", Some(Business)),
            Ok(ReturnCode::DOWNLOAD_UNSIGNED_ONLY)
        );
        assert_eq!(
            ReturnCode::resolve("091002", Some(Technical)),
            Ok(ReturnCode::INVALID_USER_OR_USER_STATE)
        );
        assert!(ReturnCode::resolve("123456", None).is_err());
        assert!(ReturnCode::resolve("090005", Some(Technical)).is_err());
    }

    #[test]
    fn report_text_names_the_symbol() {
        assert_eq!(ReturnCode::OK.report_text(), "[EBICS_OK] OK");
    }
}
