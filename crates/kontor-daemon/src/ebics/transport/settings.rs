//! How the bank transport behaves: answer size limit, timeouts and the outbound proxy.

use std::time::Duration;

/// An EBICS segment is at most 1 MB of base64 text (EBICS 2.5 / 3.0, chapter 7 "Segmentation
/// of the order data"; even read as 1 MiB before base64 it is 1.33 MiB). Line wrapping of the
/// base64 text adds under 3 %, the signed envelope around it (header, XML signature, the
/// encrypted transaction key, return codes) a few KiB. 4 MiB leaves more than twice that as
/// headroom, while one answer in flight never costs more than 4 MiB of memory.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 4 << 20;

/// The smallest accepted limit: one full segment plus its envelope must fit.
pub const MIN_MAX_ANSWER_BYTES: u64 = 2 << 20;

/// Settings of the HTTP(S) client that talks to banks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSettings {
    /// Establishing TCP (and the proxy tunnel).
    pub connect_timeout: Duration,
    /// The longest silence while waiting for the answer or between two reads of it.
    pub read_timeout: Duration,
    /// The whole exchange, from connecting until the answer is read completely.
    pub request_timeout: Duration,
    /// A bank answer larger than this is refused and its connection dropped.
    pub max_answer_bytes: u64,
    /// Outbound proxy for bank traffic; `None` connects directly. Proxy environment variables
    /// (`HTTPS_PROXY`, …) are deliberately ignored: only this setting routes bank traffic.
    pub proxy: Option<ProxySettings>,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            proxy: None,
        }
    }
}

/// Why a proxy setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProxy {
    #[error("proxy must be an http:// or https:// URL with a host ({0})")]
    Url(String),
    #[error("no_proxy entry {0:?} must be a host name, domain (.example.com), IP address or CIDR range, without commas or spaces")]
    Exception(String),
}

/// An HTTP(S) proxy (CONNECT tunnels for https banks) and the hosts that bypass it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySettings {
    url: reqwest::Url,
    no_proxy: Vec<String>,
}

impl ProxySettings {
    /// `no_proxy` entries follow the usual `NO_PROXY` rules: `bank.example` and `.bank.example`
    /// both match the domain and its subdomains; IP addresses and CIDR ranges match addresses.
    pub fn new(url: &str, no_proxy: Vec<String>) -> Result<Self, InvalidProxy> {
        let parsed = reqwest::Url::parse(url).map_err(|e| InvalidProxy::Url(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(InvalidProxy::Url(format!(
                "scheme {:?} is not supported",
                parsed.scheme()
            )));
        }
        Self {
            url: parsed,
            no_proxy: Vec::new(),
        }
        .with_no_proxy(no_proxy)
    }

    /// The same proxy with other exceptions.
    pub fn with_no_proxy(self, no_proxy: Vec<String>) -> Result<Self, InvalidProxy> {
        let no_proxy = no_proxy
            .into_iter()
            .map(|entry| entry.trim().to_owned())
            .filter(|entry| !entry.is_empty())
            .collect::<Vec<_>>();
        if let Some(bad) = no_proxy
            .iter()
            .find(|e| e.contains(',') || e.contains(char::is_whitespace))
        {
            return Err(InvalidProxy::Exception(bad.clone()));
        }
        Ok(Self {
            url: self.url,
            no_proxy,
        })
    }

    pub fn no_proxy(&self) -> &[String] {
        &self.no_proxy
    }

    /// The reqwest proxy for every scheme, with the exceptions.
    pub(super) fn to_reqwest(&self) -> reqwest::Result<reqwest::Proxy> {
        let proxy = reqwest::Proxy::all(self.url.clone())?;
        Ok(if self.no_proxy.is_empty() {
            proxy
        } else {
            proxy.no_proxy(reqwest::NoProxy::from_string(&self.no_proxy.join(",")))
        })
    }

    /// The proxy URL without credentials, for logs and messages.
    pub fn redacted_url(&self) -> String {
        let mut shown = self.url.clone();
        if !shown.username().is_empty() || shown.password().is_some() {
            let _ = shown.set_username("***");
            let _ = shown.set_password(None);
        }
        shown.to_string()
    }
}

// The proxy URL may carry credentials (user:password@): never print them.
impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySettings")
            .field("url", &self.redacted_url())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_need_an_http_scheme_and_a_host() {
        assert!(ProxySettings::new("http://proxy.internal:3128", vec![]).is_ok());
        assert!(ProxySettings::new("https://proxy.internal", vec![]).is_ok());
        for bad in ["socks5://proxy:1080", "proxy:3128", "http://", ""] {
            assert!(
                matches!(ProxySettings::new(bad, vec![]), Err(InvalidProxy::Url(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn exceptions_are_single_entries_and_blank_ones_are_dropped() {
        let proxy = ProxySettings::new(
            "http://proxy:3128",
            vec![" bank.example ".into(), "".into(), "10.0.0.0/8".into()],
        )
        .unwrap();
        assert_eq!(proxy.no_proxy(), ["bank.example", "10.0.0.0/8"]);
        assert_eq!(
            ProxySettings::new("http://proxy:3128", vec!["a.example,b.example".into()]),
            Err(InvalidProxy::Exception("a.example,b.example".into()))
        );
    }

    #[test]
    fn proxy_credentials_are_never_printed() {
        let proxy = ProxySettings::new("http://kontor:s3cret@proxy:3128", vec![]).unwrap();
        let shown = format!("{proxy:?} {}", proxy.redacted_url());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("kontor:"), "{shown}");
        assert!(shown.contains("proxy:3128"), "{shown}");
    }
}
