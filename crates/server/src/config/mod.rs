//! Configuration: the TOML file parsed (`raw`), then validated (`validate`) into `Config`.
//!
//! Every problem names the key it is about and what to do; all problems are reported at once,
//! so an administrator fixes a file in one pass.

mod raw;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use std::sync::Arc;

use crate::auth::Mode;
use crate::auth::otp::TotpParams;
use crate::authz::Authorization;
use crate::secret::SecretBytes;
use crate::store::{LockoutPolicy, PostgresUrl, SendLimits};

pub use validate::MAX_REJECT_DELAY_MS;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub otp: OtpPolicy,
    pub password: PasswordCost,
    pub clients: Vec<ClientConfig>,
    /// Out-of-band code delivery, when configured.
    pub delivery: Option<DeliveryConfig>,
    pub lockout: LockoutPolicy,
    /// The dictionary and the groups' reply attributes.
    pub authorization: Arc<Authorization>,
    /// Things that work but that an administrator should hear about (weak secrets, low cost).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    /// Wait before sending an Access-Reject, slowing down guessing.
    pub reject_delay: Duration,
    /// Threads verifying passwords; 0 in the file means one per core.
    pub workers: usize,
    /// Requests allowed to wait for a worker; 0 in the file means 64 per worker.
    pub max_pending: usize,
    /// Longest a request may wait for a worker before it is dropped unhashed.
    pub max_queue_wait: Duration,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// SQLite file, already resolved against the configuration file's folder; empty when
    /// `url` is set.
    pub path: PathBuf,
    /// Shared PostgreSQL database, instead of the SQLite file.
    pub url: Option<PostgresUrl>,
    /// Key that seals TOTP seeds and MACs codes; kept apart from the database. Every node
    /// sharing a PostgreSQL database needs the same one.
    pub key_file: PathBuf,
}

impl DatabaseConfig {
    /// The database for log lines and messages: the SQLite path, or the URL without password.
    pub fn location(&self) -> String {
        match &self.url {
            Some(url) => url.to_string(),
            None => self.path.display().to_string(),
        }
    }
}

/// Defaults for new enrollments, and the verification window.
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    pub issuer: String,
    pub defaults: TotpParams,
    /// Steps accepted either side of now.
    pub window: u8,
}

/// argon2id cost for new password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// One NAS (or a network of them) allowed to send requests.
#[derive(Debug, Clone)]
pub struct ClientConfig {
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
}

/// Where sent codes go, and the limits on sending them.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub method: DeliveryMethod,
    pub limits: SendLimits,
}

#[derive(Debug, Clone)]
pub enum DeliveryMethod {
    /// Program and arguments, run in `dir` (the configuration's folder).
    Command {
        argv: Vec<String>,
        dir: PathBuf,
        timeout: Duration,
    },
    Webhook {
        url: String,
        ca_file: Option<PathBuf>,
        timeout: Duration,
        retries: u32,
    },
}

/// One thing wrong in the file: the key (`client[1].secret`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the configuration file {path}: {source} (pass another file with --config PATH)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid configuration file:\n{message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Self::from_toml(&text, base).map_err(|e| e.with_path(path))?;
        if text
            .lines()
            .any(|l| l.trim_start().starts_with("secret ") || l.trim_start().starts_with("secret="))
        {
            config
                .warnings
                .extend(readable_by_others(path, "holds shared secrets"));
        }
        if config
            .database
            .url
            .as_ref()
            .is_some_and(PostgresUrl::has_password)
        {
            config
                .warnings
                .extend(readable_by_others(path, "holds the database password"));
        }
        Ok(config)
    }

    /// Parse and validate configuration text; relative paths resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("configuration"),
            message: parse_message(text, &e),
        })?;
        validate::validate(raw, base_dir).map_err(|problems| ConfigError::Invalid {
            path: PathBuf::from("configuration"),
            problems,
        })
    }
}

/// The parser's message with the key and position, but without the quoted source line: that
/// line may be `secret = "…"`, and a shared secret must not reach an error message.
fn parse_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            let offset = floor_char_boundary(text, span.start);
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let line_end = text[offset..].find('\n').map_or(text.len(), |n| offset + n);
            match key_at(&text[..line_end]) {
                Some(key) => format!("{key}: {message} (line {line}, column {column})"),
                None => format!("line {line}, column {column}: {message}"),
            }
        }
        None => message.to_owned(),
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The key defined on the last line of `upto`, as the validation messages name keys:
/// `server.listen`, `client[1].secret` (array tables counted from 0). Read from the lines only
/// (the last `key =` at the start of a line, under the last table header), so it also works when
/// the text does not parse. `None` when no key can be told.
fn key_at(upto: &str) -> Option<String> {
    let mut table: Option<String> = None;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut key: Option<String> = None;
    for line in upto.split('\n') {
        let line = line.trim_start();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split_once("]]")) {
            let name = name.0.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{index}]"));
            *index += 1;
            key = None;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
            table = Some(name.0.trim().to_owned());
            key = None;
        } else if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"');
            if !name.is_empty() && name.chars().all(bare) {
                key = Some(name.replace('"', ""));
            }
        }
    }
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}

/// A warning if `path` can be read by users other than its owner (a warning rather than an
/// error, so the example configuration of a fresh checkout still starts; check-config and the
/// server's log both say it).
pub(crate) fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "{} {what} and can be read by other users (mode {mode:o}); fix it with: chmod 600 {}",
                path.display(),
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, what);
        None
    }
}

impl ConfigError {
    fn with_path(self, file: &Path) -> Self {
        match self {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: file.to_owned(),
                message,
            },
            ConfigError::Invalid { problems, .. } => ConfigError::Invalid {
                path: file.to_owned(),
                problems,
            },
            read @ ConfigError::Read { .. } => read,
        }
    }
}
