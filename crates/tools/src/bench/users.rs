//! Benchmark users: `{prefix}-0000000`, `{prefix}-0000001`, … with one shared password and a
//! TOTP seed each, derived as HMAC-SHA256(master seed, name) cut to 160 bits.
//!
//! The master seed, the password and the count are recorded in a file (mode 0600) next to the
//! database, `<database>.bench.json` — for PostgreSQL `postgres-HOST-PORT-DATABASE.bench.json`
//! in the key file's folder — so `radotp bench` can compute every user's current code
//! and `--remove-users` knows whom to delete. Creating them is quick on purpose: the password is
//! hashed once at the configured cost and the same PHC string goes into every row (each row
//! still differs by its seed), and rows go in with `add_users` in large transactions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::BenchError;
use radotp_server::auth::otp::{self, Algorithm, TotpParams};
use radotp_server::auth::password;
use radotp_server::auth::password::PasswordCost;
use radotp_server::secret::{SecretBytes, random_bytes};
use radotp_server::store::{
    DatabaseConfig, NewToken, NewUser, PasswordSource, Store, TokenSecret, TotpSeed,
};

/// Rows per `add_users` transaction: each commit is one fsync.
const BATCH: u64 = 20_000;
/// The `format` field of the file.
const FORMAT: &str = "radotp bench users v1";
/// Length of the derived seeds (RFC 4226 §4 recommends 160 bits).
const SEED_LEN: usize = 20;

/// The recorded benchmark users of one database.
#[derive(Clone, Debug)]
pub struct BenchUsers {
    prefix: String,
    count: u64,
    password: SecretBytes,
    master_seed: SecretBytes,
    params: TotpParams,
}

/// The file as written. The password and master seed are in clear: bench users are for test
/// databases, and the file is private to its owner.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    format: String,
    prefix: String,
    count: u64,
    password: String,
    master_seed: String,
    algorithm: String,
    digits: u8,
    period: u64,
}

impl BenchUsers {
    /// Where the users of `database` are recorded: beside an SQLite file, `<file>.bench.json`;
    /// for PostgreSQL, `postgres-HOST-PORT-DATABASE.bench.json` in the key file's folder (the
    /// other secret every node of that database shares).
    pub fn path_for(database: &DatabaseConfig) -> PathBuf {
        let mut name = match &database.url {
            Some(url) => {
                let folder = database.key_file.parent().unwrap_or(Path::new(""));
                folder.join(url.file_stem()).into_os_string()
            }
            None => database.path.as_os_str().to_owned(),
        };
        name.push(".bench.json");
        PathBuf::from(name)
    }

