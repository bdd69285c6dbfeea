//! `[[client]]` → `clients::Client`: the NAS table as written, secrets read from their files.

use std::collections::HashMap;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

use super::problems::Problems;
use crate::auth::{Mode, Unenrolled};
use crate::clients::{self, Client, ClientTransport, RECOMMENDED_SECRET_LEN};
use crate::secret::SecretBytes;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub name: Option<String>,
    pub address: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<String>,
    /// Unset = required (UDP); not used over RadSec.
    pub require_message_authenticator: Option<bool>,
    pub mode: Option<String>,
    /// Packets per second from this client; unset = 1000 (0 = no limit; loopback: none).
    pub rate_limit: Option<u32>,
    /// Drop Proxy-State without Message-Authenticator (BlastRADIUS), for clients that do not
    /// require it.
    pub limit_proxy_state: Option<bool>,
    /// Only members of these groups may log in through this client.
    pub allowed_groups: Option<Vec<String>>,
    /// `"reject"` or `"password-only"`: a directory user without a radotp token.
    pub unenrolled: Option<String>,
    /// `"udp"` (default) or `"radsec"`.
    pub transport: Option<String>,
    /// RadSec: the DNS name (or IP address) the NAS's certificate must carry.
    pub tls_name: Option<String>,
    /// EAP from this NAS; unset = served when `[eap]` exists.
    pub eap: Option<bool>,
}

// Hand-written so the shared secret never reaches a log line or an error.
impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("secret_file", &self.secret_file)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

pub(super) fn clients(
    raw: &[RawClient],
    base_dir: &Path,
    directory: bool,
    radsec: bool,
    eap: bool,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Vec<Client> {
    if raw.is_empty() {
        problems.add(
            "client",
            "no [[client]] is configured, so every request would be dropped; add one per NAS",
        );
    }
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut networks: HashMap<IpNet, usize> = HashMap::new();
    for (i, c) in raw.iter().enumerate() {
        let key = |field: &str| format!("client[{i}].{field}");
        let name = c
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            problems.add(key("name"), "is required (it names the NAS in logs)");
        } else if let Some(first) = names.insert(name.clone(), i) {
            problems.add(
                key("name"),
                format!("\"{name}\" is already used by client[{first}]"),
            );
        }
        let network = match c.address.as_deref() {
            None => {
                problems.add(
                    key("address"),
                    "is required: an IP address or a CIDR prefix",
                );
                None
            }
            Some(text) => match clients::parse_network(text) {
                Ok(net) => {
                    if let Some(first) = networks.insert(net, i) {
                        problems.add(
                            key("address"),
                            format!("{net} is the same prefix as client[{first}]; merge them or make one more specific"),
                        );
                    }
                    Some(net)
                }
                Err(message) => {
                    problems.add(key("address"), message);
                    None
                }
            },
        };
        let mode = match c.mode.as_deref() {
            None | Some("append") => Mode::Append,
            Some("challenge") => Mode::Challenge,
            Some(other) => {
                problems.add(
                    key("mode"),
                    format!("\"{other}\" is not a mode; use \"append\" or \"challenge\""),
                );
                Mode::Append
            }
        };
        let unenrolled = match c.unenrolled.as_deref() {
            None | Some("reject") => Unenrolled::Reject,
            Some("password-only") if !directory => {
                problems.add(
                    key("unenrolled"),
                    "\"password-only\" is for directory users, and there is no [directory] section",
                );
                Unenrolled::Reject
            }
            Some("password-only") => Unenrolled::PasswordOnly,
            Some(other) => {
                problems.add(
                    key("unenrolled"),
                    format!("\"{other}\" is not a choice; use \"reject\" or \"password-only\""),
                );
                Unenrolled::Reject
            }
        };
        if c.eap == Some(true) && !eap {
            problems.add(
                key("eap"),
                "needs an [eap] section (certificate, private_key): without it EAP is refused \
                 from every NAS",
            );
        }
        let transport = transport(c, radsec, &key, problems);
        let over_tls = transport != ClientTransport::Udp;
        let secret = match (over_tls, &c.secret, &c.secret_file) {
            // RFC 6614 §2.3: TLS protects the packets; the secret is a fixed word.
            (true, None, None) => Some(SecretBytes::from(crate::radsec::DEFAULT_SECRET)),
            _ => secret(c, base_dir, &key, problems, warnings),
        };
        if let Some(secret) = &secret
            && !over_tls
            && secret.len() < RECOMMENDED_SECRET_LEN
        {
            warnings.push(format!(
                "{}: the shared secret is {} bytes; use at least {RECOMMENDED_SECRET_LEN} random characters",
                key("secret"),
                secret.len()
            ));
        }
        if let (Some(network), Some(secret)) = (network, secret) {
            out.push(Client {
                name,
                network,
                secret,
                // Over TLS these BlastRADIUS flags are not used (draft-ietf-radext-
                // deprecating-radius: they MUST be ignored); a Message-Authenticator that is
                // present is still checked.
                require_message_authenticator: !over_tls
                    && c.require_message_authenticator.unwrap_or(true),
                mode,
                rate_limit: clients::rate_limit(c.rate_limit, &network),
                limit_proxy_state: !over_tls && c.limit_proxy_state.unwrap_or(true),
                allowed_groups: c.allowed_groups.clone(),
                unenrolled,
                transport,
                eap: eap && c.eap.unwrap_or(true),
            });
        }
    }
    out
}

