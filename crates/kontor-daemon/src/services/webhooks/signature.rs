//! Standard Webhooks signatures (<https://www.standardwebhooks.com>, "Signature scheme"):
//! `webhook-signature` carries space-separated `v1,<base64 HMAC-SHA256>` entries over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, one per secret that signs (during a rotation's
//! overlap the new and the old secret), so receivers can use any existing verification library.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use kontor_storage::WebhookSecret;
use sha2_next::Sha256;

/// The headers of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the event's id, the same on every retry and redelivery, so receivers
    /// can de-duplicate.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt (receivers refuse old ones).
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
}

impl SignedHeaders {
    pub const ID: &'static str = "webhook-id";
    pub const TIMESTAMP: &'static str = "webhook-timestamp";
    pub const SIGNATURE: &'static str = "webhook-signature";

    /// The headers of a received request, as a receiver reads them before it [`verify`]s:
    /// a missing id or signature is empty; `None` when the timestamp is missing or no number.
    pub fn received(headers: &reqwest::header::HeaderMap) -> Option<Self> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        Some(Self {
            id: header(Self::ID),
            timestamp: header(Self::TIMESTAMP).parse().ok()?,
            signature: header(Self::SIGNATURE),
        })
    }
}

/// Signs `body` for the attempt at `timestamp` with every secret in `secrets`.
pub fn sign(id: &str, timestamp: i64, body: &str, secrets: &[WebhookSecret]) -> SignedHeaders {
    let signature = secrets
        .iter()
        .map(|secret| format!("v1,{}", signature_of(secret.bytes(), id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ");
    SignedHeaders {
        id: id.to_owned(),
        timestamp,
        signature,
    }
}

/// Whether one of the `v1` entries of `header` is the signature of `body` under `secret`
/// (what a receiver does; the demo's receiver and the tests use it).
pub fn verify(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let expected = signature_of(secret.bytes(), id, timestamp, body);
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|candidate| constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
}

fn signature_of(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_standard_webhooks_example() {
        let secret = WebhookSecret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let headers = sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            std::slice::from_ref(&secret),
        );
        assert_eq!(
            headers.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_secrets_give_two_signatures_and_each_verifies() {
        let old = WebhookSecret::from_whsec("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            .unwrap();
        let new = WebhookSecret::from_whsec("whsec_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=")
            .unwrap();
        let headers = sign("e1", 10, "{}", &[new, old]);
        assert_eq!(headers.signature.split(' ').count(), 2);
        for whsec in [
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "whsec_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=",
        ] {
            let secret = WebhookSecret::from_whsec(whsec).unwrap();
            assert!(verify(&secret, "e1", 10, "{}", &headers.signature));
            assert!(!verify(&secret, "e1", 11, "{}", &headers.signature));
        }
    }
}
