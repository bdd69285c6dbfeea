//! `[upstream]` → `upstream::Settings`: the RADIUS servers that check upstream users'
//! passwords, in order, the shared secret (read from its file), and how long to wait.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use crate::upstream::{self, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    #[serde(default)]
    pub servers: Vec<String>,
    pub secret_file: Option<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_retries")]
    pub retries: u8,
    #[serde(default = "default_require_message_authenticator")]
    pub require_message_authenticator: bool,
}

fn default_timeout_ms() -> u64 {
    2000
}

fn default_retries() -> u8 {
    1
}

fn default_require_message_authenticator() -> bool {
    true
}

/// `[upstream]` checked; `None` with the problems recorded.
pub(super) fn settings(
    raw: &RawUpstream,
    base_dir: &Path,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<Settings> {
    let before = problems.len();
    if raw.servers.is_empty() {
        problems.add(
            "upstream.servers",
            "is required: [\"192.0.2.10:1812\", …], tried in order",
        );
    }
    if raw.servers.len() > upstream::MAX_SERVERS {
        problems.add(
            "upstream.servers",
            format!(
                "lists {} servers; at most {} (a login waits on each one that is down)",
                raw.servers.len(),
                upstream::MAX_SERVERS
            ),
        );
    }
    let mut servers = Vec::new();
    for (i, text) in raw.servers.iter().enumerate() {
        match server_address(text) {
            Ok(address) if servers.contains(&address) => problems.add(
                format!("upstream.servers[{i}]"),
                format!("{address} is listed twice"),
            ),
            Ok(address) => servers.push(address),
            Err(message) => problems.add(format!("upstream.servers[{i}]"), message),
        }
    }
    let secret = super::required_secret_file(
        raw.secret_file.as_deref(),
        "upstream.secret_file",
        "the upstream RADIUS servers' shared secret",
        base_dir,
        |_| Ok(()),
        problems,
        warnings,
    );
    if let Some(secret) = &secret
        && secret.len() < 16
    {
        warnings.push(format!(
            "upstream.secret_file: the secret is {} characters; use at least 16 random \
             characters (RADIUS hides passwords with it)",
            secret.len()
        ));
    }
    let timeout = Duration::from_millis(raw.timeout_ms);
    if !(upstream::MIN_TIMEOUT..=upstream::MAX_TIMEOUT).contains(&timeout) {
        problems.add(
            "upstream.timeout_ms",
            format!(
                "must be between {} and {}",
                upstream::MIN_TIMEOUT.as_millis(),
                upstream::MAX_TIMEOUT.as_millis()
            ),
        );
    }
    if raw.retries > upstream::MAX_RETRIES {
        problems.add(
            "upstream.retries",
            format!(
                "must be between 0 and {} (sends after the first, per server)",
                upstream::MAX_RETRIES
            ),
        );
    }
    if !raw.require_message_authenticator {
        warnings.push(
            "upstream.require_message_authenticator = false: replies without \
             Message-Authenticator are believed, which BlastRADIUS (CVE-2024-3596) can forge"
                .into(),
        );
    }
    if problems.len() > before {
        return None;
    }
    Some(Settings {
        servers,
        secret: secret?,
        timeout,
        retries: raw.retries,
        require_message_authenticator: raw.require_message_authenticator,
    })
}

/// `host:port` or `[v6]:port`; a name is resolved once, here.
fn server_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    if text
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(format!(
            "\"{text}\" is not host:port, e.g. \"192.0.2.10:1812\" or \"[2001:db8::10]:1812\""
        ));
    }
    let mut found = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve \"{text}\": {e}"))?;
    found
        .next()
        .ok_or_else(|| format!("\"{text}\" resolves to no address"))
}
