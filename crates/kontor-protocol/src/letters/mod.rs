//! INI and HIA initialisation letters.
//!
//! After sending INI (electronic signature key) and HIA (authentication and encryption keys)
//! the subscriber signs a paper letter per order and sends it to the bank, which compares the
//! printed key hashes with the keys it received before it activates the subscriber.
//!
//! Letters carry what banks' own letters carry: date and time of creation, recipient bank,
//! host ID, user ID, partner (customer) ID, user name, EBICS version, key version and, per key,
//! the exponent and modulus in hex (H003/H004) or the certificate data (H005+), the SHA-256
//! hash in the grouped form banks print (`AB CD ...`, 16 bytes per line), and lines for
//! place/date and signature. A plain-text, a standalone printable HTML and a PDF rendering
//! (see [`pdf`]) are produced, in German, English or French; every caller-supplied value is
//! HTML-escaped.
//!
//! The date and time are passed in; nothing here reads a clock.

mod pdf;

use chrono::{DateTime, FixedOffset};

use crate::certificate::Certificate;
use crate::keys::{grouped_hex_lines, public_key_hash, KeyError, PublicKey};
use crate::version::{AuthenticationVersion, EncryptionVersion, ProtocolVersion, SignatureVersion};

/// Errors of letter creation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LetterError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the certificate given for the {0} key does not contain that public key")]
    CertificateKeyMismatch(&'static str),
}

/// Language of the letter's labels and sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LetterLanguage {
    #[default]
    German,
    English,
    French,
}

/// A language code other than `de`, `en` and `fr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown letter language {0:?} (expected de, en or fr)")]
pub struct UnknownLanguage(pub String);

text_codes!(
    LetterLanguage,
    /// The ISO 639-1 code: `de`, `en` or `fr`.
    code,
    { German => "de", English => "en", French => "fr" },
    |other| -> UnknownLanguage { UnknownLanguage(other.to_owned()) }
);

/// Which letter this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LetterKind {
    /// Electronic signature key (order type INI).
    Ini,
    /// Authentication and encryption keys (order type HIA).
    Hia,
}

/// The subscriber data printed in a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterInput {
    pub host_id: String,
    /// Printed as the recipient; the host ID is used when absent.
    pub bank_name: Option<String>,
    pub partner_id: String,
    pub user_id: String,
    pub user_name: String,
    /// Creation time as printed; pass the local time of the subscriber.
    pub created_at: DateTime<FixedOffset>,
    pub protocol: ProtocolVersion,
    pub language: LetterLanguage,
}

/// A public key to print, with its key version and, for H005+, its certificate.
#[derive(Debug, Clone, Copy)]
pub struct LetterKey<'a, V> {
    pub version: V,
    pub public_key: &'a PublicKey,
    pub certificate: Option<&'a Certificate>,
}

/// A rendered letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    kind: LetterKind,
    title: String,
    text: String,
    html: String,
}

