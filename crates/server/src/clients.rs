//! The NAS table: which source addresses may send requests, with which shared secret and
//! settings; and what a client's settings may be.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::auth::Mode;
use crate::secret::SecretBytes;

/// RFC 2865 §3 recommends shared secrets of at least 16 octets.
pub const RECOMMENDED_SECRET_LEN: usize = 16;
/// Packets per second from one client unless it says otherwise: a flood from one NAS must not
/// starve the others.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;

/// One NAS (or a network of them) allowed to send requests.
#[derive(Debug, Clone)]
pub struct Client {
    /// The NAS's name in logs.
    pub name: String,
    pub network: IpNet,
    pub secret: SecretBytes,
    pub require_message_authenticator: bool,
    /// How this NAS asks for the second factor.
    pub mode: Mode,
    /// Packets per second accepted from this client (token bucket); `None` = unlimited.
    pub rate_limit: Option<u32>,
    /// Drop Proxy-State that comes without Message-Authenticator.
    pub limit_proxy_state: bool,
    /// Only members of these groups may log in through this client (`None` = everyone).
    pub allowed_groups: Option<Vec<String>>,
    /// A directory user without a radotp token: refused, or let in on the password alone.
    pub unenrolled: crate::auth::Unenrolled,
    /// How this NAS reaches the server: one way only.
    pub transport: ClientTransport,
    /// EAP (Wi-Fi) requests from this NAS are served (`[eap]` exists and `eap` is not false).
    pub eap: bool,
}

/// The one transport a client's requests may arrive on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientTransport {
    /// RADIUS over UDP (RFC 2865).
    #[default]
    Udp,
    /// RADIUS over TLS (RFC 6614), optionally with the DNS name the NAS's certificate carries.
    Radsec { tls_name: Option<String> },
}

impl ClientTransport {
    /// The name in the configuration and in log lines.
    pub fn name(&self) -> &'static str {
        match self {
            ClientTransport::Udp => "udp",
            ClientTransport::Radsec { .. } => "radsec",
        }
    }
}

/// The rate limit a client gets: as configured (0 = none), else the default — but none for a
/// local test client on loopback.
pub fn rate_limit(configured: Option<u32>, network: &IpNet) -> Option<u32> {
    match configured {
        Some(0) => None,
        Some(n) => Some(n),
        None if network.addr().is_loopback() => None,
        None => Some(DEFAULT_RATE_LIMIT),
    }
}

/// `10.0.0.1` (a host) or `10.0.0.0/8`; host bits set in a prefix are a typo we point out.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() != net => Err(format!(
            "\"{text}\" has host bits set; did you mean \"{}\"?",
            net.trunc()
        )),
        Ok(net) => Ok(net),
        Err(_) => Err(format!(
            "\"{text}\" is not an IP address or prefix (examples: \"192.0.2.10\", \"10.0.0.0/8\", \"2001:db8::/32\")"
        )),
    }
}

/// Clients ordered most specific prefix first, so the first match is the best one.
#[derive(Debug, Clone, Default)]
pub struct ClientTable {
    clients: Vec<Arc<Client>>,
}

impl ClientTable {
    pub fn new(configs: &[Client]) -> Self {
        let mut clients: Vec<Arc<Client>> = configs.iter().cloned().map(Arc::new).collect();
        clients.sort_by_key(|c| std::cmp::Reverse(c.network.prefix_len()));
        Self { clients }
    }

    /// The client whose prefix contains `ip` most specifically. IPv4-mapped IPv6 sources (from
    /// a dual-stack socket) match IPv4 prefixes.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Arc<Client>> {
        let ip = ip.to_canonical();
        self.clients.iter().find(|c| c.network.contains(&ip))
    }

    /// The clients that use RadSec.
    pub fn radsec(&self) -> impl Iterator<Item = &Arc<Client>> {
        self.clients
            .iter()
            .filter(|c| matches!(c.transport, ClientTransport::Radsec { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, net: &str) -> Client {
        Client {
            name: name.into(),
            network: net.parse().unwrap(),
            secret: SecretBytes::from(b"s".as_slice()),
            require_message_authenticator: true,
            mode: Mode::Append,
            rate_limit: None,
            limit_proxy_state: true,
            allowed_groups: None,
            unenrolled: crate::auth::Unenrolled::Reject,
            transport: ClientTransport::Udp,
            eap: false,
        }
    }

    #[test]
    fn most_specific_prefix_wins() {
        let table = ClientTable::new(&[
            client("all-v4", "0.0.0.0/0"),
            client("office", "10.1.0.0/16"),
            client("vpn", "10.1.2.3/32"),
            client("v6", "2001:db8::/32"),
        ]);
        let name = |ip: &str| table.lookup(ip.parse().unwrap()).map(|c| c.name.as_str());
        assert_eq!(name("10.1.2.3"), Some("vpn"));
        assert_eq!(name("10.1.9.9"), Some("office"));
        assert_eq!(name("192.0.2.1"), Some("all-v4"));
        assert_eq!(name("::ffff:10.1.2.3"), Some("vpn"));
        assert_eq!(name("2001:db8::1"), Some("v6"));
        assert_eq!(name("2001:db9::1"), None);
    }
}
