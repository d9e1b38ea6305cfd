use super::*;
use crate::faults::FaultAction;
use kontor_protocol::order_type::MessageName;

fn minimal() -> String {
    r#"
        [bank]
        host_id = "TESTBANK"
        name = "Test Bank"
        protocol_versions = ["H004"]

        [[partners]]
        id = "P1"
        name = "Partner One"
        order_types = ["STA", "CCT"]

        [[users]]
        id = "U1"
        partner = "P1"
        name = "User One"
        signature_class = "E"

        [[accounts]]
        id = "A1"
        partner = "P1"
        iban = "DE89370400440532013000"
        bic = "COBADEFF"
        holder = "Partner One"
        currency = "EUR"

        [[permissions]]
        partner = "P1"
        user = "U1"
        order_types = ["STA"]
        accounts = ["A1"]
        authorisation_level = "E"
        max_amount = "1000.50"
    "#
    .to_owned()
}

fn issues_of(text: &str) -> Vec<String> {
    match BankConfig::from_toml_str(text) {
        Err(ConfigError::Invalid { issues }) => issues,
        other => panic!("expected an inconsistent configuration, got {other:?}"),
    }
}

/// Asserts that `text` is an inconsistent configuration and that, for each of `needles`, one
/// of its issues mentions it.
fn assert_issues(text: &str, needles: &[&str]) {
    let issues = issues_of(text);
    for needle in needles {
        assert!(
            issues.iter().any(|i| i.contains(needle)),
            "{needle}: {issues:?}"
        );
    }
}

#[test]
fn the_demo_bank_parses_and_validates() {
    let demo = BankConfig::demo().expect("demo-bank.toml is valid");
    assert_eq!(demo.bank.host_id.as_str(), "KONTORBANK");
    assert_eq!(
        demo.bank.protocol_versions,
        vec![ProtocolVersion::H004, ProtocolVersion::H005]
    );
    assert_eq!(demo.bank.keys, BankKeySource::Generate);
    assert!(demo
        .users
        .iter()
        .any(|u| u.id.as_str() == "USER1" && u.signature_class == SignatureClass::E));
    let p1: PartnerId = "PARTNER1".parse().expect("id");
    let u1: UserId = "USER1".parse().expect("id");
    assert!(demo
        .permissions_of(&p1, &u1)
        .any(|p| p.order_types.iter().any(|o| o.as_str() == "C53")));
    assert!(demo.partner(&p1).is_some_and(|p| p.btf.iter().any(|o| o
        .classic
        .as_ref()
        .map(|c| c.as_str())
        == Some("C53"))));
    assert!(
        demo.faults.is_empty(),
        "the demo starts without active faults"
    );
}

#[test]
fn a_minimal_configuration_gets_defaults() {
    let config = BankConfig::from_toml_str(&minimal()).expect("valid");
    assert_eq!(config.limits, LimitsConfig::default());
    assert_eq!(config.ledger, LedgerConfig::default());
    assert_eq!(config.users[0].status, SeedUserStatus::New);
    assert_eq!(
        config.permissions[0].max_amount,
        Some(Decimal::new(100050, 2))
    );
}

