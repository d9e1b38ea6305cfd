//! Every envelope Kontor builds validates against the official EBICS schemas (xmllint).

use crate::support::envelopes::{all_samples, Sample, Schema};
use crate::support::tools::{Document, Xsd};

fn xsd_file(schema: Schema) -> &'static str {
    match schema {
        Schema::H004 => "H004/ebics_H004.xsd",
        Schema::H005 => "H005/ebics_H005.xsd",
        Schema::Hev => "H005/ebics_hev.xsd",
    }
}

const SCHEMAS: [Schema; 3] = [Schema::H004, Schema::H005, Schema::Hev];

fn validator() -> Option<Xsd> {
    Xsd::find(&SCHEMAS.map(xsd_file))
}

fn documents<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Vec<Document> {
    samples
        .into_iter()
        .map(|s| (s.name.clone(), s.xml.clone()))
        .collect()
}

#[test]
fn every_built_envelope_validates_against_the_official_schema() {
    let Some(xsd) = validator() else {
        return;
    };
    let samples = all_samples();
    let mut failures = Vec::new();
    for schema in SCHEMAS {
        let documents = documents(samples.iter().filter(|s| s.schema == schema));
        failures.extend(xsd.failures(xsd_file(schema), &documents));
    }
    assert!(
        failures.is_empty(),
        "{} envelope(s) fail schema validation:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{} envelopes validate against the EBICS schemas",
        samples.len()
    );
}

#[test]
fn a_schema_violation_is_detected_by_the_validation_harness() {
    // Guards the harness itself: a document missing a required element must not validate.
    let Some(xsd) = validator() else {
        return;
    };
    let sample = all_samples()
        .iter()
        .find(|s| s.name == "H004_receipt_ack")
        .expect("sample exists");
    let broken = String::from_utf8_lossy(&sample.xml).replace("<ReceiptCode>0</ReceiptCode>", "");
    let failures = xsd.failures(
        xsd_file(Schema::H004),
        &[("broken".to_owned(), broken.into_bytes())],
    );
    assert_eq!(failures.len(), 1, "broken document unexpectedly validated");
}
