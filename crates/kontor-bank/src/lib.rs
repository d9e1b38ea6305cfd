//! # kontor-bank
//!
//! An EBICS bank host emulator for tests and the demo. It serves `POST /ebicsweb` like a bank's
//! EBICS server and an admin API under `/admin`, seeded from a TOML configuration
//! ([`BankConfig`], example: `demo-bank.toml`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kontor_bank::{Bank, BankConfig};
//! let bank = Bank::start(BankConfig::demo()?, "127.0.0.1:0".parse()?).await?;
//! println!("EBICS endpoint: {}", bank.ebics_url());
//! let orders = bank.state().received_orders();
//! bank.shutdown().await;
//! # let _ = orders; Ok(()) }
//! ```
//!
//! Run it alone with `cargo run -p kontor-bank -- serve --config
//! crates/kontor-bank/demo-bank.toml --listen 127.0.0.1:8700`.
//!
//! ## EBICS behaviour
//! - Subscribers: INI + HIA (or H3K) make a subscriber `Initialised`; only the clerk's
//!   activation (admin API) makes it `Ready`. HPB and every `ebicsRequest` need `Ready`.
//!   SPR (the subscriber's own ES, signature only or over one blank; no permission needed)
//!   suspends it: later requests get 091002 until INI/HIA and activation again.
//! - Every `ebicsRequest` is checked in this order: host (091011), version, subscriber known
//!   (091003), X002 signature with the registered key (061001), state (091002), nonce and
//!   timestamp window (091103), bank key digests (091008), order type offered (091005),
//!   permission (090003). Answers are always signed with the bank's X002 key.
//! - Bank key rollover (`POST /admin/bank-keys/roll`): new X002/E002 pairs become current
//!   (HPB publishes them); a request whose `BankPubKeyDigests` (or upload encryption digest)
//!   name other keys gets 091008 EBICS_BANK_PUBKEY_UPDATE_REQUIRED, signed with the replaced
//!   X002 key so the subscriber can still verify it, until it fetched HPB: the bank compares
//!   digests, it does not track who fetched HPB ([`keys::BankKeyRing`]).
//! - Downloads: statements are generated from the seeded ledger ([`statements`]); no data is
//!   technical 000000 + business 090005; a receipt does not consume data (same range, same bytes).
//!   C52/C53/C54/Z52/Z53/Z54 (H004) and H005 BTD with `Container ZIP` deliver a ZIP container
//!   with one camt document per account and day ([`container`], DK DFÜ-Abkommen Anlage 3);
//!   `GET /admin/statements` rebuilds the exact bytes, `/admin/statements/members` lists them.
//! - Fault switches ([`faults`]): besides transport faults and forced return codes,
//!   `nested_statement`, `zip_foreign_member` (a ZIP member that is not XML), `zip_bomb` (a
//!   huge, highly compressible member) and `hve_without_transaction_id` (an HVE/HVS answer
//!   lacking its TransactionID, the signature counted).
//! - Order status: HAC (pain.002 via `kontor_documents::status_report`; H005 also BTD `PSR`)
//!   and PTK (text) list the partner's received orders — accepted, rejected (also afterwards via
//!   the admin API), pending in the VEU — for the requested days, or all without a range
//!   ([`ebics::status`]).
//! - Payment-level status: one pain.002 per uploaded payment message ([`payment_status`]),
//!   reconcilable by `OrgnlMsgId`: H004 `CRZ` (credit transfers) / `CDZ` (direct debits) in a
//!   ZIP container, H005 BTD `PSR/DE/SCT|SDD` (ZIP if the request's `Container` says so).
//! - H005 BTU needs `SignatureFlag` (without it the order carries no ES: 091112);
//!   `requestEDS="true"` puts the order into the VEU even when its signatures would release it.
//! - Uploads: a payment file whose `GrpHdr/MsgId` the partner already submitted is refused with
//!   091122 EBICS_ORDER_ALREADY_EXISTS (nothing stored). Signatures, order type, account and amount limit are checked per signer after the
//!   last segment (091301/090003/091302/091303; bad documents 090004); nothing rejected is
//!   stored. Orders whose signatures do not release them (E alone, A+A, A+B) become VEU items.
//! - Recovery: download segments can be fetched again; a re-sent upload segment replaces its
//!   copy; the answer to the last request of a finished transaction (last upload segment,
//!   receipt) is remembered, so repeating it yields the same answer and never a second order.
//! - Admin endpoints: see [`admin`] (orders with content hashes, rejecting accepted orders, VEU items, statements, the
//!   ledger size knob, faults).
//!
//! ## Architecture
//! - [`config`]: the seed (host, versions, partners, users, accounts, permissions, ledger,
//!   limits, fault rules), validated as a whole.
//! - [`state`]: everything that changes at runtime, in memory, behind one lock: subscriber
//!   lifecycle (New → INI/HIA → Initialised → Ready after the clerk's activation; Suspended,
//!   Locked), transactions with segments and recovery counters, nonce replay cache, received
//!   orders, the distributed signature (VEU) and served downloads.
//! - [`envelope`]: routing information read from a request (unverified).
//! - [`dispatch`]: the [`Dispatcher`] trait, where the EBICS protocol plugs in.
//! - [`ebics`]: the EBICS implementation ([`EbicsDispatcher`]): INI/HIA/H3K/HPB, downloads
//!   (HKD/HTD/HAA, statements, VEU listings), signed uploads, the distributed signature.
//! - [`keys`]: the bank's X002/E002 key pairs with certificates ([`BankKeyPairs`]).
//! - [`statements`]: statement documents generated from the seeded ledger.
//! - [`container`]: deterministic ZIP containers for camt downloads (and the hostile ones).
//! - [`faults`]: fault injection rules and the engine the HTTP layer consults.
//! - [`return_codes`]: the EBICS technical and business return codes.
//! - `server`/`http`/`admin`: the accept loop, the EBICS endpoint and the admin API.

pub mod admin;
pub mod ca;
pub mod config;
pub mod container;
pub mod dispatch;
pub mod ebics;
pub mod envelope;
pub mod faults;
mod http;
pub mod ids;
pub mod keys;
pub mod payment_status;
pub mod responses;
pub mod return_codes;
mod server;
pub mod state;
pub mod statements;

pub use config::{BankConfig, ConfigError};
pub use dispatch::{DispatchResponse, Dispatcher, EbicsRequest, RequestContext};
pub use ebics::EbicsDispatcher;
pub use envelope::{MessageFamily, RequestEnvelope, TransactionPhase};
pub use faults::{FaultAction, FaultDirectives, FaultEngine, FaultMatcher, FaultRule};
pub use keys::{BankKeyError, BankKeyPairs, BankKeys, PublishedBankKeys};
pub use return_codes::{ReturnCode, ReturnCodeKind};
pub use server::{Bank, BankBuilder, RunningBank, StartError};
pub use state::BankState;
