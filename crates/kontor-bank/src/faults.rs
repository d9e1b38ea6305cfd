//! Fault injection: rules that make the emulator misbehave on purpose.
//!
//! A [`FaultRule`] is a [`FaultMatcher`] (which requests) plus a [`FaultAction`] (what goes
//! wrong) plus a budget (`skip` the first N matching requests, then fire at most `times` times).
//! Rules come from the configuration at start and from `POST /admin/faults` at runtime.
//!
//! The [`FaultEngine`] is consulted once per `/ebicsweb` request *before* the dispatcher runs:
//! the first installed rule that matches and still has budget fires, and only that one (so a
//! request never suffers two faults at once; install rules in the order they should win).
//! Admin endpoints are never subject to faults.
//!
//! Where each action takes effect (see `http.rs`):
//! - `drop_connection`, `http_status`, `delay`: in the HTTP layer, before the dispatcher (the
//!   request is never processed, except after a delay);
//! - `drop_response`, `malformed_xml`: after the dispatcher processed the request (state changed),
//!   the answer is lost or mangled in transit;
//! - `wrong_auth_signature`, `return_code`, `nested_statement`, `zip_foreign_member`,
//!   `zip_bomb`, `hve_without_transaction_id`: handed to the dispatcher as [`FaultDirectives`].

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::envelope::{MessageFamily, TransactionPhase};
use crate::return_codes::{ReturnCode, ReturnCodeKind};

/// Largest accepted delay: ten minutes. Longer "delays" are indistinguishable from a hang and
/// would only keep test runs alive.
pub const MAX_DELAY_MS: u64 = 600_000;

/// Deepest nesting a `nested_statement` fault builds: a million levels are about 13 MB of XML,
/// far past any parser's limit, and still quick to generate.
pub const MAX_NESTED_DEPTH: u32 = 1_000_000;

/// Which requests a rule applies to. Every field that is set must match; an empty matcher
/// matches every EBICS request. A request's side of the match ([`RequestFacts`]) has the
/// same fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultMatcher {
    /// Order type (H004 `OrderType`, H005 `AdminOrderType`, `HEV` for version queries).
    /// For Transfer and Receipt requests the order type of their transaction is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    /// H005 BTF service name (`EOP`, `SCT`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Message family (`hev`, `unsecured`, `no_pub_key_digests`, `unsigned`, `request`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<MessageFamily>,
    /// Partner id of the requesting subscriber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// User id of the requesting subscriber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Transaction phase (only `ebicsRequest` messages have one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<TransactionPhase>,
    /// Segment number: the `SegmentNumber` of a Transfer request; an Initialisation carries
    /// (upload) or returns (download) segment 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
}

/// What a firing rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Close the TCP connection without any response; the request is not processed.
    DropConnection,
    /// Process the request, then close the connection instead of answering (the bank acted,
    /// the client never learns it: the classic "did my payment go through?" case).
    DropResponse,
    /// Wait this long before processing the request.
    Delay { ms: u64 },
    /// Answer with this HTTP status (4xx/5xx) and a plain-text body; not processed.
    HttpStatus { status: u16 },
    /// Process the request, then send a truncated, unparseable XML answer.
    MalformedXml,
    /// Ask the protocol layer to corrupt the X002 signature of its answer.
    WrongAuthSignature,
    /// Ask the protocol layer to answer with this EBICS return code instead of processing.
    /// `table` picks technical or business where a number is in both (default: technical).
    ReturnCode {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<ReturnCodeKind>,
    },
    /// Deliver, instead of the real statement, a camt document of the requested kind whose
    /// report nests `depth` `Ntry` elements: hostile input from a bank, which a client must
    /// refuse with an error rather than crash on. Takes effect on the download initialisation
    /// of camt statement orders (C52/C53/C54/Z53 and their BTF services); other requests
    /// matched by the rule are processed normally.
    NestedStatement { depth: u32 },
    /// Add to a ZIP container (C52/C53/C54/Z52/Z53/Z54, BTD with `Container ZIP`) a member that
    /// is not XML ([`crate::container::FOREIGN_MEMBER_NAME`]), after the real statements.
    /// Takes effect on download initialisations that deliver a ZIP container.
    ZipForeignMember,
    /// Add to a ZIP container a zip bomb: a member named like a statement holding `bytes`
    /// zero bytes (default 1 GiB, at most [`crate::container::MAX_BOMB_BYTES`]), which deflate
    /// about 1000:1. Takes effect like `zip_foreign_member`.
    ZipBomb {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// Process an HVE/HVS (signature-only upload) normally, the signature counts, but leave
    /// the `TransactionID` out of the answer to its initialisation: a client that needs the id
    /// to finish must reconcile from the bank (HVZ/HVU/HVD) instead of signing again. Other
    /// requests matched by the rule are processed normally.
    HveWithoutTransactionId,
}

