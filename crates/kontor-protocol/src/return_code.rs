//! EBICS return codes (EBICS Annex 1, H004 and H005).
//!
//! A response carries two codes: the *technical* one in `header/mutable/ReturnCode` (transport,
//! authentication, transaction state) and the *business* one in `body/ReturnCode` (order
//! processing). The code lists overlap in one value: `091002` is
//! `EBICS_INVALID_USER_OR_USER_STATE` as a technical code but `EBICS_DOWNLOAD_UNSIGNED_ONLY` as a
//! business code, so parse with [`ReturnCode::technical`] or [`ReturnCode::business`] according
//! to where the code was found. Codes Kontor does not know become [`ReturnCode::Unknown`] and
//! are classified by their class digits.
//!
//! Code classes (first two digits): `00` OK, `01` note, `03` warning, `06` error, `09` error.

use std::fmt;
use std::str::FromStr;

/// Which part of a response a code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnCodeKind {
    /// `header/mutable/ReturnCode`: protocol and transaction level.
    Technical,
    /// `body/ReturnCode`: order processing level.
    Business,
    /// `000000` appears in both lists with the same meaning.
    Both,
}

/// How serious a code is, from its class digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// `00xxxx`
    Ok,
    /// `01xxxx`: informational, the step succeeded.
    Info,
    /// `03xxxx`: the step succeeded with a caveat.
    Warning,
    /// `06xxxx`: the step failed.
    Error,
    /// `09xxxx`: the step failed, typically because of the request content or subscriber state.
    Fatal,
}

/// What a client should do after receiving a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Success (or nothing to do): no retry.
    NotNeeded,
    /// Resume the same transaction (`EBICS_TX_RECOVERY_SYNC`): re-send from the segment the
    /// bank names.
    Recover,
    /// A temporary condition on the bank side: retry the same order later.
    Later,
    /// The transaction is gone (aborted, unknown, replayed nonce): start a new transaction.
    /// For uploads, first make sure the order was not already accepted.
    NewTransaction,
    /// The bank's public keys changed: fetch them (HPB), verify, then retry.
    AfterBankKeyUpdate,
    /// Permanent: retrying the same request cannot succeed (or would duplicate an order).
    Never,
}

macro_rules! return_codes {
    ($( $variant:ident = $code:literal, $kind:ident, $name:literal, $retry:ident, $meaning:literal; )*) => {
        /// A return code from an EBICS response.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ReturnCode {
            $(
                #[doc = $meaning]
                $variant,
            )*
            /// A code this crate does not know (the raw text as received).
            Unknown(String),
        }

        impl ReturnCode {
            /// Every known code (for documentation and exhaustive tests).
            pub const ALL: &'static [ReturnCode] = &[$(ReturnCode::$variant,)*];

            /// The six-digit code.
            pub fn code(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Unknown(code) => code,
                }
            }

            /// The symbolic name from the specification (`EBICS_OK`, ...); H004 naming.
            /// `None` for unknown codes.
            pub fn symbolic_name(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($name),)*
                    Self::Unknown(_) => None,
                }
            }

            /// A short English explanation.
            pub fn meaning(&self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)*
                    Self::Unknown(_) => "Return code not known to Kontor",
                }
            }

            /// Whether the code is technical, business or (`000000`) both. Unknown codes count as
            /// technical.
            pub fn kind(&self) -> ReturnCodeKind {
                match self {
                    $(Self::$variant => ReturnCodeKind::$kind,)*
                    Self::Unknown(_) => ReturnCodeKind::Technical,
                }
            }

            /// The recommended reaction.
            pub fn retry(&self) -> Retry {
                match self {
                    $(Self::$variant => Retry::$retry,)*
                    // Unknown errors are treated as permanent: retrying an upload blindly could
                    // submit a payment twice.
                    Self::Unknown(_) => match self.severity() {
                        Severity::Ok | Severity::Info | Severity::Warning => Retry::NotNeeded,
                        Severity::Error | Severity::Fatal => Retry::Never,
                    },
                }
            }

            fn lookup(code: &str, kind: ReturnCodeKind) -> Option<ReturnCode> {
                $(
                    if code == $code
                        && (ReturnCodeKind::$kind == kind || ReturnCodeKind::$kind == ReturnCodeKind::Both)
                    {
                        return Some(ReturnCode::$variant);
                    }
                )*
                None
            }
        }
    };
}

