//! Seed configuration of the emulated bank (TOML).
//!
//! The configuration describes the bank as it is when the emulator starts: host id, offered
//! protocol versions, bank key source, partners, users, accounts, permissions, the order types
//! each partner may use, ledger parameters for statement generation, protocol limits and fault
//! rules to install at start. `crates/kontor-bank/demo-bank.toml` is the reference example.
//!
//! [`BankConfig::from_toml_str`] parses *and* validates: a configuration that refers to an
//! unknown partner, repeats an id, offers an unsupported protocol version and so on is rejected
//! with every problem listed, so the emulator never starts half-configured.

mod banking;
mod validate;

use std::path::{Path, PathBuf};

use kontor_protocol::order_type::{BtfService, BtfServiceText};
use kontor_protocol::ProtocolVersion;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use banking::{Bic, Currency, Iban, SignatureClass};

use crate::faults::FaultRule;
use crate::ids::{AccountId, HostId, OrderTypeCode, PartnerId, UserId};

/// The demo bank shipped with the crate (`demo-bank.toml`).
pub const DEMO_BANK_TOML: &str = include_str!("../../demo-bank.toml");

/// Everything the emulator is seeded with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankConfig {
    /// Identity of the bank and the protocol versions it speaks.
    pub bank: BankSection,
    /// Parameters for generated account statements.
    #[serde(default)]
    pub ledger: LedgerConfig,
    /// Protocol limits (timestamp tolerance, segment size, ...).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// EBICS customers.
    #[serde(default)]
    pub partners: Vec<PartnerConfig>,
    /// EBICS subscribers.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Accounts held at the bank.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// What each user may do on which accounts.
    #[serde(default)]
    pub permissions: Vec<PermissionConfig>,
    /// Fault rules installed at start (more can be installed at runtime via the admin API).
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

/// `[bank]`: who the bank is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankSection {
    /// EBICS HostID the bank answers to.
    pub host_id: HostId,
    /// Display name (letters, HEV-adjacent admin output).
    pub name: String,
    /// Protocol versions offered (HEV lists them); the emulator supports H004 and H005.
    pub protocol_versions: Vec<ProtocolVersion>,
    /// Where the bank's own key pairs come from.
    #[serde(default)]
    pub keys: BankKeySource,
    /// Whether HPD announces transaction recovery (`Recovery supported=...`); `false`
    /// emulates a bank without it, whose clients must not resume transfers.
    #[serde(default = "recovery_supported")]
    pub recovery: bool,
}

fn recovery_supported() -> bool {
    true
}

/// Where the bank key pairs (X002 authentication, E002 encryption) come from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankKeySource {
    /// Generate fresh key pairs at every start (`keys = "generate"`).
    #[default]
    Generate,
    /// Load (or create on first start) the key pairs from this file (`keys = { file = "..." }`).
    File(PathBuf),
}

/// `[ledger]`: how account statements are generated (used by the documents crate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Seed of the deterministic booking generator; same seed, same statements.
    pub seed: u64,
    /// Bookings generated per account and business day.
    pub entries_per_day: u32,
    /// How many days of history exist before "today".
    pub history_days: u32,
    /// If set, statements are padded with extra bookings until they reach about this many
    /// bytes, to exercise segmentation (an EBICS segment carries at most 1 MiB).
    pub statement_size_bytes: Option<u64>,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            entries_per_day: 8,
            history_days: 90,
            statement_size_bytes: None,
        }
    }
}

/// `[limits]`: protocol limits enforced by the emulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Accepted clock difference between a request's Timestamp and the bank clock, both ways.
    pub timestamp_tolerance_secs: u64,
    /// A transaction without a request for this long is dropped (EBICS_TX_ABORT semantics).
    pub transaction_idle_timeout_secs: u64,
    /// Maximum number of transactions in progress at once (EBICS_MAX_TRANSACTIONS_EXCEEDED).
    pub max_open_transactions: usize,
    /// Maximum size of one order data segment (after compression, encryption and base64).
    pub segment_size_bytes: usize,
    /// Maximum HTTP request body accepted on `/ebicsweb`.
    pub max_request_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            timestamp_tolerance_secs: 300,
            transaction_idle_timeout_secs: 600,
            max_open_transactions: 1000,
            segment_size_bytes: 1024 * 1024,
            max_request_bytes: 16 * 1024 * 1024,
        }
    }
}

/// `[[partners]]`: an EBICS customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// PartnerID.
    pub id: PartnerId,
    /// Customer name.
    pub name: String,
    /// Classic order types offered to this partner (H004, and H005 admin order types).
    #[serde(default)]
    pub order_types: Vec<OrderTypeCode>,
    /// BTF services offered to this partner (H005 BTU/BTD).
    #[serde(default)]
    pub btf: Vec<BtfOffer>,
}

/// Whether a BTF service is uploaded (BTU) or downloaded (BTD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BtfDirection {
    Upload,
    Download,
}

/// A BTF service offered to a partner. Written flat in TOML:
/// `{ direction = "download", classic = "C53", service_name = "EOP", msg_name = "camt.053", ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BtfOffer {
    /// BTU or BTD.
    pub direction: BtfDirection,
    /// The classic order type with the same meaning, if any (e.g. `C53` for EOP/camt.053/ZIP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classic: Option<OrderTypeCode>,
    /// The service descriptor, kept as written so that validation can report every problem.
    #[serde(flatten)]
    pub service: BtfServiceText,
}

