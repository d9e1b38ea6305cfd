//! The three floors of the daemon keep their invariants (ARCHITECTURE.md): every source file
//! of a floor is read as code (comments and string literals left out) and no path in it may
//! name what the floor must not reach.
//!
//! - `ebics/` never reads or writes orders, statements, balances, bookings, VEU items or
//!   schedules, and imports nothing from `services/`;
//! - `services/` never builds or parses an EBICS envelope (`kontor_protocol::envelope`);
//! - `api/` never imports `ebics/`: it reaches the bank only through the services.

use std::path::{Path, PathBuf};

/// Names `ebics/` must not use: the business records and their repositories, and the floor
/// above it.
const EBICS_MUST_NOT_NAME: &[&str] = &[
    "services",
    "Order",
    "NewOrder",
    "OrderStatus",
    "OrderSignature",
    "NewOrderSignature",
    "orders",
    "order_signatures",
    "Statement",
    "NewStatement",
    "StatementId",
    "statements",
    "Balance",
    "NewBalance",
    "BookedTransaction",
    "NewBookedTransaction",
    "BookingFilter",
    "VeuItem",
    "VeuItemId",
    "VeuSnapshot",
    "VeuStatus",
    "VeuSigner",
    "NewVeuSigner",
    "veu_items",
    "Schedule",
    "ScheduleId",
    "NewSchedule",
    "JobRun",
    "schedules",
];

/// The floor below the services that only `ebics/` may speak: envelopes.
const SERVICES_MUST_NOT_NAME: &[&str] = &["envelope"];

/// The API reaches the bank only through the services.
const API_MUST_NOT_NAME: &[&str] = &["ebics"];

fn floor(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The code of a line: without its comment and with string literals emptied (a route path
/// like `/v1/ebics-users` is text, not a path to a module).
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match (in_string, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => {
                in_string = false;
                code.push('"');
            }
            (true, _) => {}
            (false, '"') => {
                in_string = true;
                code.push('"');
            }
            (false, '/') if chars.peek() == Some(&'/') => break,
            (false, c) => code.push(c),
        }
    }
    code
}

fn identifiers(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
}

/// Every `file:line: name` of `floor` that uses one of `forbidden`.
fn violations(floor_name: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let files = rust_files(&floor(floor_name));
    assert!(!files.is_empty(), "no sources below src/{floor_name}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = code_of(line);
            for name in identifiers(&code).filter(|word| forbidden.contains(word)) {
                found.push(format!("{}:{}: {name}", file.display(), number + 1));
            }
        }
    }
    found
}

/// Fails, saying how (`breach`), with every use of `forbidden` in `floor_name`.
fn assert_keeps_to_its_floor(floor_name: &str, forbidden: &[&str], breach: &str) {
    let found = violations(floor_name, forbidden);
    assert!(
        found.is_empty(),
        "{floor_name}/ {breach}:\n{}",
        found.join("\n")
    );
}

#[test]
fn ebics_knows_no_business_records_and_nothing_above_it() {
    assert_keeps_to_its_floor("ebics", EBICS_MUST_NOT_NAME, "reaches above its floor");
}

#[test]
fn services_never_build_or_parse_an_envelope() {
    assert_keeps_to_its_floor("services", SERVICES_MUST_NOT_NAME, "speaks envelopes");
}

#[test]
fn the_api_reaches_the_bank_only_through_the_services() {
    assert_keeps_to_its_floor("api", API_MUST_NOT_NAME, "imports ebics/");
}

#[test]
fn the_scanner_sees_paths_and_ignores_comments_and_text() {
    let code = code_of(r#"use crate::ebics::Client; // crate::services "x""#);
    assert!(identifiers(&code).any(|w| w == "ebics"));
    assert!(!identifiers(&code).any(|w| w == "services"));
    let text = code_of(r#"routes.read("/v1/ebics-users/{id}", "Order \"x\"", show)"#);
    assert!(!identifiers(&text).any(|w| w == "ebics" || w == "Order"));
}
