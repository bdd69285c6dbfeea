//! `[accounting]` → `accounting::Settings`: where Accounting-Requests are received, and how
//! many open sessions are kept.

use std::net::SocketAddr;

use serde::Deserialize;

use super::problems::Problems;
use crate::accounting::{DEFAULT_PORT, Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccounting {
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    #[serde(default = "default_max_sessions")]
    pub max_sessions: u64,
}

fn default_listen() -> Vec<String> {
    vec![format!("127.0.0.1:{DEFAULT_PORT}")]
}

fn default_max_sessions() -> u64 {
    100_000
}

pub(super) fn settings(
    raw: &RawAccounting,
    auth_listen: &[SocketAddr],
    problems: &mut Problems,
) -> Settings {
    let mut listen: Vec<SocketAddr> = Vec::new();
    for (i, text) in raw.listen.iter().enumerate() {
        let key = format!("accounting.listen[{i}]");
        match text.parse::<SocketAddr>() {
            Ok(addr) if listen.contains(&addr) => {
                problems.add(key, format!("{addr} is listed twice"))
            }
            Ok(addr) if addr.port() != 0 && auth_listen.contains(&addr) => problems.add(
                key,
                format!("{addr} is also in server.listen; accounting needs a port of its own (1813)"),
            ),
            Ok(addr) => listen.push(addr),
            Err(_) => problems.add(
                key,
                format!(
                    "\"{text}\" is not an ip:port address (examples: \"127.0.0.1:{DEFAULT_PORT}\", \"[::1]:{DEFAULT_PORT}\")"
                ),
            ),
        }
    }
    let settings = Settings {
        listen,
        max_sessions: raw.max_sessions,
    };
    let mut found = settings.check();
    if !raw.listen.is_empty() {
        found.retain(|invalid| invalid.field != "listen");
    }
    problems.extend("accounting", found);
    settings
}
