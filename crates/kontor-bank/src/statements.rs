//! Statement documents generated from the seeded ledger (`kontor-documents`).
//!
//! One function, [`generate`], serves both the EBICS downloads and the admin endpoint
//! `GET /admin/statements`, so tests can compare what a client stored with what the bank
//! generated, byte for byte.
//!
//! Rules (documented here because clients and tests depend on them):
//! - Every account has its own deterministic ledger: seed = `ledger_seed` of the account, else
//!   the bank seed mixed with the account id. Same seed, same range, same size knob → same bytes.
//! - Days run from `today - history_days` to yesterday; a requested range is clamped to that.
//!   A download without a date range returns yesterday's statement.
//! - MT940 (STA) concatenates the statements of all the partner's accounts.
//! - camt comes in a **ZIP container** when the order type or the request asks for it: H004/H005
//!   C52/C53/C54 and the Swiss Z52/Z53/Z54 always (DK DFÜ-Abkommen Anlage 3, "camt-Formate im
//!   ZIP-Container"; SIX Swiss Implementation Guidelines for EBICS), H005 BTD when its service
//!   carries `<Container containerType="ZIP">`. The container holds **one camt document per
//!   account and day** ([`members`], packed by [`crate::container`]). Without a container (BTD
//!   without `Container`) camt is **one XML document** holding one report per account and day.
//! - A receipt does not consume data: downloading the same range again returns the same bytes
//!   (no "new data only" semantics).

use chrono::{Datelike as _, NaiveDate, NaiveDateTime, NaiveTime};
use kontor_documents::camt::{self, CamtKind, StatementRequest};
use kontor_documents::mt940::{self, Mt940Request};
use kontor_documents::sizing::{entries_per_day_for_size, ExportFormat};
use kontor_documents::{AccountInfo, Ledger};

use crate::config::{AccountConfig, BankConfig};
use crate::ids::{AccountId, PartnerId};

/// A statement format the bank can deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// SWIFT MT940 (order type STA, BTF EOP/mt940).
    Mt940,
    /// camt.052 intraday report (C52/Z52, BTF STM/camt.052).
    Camt052,
    /// camt.053 statement (C53/Z53, BTF EOP/camt.053).
    Camt053,
    /// camt.054 notification (C54/Z54, BTF REP or STM/camt.054).
    Camt054,
}

impl StatementKind {
    /// The format of a classic download order type.
    pub fn for_order_type(code: &str) -> Option<Self> {
        Some(match code {
            "STA" => Self::Mt940,
            "C52" => Self::Camt052,
            "Z52" => Self::Camt052,
            "C53" | "Z53" => Self::Camt053,
            "C54" | "Z54" => Self::Camt054,
            _ => return None,
        })
    }

    /// Whether a classic order type always delivers its camt documents in a ZIP container:
    /// C52/C53/C54 (DK DFÜ-Abkommen Anlage 3) and Z52/Z53/Z54 (Swiss guidelines).
    pub fn zipped_by_order_type(code: &str) -> bool {
        matches!(code, "C52" | "C53" | "C54" | "Z52" | "Z53" | "Z54")
    }

    /// The format of a BTF message name (`mt940`, `camt.053`, ...).
    pub fn for_message(msg_name: &str) -> Option<Self> {
        Some(match msg_name.to_ascii_lowercase().as_str() {
            "mt940" => Self::Mt940,
            "camt.052" => Self::Camt052,
            "camt.053" => Self::Camt053,
            "camt.054" => Self::Camt054,
            _ => return None,
        })
    }

    /// The message name (`mt940`, `camt.053`, ...), also used in ZIP member names.
    pub fn message_name(self) -> &'static str {
        match self {
            Self::Mt940 => "mt940",
            Self::Camt052 => "camt.052",
            Self::Camt053 => "camt.053",
            Self::Camt054 => "camt.054",
        }
    }

    fn camt(self) -> Option<CamtKind> {
        match self {
            Self::Mt940 => None,
            Self::Camt052 => Some(CamtKind::Camt052),
            Self::Camt053 => Some(CamtKind::Camt053),
            Self::Camt054 => Some(CamtKind::Camt054),
        }
    }

    fn export_format(self) -> ExportFormat {
        self.camt().map_or(ExportFormat::Mt940, ExportFormat::Camt)
    }
}