#[test]
fn key_file_source_is_written_as_a_table() {
    let text = minimal().replace(
        "protocol_versions = [\"H004\"]",
        "protocol_versions = [\"H004\"]\nkeys = { file = \"bank-keys.json\" }",
    );
    let config = BankConfig::from_toml_str(&text).expect("valid");
    assert_eq!(
        config.bank.keys,
        BankKeySource::File("bank-keys.json".into())
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let text = minimal().replace(
        "name = \"Test Bank\"",
        "name = \"Test Bank\"\nhostid = \"typo\"",
    );
    assert!(matches!(
        BankConfig::from_toml_str(&text),
        Err(ConfigError::Parse(_))
    ));
}

#[test]
fn an_invalid_iban_is_a_parse_error() {
    let text = minimal().replace("DE89370400440532013000", "DE89370400440532013001");
    assert!(matches!(
        BankConfig::from_toml_str(&text),
        Err(ConfigError::Parse(_))
    ));
}

#[test]
fn a_user_of_an_unknown_partner_is_reported() {
    let text = minimal().replace(
        "partner = \"P1\"\n        name = \"User One\"",
        "partner = \"P9\"\n        name = \"User One\"",
    );
    assert_issues(&text, &["unknown partner P9"]);
}

#[test]
fn every_problem_is_listed_at_once() {
    let text = minimal()
        .replace(
            "protocol_versions = [\"H004\"]",
            "protocol_versions = [\"H003\", \"H004\", \"H004\"]",
        )
        .replace("accounts = [\"A1\"]", "accounts = [\"A1\", \"NOPE\"]")
        .replace(
            "order_types = [\"STA\"]",
            "order_types = [\"STA\", \"C53\"]",
        );
    assert_issues(
        &text,
        &[
            "H003 is not supported",
            "lists H004 twice",
            "unknown account NOPE",
            "C53 is not offered",
        ],
    );
}

#[test]
fn duplicate_ids_are_reported() {
    let text = format!(
        "{}\n[[users]]\nid = \"U1\"\npartner = \"P1\"\nname = \"again\"\nsignature_class = \"A\"\n",
        minimal()
    );
    assert_issues(&text, &["user P1/U1 is defined twice"]);
}

#[test]
fn a_permission_on_another_partners_account_is_reported() {
    let text = format!(
        "{}\n[[partners]]\nid = \"P2\"\nname = \"Two\"\n\n[[accounts]]\nid = \"A2\"\npartner = \"P2\"\niban = \"GB82WEST12345698765432\"\nbic = \"NWBKGB2L\"\nholder = \"Two\"\ncurrency = \"GBP\"\n",
        minimal()
    )
    .replace("accounts = [\"A1\"]", "accounts = [\"A2\"]");
    assert_issues(&text, &["account A2 belongs to partner P2"]);
}

/// The minimal configuration with one BTF offer (the inside of its TOML inline table) for P1.
fn with_btf_offer(offer: &str) -> String {
    minimal().replace(
        "order_types = [\"STA\", \"CCT\"]",
        &format!("order_types = [\"STA\", \"CCT\"]\nbtf = [{{ {offer} }}]"),
    )
}

#[test]
fn malformed_btf_offers_are_reported() {
    let text = with_btf_offer(
        "direction = \"download\", service_name = \"EO\", container = \"TAR\", msg_name = \"CAMT.053\"",
    );
    assert_issues(&text, &["service_name", "container", "msg_name"]);
}

#[test]
fn unknown_keys_of_a_btf_offer_are_refused() {
    let text = with_btf_offer(
        "direction = \"download\", service_name = \"EOP\", msg_name = \"camt.053\", msg_verison = \"08\"",
    );
    let error = BankConfig::from_toml_str(&text).expect_err("typo in a key");
    assert!(matches!(error, ConfigError::Parse(_)), "{error}");
    assert!(error.to_string().contains("msg_verison"), "{error}");
}

#[test]
fn fault_rules_in_the_configuration_are_parsed_and_checked() {
    let ok = format!(
        "{}\n[[faults]]\ntimes = 2\nmatch = {{ order_type = \"STA\", phase = \"Initialisation\" }}\naction = {{ kind = \"http_status\", status = 503 }}\n",
        minimal()
    );
    let config = BankConfig::from_toml_str(&ok).expect("valid");
    assert_eq!(config.faults[0].times, Some(2));
    assert_eq!(
        config.faults[0].action,
        FaultAction::HttpStatus { status: 503 }
    );

    let bad = ok.replace("status = 503", "status = 200");
    let issues = issues_of(&bad);
    assert!(
        issues.iter().any(|i| i.starts_with("faults[0]")),
        "{issues:?}"
    );
}

/// A download offer of `service`, as a partner's `btf` list holds it.
fn offer_of(service: BtfServiceText) -> BtfOffer {
    BtfOffer {
        direction: BtfDirection::Download,
        classic: None,
        service,
    }
}

#[test]
fn btf_offers_cover_requests_that_leave_fields_open() {
    let offer = offer_of(BtfServiceText {
        service_name: "EOP".into(),
        scope: Some("DE".into()),
        container: Some("ZIP".into()),
        msg_name: "camt.053".into(),
        msg_version: Some("08".into()),
        ..Default::default()
    });
    let asked = BtfService {
        scope: Some("DE".into()),
        ..BtfService::new("EOP", MessageName::new("camt.053"))
    };
    assert!(offer.covers(&asked));
    let other_scope = BtfService {
        scope: Some("CH".into()),
        ..asked.clone()
    };
    assert!(!offer.covers(&other_scope));
    let other_msg = BtfService {
        message: MessageName::new("camt.052"),
        ..asked.clone()
    };
    assert!(!offer.covers(&other_msg));
    let other_version = BtfService {
        message: MessageName::new("camt.053").with_version("04"),
        ..asked.clone()
    };
    assert!(
        !offer.covers(&other_version),
        "a versioned offer is that version"
    );
}

#[test]
fn an_offer_without_a_message_version_covers_every_version() {
    let offer = offer_of(BtfServiceText {
        service_name: "SCT".into(),
        msg_name: "pain.001".into(),
        ..Default::default()
    });
    for version in [None, Some("03"), Some("09")] {
        let asked = BtfService::new(
            "SCT",
            MessageName {
                version: version.map(str::to_owned),
                ..MessageName::new("pain.001")
            },
        );
        assert!(offer.covers(&asked), "{version:?}");
        assert_eq!(
            offer.recorded_for(&asked).msg_version,
            asked.message.version
        );
    }
}