return_codes! {
    // Technical return codes.
    Ok = "000000", Both, "EBICS_OK", NotNeeded,
        "No errors occurred.";
    DownloadPostprocessDone = "011000", Technical, "EBICS_DOWNLOAD_POSTPROCESS_DONE", NotNeeded,
        "Positive acknowledgement of a download received; the bank post-processed the order.";
    DownloadPostprocessSkipped = "011001", Technical, "EBICS_DOWNLOAD_POSTPROCESS_SKIPPED", NotNeeded,
        "Negative acknowledgement of a download received; the bank skipped post-processing.";
    TxSegmentNumberUnderrun = "011101", Technical, "EBICS_TX_SEGMENT_NUMBER_UNDERRUN", NotNeeded,
        "The bank ended the upload transaction early: the last segment arrived before the announced number of segments.";
    OrderParamsIgnored = "031001", Technical, "EBICS_ORDER_PARAMS_IGNORED", NotNeeded,
        "Order parameters not supported by the bank were ignored.";
    AuthenticationFailed = "061001", Technical, "EBICS_AUTHENTICATION_FAILED", Never,
        "The bank could not verify the request's authentication signature (X002).";
    InvalidRequest = "061002", Technical, "EBICS_INVALID_REQUEST", Never,
        "The request is not valid EBICS XML or violates the schema.";
    InternalError = "061099", Technical, "EBICS_INTERNAL_ERROR", Later,
        "An internal error occurred at the bank.";
    TxRecoverySync = "061101", Technical, "EBICS_TX_RECOVERY_SYNC", Recover,
        "Transaction recovery: resynchronise and continue the transaction from the segment named by the bank.";
    InvalidUserOrUserState = "091002", Technical, "EBICS_INVALID_USER_OR_USER_STATE", Never,
        "The subscriber is unknown or not in a state that permits this request.";
    UserUnknown = "091003", Technical, "EBICS_USER_UNKNOWN", Never,
        "The subscriber is unknown to the bank.";
    InvalidUserState = "091004", Technical, "EBICS_INVALID_USER_STATE", Never,
        "The subscriber's state does not permit this request (e.g. keys not initialised or suspended).";
    InvalidOrderType = "091005", Technical, "EBICS_INVALID_ORDER_TYPE", Never,
        "The order type (H005: order identifier) is invalid.";
    UnsupportedOrderType = "091006", Technical, "EBICS_UNSUPPORTED_ORDER_TYPE", Never,
        "The order type (H005: order identifier) is not supported by the bank or not permitted for this subscriber.";
    DistributedSignatureAuthorisationFailed = "091007", Technical, "EBICS_DISTRIBUTED_SIGNATURE_AUTHORISATION_FAILED", Never,
        "The subscriber is not authorised to use the distributed signature for this order.";
    BankPubkeyUpdateRequired = "091008", Technical, "EBICS_BANK_PUBKEY_UPDATE_REQUIRED", AfterBankKeyUpdate,
        "The bank's public keys changed; the client must download them (HPB) before continuing.";
    SegmentSizeExceeded = "091009", Technical, "EBICS_SEGMENT_SIZE_EXCEEDED", Never,
        "A segment exceeds the maximum segment size (1 MB of encoded order data).";
    InvalidXml = "091010", Technical, "EBICS_INVALID_XML", Never,
        "The request XML is invalid against the schema or the order data XML is invalid.";
    InvalidHostId = "091011", Technical, "EBICS_INVALID_HOST_ID", Never,
        "The HostID is not known to the bank system.";
    TxUnknownTxid = "091101", Technical, "EBICS_TX_UNKNOWN_TXID", NewTransaction,
        "The transaction ID is unknown to the bank (expired or never existed).";
    TxAbort = "091102", Technical, "EBICS_TX_ABORT", NewTransaction,
        "The bank aborted the transaction.";
    TxMessageReplay = "091103", Technical, "EBICS_TX_MESSAGE_REPLAY", NewTransaction,
        "Replay suspected: the nonce was already used or the timestamp is outside the bank's tolerance.";
    TxSegmentNumberExceeded = "091104", Technical, "EBICS_TX_SEGMENT_NUMBER_EXCEEDED", Never,
        "The segment number exceeds the number of segments of the transaction.";
    InvalidOrderParams = "091112", Technical, "EBICS_INVALID_ORDER_PARAMS", Never,
        "The order parameters are invalid.";
    InvalidRequestContent = "091113", Technical, "EBICS_INVALID_REQUEST_CONTENT", Never,
        "The request content is inconsistent (e.g. wrong elements for the transaction phase).";
    MaxOrderDataSizeExceeded = "091117", Technical, "EBICS_MAX_ORDER_DATA_SIZE_EXCEEDED", Never,
        "The order data exceeds the size the bank accepts.";
    MaxSegmentsExceeded = "091118", Technical, "EBICS_MAX_SEGMENTS_EXCEEDED", Never,
        "The number of segments exceeds the number the bank accepts.";
    MaxTransactionsExceeded = "091119", Technical, "EBICS_MAX_TRANSACTIONS_EXCEEDED", Later,
        "Too many parallel transactions for this subscriber.";
    PartnerIdMismatch = "091120", Technical, "EBICS_PARTNER_ID_MISMATCH", Never,
        "The partner ID of the ES file differs from the partner ID of the submitter.";
    IncompatibleOrderAttribute = "091121", Technical, "EBICS_INCOMPATIBLE_ORDER_ATTRIBUTE", Never,
        "The order attribute is not compatible with the order (H004).";
    OrderAlreadyExists = "091122", Technical, "EBICS_ORDER_ALREADY_EXISTS", Never,
        "The order already exists at the bank (duplicate submission).";

    // Business return codes.
    NoOnlineChecks = "011301", Business, "EBICS_NO_ONLINE_CHECKS", NotNeeded,
        "The bank accepted the order but performs no online checks (e.g. of the ES).";
    AuthorisationOrderTypeFailed = "090003", Business, "EBICS_AUTHORISATION_ORDER_TYPE_FAILED", Never,
        "The subscriber is not authorised for this order type (H005: order identifier).";
    InvalidOrderDataFormat = "090004", Business, "EBICS_INVALID_ORDER_DATA_FORMAT", Never,
        "The order data does not have the expected format.";
    NoDownloadDataAvailable = "090005", Business, "EBICS_NO_DOWNLOAD_DATA_AVAILABLE", NotNeeded,
        "No data is available for download.";
    UnsupportedRequestForOrderInstance = "090006", Business, "EBICS_UNSUPPORTED_REQUEST_FOR_ORDER_INSTANCE", Never,
        "The request is not supported for this order instance.";
    DownloadSignedOnly = "091001", Business, "EBICS_DOWNLOAD_SIGNED_ONLY", Never,
        "The bank supports only signed downloads for this order type.";
    DownloadUnsignedOnly = "091002", Business, "EBICS_DOWNLOAD_UNSIGNED_ONLY", Never,
        "The bank supports only unsigned downloads for this order type.";
    RecoveryNotSupported = "091105", Business, "EBICS_RECOVERY_NOT_SUPPORTED", NewTransaction,
        "The bank does not support transaction recovery; start a new transaction.";
    InvalidSignatureFileFormat = "091111", Business, "EBICS_INVALID_SIGNATURE_FILE_FORMAT", Never,
        "The ES file (UserSignatureData) has an invalid format.";
    OrderIdUnknown = "091114", Business, "EBICS_ORDERID_UNKNOWN", Never,
        "The order ID is unknown (e.g. in distributed signature requests).";
    OrderIdAlreadyExists = "091115", Business, "EBICS_ORDERID_ALREADY_EXISTS", Never,
        "The order ID already exists (H005: the order is already final); do not resubmit.";
    ProcessingError = "091116", Business, "EBICS_PROCESSING_ERROR", Never,
        "The bank could not process the order.";
    KeymgmtUnsupportedVersionSignature = "091201", Business, "EBICS_KEYMGMT_UNSUPPORTED_VERSION_SIGNATURE", Never,
        "The signature key version (A00x) is not supported by the bank.";
    KeymgmtUnsupportedVersionAuthentication = "091202", Business, "EBICS_KEYMGMT_UNSUPPORTED_VERSION_AUTHENTICATION", Never,
        "The authentication key version (X00x) is not supported by the bank.";
    KeymgmtUnsupportedVersionEncryption = "091203", Business, "EBICS_KEYMGMT_UNSUPPORTED_VERSION_ENCRYPTION", Never,
        "The encryption key version (E00x) is not supported by the bank.";
    KeymgmtKeylengthErrorSignature = "091204", Business, "EBICS_KEYMGMT_KEYLENGTH_ERROR_SIGNATURE", Never,
        "The signature key length is not accepted by the bank.";
    KeymgmtKeylengthErrorAuthentication = "091205", Business, "EBICS_KEYMGMT_KEYLENGTH_ERROR_AUTHENTICATION", Never,
        "The authentication key length is not accepted by the bank.";
    KeymgmtKeylengthErrorEncryption = "091206", Business, "EBICS_KEYMGMT_KEYLENGTH_ERROR_ENCRYPTION", Never,
        "The encryption key length is not accepted by the bank.";
    KeymgmtNoX509Support = "091207", Business, "EBICS_KEYMGMT_NO_X509_SUPPORT", Never,
        "The bank does not support X.509 certificates.";
    X509CertificateExpired = "091208", Business, "EBICS_X509_CERTIFICATE_EXPIRED", Never,
        "The X.509 certificate has expired.";
    X509CertificateNotValidYet = "091209", Business, "EBICS_X509_CERTIFICATE_NOT_VALID_YET", Never,
        "The X.509 certificate is not valid yet.";
    X509WrongKeyUsage = "091210", Business, "EBICS_X509_WRONG_KEY_USAGE", Never,
        "The X.509 certificate has the wrong key usage.";
    X509WrongAlgorithm = "091211", Business, "EBICS_X509_WRONG_ALGORITHM", Never,
        "The X.509 certificate uses an algorithm the bank does not accept.";
    X509InvalidThumbprint = "091212", Business, "EBICS_X509_INVALID_THUMBPRINT", Never,
        "The X.509 certificate thumbprint is invalid.";
    X509CtlInvalid = "091213", Business, "EBICS_X509_CTL_INVALID", Never,
        "The certificate trust list is invalid.";
    X509UnknownCertificateAuthority = "091214", Business, "EBICS_X509_UNKNOWN_CERTIFICATE_AUTHORITY", Never,
        "The X.509 certificate was issued by an unknown certificate authority.";
    X509InvalidPolicy = "091215", Business, "EBICS_X509_INVALID_POLICY", Never,
        "The X.509 certificate policy is invalid.";
    X509InvalidBasicConstraints = "091216", Business, "EBICS_X509_INVALID_BASIC_CONSTRAINTS", Never,
        "The X.509 certificate basic constraints are invalid.";
    OnlyX509Support = "091217", Business, "EBICS_ONLY_X509_SUPPORT", Never,
        "The bank accepts X.509 certificates only.";
    KeymgmtDuplicateKey = "091218", Business, "EBICS_KEYMGMT_DUPLICATE_KEY", Never,
        "The key is already in use (the same key was submitted for different purposes or subscribers).";
    CertificatesValidationError = "091219", Business, "EBICS_CERTIFICATES_VALIDATION_ERROR", Never,
        "The bank could not validate the certificates.";
    SignatureVerificationFailed = "091301", Business, "EBICS_SIGNATURE_VERIFICATION_FAILED", Never,
        "Verification of the electronic signature (ES) failed.";
    AccountAuthorisationFailed = "091302", Business, "EBICS_ACCOUNT_AUTHORISATION_FAILED", Never,
        "The signer is not authorised for the account.";
    AmountCheckFailed = "091303", Business, "EBICS_AMOUNT_CHECK_FAILED", Never,
        "The amount exceeds the signer's limit.";
    SignerUnknown = "091304", Business, "EBICS_SIGNER_UNKNOWN", Never,
        "The signer is unknown.";
    InvalidSignerState = "091305", Business, "EBICS_INVALID_SIGNER_STATE", Never,
        "The signer's state does not permit signing.";
    DuplicateSignature = "091306", Business, "EBICS_DUPLICATE_SIGNATURE", Never,
        "The signer already signed this order.";
}

