//! `HOST[:PORT]` as an administrator types it: a name, an IPv4 address, or an IPv6 address
//! (in brackets when a port follows); the port defaults to 1812.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use super::DEFAULT_PORT;

/// Where to send requests; names are resolved only by [`ServerAddress::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// Why a `HOST[:PORT]` cannot be used; each says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerAddressError {
    #[error(
        "the server address is empty; give HOST or HOST:PORT, e.g. 127.0.0.1 or radius.example.com:1812"
    )]
    Empty,
    #[error("{0:?} has a scheme; give HOST or HOST:PORT only, e.g. radius.example.com:1812")]
    Scheme(String),
    #[error(
        "{0:?} has no closing ']'; write an IPv6 address as [2001:db8::1] or [2001:db8::1]:1812"
    )]
    UnclosedBracket(String),
    #[error("{0:?} is not an IPv6 address; write one as [2001:db8::1] or [2001:db8::1]:1812")]
    BadIpv6(String),
    #[error("{0:?}: only a port may follow ']', as in [2001:db8::1]:1812")]
    AfterBracket(String),
    #[error("port {0:?} is not a number from 1 to 65535; the RADIUS authentication port is 1812")]
    BadPort(String),
    #[error(
        "{0:?} is not a host name or IP address; give e.g. 127.0.0.1, radius.example.com or [::1]"
    )]
    BadHost(String),
    #[error("cannot resolve {name:?}: {reason}; check the name, or give an IP address")]
    Unresolved { name: String, reason: String },
}

impl ServerAddress {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        ServerAddress {
            host: Host::Ip(ip),
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket address to use: the address itself, or the first one the name resolves to.
    pub fn resolve(&self) -> Result<SocketAddr, ServerAddressError> {
        match &self.host {
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, self.port)),
            Host::Name(name) => {
                let unresolved = |reason: String| ServerAddressError::Unresolved {
                    name: name.clone(),
                    reason,
                };
                (name.as_str(), self.port)
                    .to_socket_addrs()
                    .map_err(|e| unresolved(e.to_string()))?
                    .next()
                    .ok_or_else(|| unresolved("no addresses".into()))
            }
        }
    }
}

impl FromStr for ServerAddress {
    type Err = ServerAddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ServerAddressError::Empty);
        }
        if text.contains("://") {
            return Err(ServerAddressError::Scheme(text.into()));
        }
        if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| ServerAddressError::UnclosedBracket(text.into()))?;
            let ip: Ipv6Addr = inside
                .parse()
                .map_err(|_| ServerAddressError::BadIpv6(inside.into()))?;
            let port = match after {
                "" => DEFAULT_PORT,
                _ => match after.strip_prefix(':') {
                    Some(port) => parse_port(port)?,
                    None => return Err(ServerAddressError::AfterBracket(text.into())),
                },
            };
            return Ok(ServerAddress::new(IpAddr::V6(ip), port));
        }
        // More than one colon and no brackets: a bare IPv6 address, which cannot carry a port.
        if text.matches(':').count() > 1 {
            return text
                .parse::<Ipv6Addr>()
                .map(|ip| ServerAddress::new(IpAddr::V6(ip), DEFAULT_PORT))
                .map_err(|_| ServerAddressError::BadIpv6(text.into()));
        }
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, parse_port(port)?),
            None => (text, DEFAULT_PORT),
        };
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) if is_host_name(host) => Host::Name(host.to_ascii_lowercase()),
            Err(_) => return Err(ServerAddressError::BadHost(host.into())),
        };
        Ok(ServerAddress { host, port })
    }
}

fn parse_port(text: &str) -> Result<u16, ServerAddressError> {
    match text.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ServerAddressError::BadPort(text.into())),
    }
}

/// RFC 1123 names: dot-separated labels of letters, digits and hyphens (underscores tolerated,
/// as some internal names have them), not starting or ending with a hyphen.
fn is_host_name(text: &str) -> bool {
    text.len() <= 253
        && text.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServerAddressError as E;

    #[test]
    fn table() {
        let ok = |s: &str| s.parse::<ServerAddress>().map(|a| a.to_string());
        let cases: Vec<(&str, Result<String, ServerAddressError>)> = vec![
            ("127.0.0.1", Ok("127.0.0.1:1812".into())),
            (" 127.0.0.1:1645 ", Ok("127.0.0.1:1645".into())),
            ("[::1]", Ok("[::1]:1812".into())),
            ("[::1]:18120", Ok("[::1]:18120".into())),
            ("::1", Ok("[::1]:1812".into())),
            ("2001:db8::1", Ok("[2001:db8::1]:1812".into())),
            (
                "Radius.Example.com:1812",
                Ok("radius.example.com:1812".into()),
            ),
            ("localhost", Ok("localhost:1812".into())),
            ("", Err(E::Empty)),
            (
                "udp://radius:1812",
                Err(E::Scheme("udp://radius:1812".into())),
            ),
            ("[::1", Err(E::UnclosedBracket("[::1".into()))),
            ("[1.2.3.4]", Err(E::BadIpv6("1.2.3.4".into()))),
            ("[::1]1812", Err(E::AfterBracket("[::1]1812".into()))),
            ("127.0.0.1:", Err(E::BadPort("".into()))),
            ("127.0.0.1:0", Err(E::BadPort("0".into()))),
            ("127.0.0.1:65536", Err(E::BadPort("65536".into()))),
            ("[::1]:radius", Err(E::BadPort("radius".into()))),
            ("::1::2", Err(E::BadIpv6("::1::2".into()))),
            ("my server", Err(E::BadHost("my server".into()))),
            ("-bad.example", Err(E::BadHost("-bad.example".into()))),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn resolves_addresses_without_lookups() {
        let a: ServerAddress = "[::1]:2000".parse().unwrap();
        assert_eq!(a.resolve().unwrap(), "[::1]:2000".parse().unwrap());
        let b: ServerAddress = "127.0.0.1".parse().unwrap();
        assert_eq!(b.resolve().unwrap(), "127.0.0.1:1812".parse().unwrap());
    }
}