/// Zip bomb size when the rule gives none.
pub const DEFAULT_BOMB_BYTES: u64 = 1 << 30;

/// A fault rule as configured or installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Free text shown in the admin API and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests the rule applies to.
    #[serde(default, rename = "match")]
    pub matcher: FaultMatcher,
    /// What happens to them.
    pub action: FaultAction,
    /// Fire at most this many times ("only the first 2 times": `times = 2`); unlimited if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Let this many matching requests pass before the rule starts firing.
    #[serde(default)]
    pub skip: u32,
}

/// A fault rule that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFaultRule {
    #[error("http_status must be a 4xx or 5xx status, got {0}")]
    HttpStatus(u16),
    #[error("delay of {0} ms exceeds the maximum of {MAX_DELAY_MS} ms")]
    Delay(u64),
    #[error(transparent)]
    ReturnCode(#[from] crate::return_codes::UnknownReturnCode),
    #[error("times = 0 would never fire")]
    NeverFires,
    #[error("order_type {0:?} is not 3 characters of [A-Z0-9]")]
    OrderType(String),
    #[error("segment numbers start at 1")]
    SegmentZero,
    #[error("nested_statement depth must be between 1 and {MAX_NESTED_DEPTH}, got {0}")]
    NestedDepth(u32),
    #[error("zip_bomb bytes must be between 1 and {max}, got {0}", max = crate::container::MAX_BOMB_BYTES)]
    BombSize(u64),
}

impl FaultRule {
    /// Checks that the rule can fire and that its action is well-formed.
    pub fn validate(&self) -> Result<(), InvalidFaultRule> {
        match &self.action {
            FaultAction::HttpStatus { status } if !(400..=599).contains(status) => {
                return Err(InvalidFaultRule::HttpStatus(*status))
            }
            FaultAction::Delay { ms } if *ms > MAX_DELAY_MS => {
                return Err(InvalidFaultRule::Delay(*ms))
            }
            FaultAction::ReturnCode { code, table } => {
                ReturnCode::resolve(code, *table)?;
            }
            FaultAction::NestedStatement { depth } if !(1..=MAX_NESTED_DEPTH).contains(depth) => {
                return Err(InvalidFaultRule::NestedDepth(*depth))
            }
            FaultAction::ZipBomb { bytes: Some(bytes) }
                if !(1..=crate::container::MAX_BOMB_BYTES).contains(bytes) =>
            {
                return Err(InvalidFaultRule::BombSize(*bytes))
            }
            _ => {}
        }
        if self.times == Some(0) {
            return Err(InvalidFaultRule::NeverFires);
        }
        if let Some(ot) = &self.matcher.order_type {
            let ok = ot.len() == 3 && ot.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(InvalidFaultRule::OrderType(ot.clone()));
            }
        }
        if self.matcher.segment == Some(0) {
            return Err(InvalidFaultRule::SegmentZero);
        }
        Ok(())
    }
}

/// What the fault layer knows about a request when it consults the rules, in the shape of a
/// matcher: values as the client claimed them (unverified), completed from the transaction
/// table for Transfer and Receipt requests; `None` where the request does not say.
pub type RequestFacts = FaultMatcher;

fn field_matches(wanted: &Option<String>, actual: &Option<String>) -> bool {
    match wanted {
        None => true,
        Some(w) => actual.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(w)),
    }
}

impl FaultMatcher {
    /// Whether a request with these facts is selected by the matcher.
    pub fn matches(&self, facts: &RequestFacts) -> bool {
        field_matches(&self.order_type, &facts.order_type)
            && field_matches(&self.service, &facts.service)
            && field_matches(&self.partner_id, &facts.partner_id)
            && field_matches(&self.user_id, &facts.user_id)
            && self.family.is_none_or(|f| facts.family == Some(f))
            && self.phase.is_none_or(|p| facts.phase == Some(p))
            && self.segment.is_none_or(|s| facts.segment == Some(s))
    }
}

