//! The NAS table: which source addresses may send requests, and with which shared secret.

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::ClientConfig;

/// Clients ordered most specific prefix first, so the first match is the best one.
#[derive(Debug, Clone, Default)]
pub struct ClientTable {
    clients: Vec<Arc<ClientConfig>>,
}

impl ClientTable {
    pub fn new(configs: &[ClientConfig]) -> Self {
        let mut clients: Vec<Arc<ClientConfig>> = configs.iter().cloned().map(Arc::new).collect();
        clients.sort_by_key(|c| std::cmp::Reverse(c.network.prefix_len()));
        Self { clients }
    }

    /// The client whose prefix contains `ip` most specifically. IPv4-mapped IPv6 sources (from
    /// a dual-stack socket) match IPv4 prefixes.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Arc<ClientConfig>> {
        let ip = ip.to_canonical();
        self.clients.iter().find(|c| c.network.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretBytes;

    fn client(name: &str, net: &str) -> ClientConfig {
        ClientConfig {
            name: name.into(),
            network: net.parse().unwrap(),
            secret: SecretBytes::from(b"s".as_slice()),
            require_message_authenticator: true,
            mode: crate::auth::Mode::Append,
            rate_limit: None,
            limit_proxy_state: true,
            allowed_groups: None,
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
