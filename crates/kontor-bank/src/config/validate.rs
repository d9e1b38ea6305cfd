//! Consistency checks of a parsed [`BankConfig`]. Every problem is reported, not just the first.

use std::collections::HashSet;

use kontor_protocol::ProtocolVersion;

use super::{BankConfig, BtfOffer};

/// Protocol versions the emulator implements.
pub(crate) const SUPPORTED_VERSIONS: [ProtocolVersion; 2] =
    [ProtocolVersion::H004, ProtocolVersion::H005];

/// Upper bound for generated bookings, to keep a typo from exhausting memory.
const MAX_ENTRIES_PER_DAY: u32 = 10_000;

pub(super) fn issues(config: &BankConfig) -> Vec<String> {
    let mut issues = Vec::new();
    check_bank(config, &mut issues);
    check_partners(config, &mut issues);
    check_users(config, &mut issues);
    check_accounts(config, &mut issues);
    check_permissions(config, &mut issues);
    check_limits(config, &mut issues);
    for (i, rule) in config.faults.iter().enumerate() {
        if let Err(e) = rule.validate() {
            issues.push(format!("faults[{i}]: {e}"));
        }
    }
    issues
}

fn check_bank(config: &BankConfig, issues: &mut Vec<String>) {
    let versions = &config.bank.protocol_versions;
    if versions.is_empty() {
        issues.push("bank.protocol_versions is empty: offer H004 and/or H005".into());
    }
    let mut seen = HashSet::new();
    for v in versions {
        if !SUPPORTED_VERSIONS.contains(v) {
            issues.push(format!(
                "bank.protocol_versions: {v} is not supported by the emulator (H004, H005)"
            ));
        }
        if !seen.insert(*v) {
            issues.push(format!("bank.protocol_versions lists {v} twice"));
        }
    }
    if config.bank.name.trim().is_empty() {
        issues.push("bank.name is empty".into());
    }
}

fn check_partners(config: &BankConfig, issues: &mut Vec<String>) {
    let mut ids = HashSet::new();
    for p in &config.partners {
        if !ids.insert(&p.id) {
            issues.push(format!("partner {} is defined twice", p.id));
        }
        for offer in &p.btf {
            check_btf_offer(&p.id.to_string(), offer, issues);
        }
    }
}

/// Checks an offer's service against the H005 schema types, as the protocol crate does for
/// every service it sends, so that the bank never offers what a client could not ask for.
fn check_btf_offer(partner: &str, offer: &BtfOffer, issues: &mut Vec<String>) {
    let service = &offer.service;
    if let Err(problems) = service.check() {
        for problem in problems {
            issues.push(format!(
                "partner {partner} btf {}/{}: {problem}",
                service.service_name, service.msg_name
            ));
        }
    }
}

fn check_users(config: &BankConfig, issues: &mut Vec<String>) {
    let mut ids = HashSet::new();
    for u in &config.users {
        if !ids.insert((&u.partner, &u.id)) {
            issues.push(format!("user {}/{} is defined twice", u.partner, u.id));
        }
        if config.partner(&u.partner).is_none() {
            issues.push(format!(
                "user {}/{} belongs to unknown partner {}",
                u.partner, u.id, u.partner
            ));
        }
    }
}

fn check_accounts(config: &BankConfig, issues: &mut Vec<String>) {
    let mut ids = HashSet::new();
    let mut ibans = HashSet::new();
    for a in &config.accounts {
        if !ids.insert(&a.id) {
            issues.push(format!("account {} is defined twice", a.id));
        }
        if !ibans.insert((&a.iban, &a.currency)) {
            issues.push(format!(
                "account {}: IBAN {} with currency {} is used twice",
                a.id, a.iban, a.currency
            ));
        }
        if config.partner(&a.partner).is_none() {
            issues.push(format!(
                "account {} belongs to unknown partner {}",
                a.id, a.partner
            ));
        }
    }
}

fn check_permissions(config: &BankConfig, issues: &mut Vec<String>) {
    for (i, p) in config.permissions.iter().enumerate() {
        let at = format!("permissions[{i}] ({}/{})", p.partner, p.user);
        if config.user(&p.partner, &p.user).is_none() {
            issues.push(format!("{at}: unknown user"));
        }
        if p.order_types.is_empty() && p.services.is_empty() {
            issues.push(format!("{at}: grants no order type and no BTF service"));
        }
        let partner = config.partner(&p.partner);
        for ot in &p.order_types {
            if partner.is_some_and(|pc| !pc.order_types.contains(ot)) {
                issues.push(format!(
                    "{at}: order type {ot} is not offered to partner {}",
                    p.partner
                ));
            }
        }
        for service in &p.services {
            if partner.is_some_and(|pc| !pc.btf.iter().any(|o| o.service.service_name == *service))
            {
                issues.push(format!(
                    "{at}: BTF service {service} is not offered to partner {}",
                    p.partner
                ));
            }
        }
        for account in &p.accounts {
            match config.account(account) {
                None => issues.push(format!("{at}: unknown account {account}")),
                Some(a) if a.partner != p.partner => issues.push(format!(
                    "{at}: account {account} belongs to partner {}",
                    a.partner
                )),
                Some(_) => {}
            }
        }
        if let Some(max) = p.max_amount {
            if max.is_sign_negative() {
                issues.push(format!("{at}: max_amount is negative"));
            }
        }
    }
}

fn check_limits(config: &BankConfig, issues: &mut Vec<String>) {
    let l = &config.limits;
    if l.timestamp_tolerance_secs == 0 {
        issues.push("limits.timestamp_tolerance_secs must be positive".into());
    }
    if l.transaction_idle_timeout_secs == 0 {
        issues.push("limits.transaction_idle_timeout_secs must be positive".into());
    }
    if l.max_open_transactions == 0 {
        issues.push("limits.max_open_transactions must be positive".into());
    }
    if l.segment_size_bytes < 1024 {
        issues.push("limits.segment_size_bytes must be at least 1024".into());
    }
    if l.max_request_bytes < l.segment_size_bytes {
        issues.push("limits.max_request_bytes must be at least limits.segment_size_bytes".into());
    }
    if config.ledger.entries_per_day > MAX_ENTRIES_PER_DAY {
        issues.push(format!(
            "ledger.entries_per_day must be at most {MAX_ENTRIES_PER_DAY}"
        ));
    }
}
