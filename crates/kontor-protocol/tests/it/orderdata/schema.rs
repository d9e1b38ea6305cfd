//! Every document Kontor writes validates against the official EBICS schemas (xmllint), and so
//! do the bank-style samples the parser tests use.

use std::collections::BTreeMap;

use kontor_protocol::ProtocolVersion;

use crate::support::orderdata::{self as fx, samples, SchemaFamily};
use crate::support::tools::{Document, Xsd};
use crate::support::VERSIONS;

fn xsd_file(version: ProtocolVersion, family: SchemaFamily) -> &'static str {
    match (version, family) {
        (ProtocolVersion::H004, SchemaFamily::Orders) => "H004/ebics_orders_H004.xsd",
        (ProtocolVersion::H004, SchemaFamily::Signature) => "H004/ebics_signature.xsd",
        (ProtocolVersion::H005, SchemaFamily::Orders) => "H005/ebics_orders_H005.xsd",
        (ProtocolVersion::H005, SchemaFamily::Signature) => "H005/ebics_signature_S002.xsd",
        (other, _) => panic!("no schema for {other}"),
    }
}

fn validator() -> Option<Xsd> {
    let all: Vec<&str> = VERSIONS
        .into_iter()
        .flat_map(|v| [SchemaFamily::Orders, SchemaFamily::Signature].map(|f| xsd_file(v, f)))
        .collect();
    Xsd::find(&all)
}

/// Validates each document against the schema of its version and family.
fn failures(
    xsd: &Xsd,
    documents: impl IntoIterator<Item = (ProtocolVersion, SchemaFamily, String, Vec<u8>)>,
) -> Vec<String> {
    let mut by_schema: BTreeMap<&str, Vec<Document>> = BTreeMap::new();
    for (version, family, name, xml) in documents {
        by_schema
            .entry(xsd_file(version, family))
            .or_default()
            .push((name, xml));
    }
    by_schema
        .iter()
        .flat_map(|(schema, docs)| xsd.failures(schema, docs))
        .collect()
}

/// Every document validates (or the test skips without xmllint and the schemas).
fn assert_schema_valid(
    documents: impl IntoIterator<Item = (ProtocolVersion, SchemaFamily, String, Vec<u8>)>,
) {
    let Some(xsd) = validator() else {
        return;
    };
    let failures = failures(&xsd, documents);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_document_kontor_writes_is_schema_valid() {
    let documents = VERSIONS.into_iter().flat_map(|version| {
        fx::all_xml(version)
            .into_iter()
            .map(move |(name, family, xml)| (version, family, format!("{version} {name}"), xml))
    });
    assert_schema_valid(documents);
}

#[test]
fn bank_style_samples_are_schema_valid() {
    let documents = samples::all().into_iter().map(|s| {
        (
            s.version,
            s.family,
            s.name.to_owned(),
            s.xml.as_bytes().to_vec(),
        )
    });
    assert_schema_valid(documents);
}

#[test]
fn validator_rejects_a_document_missing_a_mandatory_element() {
    // Guards against a validator that accepts everything (wrong schema, wrong root lookup).
    let Some(xsd) = validator() else {
        return;
    };
    for version in VERSIONS {
        let xml = String::from_utf8(fx::hia(version).to_xml().unwrap()).unwrap();
        let broken = xml.replace("<UserID>USER0001</UserID>", "");
        assert_ne!(xml, broken);
        let failures = failures(
            &xsd,
            [(
                version,
                SchemaFamily::Orders,
                "broken-hia".to_owned(),
                broken.into_bytes(),
            )],
        );
        assert_eq!(failures.len(), 1, "{version}: broken HIA validated");
    }
}
