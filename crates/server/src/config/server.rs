//! `[server]` and `[metrics]` → `server::Settings` (whose bounds are the server's).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use crate::server::Settings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    #[serde(default = "default_reject_delay_ms")]
    pub reject_delay_ms: u64,
    #[serde(default)]
    pub workers: usize,
    /// Requests allowed to wait for a worker; 0 = 64 per worker.
    #[serde(default)]
    pub max_pending: usize,
    /// Extra dictionary file (FreeRADIUS format) on top of the built-in one.
    pub dictionary: Option<String>,
    #[serde(default = "default_max_queue_wait_ms")]
    pub max_queue_wait_ms: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            reject_delay_ms: default_reject_delay_ms(),
            workers: 0,
            max_pending: 0,
            dictionary: None,
            max_queue_wait_ms: default_max_queue_wait_ms(),
        }
    }
}

fn default_listen() -> Vec<String> {
    vec!["127.0.0.1:1812".to_owned()]
}

fn default_reject_delay_ms() -> u64 {
    1000
}

fn default_max_queue_wait_ms() -> u64 {
    2000
}

/// The Prometheus endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub listen: String,
}

pub(super) fn settings(
    raw: &RawServer,
    metrics: Option<&RawMetrics>,
    problems: &mut Problems,
) -> Settings {
    let mut listen: Vec<SocketAddr> = Vec::new();
    for (i, text) in raw.listen.iter().enumerate() {
        match text.parse::<SocketAddr>() {
            Ok(addr) if listen.contains(&addr) => {
                problems.add(format!("server.listen[{i}]"), format!("{addr} is listed twice"))
            }
            Ok(addr) => listen.push(addr),
            Err(_) => problems.add(
                format!("server.listen[{i}]"),
                format!(
                    "\"{text}\" is not an ip:port address (examples: \"0.0.0.0:1812\", \"[::1]:1812\")"
                ),
            ),
        }
    }
    let metrics_listen = metrics.and_then(|m| match m.listen.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.add(
                "metrics.listen",
                format!(
                    "\"{}\" is not an ip:port address, e.g. \"127.0.0.1:9812\"",
                    m.listen
                ),
            );
            None
        }
    });
    let settings = Settings {
        listen,
        reject_delay: Duration::from_millis(raw.reject_delay_ms),
        workers: raw.workers,
        max_pending: raw.max_pending,
        max_queue_wait: Duration::from_millis(raw.max_queue_wait_ms),
        metrics_listen,
    };
    problems.extend("server", settings.check());
    settings
}