/// Why no statement could be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("no booking days in the requested range")]
    NoData,
    #[error("account {0} is unknown or belongs to another partner")]
    UnknownAccount(AccountId),
    #[error("account {account}: {message}")]
    Ledger { account: AccountId, message: String },
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct StatementQuery<'a> {
    pub partner: &'a PartnerId,
    /// These accounts (in seed order), or all accounts of the partner.
    pub accounts: Option<&'a [AccountId]>,
    pub kind: StatementKind,
    /// Inclusive range; `None` is yesterday.
    pub range: Option<(NaiveDate, NaiveDate)>,
    /// "Today" of the bank (the request's arrival date).
    pub today: NaiveDate,
}

/// Bookings per day of an account: the runtime override, else sized by
/// `ledger.statement_size_bytes`, else `ledger.entries_per_day`.
pub type EntriesPerDay<'a> = &'a dyn Fn(&AccountId) -> Option<u32>;

fn account_seed(config: &BankConfig, account: &AccountConfig) -> u64 {
    account.ledger_seed.unwrap_or_else(|| {
        // FNV-1a over the id: stable across releases, unlike `DefaultHasher`.
        account
            .id
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64 ^ config.ledger.seed, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    })
}

fn account_info(account: &AccountConfig) -> Result<AccountInfo, StatementError> {
    Ok(AccountInfo {
        iban: account.iban.clone(),
        bic: account.bic.clone(),
        currency: account.currency,
        holder: account.holder.clone(),
    })
}

/// The inclusive day range served for a query, clamped to the ledger's history.
fn effective_range(
    config: &BankConfig,
    query: &StatementQuery<'_>,
) -> Result<(NaiveDate, NaiveDate), StatementError> {
    let yesterday = query.today.pred_opt().ok_or(StatementError::NoData)?;
    let first = query
        .today
        .checked_sub_days(chrono::Days::new(u64::from(config.ledger.history_days)))
        .ok_or(StatementError::NoData)?;
    let (from, to) = query.range.unwrap_or((yesterday, yesterday));
    let (from, to) = (from.max(first), to.min(yesterday));
    if from > to {
        return Err(StatementError::NoData);
    }
    Ok((from, to))
}

fn ledger(
    config: &BankConfig,
    account: &AccountConfig,
    kind: StatementKind,
    (from, to): (NaiveDate, NaiveDate),
    entries_per_day: EntriesPerDay<'_>,
) -> Result<Ledger, StatementError> {
    let info = account_info(account)?;
    let seed = account_seed(config, account);
    let err = |message: String| StatementError::Ledger {
        account: account.id.clone(),
        message,
    };
    let per_day = match (
        entries_per_day(&account.id),
        config.ledger.statement_size_bytes,
    ) {
        (Some(n), _) => n as usize,
        (None, Some(bytes)) => entries_per_day_for_size(
            seed,
            &info,
            from,
            to,
            kind.export_format(),
            usize::try_from(bytes).unwrap_or(usize::MAX),
        )
        .map_err(|e| err(e.to_string()))?,
        (None, None) => config.ledger.entries_per_day as usize,
    };
    Ledger::generate(seed, info, from, to, per_day).map_err(|e| err(e.to_string()))
}

/// The accounts a query covers, in seed order (unknown or foreign accounts refused).
fn selected_accounts<'c>(
    config: &'c BankConfig,
    query: &StatementQuery<'c>,
) -> Result<Vec<&'c AccountConfig>, StatementError> {
    if let Some(unknown) = query.accounts.into_iter().flatten().find(|id| {
        config
            .account(id)
            .is_none_or(|a| &a.partner != query.partner)
    }) {
        return Err(StatementError::UnknownAccount(unknown.clone()));
    }
    let accounts: Vec<&AccountConfig> = config
        .accounts_of(query.partner)
        .filter(|a| query.accounts.is_none_or(|only| only.contains(&a.id)))
        .collect();
    if accounts.is_empty() {
        return Err(StatementError::NoData);
    }
    Ok(accounts)
}