fn transport(
    c: &RawClient,
    radsec: bool,
    key: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> ClientTransport {
    let transport = match c.transport.as_deref() {
        None | Some("udp") => ClientTransport::Udp,
        Some("radsec") => {
            if !radsec {
                problems.add(
                    key("transport"),
                    "\"radsec\" needs a [radsec] section (listen, certificate, private_key, client_ca)",
                );
            }
            ClientTransport::Radsec {
                tls_name: c.tls_name.clone(),
            }
        }
        Some(other) => {
            problems.add(
                key("transport"),
                format!("\"{other}\" is not a transport; use \"udp\" or \"radsec\""),
            );
            ClientTransport::Udp
        }
    };
    match (&transport, &c.tls_name) {
        (ClientTransport::Udp, Some(_)) => problems.add(
            key("tls_name"),
            "is for RadSec clients; add transport = \"radsec\" or remove it",
        ),
        (ClientTransport::Radsec { .. }, Some(name)) => {
            if let Err(message) = crate::radsec::check_tls_name(name) {
                problems.add(key("tls_name"), message);
            }
        }
        _ => {}
    }
    if matches!(transport, ClientTransport::Radsec { .. }) {
        for (set, field) in [
            (
                c.require_message_authenticator.is_some(),
                "require_message_authenticator",
            ),
            (c.limit_proxy_state.is_some(), "limit_proxy_state"),
        ] {
            if set {
                problems.add(
                    key(field),
                    "is not used over RadSec (TLS protects every packet; a Message-Authenticator \
                     that is present is still checked); remove it",
                );
            }
        }
    }
    transport
}

fn secret(
    c: &RawClient,
    base_dir: &Path,
    key: &dyn Fn(&str) -> String,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<SecretBytes> {
    let secret = match (&c.secret, &c.secret_file) {
        (Some(_), Some(_)) => {
            problems.add(key("secret"), "set either secret or secret_file, not both");
            return None;
        }
        (None, None) => {
            problems.add(key("secret"), "is required (or secret_file = \"path\")");
            return None;
        }
        (Some(s), None) => SecretBytes::from(s.as_bytes()),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            warnings.extend(super::readable_by_others(&path, "holds a shared secret"));
            match super::read_secret_file(&path) {
                Ok(secret) => secret,
                Err(message) => {
                    problems.add(key("secret_file"), message);
                    return None;
                }
            }
        }
    };
    if secret.is_empty() {
        let field = if c.secret.is_some() {
            "secret"
        } else {
            "secret_file"
        };
        problems.add(key(field), "the shared secret is empty");
        return None;
    }
    Some(secret)
}
