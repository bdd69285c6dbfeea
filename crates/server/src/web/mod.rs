//! `[web]`: the enrollment page people open from an invitation link, and the admin HTTP API
//! (`/api/v1/…`) for the administrator's scripts — one HTTPS listener (plain HTTP only on a
//! loopback address, behind a reverse proxy).
//!
//! - `serve`: the listener: TLS (rustls), HTTP/1.1 (hyper), bounds on connections and time.
//! - `app`: what the handlers share (the store, the password check, the configuration in
//!   force), the router, the security headers every answer carries, the rate limits.
//! - `enroll`, `pages`, `sessions`: the enrollment page, its templates (escaped by default),
//!   and the short server-side state of one enrollment with its CSRF token.
//! - `api`, `api_calls`, `api_body`, `openapi`: the admin API's endpoints, what every call goes
//!   through (the token, the audit line), its request bodies, its OpenAPI document.
//! - `limits`: requests per client address.

mod api;
mod api_body;
mod api_calls;
mod app;
mod enroll;
mod limits;
mod openapi;
mod pages;
mod serve;
mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;

pub use app::{App, WebConfig};
pub use serve::{ServeError, bind, serve};

use crate::invalid::Invalid;

/// The shortest and longest life of an invitation link, in hours.
pub const INVITATION_TTL_HOURS: std::ops::RangeInclusive<u32> = 1..=720;

/// `[web]` as validated.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The certificate and key; `None` serves plain HTTP (loopback only).
    pub tls: Option<Arc<rustls::sign::CertifiedKey>>,
    pub public_url: PublicUrl,
    /// Seconds an invitation link lives.
    pub invitation_ttl: i64,
    /// Reverse proxies trusted to say, in `X-Forwarded-For`, whom they forward.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("tls", &self.tls.is_some())
            .field("public_url", &self.public_url.0)
            .field("invitation_ttl", &self.invitation_ttl)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

/// An address (`192.0.2.1`, a single host) or a prefix (`10.0.0.0/8`).
pub fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

/// The browser's address: the peer's, unless the peer is a trusted proxy — then the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the
/// address it received from; what a browser writes there itself is further left, unread).
pub fn client_address(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    // An IPv4 proxy reaching a dual-stack listener appears as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A hop that is not an address: stop at the last one understood.
            Err(_) => break,
        }
    }
    client
}

/// What `[web]` accepts besides its files.
pub fn check(invitation_ttl_hours: u32) -> Vec<Invalid> {
    let mut found = Vec::new();
    if !INVITATION_TTL_HOURS.contains(&invitation_ttl_hours) {
        found.push(Invalid::new(
            "invitation_ttl_hours",
            format!(
                "must be between {} and {} hours (72 = three days)",
                INVITATION_TTL_HOURS.start(),
                INVITATION_TTL_HOURS.end()
            ),
        ));
    }
    found
}

/// The address people reach the page at, without a trailing slash: `https://otp.example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// An `https://` URL with a host and no query or fragment; `http://` only for a loopback
    /// host (tests, a page opened on the server itself).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim_end_matches('/');
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(|| {
            format!("\"{text}\" is not a URL; use e.g. \"https://otp.example.org\"")
        })?;
        let host = rest.split('/').next().unwrap_or_default();
        let hostname = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        if rest.len() > host.len() {
            return Err(format!(
                "\"{text}\" has a path: the page is served at the root of its address (a reverse \
                 proxy can give it a host name of its own, e.g. \"https://otp.example.org\")"
            ));
        }
        if hostname.is_empty()
            || rest.contains(['?', '#', ' '])
            || rest.chars().any(char::is_control)
        {
            return Err(format!(
                "\"{text}\" is not a usable URL: it needs a host and no query, fragment or spaces"
            ));
        }
        let loopback = hostname == "localhost"
            || hostname
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match scheme {
            "https" => Ok(PublicUrl(trimmed.to_owned())),
            "http" if loopback => Ok(PublicUrl(trimmed.to_owned())),
            "http" => Err(format!(
                "\"{text}\": invitation links must use https:// (they carry a secret); http:// is \
                 accepted only for a loopback host"
            )),
            _ => Err(format!("\"{text}\": the scheme must be https://")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The invitation link for `secret` (its URL form).
    pub fn enroll_link(&self, secret: &str) -> String {
        format!("{}/enroll/{secret}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls() {
        let ok = PublicUrl::parse("https://otp.example.org/").unwrap();
        assert_eq!(ok.enroll_link("ab"), "https://otp.example.org/enroll/ab");
        assert!(PublicUrl::parse("https://otp.example.org/radotp").is_err());
        assert!(PublicUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(PublicUrl::parse("http://[::1]:8080").is_ok());
        for bad in [
            "otp.example.org",
            "http://otp.example.org",
            "ftp://x.org",
            "https://",
            "https://x.org/?a=b",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted = [
            parse_network("127.0.0.1").unwrap(),
            parse_network("10.0.0.0/8").unwrap(),
        ];
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxy = ip("127.0.0.1");
        assert_eq!(
            client_address(proxy, Some("192.0.2.7"), &trusted),
            ip("192.0.2.7")
        );
        // What the browser wrote itself (left of the real hop) is not believed.
        assert_eq!(
            client_address(proxy, Some("198.51.100.1, 192.0.2.7, 10.1.2.3"), &trusted),
            ip("192.0.2.7")
        );
        assert_eq!(client_address(proxy, None, &trusted), proxy);
        assert_eq!(client_address(proxy, Some("garbage"), &trusted), proxy);
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_address(ip("192.0.2.9"), Some("192.0.2.7"), &trusted),
            ip("192.0.2.9")
        );
        assert_eq!(client_address(proxy, Some("192.0.2.7"), &[]), proxy);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), Some("192.0.2.7"), &trusted),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn invitation_lifetime_is_bounded() {
        assert!(check(72).is_empty());
        assert_eq!(check(0)[0].field, "invitation_ttl_hours");
        assert_eq!(check(721)[0].field, "invitation_ttl_hours");
    }
}
