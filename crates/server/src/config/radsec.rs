//! `[radsec]` → `radsec::Settings`: the RadSec listeners, the server's certificate and key and
//! the NASes' CA (read and checked here, so `check-config` finds a wrong file), and the bounds.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use crate::radsec::{DEFAULT_PORT, Identity, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRadsec {
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    pub certificate: Option<String>,
    pub private_key: Option<String>,
    pub client_ca: Option<String>,
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_listen() -> Vec<String> {
    vec![format!("0.0.0.0:{DEFAULT_PORT}")]
}

fn default_idle_timeout_secs() -> u64 {
    60
}

fn default_max_connections() -> usize {
    1024
}

pub(super) fn settings(
    raw: &RawRadsec,
    base_dir: &Path,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<Settings> {
    let mut listen: Vec<SocketAddr> = Vec::new();
    for (i, text) in raw.listen.iter().enumerate() {
        let key = format!("radsec.listen[{i}]");
        match text.parse::<SocketAddr>() {
            Ok(addr) if listen.contains(&addr) => {
                problems.add(key, format!("{addr} is listed twice"))
            }
            Ok(addr) => listen.push(addr),
            Err(_) => problems.add(
                key,
                format!(
                    "\"{text}\" is not an ip:port address (examples: \"0.0.0.0:{DEFAULT_PORT}\", \"[::]:{DEFAULT_PORT}\")"
                ),
            ),
        }
    }
    let idle_timeout = Duration::from_secs(raw.idle_timeout_secs);
    let mut found = crate::radsec::check(&listen, idle_timeout, raw.max_connections);
    // An empty list because every entry was wrong is already said, entry by entry.
    if !raw.listen.is_empty() {
        found.retain(|invalid| invalid.field != "listen");
    }
    problems.extend("radsec", found);
    let mut path = |field: &str, value: &Option<String>, what: &str| match value {
        Some(file) => Some(base_dir.join(file)),
        None => {
            problems.add(
                format!("radsec.{field}"),
                format!("is required: the PEM file of {what}"),
            );
            None
        }
    };
    let certificate = path(
        "certificate",
        &raw.certificate,
        "the server's certificate chain",
    );
    let private_key = path("private_key", &raw.private_key, "the server's private key");
    let client_ca = path(
        "client_ca",
        &raw.client_ca,
        "the CA that signs the NASes' certificates",
    );
    let (certificate, private_key, client_ca) = (certificate?, private_key?, client_ca?);
    warnings.extend(super::readable_by_others(
        &private_key,
        "holds the RadSec private key",
    ));
    let identity = match Identity::load(&certificate, &private_key, &client_ca) {
        Ok(identity) => identity,
        Err(errors) => {
            for e in errors {
                problems.add(format!("radsec.{}", e.field), e.message);
            }
            return None;
        }
    };
    Some(Settings {
        listen,
        idle_timeout,
        max_connections: raw.max_connections,
        tls: Arc::new(identity),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    use crate::clients::ClientTransport;
    use crate::config::{Config, ConfigError};

    /// A CA (`ca.pem`), a server certificate and key signed by it (`server.pem`,
    /// `server-key.pem`) and another key (`other-key.pem`), in `dir`.
    fn write_pki(dir: &Path) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let issuer = Issuer::new(params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["radius.example.org".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server-key.pem"), key.serialize_pem()).unwrap();
        let other = KeyPair::generate().unwrap();
        std::fs::write(dir.join("other-key.pem"), other.serialize_pem()).unwrap();
    }

    const RADSEC: &str = r#"
[server]
listen = []

[database]
path = "radotp.db"

[radsec]
listen = ["0.0.0.0:2083"]
certificate = "server.pem"
private_key = "server-key.pem"
client_ca = "ca.pem"

[[client]]
name = "branch-ap"
address = "198.51.100.0/24"
transport = "radsec"
tls_name = "ap.branch.example.org"
"#;

    fn load(dir: &Path, text: &str) -> Result<Config, Vec<String>> {
        Config::from_toml(text, dir).map_err(|e| match e {
            ConfigError::Invalid { problems, .. } => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => vec![other.to_string()],
        })
    }

    #[test]
    fn a_radsec_only_server_loads_with_the_fixed_secret() {
        let dir = tempfile::tempdir().unwrap();
        write_pki(dir.path());
        let config = load(dir.path(), RADSEC).unwrap();
        assert!(config.server.listen.is_empty());
        let radsec = config.radsec.as_ref().unwrap();
        assert_eq!(radsec.listen, ["0.0.0.0:2083".parse().unwrap()]);
        assert_eq!(radsec.idle_timeout.as_secs(), 60);
        assert_eq!(radsec.max_connections, 1024);
        let client = &config.clients[0];
        assert_eq!(client.secret.expose(), b"radsec");
        assert_eq!(
            client.transport,
            ClientTransport::Radsec {
                tls_name: Some("ap.branch.example.org".into())
            }
        );
        // Over TLS, a missing Message-Authenticator is not a reason to drop.
        assert!(!client.require_message_authenticator);
        assert!(!client.limit_proxy_state);
        // A configured secret wins.
        let text = RADSEC.replace("transport =", "secret = \"own-secret\"\ntransport =");
        let config = load(dir.path(), &text).unwrap();
        assert_eq!(config.clients[0].secret.expose(), b"own-secret");
        // Both: a RadSec server's Debug output names files, never keys.
        let shown = format!("{:?}", config.radsec.unwrap());
        assert!(
            shown.contains("server.pem") && !shown.contains("PRIVATE"),
            "{shown}"
        );
    }

    #[test]
    fn every_mistake_is_named_by_its_key() {
        let dir = tempfile::tempdir().unwrap();
        write_pki(dir.path());
        std::fs::write(dir.path().join("not.pem"), "not a certificate").unwrap();
        let cases = [
            (
                "certificate = \"server.pem\"\n",
                "",
                "radsec.certificate: is required",
            ),
            (
                "private_key = \"server-key.pem\"\n",
                "",
                "radsec.private_key: is required",
            ),
            (
                "client_ca = \"ca.pem\"\n",
                "",
                "radsec.client_ca: is required",
            ),
            (
                "\"server.pem\"",
                "\"missing.pem\"",
                "radsec.certificate: cannot read",
            ),
            (
                "\"server-key.pem\"",
                "\"other-key.pem\"",
                "radsec.private_key: /",
            ),
            ("\"server-key.pem\"", "\"ca.pem\"", "radsec.private_key: /"),
            (
                "client_ca = \"ca.pem\"",
                "client_ca = \"not.pem\"",
                "radsec.client_ca: /",
            ),
            (
                "client_ca = \"ca.pem\"",
                "client_ca = \"ca.pem\"\nidle_timeout_secs = 1",
                "radsec.idle_timeout_secs",
            ),
            (
                "client_ca = \"ca.pem\"",
                "client_ca = \"ca.pem\"\nmax_connections = 0",
                "radsec.max_connections",
            ),
            ("[\"0.0.0.0:2083\"]", "[\"2083\"]", "radsec.listen[0]"),
            (
                "transport = \"radsec\"",
                "transport = \"tcp\"",
                "client[0].transport",
            ),
            (
                "tls_name = \"ap.branch.example.org\"",
                "tls_name = \"not a name\"",
                "client[0].tls_name",
            ),
            (
                "tls_name = \"ap.branch.example.org\"",
                "require_message_authenticator = true",
                "client[0].require_message_authenticator: is not used over RadSec",
            ),
        ];
        for (from, to, expected) in cases {
            assert!(RADSEC.contains(from), "{from}");
            let found = load(dir.path(), &RADSEC.replacen(from, to, 1)).unwrap_err();
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected}: {found:?}"
            );
        }
        // Without [radsec]: a RadSec client, and an empty UDP listen, have nothing to use.
        let start = RADSEC.find("[radsec]").unwrap();
        let end = RADSEC.find("[[client]]").unwrap();
        let without = format!("{}{}", &RADSEC[..start], &RADSEC[end..]);
        let found = load(dir.path(), &without).unwrap_err();
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("client[0].transport: \"radsec\" needs a [radsec] section")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("server.listen: at least one address")),
            "{found:?}"
        );
        // A UDP client has no certificate to check.
        let udp = without
            .replace(
                "transport = \"radsec\"\n",
                "secret = \"a-long-random-shared-secret\"\n",
            )
            .replace("listen = []", "listen = [\"127.0.0.1:1812\"]");
        let found = load(dir.path(), &udp).unwrap_err();
        assert_eq!(
            found,
            ["client[0].tls_name: is for RadSec clients; add transport = \"radsec\" or remove it"]
        );
    }
}