impl BtfOffer {
    /// Whether `request` (what a client asked for) is covered by this offer, as bank servers
    /// match BTF (EBICS 3.0 spec, 3.13/3.14 "interpretation of BTF by the bank server"): service
    /// and message name must agree; every other field must agree where the request sets it,
    /// except the message version: an offer without one covers every version, so a request
    /// naming a version matches it (banks publish e.g. `pain.001` and accept each version
    /// they process). Banks compare the codes regardless of case.
    pub fn covers(&self, request: &BtfService) -> bool {
        fn field_ok(offer: &Option<String>, asked: Option<&str>) -> bool {
            match asked {
                None => true,
                Some(a) => offer.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(a)),
            }
        }
        let offer = &self.service;
        let asked = &request.message;
        let version_ok =
            offer.msg_version.is_none() || field_ok(&offer.msg_version, asked.version.as_deref());
        offer
            .service_name
            .eq_ignore_ascii_case(&request.service_name)
            && offer.msg_name.eq_ignore_ascii_case(&asked.name)
            && field_ok(&offer.scope, request.scope.as_deref())
            && field_ok(&offer.service_option, request.service_option.as_deref())
            && field_ok(&offer.container, request.container.map(|c| c.as_str()))
            && version_ok
            && field_ok(&offer.msg_variant, asked.variant.as_deref())
            && field_ok(&offer.msg_format, asked.format.as_deref())
    }

    /// The service as recorded for a request this offer covers: the offer, with the message
    /// version the request named where the offer leaves it open.
    pub fn recorded_for(&self, request: &BtfService) -> BtfServiceText {
        BtfServiceText {
            msg_version: self
                .service
                .msg_version
                .clone()
                .or_else(|| request.message.version.clone()),
            ..self.service.clone()
        }
    }
}

/// Status a user may be seeded with. Keys cannot be seeded, so `Ready` is not offered here:
/// a user becomes ready only through INI + HIA + activation, like at a real bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SeedUserStatus {
    #[default]
    New,
    Suspended,
    Locked,
}

/// `[[users]]`: an EBICS subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// UserID.
    pub id: UserId,
    /// The partner the user belongs to.
    pub partner: PartnerId,
    /// Name (for letters and the admin API).
    pub name: String,
    /// Signature class of the user's electronic signature.
    pub signature_class: SignatureClass,
    /// Status at start.
    #[serde(default)]
    pub status: SeedUserStatus,
}

/// `[[accounts]]`: an account at the bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The emulator's id for the account.
    pub id: AccountId,
    /// The partner (customer) owning the account.
    pub partner: PartnerId,
    /// IBAN.
    pub iban: Iban,
    /// BIC of the servicing bank.
    pub bic: Bic,
    /// Account holder name.
    pub holder: String,
    /// Account currency.
    pub currency: Currency,
    /// Opening balance of the generated ledger.
    #[serde(default)]
    pub opening_balance: Decimal,
    /// Per-account seed of the booking generator (defaults to a value derived from the ledger
    /// seed and the account id).
    #[serde(default)]
    pub ledger_seed: Option<u64>,
}

/// `[[permissions]]`: what a user may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionConfig {
    /// The user's partner.
    pub partner: PartnerId,
    /// The user.
    pub user: UserId,
    /// Classic order types the permission covers.
    #[serde(default)]
    pub order_types: Vec<OrderTypeCode>,
    /// BTF service names the permission covers (e.g. `SCT`).
    #[serde(default)]
    pub services: Vec<String>,
    /// Accounts the permission covers (all of the partner's accounts when empty).
    #[serde(default)]
    pub accounts: Vec<AccountId>,
    /// Signature class this permission grants for signing orders.
    pub authorisation_level: SignatureClass,
    /// Largest order amount this permission may sign (no limit when absent).
    #[serde(default)]
    pub max_amount: Option<Decimal>,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read bank configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The TOML is malformed or has fields of the wrong type.
    #[error("bank configuration is not valid TOML for this schema: {0}")]
    Parse(#[from] toml::de::Error),
    /// The configuration parses but is inconsistent.
    #[error("bank configuration is inconsistent:\n  - {}", .issues.join("\n  - "))]
    Invalid { issues: Vec<String> },
}

impl BankConfig {
    /// Parses and validates a TOML configuration.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: BankConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// The demo bank of `demo-bank.toml`.
    pub fn demo() -> Result<Self, ConfigError> {
        Self::from_toml_str(DEMO_BANK_TOML)
    }

    /// Checks internal consistency; lists every problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issues = validate::issues(self);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { issues })
        }
    }

    /// The partner with this id.
    pub fn partner(&self, id: &PartnerId) -> Option<&PartnerConfig> {
        self.partners.iter().find(|p| &p.id == id)
    }

    /// The user with this partner and user id.
    pub fn user(&self, partner: &PartnerId, user: &UserId) -> Option<&UserConfig> {
        self.users
            .iter()
            .find(|u| &u.partner == partner && &u.id == user)
    }

    /// The account with this id.
    pub fn account(&self, id: &AccountId) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// The accounts of a partner.
    pub fn accounts_of<'a>(
        &'a self,
        partner: &'a PartnerId,
    ) -> impl Iterator<Item = &'a AccountConfig> + 'a {
        self.accounts.iter().filter(move |a| &a.partner == partner)
    }

    /// The permissions of a user.
    pub fn permissions_of<'a>(
        &'a self,
        partner: &'a PartnerId,
        user: &'a UserId,
    ) -> impl Iterator<Item = &'a PermissionConfig> + 'a {
        self.permissions
            .iter()
            .filter(move |p| &p.partner == partner && &p.user == user)
    }

    /// Whether the bank offers this protocol version.
    pub fn supports(&self, version: ProtocolVersion) -> bool {
        self.bank.protocol_versions.contains(&version)
    }
}

#[cfg(test)]
mod tests;
