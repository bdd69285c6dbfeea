//! Configuration: the TOML file parsed once, section by section, into the types of the modules
//! that use them, each checked against that module's own bounds.
//!
//! Every problem names the key it is about and what to do; all problems are reported at once,
//! so an administrator fixes a file in one pass.
//!
//! - `raw`: the top level as written; each section module (`server`, `database`, `otp`,
//!   `password`, `clients`, `delivery`, `lockout`, `groups`, `directory`, `upstream`,
//!   `radsec`, `accounting`, `web`, `eap`) has its
//!   keys and defaults, and
//!   turns them into its owner's type.
//! - `validate`: the sections → `Config`; `problems`: the list of problems; `parse_error`: a
//!   TOML syntax error named by key, never quoting the line (it may hold a secret).

mod accounting;
mod clients;
mod database;
mod delivery;
mod directory;
mod eap;
mod groups;
mod lockout;
mod otp;
mod parse_error;
mod password;
mod problems;
mod radsec;
mod raw;
mod server;
#[cfg(test)]
mod tests;
mod upstream;
mod validate;
mod web;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::otp::OtpPolicy;
use crate::auth::password::PasswordCost;
use crate::authz::Authorization;
use crate::clients::Client;
use crate::store::{DatabaseConfig, LockoutPolicy, PasswordSource, PostgresUrl};

/// A validated configuration: each part in the type of the module that uses it.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: crate::server::Settings,
    pub database: DatabaseConfig,
    pub otp: OtpPolicy,
    pub password: PasswordCost,
    /// Where new users' passwords are checked (`[password] source`).
    pub password_source: PasswordSource,
    /// The LDAP directory that checks directory users' passwords, when configured.
    pub directory: Option<crate::directory::Settings>,
    /// The RADIUS servers that check upstream users' passwords, when configured.
    pub upstream: Option<crate::upstream::Settings>,
    pub clients: Vec<Client>,
    /// RADIUS over TLS, when configured.
    pub radsec: Option<crate::radsec::Settings>,
    /// RADIUS accounting, when configured.
    pub accounting: Option<crate::accounting::Settings>,
    /// The enrollment page and the admin API, when configured.
    pub web: Option<crate::web::Settings>,
    /// EAP (TTLS, PEAP) for Wi-Fi, when configured.
    pub eap: Option<crate::eap::Settings>,
    /// Out-of-band code delivery, when configured.
    pub delivery: Option<crate::delivery::Settings>,
    pub lockout: LockoutPolicy,
    /// The dictionary and the groups' reply attributes.
    pub authorization: Arc<Authorization>,
    /// Things that work but that an administrator should hear about (weak secrets, low cost).
    pub warnings: Vec<String>,
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
            message: parse_error::message(text, &e),
        })?;
        validate::validate(raw, base_dir).map_err(|problems| ConfigError::Invalid {
            path: PathBuf::from("configuration"),
            problems,
        })
    }
}

/// A warning if `path` can be read by everyone, or written by its group (a warning rather than an
/// error, so the example configuration of a fresh checkout still starts; check-config and the
/// server's log both say it).
pub(crate) fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        // Readable by its group is the packaged layout (0640 root:radotp: the service's own
        // group); readable by everyone, or writable by the group, is not.
        (mode & 0o027 != 0).then(|| {
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

/// The secret a file holds: its bytes less the trailing newline editors add (it is not part of
/// the secret). The error names the file, never its content.
pub(crate) fn read_secret_file(path: &Path) -> Result<crate::secret::SecretBytes, String> {
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    Ok(crate::secret::SecretBytes::new(bytes))
}

/// A required secret in a file named by `key`, relative to `base_dir`: read (warned if others
/// can read it, `what` saying what it holds), refused if missing or empty; `check` may refuse
/// its content. Every problem is named by `key`, never quoting the secret.
fn required_secret_file(
    file: Option<&str>,
    key: &str,
    what: &str,
    base_dir: &Path,
    check: impl Fn(&crate::secret::SecretBytes) -> Result<(), String>,
    problems: &mut problems::Problems,
    warnings: &mut Vec<String>,
) -> Option<crate::secret::SecretBytes> {
    let Some(file) = file else {
        problems.add(
            key,
            format!("is required: a file (mode 600) holding {what}"),
        );
        return None;
    };
    let path = base_dir.join(file);
    warnings.extend(readable_by_others(&path, &format!("holds {what}")));
    let secret = read_secret_file(&path)
        .and_then(|secret| match secret.is_empty() {
            true => Err("the file is empty".into()),
            false => Ok(secret),
        })
        .and_then(|secret| check(&secret).map(|()| secret));
    secret.map_err(|message| problems.add(key, message)).ok()
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
