//! Whom the transport trusts: the compiled-in web roots, the platform's root store, and per
//! bank host an optional CA bundle (a bank's test system or a private CA).
//!
//! Certificate verification is always on; there is deliberately no setting to turn it off.
//! One reqwest client is built per distinct trust configuration and reused, so connections
//! are pooled and the platform store is read once per configuration, not per request.

use std::collections::HashMap;
use std::sync::Mutex;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use super::settings::TransportSettings;

/// Why a CA bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCaBundle {
    #[error("the CA bundle is not valid PEM: {0}")]
    NotPem(String),
    #[error("the CA bundle contains no PEM CERTIFICATE block")]
    NoCertificate,
    #[error("the CA bundle contains a private key; give only the CA's certificates")]
    PrivateKey,
    #[error("certificate {index} of the CA bundle cannot be a trust anchor: {message}")]
    Unusable { index: usize, message: String },
}

/// PEM certificates a bank host's TLS certificate may chain to, validated as rustls trust
/// anchors (the check the TLS handshake itself will make).
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    certificates: Vec<CertificateDer<'static>>,
}

impl CaBundle {
    /// Parses PEM text; text outside the PEM blocks (comments) is ignored.
    pub fn from_pem(pem: &str) -> Result<Self, InvalidCaBundle> {
        if PrivateKeyDer::from_pem_slice(pem.as_bytes()).is_ok() {
            return Err(InvalidCaBundle::PrivateKey);
        }
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| InvalidCaBundle::NotPem(e.to_string()))?;
        if certificates.is_empty() {
            return Err(InvalidCaBundle::NoCertificate);
        }
        let mut anchors = rustls::RootCertStore::empty();
        for (i, certificate) in certificates.iter().enumerate() {
            anchors
                .add(certificate.clone())
                .map_err(|e| InvalidCaBundle::Unusable {
                    index: i + 1,
                    message: e.to_string(),
                })?;
        }
        Ok(Self { certificates })
    }

    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaBundle({} certificates)", self.certificates.len())
    }
}

/// Identifies a trust configuration: the web and platform roots, plus the SHA-256 of a
/// host's CA bundle text if it has one.
type TrustKey = Option<[u8; 32]>;

/// More distinct bundles than this (bundles edited again and again) start the cache afresh,
/// so replaced bundles do not keep clients alive forever.
const MAX_CACHED_CLIENTS: usize = 64;

/// reqwest clients by trust configuration, all with the same settings.
pub(super) struct ClientCache {
    settings: TransportSettings,
    clients: Mutex<HashMap<TrustKey, reqwest::Client>>,
}

impl ClientCache {
    /// Builds the client without a CA bundle at once, so a broken proxy setting or platform
    /// store shows at startup rather than at the first bank exchange.
    pub(super) fn new(settings: TransportSettings) -> Result<Self, String> {
        let default = build_client(&settings, None)?;
        Ok(Self {
            settings,
            clients: Mutex::new(HashMap::from([(None, default)])),
        })
    }

    pub(super) fn settings(&self) -> &TransportSettings {
        &self.settings
    }

    /// The client for a host with the given CA bundle text (`None`: roots only).
    pub(super) fn client(&self, ca_bundle_pem: Option<&str>) -> Result<reqwest::Client, String> {
        let key: TrustKey = ca_bundle_pem.map(|pem| Sha256::digest(pem.as_bytes()).into());
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let bundle = ca_bundle_pem
            .map(CaBundle::from_pem)
            .transpose()
            .map_err(|e| format!("the CA bundle stored for this bank host is unusable: {e}"))?;
        let client = build_client(&self.settings, bundle.as_ref())?;
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.retain(|k, _| k.is_none());
        }
        clients.insert(key, client.clone());
        Ok(client)
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.clients.lock().unwrap().len()
    }
}

fn build_client(
    settings: &TransportSettings,
    bundle: Option<&CaBundle>,
) -> Result<reqwest::Client, String> {
    // `no_proxy()` first: it also stops reqwest from reading HTTP(S)_PROXY from the
    // environment, so only Kontor's own setting routes bank traffic.
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .timeout(settings.request_timeout)
        .user_agent(concat!("kontor/", env!("CARGO_PKG_VERSION")));
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.to_reqwest().map_err(|e| e.to_string())?);
    }
    for certificate in bundle.map(|b| b.certificates.as_slice()).unwrap_or(&[]) {
        let certificate =
            reqwest::Certificate::from_der(certificate.as_ref()).map_err(|e| e.to_string())?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", super::error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem(name: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_bundle_of_ca_certificates_with_comments_is_accepted() {
        let text = format!(
            "# Bank test CA\n{}\n# second\n{}",
            ca_pem("Test CA 1"),
            ca_pem("Test CA 2")
        );
        assert_eq!(CaBundle::from_pem(&text).unwrap().len(), 2);
    }

    #[test]
    fn garbage_private_keys_and_empty_bundles_are_refused() {
        assert_eq!(
            CaBundle::from_pem("hello"),
            Err(InvalidCaBundle::NoCertificate)
        );
        let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            CaBundle::from_pem(broken),
            Err(InvalidCaBundle::NotPem(_))
        ));
        let not_a_certificate =
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            CaBundle::from_pem(not_a_certificate),
            Err(InvalidCaBundle::Unusable { index: 1, .. })
        ));
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert_eq!(
            CaBundle::from_pem(&format!("{}{key}", ca_pem("CA"))),
            Err(InvalidCaBundle::PrivateKey)
        );
    }

    #[test]
    fn one_client_is_built_per_distinct_bundle_and_reused() {
        let cache = ClientCache::new(TransportSettings::default()).unwrap();
        let bundle = ca_pem("CA");
        cache.client(None).unwrap();
        cache.client(Some(&bundle)).unwrap();
        cache.client(Some(&bundle)).unwrap();
        assert_eq!(cache.cached(), 2);
        cache.client(Some(&ca_pem("other CA"))).unwrap();
        assert_eq!(cache.cached(), 3);
        assert!(cache.client(Some("not pem")).is_err());
        assert_eq!(cache.cached(), 3);
    }
}