impl ReturnCode {
    /// Interprets a code found in `header/mutable/ReturnCode` (or the HEV `SystemReturnCode`).
    /// A code unknown as technical but known as business (a bank putting a business code in the
    /// header) resolves to the business meaning; anything else becomes [`ReturnCode::Unknown`].
    pub fn technical(code: &str) -> ReturnCode {
        let code = code.trim();
        Self::lookup(code, ReturnCodeKind::Technical)
            .or_else(|| Self::lookup(code, ReturnCodeKind::Business))
            .unwrap_or_else(|| ReturnCode::Unknown(code.to_owned()))
    }

    /// Interprets a code found in `body/ReturnCode`; falls back to the technical list like
    /// [`ReturnCode::technical`] falls back to the business one.
    pub fn business(code: &str) -> ReturnCode {
        let code = code.trim();
        Self::lookup(code, ReturnCodeKind::Business)
            .or_else(|| Self::lookup(code, ReturnCodeKind::Technical))
            .unwrap_or_else(|| ReturnCode::Unknown(code.to_owned()))
    }

    /// `000000`, technical or business.
    pub fn is_ok(&self) -> bool {
        self.code() == "000000"
    }

    /// Whether the step succeeded (OK, note or warning class).
    pub fn is_success(&self) -> bool {
        self.severity() <= Severity::Warning
    }

