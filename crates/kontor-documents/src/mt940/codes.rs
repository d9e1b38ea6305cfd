//! German business transaction codes (GVC, Geschäftsvorfallcode) of MT940 field 86 and the
//! ISO 20022 bank transaction codes they correspond to, for the bookings this crate generates
//! and the most common ones a bank sends.

use crate::statement::BankTransactionCode;

/// (GVC, ISO domain, family, sub-family, SWIFT transaction type for field 61).
const TABLE: &[(&str, &str, &str, &str, &str)] = &[
    ("166", "PMNT", "RCDT", "ESCT", "NTRF"),
    ("116", "PMNT", "ICDT", "ESCT", "NTRF"),
    ("105", "PMNT", "IDDT", "ESDD", "NDDT"),
    ("171", "PMNT", "RDDT", "ESDD", "NDDT"),
    ("805", "ACMT", "MDOP", "CHRG", "NCHG"),
    ("820", "CAMT", "ACCB", "SWEP", "NTRF"),
];

pub(crate) fn iso_for_gvc(gvc: &str) -> Option<BankTransactionCode> {
    TABLE
        .iter()
        .find(|row| row.0 == gvc)
        .map(|row| BankTransactionCode::from_static(row.1, row.2, row.3))
}

/// GVC and field 61 transaction type for an ISO code; `000`/`NMSC` (miscellaneous) when the
/// code has no German equivalent in the table.
pub(crate) fn gvc_for_iso(code: Option<&BankTransactionCode>) -> (&'static str, &'static str) {
    code.and_then(|code| {
        TABLE
            .iter()
            .find(|row| row.1 == code.domain && row.2 == code.family && row.3 == code.sub_family)
    })
    .map(|row| (row.0, row.4))
    .unwrap_or(("000", "NMSC"))
}