/// The statement document for a query: exactly what an EBICS download of it without a
/// container delivers.
pub fn generate(
    config: &BankConfig,
    query: &StatementQuery<'_>,
    entries_per_day: EntriesPerDay<'_>,
) -> Result<Vec<u8>, StatementError> {
    let range = effective_range(config, query)?;
    let accounts = selected_accounts(config, query)?;
    let mut documents = Vec::with_capacity(accounts.len());
    for account in accounts {
        let ledger = ledger(config, account, query.kind, range, entries_per_day)?;
        documents.push(render(&ledger, query.kind, account, range));
    }
    Ok(match query.kind.camt() {
        None => documents.concat().into_bytes(),
        Some(kind) => merge_camt(kind, documents).into_bytes(),
    })
}

/// One document of a ZIP container: the statement of one account for one day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementMember {
    /// File name inside the container: `<date>_<IBAN>_<message>.<ext>`, unique per account and
    /// day (`2026-11-02_DE89370400440532013000_camt.053.xml`).
    pub name: String,
    pub account: AccountId,
    pub date: NaiveDate,
    #[serde(skip)]
    pub document: Vec<u8>,
}

/// The documents a ZIP delivery of a query holds: one per account and day, accounts in seed
/// order, days ascending. The ledger of a day does not depend on the requested period (see
/// `kontor_documents::ledger`), so a member equals that day's part of [`generate`].
pub fn members(
    config: &BankConfig,
    query: &StatementQuery<'_>,
    entries_per_day: EntriesPerDay<'_>,
) -> Result<Vec<StatementMember>, StatementError> {
    let (from, to) = effective_range(config, query)?;
    let accounts = selected_accounts(config, query)?;
    let extension = if query.kind == StatementKind::Mt940 {
        "sta"
    } else {
        "xml"
    };
    let mut members = Vec::new();
    for account in accounts {
        for day in from.iter_days().take_while(|d| *d <= to) {
            let ledger = ledger(config, account, query.kind, (day, day), entries_per_day)?;
            members.push(StatementMember {
                name: format!(
                    "{day}_{}_{}.{extension}",
                    account.iban.electronic(),
                    query.kind.message_name()
                ),
                account: account.id.clone(),
                date: day,
                document: render(&ledger, query.kind, account, (day, day)).into_bytes(),
            });
        }
    }
    Ok(members)
}

/// A camt document of `kind` (in the namespace the bank generates) whose one report (for an
/// account without IBAN) nests `depth` `Ntry` elements, its only defect: what the
/// `nested_statement` fault delivers instead of the real statement. `None` for MT940, which has no nesting.
pub fn nested(kind: StatementKind, depth: u32, created: NaiveDateTime) -> Option<Vec<u8>> {
    let camt = kind.camt()?;
    let (message, report) = (camt.root_element(), camt.report_element());
    let depth = depth as usize;
    let mut xml = String::with_capacity(512 + depth * 13);
    xml.push_str(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{}"><{message}><GrpHdr><MsgId>KB-NESTED</MsgId><CreDtTm>{}</CreDtTm></GrpHdr><{report}><Id>KB-NESTED</Id><Acct><Id><Othr><Id>KB-NESTED</Id></Othr></Id></Acct>"#,
        camt.generated_namespace(),
        created.format("%Y-%m-%dT%H:%M:%S"),
    ));
    xml.extend(std::iter::repeat_n("<Ntry>", depth));
    xml.extend(std::iter::repeat_n("</Ntry>", depth));
    xml.push_str(&format!("</{report}></{message}></Document>"));
    Some(xml.into_bytes())
}

fn render(
    ledger: &Ledger,
    kind: StatementKind,
    account: &AccountConfig,
    (from, to): (NaiveDate, NaiveDate),
) -> String {
    match kind.camt() {
        None => {
            let mut request = Mt940Request::new(&format!("KB{}", from.format("%y%m%d")));
            request.first_statement_number = from.ordinal();
            mt940::generate(ledger, &request)
        }
        Some(camt_kind) => {
            // No clock: the creation time is the end of the last booking day.
            let created = to.and_time(NaiveTime::from_hms_opt(23, 0, 0).unwrap_or_default());
            let mut request = StatementRequest::new(
                camt_kind,
                &format!("KB-{}-{}-{}", account.id, from, to),
                created,
            );
            request.first_sequence_number = u64::from(from.ordinal());
            camt::generate(ledger, &request)
        }
    }
}

