//! Persistent state behind one trait: users, their seeds and the last TOTP step each used.
//!
//! Every state change that guards security is a single conditional statement, so it holds
//! under concurrency and across restarts. SQLite (`sqlite`) is the embedded default; the trait
//! is what a shared PostgreSQL backend implements for several nodes.

mod sqlite;

use std::fmt;
use std::path::PathBuf;

use crate::auth::otp::TotpParams;
use crate::secret::SecretBytes;

pub use sqlite::SqliteStore;

/// A user's TOTP seed and its parameters.
#[derive(Clone, Debug)]
pub struct TotpSeed {
    pub secret: SecretBytes,
    pub params: TotpParams,
}

/// A user as stored.
#[derive(Clone)]
pub struct UserRecord {
    pub name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    pub totp: Option<TotpSeed>,
    /// The newest TOTP step already accepted; only newer steps may log in.
    pub last_step: Option<u64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

// The hash is not a secret in the way a seed is, but it has no business in a log line either.
impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("name", &self.name)
            .field("password_hash", &"[redacted]")
            .field("totp", &self.totp)
            .field("last_step", &self.last_step)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// What `user add` stores.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub password_hash: &'a str,
    pub totp: &'a TotpSeed,
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("user \"{0}\" already exists")]
    UserExists(String),
    #[error("the database holds an invalid record for user \"{user}\": {reason}")]
    Corrupt { user: String, reason: String },
    #[error("database error: {0}")]
    Database(String),
}

/// The storage every radotp node uses.
pub trait Store: Send + Sync {
    /// Look a user up by exact name.
    fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Create a user; `UserExists` if the name is taken.
    fn add_user(&self, user: &NewUser<'_>) -> Result<(), StoreError>;

    /// Record `step` as used and `now` as the last login, but only if `step` is newer than the
    /// last used step — one atomic statement. `false` means another request (or node) used this
    /// step or a later one first: a replay.
    fn consume_totp_step(&self, name: &str, step: u64, now: i64) -> Result<bool, StoreError>;

    /// Number of users (metrics, status).
    fn count_users(&self) -> Result<u64, StoreError>;
}
