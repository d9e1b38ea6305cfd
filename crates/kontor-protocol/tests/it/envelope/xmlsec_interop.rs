//! Interoperability: signatures made by `xmldsig` verify with an independent XML-DSig
//! implementation (xmlsec1 / libxmlsec, which canonicalises through libxml2 and resolves the
//! `#xpointer(//*[@authenticate='true'])` reference itself). Required under
//! `KONTOR_REQUIRE_XMLSEC=1`.

use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::RsaPublicKey;

use crate::support::envelopes::all_samples;
use crate::support::keys::{bank_x002, client_x002};
use crate::support::tools::{Tool, XMLSEC1};

fn xmlsec_verify(xmlsec1: &Tool, name: &str, xml: &[u8], key: &RsaPublicKey) -> Result<(), String> {
    let pem = key.to_public_key_pem(LineEnding::LF).expect("pem");
    let key_path = xmlsec1.file(&format!("{name}.pem"), pem);
    // xmlsec1 1.2 only starts at a `ds:Signature` element (its --node-name/--node-xpath options
    // are ignored for --verify), so the EBICS `AuthSignature` wrapper is renamed. That element is
    // neither authenticated nor part of the canonical SignedInfo, and the namespace context of
    // SignedInfo is unchanged, so digest and signature input are exactly those of the original.
    let text = std::str::from_utf8(xml).expect("utf-8");
    let renamed = text
        .replace("<AuthSignature>", "<ds:Signature>")
        .replace("</AuthSignature>", "</ds:Signature>");
    assert!(
        renamed.contains("<ds:Signature>"),
        "{name}: no AuthSignature to rename"
    );
    let xml_path = xmlsec1.file(&format!("{name}.xml"), renamed);
    let output = xmlsec1.run(&[
        "--verify",
        "--pubkey-pem",
        &key_path,
        "--enabled-reference-uris",
        "same-doc",
        &xml_path,
    ]);
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn xmlsec1_verifies_every_signed_envelope() {
    let Some(xmlsec1) = Tool::find(XMLSEC1) else {
        return;
    };
    let client = RsaPublicKey::from(client_x002());
    let bank = RsaPublicKey::from(bank_x002());
    let mut checked = 0;
    let mut failures = Vec::new();
    for sample in all_samples() {
        if !String::from_utf8_lossy(&sample.xml).contains("AuthSignature") {
            continue;
        }
        let key = if sample.is_response { &bank } else { &client };
        match xmlsec_verify(&xmlsec1, &sample.name, &sample.xml, key) {
            Ok(()) => checked += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "xmlsec1 rejected:\n{}",
        failures.join("\n")
    );
    assert!(checked > 50, "only {checked} signed samples checked");
    println!("xmlsec1 verified {checked} signed envelopes");
}

#[test]
fn xmlsec1_rejects_a_tampered_envelope() {
    // Guards the harness: a changed authenticated value must fail the independent check too.
    let Some(xmlsec1) = Tool::find(XMLSEC1) else {
        return;
    };
    let sample = all_samples()
        .iter()
        .find(|s| s.name == "H004_C53_init")
        .expect("sample exists");
    let tampered = String::from_utf8_lossy(&sample.xml)
        .replace("<UserID>USER1</UserID>", "<UserID>USER2</UserID>");
    let client = RsaPublicKey::from(client_x002());
    assert!(xmlsec_verify(&xmlsec1, "tampered", tampered.as_bytes(), &client).is_err());
}
