//! Every document Kontor writes validates against the official EBICS schemas (xmllint), and so
//! do the bank-style samples the parser tests use.
//!
//! Schemas are looked up in `$KONTOR_EBICS_SCHEMAS` or `CARGO_MANIFEST_DIR/../../../shared/
//! ebics-schemas`; without them (or without `xmllint`) the tests print SKIP and pass, unless
//! `KONTOR_REQUIRE_XSD=1`, in which case they fail.

mod orderdata_fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use kontor_protocol::ProtocolVersion;
use orderdata_fixtures as fx;
use orderdata_fixtures::samples;
use orderdata_fixtures::SchemaFamily;

struct Validator {
    schemas: PathBuf,
    tmp: tempfile::TempDir,
}

impl Validator {
    /// `None` (after printing why) when validation is impossible here and not required.
    fn new() -> Option<Self> {
        let required = std::env::var("KONTOR_REQUIRE_XSD").is_ok_and(|v| v == "1");
        let schemas = std::env::var_os("KONTOR_EBICS_SCHEMAS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ebics-schemas")
            });
        let problem = if !schemas.join("H004/ebics_orders_H004.xsd").is_file() {
            Some(format!("EBICS schemas not found at {}", schemas.display()))
        } else if Command::new("xmllint").arg("--version").output().is_err() {
            Some("xmllint not installed (apt-get install libxml2-utils)".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) if required => panic!("KONTOR_REQUIRE_XSD=1 but {problem}"),
            Some(problem) => {
                eprintln!("SKIP orderdata XSD validation: {problem}");
                None
            }
            None => Some(Self {
                schemas: schemas.canonicalize().unwrap(),
                tmp: tempfile::tempdir().unwrap(),
            }),
        }
    }

    fn schema(&self, version: ProtocolVersion, family: SchemaFamily) -> PathBuf {
        let file = match (version, family) {
            (ProtocolVersion::H004, SchemaFamily::Orders) => "H004/ebics_orders_H004.xsd",
            (ProtocolVersion::H004, SchemaFamily::Signature) => "H004/ebics_signature.xsd",
            (ProtocolVersion::H005, SchemaFamily::Orders) => "H005/ebics_orders_H005.xsd",
            (ProtocolVersion::H005, SchemaFamily::Signature) => "H005/ebics_signature_S002.xsd",
            (other, _) => panic!("no schema for {other}"),
        };
        self.schemas.join(file)
    }

    /// Runs xmllint; `Err` carries its diagnostics.
    fn validate(
        &self,
        version: ProtocolVersion,
        family: SchemaFamily,
        name: &str,
        xml: &[u8],
    ) -> Result<(), String> {
        let file = self.tmp.path().join(format!("{version}-{name}.xml"));
        std::fs::write(&file, xml).unwrap();
        let output = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(self.schema(version, family))
            .arg(&file)
            .output()
            .unwrap();
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{version} {name} is not schema-valid:\n{}\n{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(xml)
            ))
        }
    }
}

fn validate_all_fixtures(version: ProtocolVersion) {
    let Some(validator) = Validator::new() else {
        return;
    };
    let failures: Vec<String> = fx::all_xml(version)
        .into_iter()
        .filter_map(|(name, family, xml)| validator.validate(version, family, name, &xml).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_h004_document_kontor_writes_is_schema_valid() {
    validate_all_fixtures(ProtocolVersion::H004);
}

#[test]
fn every_h005_document_kontor_writes_is_schema_valid() {
    validate_all_fixtures(ProtocolVersion::H005);
}

#[test]
fn bank_style_samples_are_schema_valid() {
    let Some(validator) = Validator::new() else {
        return;
    };
    let failures: Vec<String> = samples::all()
        .into_iter()
        .filter_map(|s| {
            validator
                .validate(s.version, s.family, s.name, s.xml.as_bytes())
                .err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn validator_rejects_a_document_missing_a_mandatory_element() {
    // Guards against a validator that accepts everything (wrong schema, wrong root lookup).
    let Some(validator) = Validator::new() else {
        return;
    };
    for version in fx::VERSIONS {
        let xml = String::from_utf8(fx::hia(version).to_xml().unwrap()).unwrap();
        let broken = xml.replace("<UserID>USER0001</UserID>", "");
        assert_ne!(xml, broken);
        assert!(validator
            .validate(
                version,
                SchemaFamily::Orders,
                "broken-hia",
                broken.as_bytes()
            )
            .is_err());
    }
}
