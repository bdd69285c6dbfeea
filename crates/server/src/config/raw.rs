//! The configuration file exactly as written: serde structs with named defaults.
//!
//! Nothing here is trusted; `validate` turns it into a `Config` or a list of problems.

use serde::Deserialize;

use crate::dictionary::AttributeValue;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    pub database: Option<RawDatabase>,
    #[serde(default)]
    pub otp: RawOtp,
    #[serde(default)]
    pub password: RawPassword,
    #[serde(default, rename = "client")]
    pub clients: Vec<RawClient>,
    pub delivery: Option<RawDelivery>,
    #[serde(default)]
    pub lockout: RawLockout,
    #[serde(default, rename = "group")]
    pub groups: Vec<RawGroup>,
    pub metrics: Option<RawMetrics>,
}

/// The Prometheus endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub listen: String,
}

/// A group and the reply attributes its members get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub name: String,
    #[serde(default)]
    pub reply: std::collections::BTreeMap<String, RawValues>,
}

/// One value or several, as TOML writes them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawValues {
    One(AttributeValue),
    Many(Vec<AttributeValue>),
}

/// Per-user throttling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLockout {
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    #[serde(default = "default_lock_base_secs")]
    pub base_secs: i64,
    #[serde(default = "default_lock_max_secs")]
    pub max_secs: i64,
}

impl Default for RawLockout {
    fn default() -> Self {
        Self {
            max_failures: default_max_failures(),
            base_secs: default_lock_base_secs(),
            max_secs: default_lock_max_secs(),
        }
    }
}

fn default_max_failures() -> u32 {
    5
}

fn default_lock_base_secs() -> i64 {
    60
}

fn default_lock_max_secs() -> i64 {
    3600
}

/// How codes are sent out of band; one of `command` and `webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub command: Option<Vec<String>>,
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
    pub webhook: Option<String>,
    pub webhook_ca_file: Option<String>,
    #[serde(default = "default_webhook_timeout_ms")]
    pub webhook_timeout_ms: u64,
    #[serde(default = "default_webhook_retries")]
    pub webhook_retries: u32,
    #[serde(default = "default_code_ttl_secs")]
    pub code_ttl_secs: i64,
    #[serde(default = "default_resend_cooldown_secs")]
    pub resend_cooldown_secs: i64,
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
}

fn default_command_timeout_ms() -> u64 {
    10_000
}

fn default_webhook_timeout_ms() -> u64 {
    5_000
}

fn default_webhook_retries() -> u32 {
    2
}

fn default_code_ttl_secs() -> i64 {
    300
}

fn default_resend_cooldown_secs() -> i64 {
    60
}

fn default_max_per_hour() -> u32 {
    5
}

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

fn default_max_queue_wait_ms() -> u64 {
    2000
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    /// SQLite file (one node).
    pub path: Option<String>,
    /// PostgreSQL URL (several nodes sharing one database); instead of `path`.
    pub url: Option<String>,
    pub key_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOtp {
    #[serde(default = "default_issuer")]
    pub issuer: String,
    #[serde(default = "default_digits")]
    pub digits: u32,
    #[serde(default = "default_period")]
    pub period: u64,
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    #[serde(default = "default_window")]
    pub window: u32,
}

impl Default for RawOtp {
    fn default() -> Self {
        Self {
            issuer: default_issuer(),
            digits: default_digits(),
            period: default_period(),
            algorithm: default_algorithm(),
            window: default_window(),
        }
    }
}

fn default_issuer() -> String {
    "radotp".to_owned()
}

fn default_digits() -> u32 {
    6
}

fn default_period() -> u64 {
    30
}

fn default_algorithm() -> String {
    "SHA1".to_owned()
}

fn default_window() -> u32 {
    1
}

/// argon2id cost for new hashes; the defaults are OWASP's recommendation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPassword {
    #[serde(default = "default_memory_kib")]
    pub memory_kib: u32,
    #[serde(default = "default_iterations")]
    pub iterations: u32,
    #[serde(default = "default_parallelism")]
    pub parallelism: u32,
}

impl Default for RawPassword {
    fn default() -> Self {
        Self {
            memory_kib: default_memory_kib(),
            iterations: default_iterations(),
            parallelism: default_parallelism(),
        }
    }
}

pub(super) fn default_memory_kib() -> u32 {
    19456
}

pub(super) fn default_iterations() -> u32 {
    2
}

fn default_parallelism() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub name: Option<String>,
    pub address: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<String>,
    #[serde(default = "default_require_message_authenticator")]
    pub require_message_authenticator: bool,
    pub mode: Option<String>,
    /// Packets per second from this client; unset = 1000 (0 = no limit; loopback: none).
    pub rate_limit: Option<u32>,
    /// Drop Proxy-State without Message-Authenticator (BlastRADIUS), for clients that do not
    /// require it.
    #[serde(default = "default_limit_proxy_state")]
    pub limit_proxy_state: bool,
    /// Only members of these groups may log in through this client.
    pub allowed_groups: Option<Vec<String>>,
}

fn default_limit_proxy_state() -> bool {
    true
}

// Hand-written so the shared secret never reaches a log line or an error.
impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("secret_file", &self.secret_file)
            .finish_non_exhaustive()
    }
}

fn default_require_message_authenticator() -> bool {
    true
}