/// One camt document holding the reports of all accounts: the first document with the report
/// elements of the others inserted before its closing message element.
fn merge_camt(kind: CamtKind, documents: Vec<String>) -> String {
    let report = match kind {
        CamtKind::Camt052 => "<Rpt>",
        CamtKind::Camt053 => "<Stmt>",
        CamtKind::Camt054 => "<Ntfctn>",
    };
    let closing = match kind {
        CamtKind::Camt052 => "</BkToCstmrAcctRpt>",
        CamtKind::Camt053 => "</BkToCstmrStmt>",
        CamtKind::Camt054 => "</BkToCstmrDbtCdtNtfctn>",
    };
    let mut documents = documents.into_iter();
    let Some(mut merged) = documents.next() else {
        return String::new();
    };
    for doc in documents {
        let (Some(start), Some(end)) = (doc.find(report), doc.rfind(closing)) else {
            continue;
        };
        if let Some(at) = merged.rfind(closing) {
            merged.insert_str(at, &doc[start..end]);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(partner: &'a PartnerId, kind: StatementKind) -> StatementQuery<'a> {
        StatementQuery {
            partner,
            accounts: None,
            kind,
            range: Some((
                NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
                NaiveDate::from_ymd_opt(2026, 11, 4).expect("date"),
            )),
            today: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
        }
    }

    #[test]
    fn statements_are_deterministic_and_cover_every_account() {
        let config = BankConfig::demo().expect("demo");
        let partner: PartnerId = "PARTNER1".parse().expect("id");
        let none = |_: &AccountId| None;
        let camt =
            generate(&config, &query(&partner, StatementKind::Camt053), &none).expect("camt");
        assert_eq!(
            camt,
            generate(&config, &query(&partner, StatementKind::Camt053), &none).expect("again")
        );
        let parsed = camt::parse_bytes(&camt).expect("merged camt parses");
        assert_eq!(parsed.len(), 3 * 3, "three accounts, three days");
        let mt940 =
            generate(&config, &query(&partner, StatementKind::Mt940), &none).expect("mt940");
        assert!(String::from_utf8_lossy(&mt940).contains(":20:KB261102"));
    }

    #[test]
    fn a_range_outside_the_history_has_no_data() {
        let config = BankConfig::demo().expect("demo");
        let partner: PartnerId = "PARTNER1".parse().expect("id");
        let mut q = query(&partner, StatementKind::Mt940);
        q.range = Some((
            NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(2020, 1, 2).expect("date"),
        ));
        assert_eq!(
            generate(&config, &q, &|_| None),
            Err(StatementError::NoData)
        );
    }

    #[test]
    fn the_size_knob_grows_the_document() {
        let config = BankConfig::demo().expect("demo");
        let partner: PartnerId = "PARTNER1".parse().expect("id");
        let account: [AccountId; 1] = ["ACC-EUR-MAIN".parse().expect("id")];
        let mut q = query(&partner, StatementKind::Camt053);
        q.accounts = Some(&account);
        let small = generate(&config, &q, &|_| None).expect("small").len();
        let big = generate(&config, &q, &|_| Some(500)).expect("big").len();
        assert!(big > small * 10, "{small} -> {big}");
    }

    #[test]
    fn members_are_one_document_per_account_and_day() {
        let config = BankConfig::demo().expect("demo");
        let partner: PartnerId = "PARTNER1".parse().expect("id");
        let q = query(&partner, StatementKind::Camt053);
        let members = members(&config, &q, &|_| None).expect("members");
        assert_eq!(members.len(), 3 * 3, "three accounts, three days");
        let names: std::collections::BTreeSet<_> = members.iter().map(|m| &m.name).collect();
        assert_eq!(names.len(), members.len(), "unique names");
        for member in &members {
            let parsed = camt::parse_bytes(&member.document).expect("member parses");
            assert_eq!(parsed.len(), 1, "{}", member.name);
            assert!(member.name.starts_with(&member.date.to_string()));
        }
    }
}