    /// The recorded users, or `None` when there is no file.
    pub fn load(path: &Path) -> Result<Option<Self>, BenchError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(BenchError::ReadUsers {
                    path: path.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let invalid = |reason: String| BenchError::InvalidUsers {
            path: path.to_owned(),
            reason,
        };
        let file: UsersFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if file.format != FORMAT {
            return Err(invalid(format!("format {:?}, not {FORMAT:?}", file.format)));
        }
        validate_prefix(&file.prefix).map_err(|e| invalid(e.to_string()))?;
        let master_seed = decode_hex(&file.master_seed)
            .filter(|s| s.len() >= SEED_LEN)
            .ok_or_else(|| invalid("master_seed is not 40 or more hex digits".into()))?;
        let params = TotpParams {
            algorithm: file.algorithm.parse::<Algorithm>().map_err(invalid)?,
            digits: file.digits,
            period: file.period,
        };
        if !matches!(params.digits, 6 | 8) || !matches!(params.period, 30 | 60) {
            return Err(invalid("digits must be 6 or 8 and period 30 or 60".into()));
        }
        Ok(Some(BenchUsers {
            prefix: file.prefix,
            count: file.count,
            password: SecretBytes::from(file.password.as_bytes()),
            master_seed: SecretBytes::new(master_seed),
            params,
        }))
    }

    /// Write the file (mode 0600) through a temporary file, so a crash leaves the old one.
    fn save(&self, path: &Path) -> Result<(), BenchError> {
        let failed = |e: std::io::Error| BenchError::WriteUsers {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let file = UsersFile {
            format: FORMAT.into(),
            prefix: self.prefix.clone(),
            count: self.count,
            password: String::from_utf8_lossy(self.password.expose()).into_owned(),
            master_seed: encode_hex(self.master_seed.expose()),
            algorithm: self.params.algorithm.as_str().into(),
            digits: self.params.digits,
            period: self.params.period,
        };
        let text = serde_json::to_string_pretty(&file).expect("the file serializes") + "\n";
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&tmp).map_err(failed)?;
        out.write_all(text.as_bytes()).map_err(failed)?;
        out.sync_all().map_err(failed)?;
        std::fs::rename(&tmp, path).map_err(failed)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many users exist: indexes `0..count`.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn params(&self) -> TotpParams {
        self.params
    }

    pub fn password(&self) -> &SecretBytes {
        &self.password
    }

    /// The name of user `index`.
    pub fn name(&self, index: u64) -> String {
        format!("{}-{index:07}", self.prefix)
    }

    /// The TOTP seed of the user called `name`.
    pub fn seed(&self, name: &str) -> SecretBytes {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.master_seed.expose())
            .expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        SecretBytes::new(mac.finalize().into_bytes()[..SEED_LEN].to_vec())
    }

    /// The code of user `index` for the step containing `unix_time`.
    pub fn code(&self, index: u64, unix_time: u64) -> String {
        otp::code_at(&self.seed(&self.name(index)), self.params, unix_time)
    }
}

/// A prefix that makes names NASes can send and `radotp user` accepts.
pub fn validate_prefix(prefix: &str) -> Result<(), BenchError> {
    let reason = if prefix.is_empty() {
        "it is empty"
    } else if prefix.len() > 64 {
        "it is longer than 64 octets"
    } else if !prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        "use letters, digits, '-', '_' and '.' only"
    } else {
        return Ok(());
    };
    Err(BenchError::BadPrefix {
        prefix: prefix.to_owned(),
        reason: reason.to_owned(),
    })
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("count", &self.count)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What `--setup-users` asks for.
pub struct Setup {
    /// How many bench users should exist afterwards.
    pub count: u64,
    pub prefix: String,
    /// `None`: reuse the recorded password, or make a random one.
    pub password: Option<SecretBytes>,
    /// TOTP parameters of new bench users (the `[otp]` defaults).
    pub params: TotpParams,
    /// argon2 cost of the one hash (the `[password]` cost).
    pub cost: PasswordCost,
    pub now: i64,
    /// Where their password is checked: with `Directory`, radotp stores no hash (the
    /// directory must hold the users, with the recorded password).
    pub source: PasswordSource,
    /// Tokens of each new user: the bench's TOTP token comes last, after `tokens - 1` HOTP
    /// fobs that never log in, so each login checks them all first.
    pub tokens: u32,
}

/// HOTP fobs of a bench user that are never used: only checked, as a user's other tokens are.
fn decoys(users: &BenchUsers, name: &str, count: u32) -> Vec<NewToken> {
    (1..count)
        .map(|i| NewToken {
            label: format!("decoy {i}"),
            serial: None,
            secret: TokenSecret::Hotp {
                secret: users.seed(&format!("{name}/decoy-{i}")),
                digits: users.params.digits,
            },
            last_used: None,
        })
        .collect()
}

/// What `--setup-users` did.
#[derive(Debug)]
pub struct SetupReport {
    pub created: u64,
    pub total: u64,
    pub prefix: String,
    pub file: PathBuf,
    pub elapsed: Duration,
}

/// Make sure `setup.count` bench users exist, adding the missing ones after those already
/// recorded in `file`. `progress(done, todo)` is called after each batch.
pub fn setup(
    store: &dyn Store,
    file: &Path,
    setup: Setup,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SetupReport, BenchError> {
    let started = Instant::now();
    validate_prefix(&setup.prefix)?;
    let mut users = match BenchUsers::load(file)? {
        Some(users) => {
            if users.prefix != setup.prefix {
                return Err(BenchError::OtherPrefix {
                    existing: users.prefix,
                });
            }
            if setup
                .password
                .as_ref()
                .is_some_and(|p| *p != users.password)
            {
                return Err(BenchError::OtherPassword);
            }
            users
        }
        None => BenchUsers {
            prefix: setup.prefix.clone(),
            count: 0,
            password: setup.password.unwrap_or_else(random_password),
            master_seed: SecretBytes::new(random_bytes::<32>().to_vec()),
            params: setup.params,
        },
    };
    let first = users.count;
    // Recorded before any row exists, so a failure part-way leaves nothing unaccounted for.
    users.save(file)?;
    if setup.count > first {
        let hash = match setup.source {
            PasswordSource::Local => password::hash(setup.cost, users.password.expose())?,
            PasswordSource::Directory | PasswordSource::Upstream => String::new(),
        };
        let todo = setup.count - first;
        let mut start = first;
        while start < setup.count {
            let end = (start + BATCH).min(setup.count);
            let names: Vec<String> = (start..end).map(|i| users.name(i)).collect();
            let seeds: Vec<NewToken> = names
                .iter()
                .map(|name| {
                    NewToken::app(TotpSeed {
                        secret: users.seed(name),
                        params: users.params,
                    })
                })
                .collect();
            let rows: Vec<NewUser> = names
                .iter()
                .zip(&seeds)
                .map(|(name, seed)| NewUser {
                    name,
                    password_hash: &hash,
                    password_source: setup.source,
                    token: (setup.tokens <= 1).then_some(seed),
                    now: setup.now,
                })
                .collect();
            store.add_users(&rows)?;
            if setup.tokens > 1 {
                let tokens: Vec<(&str, NewToken)> = names
                    .iter()
                    .zip(&seeds)
                    .flat_map(|(name, seed)| {
                        decoys(&users, name, setup.tokens)
                            .into_iter()
                            .chain([seed.clone()])
                            .map(move |t| (name.as_str(), t))
                    })
                    .collect();
                store.add_tokens(&tokens, setup.now)?;
            }
            users.count = end;
            users.save(file)?;
            progress(end - first, todo);
            start = end;
        }
    }
    Ok(SetupReport {
        created: users.count - first,
        total: users.count,
        prefix: users.prefix,
        file: file.to_owned(),
        elapsed: started.elapsed(),
    })
}

/// What `--remove-users` did.
#[derive(Debug)]
pub struct RemoveReport {
    pub removed: u64,
    /// Recorded users that were already gone.
    pub missing: u64,
    pub elapsed: Duration,
}

/// Users deleted per transaction by `--remove-users`.
const REMOVE_BATCH: u64 = 10_000;

/// Delete every recorded bench user, newest first and in batches of `REMOVE_BATCH`, one
/// transaction each (the file shrinks after each, so an interrupted removal can be resumed),
/// then the file.
pub fn remove(
    store: &dyn Store,
    file: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RemoveReport, BenchError> {
    let started = Instant::now();
    let mut users = BenchUsers::load(file)?.ok_or_else(|| BenchError::NoUsers {
        path: file.to_owned(),
    })?;
    let total = users.count;
    let (mut removed, mut missing) = (0, 0);
    while users.count > 0 {
        let first = users.count.saturating_sub(REMOVE_BATCH);
        let names: Vec<String> = (first..users.count).rev().map(|i| users.name(i)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let gone = store.remove_users(&names)?;
        removed += gone;
        missing += names.len() as u64 - gone;
        users.count = first;
        if first > 0 {
            users.save(file)?;
        }
        progress(total - first, total);
    }
    std::fs::remove_file(file).map_err(|e| BenchError::WriteUsers {
        path: file.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(RemoveReport {
        removed,
        missing,
        elapsed: started.elapsed(),
    })
}

/// 20 random letters and digits: easy to pass to other clients (radclient) by hand.
fn random_password() -> SecretBytes {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<20>();
    // 256 % 57 leaves a slight bias; irrelevant for a benchmark password.
    SecretBytes::new(
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
            .collect(),
    )
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