impl Letter {
    pub fn kind(&self) -> LetterKind {
        self.kind
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// Plain text with LF line endings.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A complete HTML document, laid out for printing on A4.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// A PDF document (A4) with the plain text, for banks and operators who file letters
    /// as PDF rather than print them from a browser.
    pub fn pdf(&self) -> Vec<u8> {
        pdf::render(&self.title, &self.text)
    }
}

/// The INI letter for the electronic signature key.
pub fn ini_letter(
    input: &LetterInput,
    signature_key: LetterKey<'_, SignatureVersion>,
) -> Result<Letter, LetterError> {
    let labels = Labels::for_language(input.language);
    let section = key_section(
        input,
        &labels,
        labels.signature_key,
        signature_key.version.as_str(),
        signature_key.public_key,
        signature_key.certificate,
    )?;
    Ok(render(
        LetterKind::Ini,
        labels.ini_title,
        input,
        &labels,
        vec![section],
        labels.ini_confirmation,
    ))
}

/// The HIA letter for the authentication and encryption keys.
pub fn hia_letter(
    input: &LetterInput,
    authentication_key: LetterKey<'_, AuthenticationVersion>,
    encryption_key: LetterKey<'_, EncryptionVersion>,
) -> Result<Letter, LetterError> {
    let labels = Labels::for_language(input.language);
    let sections = vec![
        key_section(
            input,
            &labels,
            labels.authentication_key,
            authentication_key.version.as_str(),
            authentication_key.public_key,
            authentication_key.certificate,
        )?,
        key_section(
            input,
            &labels,
            labels.encryption_key,
            encryption_key.version.as_str(),
            encryption_key.public_key,
            encryption_key.certificate,
        )?,
    ];
    Ok(render(
        LetterKind::Hia,
        labels.hia_title,
        input,
        &labels,
        sections,
        labels.hia_confirmation,
    ))
}

struct Labels {
    ini_title: &'static str,
    hia_title: &'static str,
    date: &'static str,
    time: &'static str,
    recipient: &'static str,
    host_id: &'static str,
    user_id: &'static str,
    partner_id: &'static str,
    user_name: &'static str,
    protocol: &'static str,
    signature_key: &'static str,
    authentication_key: &'static str,
    encryption_key: &'static str,
    version: &'static str,
    exponent: &'static str,
    modulus: &'static str,
    hash: &'static str,
    subject: &'static str,
    issuer: &'static str,
    serial: &'static str,
    valid_from: &'static str,
    valid_until: &'static str,
    certificate: &'static str,
    ini_confirmation: &'static str,
    hia_confirmation: &'static str,
    place_date: &'static str,
    signature: &'static str,
}

impl Labels {
    fn for_language(language: LetterLanguage) -> Self {
        match language {
            LetterLanguage::German => Self {
                ini_title: "EBICS-Initialisierungsbrief (INI)",
                hia_title: "EBICS-Initialisierungsbrief (HIA)",
                date: "Datum",
                time: "Uhrzeit",
                recipient: "Empfänger",
                host_id: "Host-ID",
                user_id: "Teilnehmer-ID",
                partner_id: "Kunden-ID",
                user_name: "Name",
                protocol: "EBICS-Version",
                signature_key: "Öffentlicher Schlüssel für die Elektronische Unterschrift",
                authentication_key: "Öffentlicher Authentifikationsschlüssel",
                encryption_key: "Öffentlicher Verschlüsselungsschlüssel",
                version: "Version",
                exponent: "Exponent",
                modulus: "Modulus",
                hash: "Hashwert (SHA-256)",
                subject: "Inhaber",
                issuer: "Aussteller",
                serial: "Seriennummer",
                valid_from: "Gültig ab",
                valid_until: "Gültig bis",
                certificate: "Zertifikat",
                ini_confirmation: "Ich bestätige hiermit den obigen öffentlichen Schlüssel für meine Elektronische Unterschrift.",
                hia_confirmation: "Ich bestätige hiermit die obigen öffentlichen Schlüssel für meinen EBICS-Zugang.",
                place_date: "Ort/Datum",
                signature: "Unterschrift",
            },
            LetterLanguage::English => Self {
                ini_title: "EBICS initialisation letter (INI)",
                hia_title: "EBICS initialisation letter (HIA)",
                date: "Date",
                time: "Time",
                recipient: "Recipient",
                host_id: "Host ID",
                user_id: "User ID",
                partner_id: "Partner ID",
                user_name: "Name",
                protocol: "EBICS version",
                signature_key: "Public key for the electronic signature",
                authentication_key: "Public authentication key",
                encryption_key: "Public encryption key",
                version: "Version",
                exponent: "Exponent",
                modulus: "Modulus",
                hash: "Hash (SHA-256)",
                subject: "Subject",
                issuer: "Issuer",
                serial: "Serial number",
                valid_from: "Valid from",
                valid_until: "Valid until",
                certificate: "Certificate",
                ini_confirmation: "I hereby confirm the above public key for my electronic signature.",
                hia_confirmation: "I hereby confirm the above public keys for my EBICS access.",
                place_date: "Place/date",
                signature: "Signature",
            },
            LetterLanguage::French => Self {
                ini_title: "Lettre d'initialisation EBICS (INI)",
                hia_title: "Lettre d'initialisation EBICS (HIA)",
                date: "Date",
                time: "Heure",
                recipient: "Destinataire",
                host_id: "ID de la banque",
                user_id: "ID utilisateur",
                partner_id: "ID client",
                user_name: "Nom",
                protocol: "Version EBICS",
                signature_key: "Clé publique de signature électronique",
                authentication_key: "Clé publique d'authentification",
                encryption_key: "Clé publique de chiffrement",
                version: "Version",
                exponent: "Exposant",
                modulus: "Module",
                hash: "Empreinte (SHA-256)",
                subject: "Titulaire",
                issuer: "Émetteur",
                serial: "Numéro de série",
                valid_from: "Valable du",
                valid_until: "Valable jusqu'au",
                certificate: "Certificat",
                ini_confirmation: "Je confirme par la présente la clé publique ci-dessus pour ma signature électronique.",
                hia_confirmation: "Je confirme par la présente les clés publiques ci-dessus pour mon accès EBICS.",
                place_date: "Lieu/date",
                signature: "Signature",
            },
        }
    }
}

/// A labelled value, or a labelled block of monospaced lines.
enum Item {
    Row(String, String),
    Block(String, Vec<String>),
}

struct KeySection {
    heading: &'static str,
    items: Vec<Item>,
}

fn key_section(
    input: &LetterInput,
    labels: &Labels,
    heading: &'static str,
    key_version: &'static str,
    public_key: &PublicKey,
    certificate: Option<&Certificate>,
) -> Result<KeySection, LetterError> {
    let mut items = vec![Item::Row(labels.version.to_owned(), key_version.to_owned())];
    if let Some(certificate) = certificate.filter(|_| input.protocol.uses_certificates()) {
        if certificate.public_key() != public_key {
            return Err(LetterError::CertificateKeyMismatch(key_version));
        }
        let date = |d: Option<chrono::DateTime<chrono::Utc>>| {
            d.map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        items.push(Item::Row(labels.subject.to_owned(), certificate.subject()));
        items.push(Item::Row(labels.issuer.to_owned(), certificate.issuer()));
        items.push(Item::Row(
            labels.serial.to_owned(),
            certificate.serial_hex(),
        ));
        items.push(Item::Row(
            labels.valid_from.to_owned(),
            date(certificate.not_before()),
        ));
        items.push(Item::Row(
            labels.valid_until.to_owned(),
            date(certificate.not_after()),
        ));
        items.push(Item::Block(
            labels.certificate.to_owned(),
            certificate.to_pem().lines().map(str::to_owned).collect(),
        ));
    } else {
        let exponent = public_key.exponent();
        let modulus = public_key.modulus();
        items.push(Item::Block(
            format!("{} ({} Bit)", labels.exponent, bit_length(&exponent)),
            hex_lines(&exponent),
        ));
        items.push(Item::Block(
            format!("{} ({} Bit)", labels.modulus, public_key.bits()),
            hex_lines(&modulus),
        ));
    }
    let hash = public_key_hash(input.protocol, public_key, certificate)?;
    items.push(Item::Block(
        labels.hash.to_owned(),
        hash.to_grouped_lines(16),
    ));
    Ok(KeySection { heading, items })
}

fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

/// Uppercase hex bytes, blank-separated, 16 per line.
fn hex_lines(bytes: &[u8]) -> Vec<String> {
    grouped_hex_lines(bytes, 16)
}

fn protocol_name(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::H003 => "EBICS 2.4 (H003)",
        ProtocolVersion::H004 => "EBICS 2.5 (H004)",
        ProtocolVersion::H005 => "EBICS 3.0 (H005)",
        ProtocolVersion::H006 => "EBICS (H006)",
    }
}

fn render(
    kind: LetterKind,
    title: &str,
    input: &LetterInput,
    labels: &Labels,
    sections: Vec<KeySection>,
    confirmation: &str,
) -> Letter {
    let recipient = input
        .bank_name
        .clone()
        .unwrap_or_else(|| input.host_id.clone());
    let header = vec![
        (labels.date, input.created_at.format("%d.%m.%Y").to_string()),
        (labels.time, input.created_at.format("%H:%M:%S").to_string()),
        (labels.recipient, recipient),
        (labels.host_id, input.host_id.clone()),
        (labels.user_id, input.user_id.clone()),
        (labels.partner_id, input.partner_id.clone()),
        (labels.user_name, input.user_name.clone()),
        (labels.protocol, protocol_name(input.protocol).to_owned()),
    ];
    Letter {
        kind,
        title: title.to_owned(),
        text: render_text(title, &header, &sections, confirmation, labels),
        html: render_html(
            title,
            &header,
            &sections,
            confirmation,
            labels,
            input.language,
        ),
    }
}

const LABEL_WIDTH: usize = 24;

fn render_text(
    title: &str,
    header: &[(&str, String)],
    sections: &[KeySection],
    confirmation: &str,
    labels: &Labels,
) -> String {
    let mut out = String::new();
    out.push_str(title);
    out.push('\n');
    out.push_str(&"=".repeat(title.chars().count()));
    out.push_str("\n\n");
    for (label, value) in header {
        push_row(&mut out, label, value);
    }
    for section in sections {
        out.push('\n');
        out.push_str(section.heading);
        out.push('\n');
        out.push_str(&"-".repeat(section.heading.chars().count()));
        out.push('\n');
        for item in &section.items {
            match item {
                Item::Row(label, value) => push_row(&mut out, label, value),
                Item::Block(label, lines) => {
                    out.push_str(label);
                    out.push_str(":\n");
                    for line in lines {
                        out.push_str("  ");
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
    }
    out.push('\n');
    out.push_str(confirmation);
    out.push_str("\n\n\n\n");
    out.push_str("______________________________    ______________________________\n");
    out.push_str(&format!("{:<34}{}\n", labels.place_date, labels.signature));
    out
}

fn push_row(out: &mut String, label: &str, value: &str) {
    let padding = LABEL_WIDTH.saturating_sub(label.chars().count() + 1);
    out.push_str(label);
    out.push(':');
    out.push_str(&" ".repeat(padding.max(1)));
    out.push_str(value);
    out.push('\n');
}

fn render_html(
    title: &str,
    header: &[(&str, String)],
    sections: &[KeySection],
    confirmation: &str,
    labels: &Labels,
    language: LetterLanguage,
) -> String {
    let lang = language.code();
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n");
    out.push_str(&format!(
        "<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n"
    ));
    out.push_str(&format!("<title>{}</title>\n", escape_html(title)));
    out.push_str(
        "<style>\n\
         @page { size: A4; margin: 20mm; }\n\
         body { font-family: Arial, Helvetica, sans-serif; font-size: 11pt; color: #000; }\n\
         h1 { font-size: 16pt; margin-bottom: 12pt; }\n\
         h2 { font-size: 12pt; margin-top: 18pt; border-bottom: 1px solid #000; }\n\
         table { border-collapse: collapse; }\n\
         th { text-align: left; font-weight: normal; padding: 1pt 12pt 1pt 0; vertical-align: top; }\n\
         td { padding: 1pt 0; }\n\
         pre { font-family: 'Courier New', Courier, monospace; font-size: 10pt; margin: 2pt 0 8pt 0; }\n\
         .sign { margin-top: 48pt; display: flex; gap: 36pt; }\n\
         .sign div { border-top: 1px solid #000; width: 220pt; padding-top: 2pt; }\n\
         </style>\n</head>\n<body>\n",
    );
    out.push_str(&format!("<h1>{}</h1>\n<table>\n", escape_html(title)));
    for (label, value) in header {
        out.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            escape_html(label),
            escape_html(value)
        ));
    }
    out.push_str("</table>\n");
    for section in sections {
        out.push_str(&format!("<h2>{}</h2>\n", escape_html(section.heading)));
        let mut in_table = false;
        for item in &section.items {
            match item {
                Item::Row(label, value) => {
                    if !in_table {
                        out.push_str("<table>\n");
                        in_table = true;
                    }
                    out.push_str(&format!(
                        "<tr><th>{}</th><td>{}</td></tr>\n",
                        escape_html(label),
                        escape_html(value)
                    ));
                }
                Item::Block(label, lines) => {
                    if in_table {
                        out.push_str("</table>\n");
                        in_table = false;
                    }
                    out.push_str(&format!(
                        "<div>{}:</div>\n<pre>{}</pre>\n",
                        escape_html(label),
                        escape_html(&lines.join("\n"))
                    ));
                }
            }
        }
        if in_table {
            out.push_str("</table>\n");
        }
    }
    out.push_str(&format!("<p>{}</p>\n", escape_html(confirmation)));
    out.push_str(&format!(
        "<div class=\"sign\"><div>{}</div><div>{}</div></div>\n</body>\n</html>\n",
        escape_html(labels.place_date),
        escape_html(labels.signature)
    ));
    out
}

/// Escapes text for HTML element content and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_characters() {
        assert_eq!(
            escape_html(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[0x01, 0x00, 0x01]), 17);
        assert_eq!(bit_length(&[0x00, 0x80]), 8);
        assert_eq!(bit_length(&[]), 0);
    }

    #[test]
    fn hex_lines_hold_sixteen_bytes() {
        let lines = hex_lines(&[0xAB; 20]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(' ').count(), 16);
        assert_eq!(lines[1], "AB AB AB AB");
    }
}
