//! Where a webhook may be sent: `http`/`https` URLs whose host resolves only to public
//! addresses. Private (RFC 1918, unique local), loopback, link-local, CGNAT, unspecified,
//! broadcast and multicast addresses are refused unless the configuration allows them
//! (`webhooks.allow_private_targets`), so a tenant cannot make the daemon call its own
//! network (server-side request forgery).
//!
//! The check runs on the *resolved* addresses, at creation and at every delivery: the
//! delivery client resolves through [`GuardedResolver`], so the address it connects to is
//! the one that was checked (no window for DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why a target URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the webhook URL is not a valid absolute http or https URL")]
    InvalidUrl,
    #[error("the webhook URL must not carry user name or password")]
    Credentials,
    #[error("the host {0} does not resolve")]
    Unresolvable(String),
    #[error("the host {host} resolves to {address}, a private, loopback or link-local address")]
    PrivateAddress { host: String, address: IpAddr },
}

/// Checks the form of a target URL (scheme, host, no credentials) and returns it parsed.
pub fn parse(url: &str) -> Result<url::Url, TargetError> {
    let parsed = url::Url::parse(url).map_err(|_| TargetError::InvalidUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(TargetError::InvalidUrl);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials);
    }
    Ok(parsed)
}

/// Resolves the URL's host and checks every address (creation and update of a subscription).
pub async fn check(url: &str, allow_private: bool) -> Result<url::Url, TargetError> {
    let parsed = parse(url)?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses = resolve(&host, port).await?;
    allowed(&host, &addresses, allow_private)?;
    Ok(parsed)
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
    // An IP literal in brackets ([::1]) resolves as the bare address.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|_| TargetError::Unresolvable(host.to_owned()))?
        .collect();
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable(host.to_owned()));
    }
    Ok(addresses)
}

fn allowed(host: &str, addresses: &[SocketAddr], allow_private: bool) -> Result<(), TargetError> {
    if allow_private {
        return Ok(());
    }
    match addresses.iter().find(|a| !is_public(a.ip())) {
        Some(address) => Err(TargetError::PrivateAddress {
            host: host.to_owned(),
            address: address.ip(),
        }),
        None => Ok(()),
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, RFC 6598
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared
        || a == 0)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7, RFC 4193
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// The delivery client's DNS resolver: resolves like the system and refuses the name when an
/// address is not allowed, so the connection goes only to a checked address.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses = resolve(&host, 0).await?;
            allowed(&host, &addresses, allow_private)?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

/// Checks an IP-literal host at delivery (the resolver is not asked for those).
pub fn check_literal(url: &url::Url, allow_private: bool) -> Result<(), TargetError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    allowed(&ip.to_string(), &[SocketAddr::new(ip, 0)], allow_private)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_without_http_scheme_or_with_credentials_are_refused() {
        assert_eq!(parse("ftp://example.com/x"), Err(TargetError::InvalidUrl));
        assert_eq!(parse("not a url"), Err(TargetError::InvalidUrl));
        assert_eq!(
            parse("https://user:pw@example.com/"),
            Err(TargetError::Credentials)
        );
        assert!(parse("https://example.com/hook").is_ok());
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let refused = check("http://127.0.0.1:9/hook", false).await;
        assert!(matches!(refused, Err(TargetError::PrivateAddress { .. })));
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check_literal(&parse("http://[::1]:9/").unwrap(), false).is_err());
    }
}
