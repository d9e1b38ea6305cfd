//! Interoperability: signatures made by `xmldsig` verify with an independent XML-DSig
//! implementation (xmlsec1 / libxmlsec, which canonicalises through libxml2 and resolves the
//! `#xpointer(//*[@authenticate='true'])` reference itself).
//!
//! Skipped with a printed message when `xmlsec1` is not installed
//! (`apt-get install -y xmlsec1`).

mod envelope_support;

use std::process::Command;

use envelope_support::{all_samples, bank_key, client_key};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::RsaPublicKey;

fn xmlsec1_available() -> bool {
    Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn xmlsec_verify(
    dir: &std::path::Path,
    name: &str,
    xml: &[u8],
    key: &RsaPublicKey,
) -> Result<(), String> {
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let key_path = dir.join(format!("{name}.pem"));
    let xml_path = dir.join(format!("{name}.xml"));
    std::fs::write(&key_path, pem).map_err(|e| e.to_string())?;
    // xmlsec1 1.2 only starts at a `ds:Signature` element (its --node-name/--node-xpath options
    // are ignored for --verify), so the EBICS `AuthSignature` wrapper is renamed. That element is
    // neither authenticated nor part of the canonical SignedInfo, and the namespace context of
    // SignedInfo is unchanged, so digest and signature input are exactly those of the original.
    let text = String::from_utf8(xml.to_vec()).map_err(|e| e.to_string())?;
    let renamed = text
        .replace("<AuthSignature>", "<ds:Signature>")
        .replace("</AuthSignature>", "</ds:Signature>");
    assert!(
        renamed.contains("<ds:Signature>"),
        "{name}: no AuthSignature to rename"
    );
    std::fs::write(&xml_path, renamed).map_err(|e| e.to_string())?;
    let output = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-pem")
        .arg(&key_path)
        .arg("--enabled-reference-uris")
        .arg("same-doc")
        .arg(&xml_path)
        .output()
        .map_err(|e| e.to_string())?;
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
    if !xmlsec1_available() {
        println!("SKIP envelope_interop_xmlsec: xmlsec1 not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let client = RsaPublicKey::from(client_key());
    let bank = RsaPublicKey::from(bank_key());
    let mut checked = 0;
    let mut failures = Vec::new();
    for sample in all_samples() {
        let text = String::from_utf8(sample.xml.clone()).expect("utf-8");
        if !text.contains("AuthSignature") {
            continue;
        }
        let key = if sample.is_response { &bank } else { &client };
        match xmlsec_verify(tmp.path(), &sample.name, &sample.xml, key) {
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
    if !xmlsec1_available() {
        println!("SKIP envelope_interop_xmlsec: xmlsec1 not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let sample = all_samples()
        .into_iter()
        .find(|s| s.name == "H004_C53_init")
        .expect("sample exists");
    let tampered = String::from_utf8(sample.xml)
        .expect("utf-8")
        .replace("<UserID>USER1</UserID>", "<UserID>USER2</UserID>");
    let client = RsaPublicKey::from(client_key());
    assert!(xmlsec_verify(tmp.path(), "tampered", tampered.as_bytes(), &client).is_err());
}