    /// `EBICS_NO_DOWNLOAD_DATA_AVAILABLE`: not an error for a polling client.
    pub fn is_no_data(&self) -> bool {
        self.code() == "090005"
    }

    /// The severity class from the first two digits. Malformed codes count as fatal.
    pub fn severity(&self) -> Severity {
        match self.code().get(..2) {
            Some("00") => Severity::Ok,
            Some("01") => Severity::Info,
            Some("03") => Severity::Warning,
            Some("06") => Severity::Error,
            _ => Severity::Fatal,
        }
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.symbolic_name() {
            Some(name) => write!(f, "{} {}", self.code(), name),
            None => write!(f, "{} (unknown return code)", self.code()),
        }
    }
}

impl FromStr for ReturnCode {
    type Err = std::convert::Infallible;
    /// Same as [`ReturnCode::technical`]; never fails.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ReturnCode::technical(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_through_its_kind() {
        for rc in ReturnCode::ALL {
            let parsed = match rc.kind() {
                ReturnCodeKind::Technical | ReturnCodeKind::Both => {
                    ReturnCode::technical(rc.code())
                }
                ReturnCodeKind::Business => ReturnCode::business(rc.code()),
            };
            assert_eq!(&parsed, rc, "{}", rc.code());
            assert_eq!(rc.code().len(), 6);
            assert!(rc.code().bytes().all(|b| b.is_ascii_digit()));
            assert!(rc.symbolic_name().is_some_and(|n| n.starts_with("EBICS_")));
        }
    }

    #[test]
    fn codes_are_unique_within_each_kind() {
        for (i, a) in ReturnCode::ALL.iter().enumerate() {
            for b in &ReturnCode::ALL[i + 1..] {
                assert!(
                    !(a.code() == b.code() && a.kind() == b.kind()),
                    "{} duplicated",
                    a.code()
                );
            }
        }
    }

    #[test]
    fn code_091002_depends_on_where_it_was_found() {
        assert_eq!(
            ReturnCode::technical("091002"),
            ReturnCode::InvalidUserOrUserState
        );
        assert_eq!(
            ReturnCode::business("091002"),
            ReturnCode::DownloadUnsignedOnly
        );
    }

    #[test]
    fn business_codes_in_the_header_still_resolve() {
        assert_eq!(
            ReturnCode::technical("090005"),
            ReturnCode::NoDownloadDataAvailable
        );
        assert_eq!(ReturnCode::business("061101"), ReturnCode::TxRecoverySync);
    }

    #[test]
    fn unknown_codes_do_not_fail_and_keep_their_text() {
        let rc = ReturnCode::technical("099999");
        assert_eq!(rc, ReturnCode::Unknown("099999".into()));
        assert_eq!(rc.code(), "099999");
        assert_eq!(rc.symbolic_name(), None);
        assert_eq!(rc.severity(), Severity::Fatal);
        assert_eq!(rc.retry(), Retry::Never);
        assert_eq!(
            "garbage".parse::<ReturnCode>().map(|r| r.severity()),
            Ok(Severity::Fatal)
        );
        assert_eq!(ReturnCode::technical("011999").retry(), Retry::NotNeeded);
    }

    #[test]
    fn ok_codes_are_ok_and_others_are_not() {
        assert!(ReturnCode::Ok.is_ok());
        assert_eq!(ReturnCode::business("000000"), ReturnCode::Ok);
        assert!(!ReturnCode::DownloadPostprocessDone.is_ok());
        assert!(ReturnCode::DownloadPostprocessDone.is_success());
        assert!(ReturnCode::OrderParamsIgnored.is_success());
        assert!(!ReturnCode::AuthenticationFailed.is_success());
    }

    #[test]
    fn retry_classification_matches_the_protocol() {
        for (code, retry) in [
            (ReturnCode::TxRecoverySync, Retry::Recover),
            (ReturnCode::InternalError, Retry::Later),
            (ReturnCode::MaxTransactionsExceeded, Retry::Later),
            (ReturnCode::TxAbort, Retry::NewTransaction),
            (ReturnCode::TxMessageReplay, Retry::NewTransaction),
            (
                ReturnCode::BankPubkeyUpdateRequired,
                Retry::AfterBankKeyUpdate,
            ),
            (ReturnCode::AuthenticationFailed, Retry::Never),
            (ReturnCode::OrderIdAlreadyExists, Retry::Never),
            (ReturnCode::NoDownloadDataAvailable, Retry::NotNeeded),
        ] {
            assert_eq!(code.retry(), retry, "{code}");
        }
        assert!(ReturnCode::NoDownloadDataAvailable.is_no_data());
    }

    #[test]
    fn severity_follows_the_class_digits() {
        for (code, severity) in [
            (ReturnCode::Ok, Severity::Ok),
            (ReturnCode::DownloadPostprocessDone, Severity::Info),
            (ReturnCode::OrderParamsIgnored, Severity::Warning),
            (ReturnCode::TxRecoverySync, Severity::Error),
            (ReturnCode::TxAbort, Severity::Fatal),
        ] {
            assert_eq!(code.severity(), severity, "{code}");
        }
    }

    #[test]
    fn display_shows_code_and_name() {
        assert_eq!(ReturnCode::Ok.to_string(), "000000 EBICS_OK");
        assert_eq!(
            ReturnCode::Unknown("012345".into()).to_string(),
            "012345 (unknown return code)"
        );
    }
}