/// Identifier of an installed rule (unique for the lifetime of the emulator).
pub type RuleId = u64;

/// An installed rule and its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledRule {
    pub id: RuleId,
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests the matcher selected so far.
    pub matched: u64,
    /// Times the action was applied.
    pub fired: u64,
}

impl InstalledRule {
    /// Whether the rule can still fire.
    pub fn exhausted(&self) -> bool {
        self.rule.times.is_some_and(|t| self.fired >= u64::from(t))
    }
}

/// A rule that fired for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredFault {
    pub rule_id: RuleId,
    pub name: Option<String>,
    pub action: FaultAction,
}

/// Instructions the dispatcher must follow for one request (set by fault rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultDirectives {
    /// Corrupt the X002 `AuthSignature` of the response.
    pub corrupt_auth_signature: bool,
    /// Answer with this return code instead of processing the request.
    pub forced_return_code: Option<ReturnCode>,
    /// Deliver a camt statement nested this deep instead of the real one.
    pub nested_statement_depth: Option<u32>,
    /// Add this hostile member to a ZIP container.
    pub zip_hostile: Option<crate::container::Hostile>,
    /// Leave the TransactionID out of an HVE/HVS initialisation answer.
    pub omit_hve_transaction_id: bool,
}

impl FaultDirectives {
    /// The directives a fired action implies (none for actions the HTTP layer handles).
    pub fn from_action(action: &FaultAction) -> Self {
        match action {
            FaultAction::WrongAuthSignature => Self {
                corrupt_auth_signature: true,
                ..Self::default()
            },
            FaultAction::ReturnCode { code, table } => Self {
                forced_return_code: ReturnCode::resolve(code, *table).ok(),
                ..Self::default()
            },
            FaultAction::NestedStatement { depth } => Self {
                nested_statement_depth: Some(*depth),
                ..Self::default()
            },
            FaultAction::ZipForeignMember => Self {
                zip_hostile: Some(crate::container::Hostile::ForeignMember),
                ..Self::default()
            },
            FaultAction::ZipBomb { bytes } => Self {
                zip_hostile: Some(crate::container::Hostile::Bomb {
                    bytes: bytes.unwrap_or(DEFAULT_BOMB_BYTES),
                }),
                ..Self::default()
            },
            FaultAction::HveWithoutTransactionId => Self {
                omit_hve_transaction_id: true,
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

/// The runtime set of fault rules. Thread-safe; counters are updated atomically with matching
/// so concurrent requests never let a `times`-limited rule fire too often.
#[derive(Debug, Default)]
pub struct FaultEngine {
    rules: Mutex<Vec<InstalledRule>>,
    next_id: AtomicU64,
}

impl FaultEngine {
    /// An engine without rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and appends rules (all or nothing); returns their ids in order.
    pub fn install(&self, rules: Vec<FaultRule>) -> Result<Vec<RuleId>, (usize, InvalidFaultRule)> {
        for (i, rule) in rules.iter().enumerate() {
            rule.validate().map_err(|e| (i, e))?;
        }
        let mut installed = self.rules.lock();
        let ids = rules
            .into_iter()
            .map(|rule| {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                installed.push(InstalledRule {
                    id,
                    rule,
                    matched: 0,
                    fired: 0,
                });
                id
            })
            .collect();
        Ok(ids)
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.rules.lock();
        let n = rules.len();
        rules.clear();
        n
    }

    /// Removes one rule.
    pub fn remove(&self, id: RuleId) -> bool {
        let mut rules = self.rules.lock();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        rules.len() != before
    }

    /// The installed rules with their counters.
    pub fn rules(&self) -> Vec<InstalledRule> {
        self.rules.lock().clone()
    }

    /// Consults the rules for one request: every matching rule counts the match; the first one
    /// past its `skip` and within its `times` fires. At most one rule fires.
    pub fn evaluate(&self, facts: &RequestFacts) -> Option<FiredFault> {
        let mut rules = self.rules.lock();
        let mut fired = None;
        for installed in rules.iter_mut() {
            if installed.exhausted() || !installed.rule.matcher.matches(facts) {
                continue;
            }
            installed.matched += 1;
            if fired.is_some() || installed.matched <= u64::from(installed.rule.skip) {
                continue;
            }
            installed.fired += 1;
            fired = Some(FiredFault {
                rule_id: installed.id,
                name: installed.rule.name.clone(),
                action: installed.rule.action.clone(),
            });
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        order_type: &str,
        phase: Option<TransactionPhase>,
        segment: Option<u32>,
    ) -> RequestFacts {
        RequestFacts {
            family: Some(MessageFamily::Request),
            order_type: Some(order_type.into()),
            partner_id: Some("PARTNER1".into()),
            user_id: Some("USER1".into()),
            phase,
            segment,
            ..RequestFacts::default()
        }
    }

    fn rule(
        matcher: FaultMatcher,
        action: FaultAction,
        times: Option<u32>,
        skip: u32,
    ) -> FaultRule {
        FaultRule {
            name: None,
            matcher,
            action,
            times,
            skip,
        }
    }

    #[test]
    fn an_empty_matcher_matches_everything() {
        assert!(FaultMatcher::default().matches(&RequestFacts::default()));
        assert!(FaultMatcher::default().matches(&facts(
            "STA",
            Some(TransactionPhase::Receipt),
            None
        )));
    }

    #[test]
    fn every_set_field_must_match() {
        let m = FaultMatcher {
            order_type: Some("sta".into()),
            user_id: Some("USER1".into()),
            phase: Some(TransactionPhase::Initialisation),
            ..FaultMatcher::default()
        };
        assert!(
            m.matches(&facts(
                "STA",
                Some(TransactionPhase::Initialisation),
                Some(1)
            )),
            "case-insensitive order type"
        );
        assert!(!m.matches(&facts(
            "C53",
            Some(TransactionPhase::Initialisation),
            Some(1)
        )));
        assert!(!m.matches(&facts("STA", Some(TransactionPhase::Transfer), Some(2))));
        let other_user = RequestFacts {
            user_id: Some("USER2".into()),
            ..facts("STA", Some(TransactionPhase::Initialisation), None)
        };
        assert!(!m.matches(&other_user));
    }

    #[test]
    fn a_phase_matcher_never_matches_key_management_requests() {
        let m = FaultMatcher {
            phase: Some(TransactionPhase::Initialisation),
            ..FaultMatcher::default()
        };
        let ini = RequestFacts {
            family: Some(MessageFamily::Unsecured),
            order_type: Some("INI".into()),
            ..RequestFacts::default()
        };
        assert!(!m.matches(&ini));
    }

    #[test]
    fn segment_matcher_selects_one_segment() {
        let m = FaultMatcher {
            segment: Some(2),
            ..FaultMatcher::default()
        };
        assert!(m.matches(&facts("CCT", Some(TransactionPhase::Transfer), Some(2))));
        assert!(!m.matches(&facts("CCT", Some(TransactionPhase::Transfer), Some(3))));
        assert!(!m.matches(&facts("CCT", Some(TransactionPhase::Receipt), None)));
    }

    #[test]
    fn times_limits_how_often_a_rule_fires() {
        let engine = FaultEngine::new();
        engine
            .install(vec![rule(
                FaultMatcher {
                    order_type: Some("STA".into()),
                    ..FaultMatcher::default()
                },
                FaultAction::HttpStatus { status: 503 },
                Some(2),
                0,
            )])
            .expect("valid");
        let sta = facts("STA", Some(TransactionPhase::Initialisation), Some(1));
        assert!(engine.evaluate(&sta).is_some());
        assert!(
            engine.evaluate(&facts("C53", None, None)).is_none(),
            "other order types pass"
        );
        assert!(engine.evaluate(&sta).is_some());
        assert!(engine.evaluate(&sta).is_none(), "only the first 2 times");
        let counters = engine.rules();
        assert_eq!((counters[0].matched, counters[0].fired), (2, 2));
        assert!(counters[0].exhausted());
    }

    #[test]
    fn skip_lets_the_first_matches_pass() {
        let engine = FaultEngine::new();
        engine
            .install(vec![rule(
                FaultMatcher::default(),
                FaultAction::DropConnection,
                Some(1),
                2,
            )])
            .expect("valid");
        let any = facts("STA", None, None);
        assert!(engine.evaluate(&any).is_none());
        assert!(engine.evaluate(&any).is_none());
        assert_eq!(
            engine.evaluate(&any).map(|f| f.action),
            Some(FaultAction::DropConnection)
        );
        assert!(engine.evaluate(&any).is_none());
    }

    #[test]
    fn the_first_matching_rule_wins_and_later_ones_keep_their_budget() {
        let engine = FaultEngine::new();
        let ids = engine
            .install(vec![
                rule(
                    FaultMatcher::default(),
                    FaultAction::Delay { ms: 10 },
                    Some(1),
                    0,
                ),
                rule(
                    FaultMatcher::default(),
                    FaultAction::HttpStatus { status: 500 },
                    Some(1),
                    0,
                ),
            ])
            .expect("valid");
        let any = facts("STA", None, None);
        assert_eq!(engine.evaluate(&any).map(|f| f.rule_id), Some(ids[0]));
        assert_eq!(engine.evaluate(&any).map(|f| f.rule_id), Some(ids[1]));
        assert!(engine.evaluate(&any).is_none());
    }

    #[test]
    fn unlimited_rules_fire_until_removed() {
        let engine = FaultEngine::new();
        let ids = engine
            .install(vec![rule(
                FaultMatcher::default(),
                FaultAction::MalformedXml,
                None,
                0,
            )])
            .expect("valid");
        for _ in 0..5 {
            assert!(engine.evaluate(&RequestFacts::default()).is_some());
        }
        assert!(engine.remove(ids[0]));
        assert!(engine.evaluate(&RequestFacts::default()).is_none());
    }

    #[test]
    fn invalid_rules_are_rejected_as_a_whole() {
        let engine = FaultEngine::new();
        let result = engine.install(vec![
            rule(
                FaultMatcher::default(),
                FaultAction::DropConnection,
                None,
                0,
            ),
            rule(
                FaultMatcher::default(),
                FaultAction::HttpStatus { status: 302 },
                None,
                0,
            ),
        ]);
        assert_eq!(result, Err((1, InvalidFaultRule::HttpStatus(302))));
        assert!(engine.rules().is_empty(), "nothing installed");
        let unknown = rule(
            FaultMatcher::default(),
            FaultAction::ReturnCode {
                code: "999999".into(),
                table: None,
            },
            None,
            0,
        );
        assert!(unknown.validate().is_err());
        let never = rule(
            FaultMatcher::default(),
            FaultAction::DropConnection,
            Some(0),
            0,
        );
        assert_eq!(never.validate(), Err(InvalidFaultRule::NeverFires));
    }

    #[test]
    fn return_code_actions_become_directives() {
        let d = FaultDirectives::from_action(&FaultAction::ReturnCode {
            code: "090005".into(),
            table: None,
        });
        assert_eq!(
            d.forced_return_code,
            Some(ReturnCode::NO_DOWNLOAD_DATA_AVAILABLE)
        );
        let d = FaultDirectives::from_action(&FaultAction::WrongAuthSignature);
        assert!(d.corrupt_auth_signature);
        assert_eq!(
            FaultDirectives::from_action(&FaultAction::DropConnection),
            FaultDirectives::default()
        );
    }

    #[test]
    fn rules_deserialise_from_json() {
        let json = r#"{"name":"flaky","match":{"order_type":"STA","phase":"Initialisation"},"action":{"kind":"return_code","code":"091002"},"times":1}"#;
        let r: FaultRule = serde_json::from_str(json).expect("valid json");
        assert_eq!(r.matcher.phase, Some(TransactionPhase::Initialisation));
        assert_eq!(
            r.action,
            FaultAction::ReturnCode {
                code: "091002".into(),
                table: None
            }
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"action":{"kind":"explode"}}"#).is_err());
    }

    #[test]
    fn nested_statement_rules_need_a_sane_depth_and_become_directives() {
        let json = r#"{"match":{"order_type":"C53","phase":"Initialisation"},"action":{"kind":"nested_statement","depth":100000},"times":1}"#;
        let r: FaultRule = serde_json::from_str(json).expect("valid json");
        assert_eq!(r.action, FaultAction::NestedStatement { depth: 100_000 });
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(
            FaultDirectives::from_action(&r.action).nested_statement_depth,
            Some(100_000)
        );
        for depth in [0, MAX_NESTED_DEPTH + 1] {
            let bad = rule(
                FaultMatcher::default(),
                FaultAction::NestedStatement { depth },
                None,
                0,
            );
            assert_eq!(bad.validate(), Err(InvalidFaultRule::NestedDepth(depth)));
        }
    }
}
