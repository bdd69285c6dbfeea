//! Persistent state behind one trait: users, their tokens and the last code each token used,
//! enrollment invitations, administrators' API tokens, and EAP's shared ticket keys and
//! resumable sessions.
//!
//! Every state change that guards security is a single conditional statement, so it holds
//! under concurrency and across restarts. SQLite (`sqlite`) is the embedded default;
//! PostgreSQL (`postgres`) is shared by several nodes. Both read a user through one mapping
//! (`row`), and one test suite (`suite`) runs against both.

pub mod check;
mod eap;
mod invitation;
pub mod keys;
pub mod postgres;
mod row;
mod sqlite;
#[cfg(test)]
mod suite;
pub mod token;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::otp::{Algorithm, TotpParams};
use crate::invalid::Invalid;
use crate::secret::SecretBytes;

pub use eap::{EapSession, TicketKey};
pub use invitation::{ApiToken, INVITATION_MAX_FAILURES, Invitation};
pub use keys::{KeyError, Keys, MacPurpose};
pub use postgres::{PostgresStore, PostgresUrl};
pub use sqlite::SqliteStore;
pub use token::{HOTP_DIGITS, NewToken, Token, TokenKind, TokenSecret};

/// A user's TOTP seed and its parameters.
#[derive(Clone, Debug)]
pub struct TotpSeed {
    pub secret: SecretBytes,
    pub params: TotpParams,
}

/// Where codes sent out of band go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub channel: Channel,
    /// Phone number or e-mail address.
    pub destination: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a user's password is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordSource {
    /// The argon2id hash radotp stores.
    #[default]
    Local,
    /// A bind to the LDAP directory (`[directory]`); radotp stores no password.
    Directory,
    /// An Access-Request to an existing RADIUS server (`[upstream]`); radotp stores no
    /// password.
    Upstream,
}

impl PasswordSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordSource::Local => "local",
            PasswordSource::Directory => "directory",
            PasswordSource::Upstream => "upstream",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "local" => Some(PasswordSource::Local),
            "directory" => Some(PasswordSource::Directory),
            "upstream" => Some(PasswordSource::Upstream),
            _ => None,
        }
    }
}

/// Limits on sending codes out of band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    /// Seconds a sent code stays valid.
    pub ttl: i64,
    /// Seconds between two sends to one user.
    pub cooldown: i64,
    /// Sends per user per hour.
    pub per_hour: u32,
}

impl SendLimits {
    /// What the statements that issue and accept codes are meant for.
    pub fn check(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if !(30..=3600).contains(&self.ttl) {
            problems.push(Invalid::new(
                "code_ttl_secs",
                "must be between 30 and 3600 seconds",
            ));
        }
        if !(0..=3600).contains(&self.cooldown) {
            problems.push(Invalid::new(
                "resend_cooldown_secs",
                "must be between 0 and 3600 seconds",
            ));
        }
        if !(1..=100).contains(&self.per_hour) {
            problems.push(Invalid::new("max_per_hour", "must be between 1 and 100"));
        }
        problems
    }
}

/// What happened when a code was to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Stored; send it now.
    Issued,
    /// Another code was sent less than `cooldown` seconds ago.
    Cooldown,
    /// `per_hour` codes were sent within the last hour.
    HourlyLimit,
}

impl IssueOutcome {
    /// Why a code was not issued, from when the user's last code was sent (`MAX(created_at)`).
    pub(crate) fn refused(last_sent: Option<i64>, now: i64, limits: SendLimits) -> Self {
        match last_sent {
            Some(at) if at > now - limits.cooldown => IssueOutcome::Cooldown,
            _ => IssueOutcome::HourlyLimit,
        }
    }
}

/// How guesses are limited (SECURITY.md, "Lockout"):
///
/// - A wrong **code** after a right password — someone holds the password — counts towards the
///   account's lock: every `max_failures`-th in a row locks the user for `base_secs`, doubling
///   with each further lock, at most `max_secs`.
/// - A wrong **password** never locks anyone: it is throttled. Each gate lets `max_failures`
///   be judged, then one more after `base_secs`, doubling up to `max_secs`. A station (the
///   NAS's Calling-Station-Id) where the user logged in within `trusted_station_days` has a gate
///   of its own; every other station shares the user's, so a stranger who knows only the name
///   can delay logins from new stations, never from the user's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub base_secs: i64,
    pub max_secs: i64,
    pub trusted_station_days: u32,
}

/// A gate that admitted nothing for this long forgets its count.
pub const THROTTLE_MEMORY_SECS: i64 = 86_400;

/// Which count a wrong password is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The station's own: the user logged in there within `trusted_station_days`.
    Station,
    /// The user's, shared by every other station.
    User,
}

/// Whether a password may be judged now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Yes, and the guess is already counted at `gate` (refunded if the password is right).
    Granted(Gate),
    /// Not before this time: `gate` is full.
    Throttled { gate: Gate, until: i64 },
}

impl LockoutPolicy {
    /// The wait before the next judged password, once `excess` guesses beyond `max_failures`
    /// were judged at a gate (the statements of `claim_guess` compute the same).
    pub fn delay(&self, excess: i64) -> i64 {
        let doublings = excess.clamp(0, 20);
        (self.base_secs << doublings).min(self.max_secs)
    }

    /// A gate's count of wrong passwords as the next claim at `now` sees it (forgotten after
    /// `THROTTLE_MEMORY_SECS` quiet), and until when that claim would be refused, if it would.
    pub fn standing(&self, guesses: u32, guessed_at: Option<i64>, now: i64) -> (u32, Option<i64>) {
        let Some(at) = guessed_at.filter(|&at| at > now - THROTTLE_MEMORY_SECS) else {
            return (0, None);
        };
        if guesses < self.max_failures {
            return (guesses, None);
        }
        let until = at + self.delay(i64::from(guesses - self.max_failures));
        (guesses, (now < until).then_some(until))
    }

    /// Seconds a login keeps a station trusted.
    pub fn trust_secs(&self) -> i64 {
        i64::from(self.trusted_station_days) * 86_400
    }
    /// Bounds that keep the lock arithmetic of `record_failure` meaningful.
    pub fn check(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if !(1..=100).contains(&self.max_failures) {
            problems.push(Invalid::new("max_failures", "must be between 1 and 100"));
        }
        if !(1..=86_400).contains(&self.base_secs) {
            problems.push(Invalid::new(
                "base_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        if self.max_secs < self.base_secs || self.max_secs > 7 * 86_400 {
            problems.push(Invalid::new(
                "max_secs",
                "must be at least lockout.base_secs and at most 604800 (a week)",
            ));
        }
        if self.trusted_station_days > 3650 {
            problems.push(Invalid::new(
                "trusted_station_days",
                "must be between 0 (no station trusted) and 3650",
            ));
        }
        problems
    }
}

/// What the store knows of a recovery code typed at login.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryCodeState {
    /// Not one of the user's recovery codes.
    #[default]
    NotFound,
    Unused,
    /// One of the user's, already used.
    Used,
}

impl RecoveryCodeState {
    /// From `used_at IS NOT NULL` of the code's row, if it has one.
    pub(crate) fn from_used(used: Option<bool>) -> Self {
        match used {
            None => RecoveryCodeState::NotFound,
            Some(false) => RecoveryCodeState::Unused,
            Some(true) => RecoveryCodeState::Used,
        }
    }
}

/// What the health probe writes each time, beside the time: more than a login's writes.
pub const PROBE_BYTES: usize = 16 * 1024;

/// Wrong guesses a sent code survives; then it is dead.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Sent codes are kept this long after expiry, because they still count towards the hourly
/// limit; then `issue_code` deletes them.
pub(crate) const KEEP_EXPIRED_SECS: i64 = 3600;

/// A user as stored.
#[derive(Clone)]
pub struct UserRecord {
    pub name: String,
    /// Where the password is checked.
    pub password_source: PasswordSource,
    /// argon2 PHC string; empty when the password is not radotp's to check.
    pub password_hash: String,
    /// A temporary password stops working at this time (unix seconds).
    pub password_expires_at: Option<i64>,
    /// The user's tokens, by id.
    pub tokens: Vec<Token>,
    /// Consecutive wrong codes after a right password, the locks they caused, and the current
    /// lock.
    pub failures: u32,
    pub locks: u32,
    pub locked_until: Option<i64>,
    /// Wrong passwords counted at the user's gate (stations not trusted), and when the last was.
    pub guesses: u32,
    pub guessed_at: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    /// Where out-of-band codes go, if anywhere.
    pub delivery: Option<Delivery>,
    /// Groups the user belongs to (their reply attributes go on every Accept).
    pub groups: Vec<String>,
    /// Per-user reply attributes, `Name=value` as the administrator wrote them; they override
    /// the groups' values of the same attribute.
    pub reply: Vec<String>,
}

impl UserRecord {
    /// A user as `user add` leaves one: enabled, never logged in, no lock, no recovery codes,
    /// no delivery address, no groups; a local password of `password_hash`.
    pub fn new(name: &str, password_hash: &str, tokens: Vec<Token>) -> Self {
        UserRecord {
            name: name.to_owned(),
            password_source: PasswordSource::Local,
            password_hash: password_hash.to_owned(),
            password_expires_at: None,
            tokens,
            failures: 0,
            locks: 0,
            locked_until: None,
            guesses: 0,
            guessed_at: None,
            disabled: false,
            created_at: 0,
            last_login_at: None,
            recovery_codes_left: 0,
            delivery: None,
            groups: Vec::new(),
            reply: Vec::new(),
        }
    }

    /// The tokens that may log in.
    pub fn active_tokens(&self) -> impl Iterator<Item = &Token> {
        self.tokens.iter().filter(|t| !t.disabled)
    }

    pub fn has_active_token(&self) -> bool {
        self.active_tokens().next().is_some()
    }

    pub fn token(&self, id: u32) -> Option<&Token> {
        self.tokens.iter().find(|t| t.id == id)
    }

    /// How many digits a code sent to the user has: those of their first active token with
    /// numeric codes, else 6.
    pub fn code_digits(&self) -> u8 {
        self.active_tokens()
            .find_map(|t| t.secret.digits())
            .unwrap_or(6)
    }
}

// The hash is not a secret in the way a seed is, but it has no business in a log line either.
impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("name", &self.name)
            .field("password_hash", &"[redacted]")
            .field("tokens", &self.tokens)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewUser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An open accounting session (RFC 2866): a NAS said Start or Interim-Update, and no Stop
/// yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The client (NAS) name, as configured.
    pub nas: String,
    /// Acct-Session-Id.
    pub session_id: String,
    pub user: String,
    /// Framed-IP-Address (or Framed-IPv6-Prefix), when the NAS sent one.
    pub address: Option<String>,
    /// When the session started (unix seconds): the first record, less its Acct-Session-Time.
    pub since: i64,
    /// The last record about it.
    pub updated: i64,
}

/// What an Accounting-Request does to the open sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionChange<'a> {
    /// Start or Interim-Update: the session is open (kept, or added; the least recently
    /// updated ones go when there are more than the bound).
    Open(&'a Session),
    /// Stop.
    Close { nas: &'a str, session_id: &'a str },
    /// Accounting-On or Accounting-Off: the NAS restarted; none of its sessions is open.
    ClearNas { nas: &'a str },
}

/// A challenge taken: whose it is, the groups its password granted, and, when it relays an
/// upstream RADIUS server's question, what the answer needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub owner: String,
    pub groups: Vec<String>,
    pub relay: Option<Relay>,
}

/// How the code of a login was proven (and used) before the upstream server asked its own
/// question: the Accept then waits only on the upstream's last answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Proven {
    /// Written before several tokens (`{"by":"totp","drift":…}`) it was token 1, TOTP: a
    /// challenge open across the upgrade is still answered.
    #[serde(alias = "totp")]
    Token {
        #[serde(default = "first_token")]
        id: u32,
        #[serde(default = "totp_kind")]
        kind: TokenKind,
        drift: i64,
    },
    SentCode,
    RecoveryCode,
}

fn first_token() -> u32 {
    1
}

fn totp_kind() -> TokenKind {
    TokenKind::Totp
}

/// An upstream RADIUS server's Access-Challenge, relayed to the NAS: the answer goes back to
/// the same server with its State.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Relay {
    /// Which of `[upstream] servers` asked (its index).
    pub server: u8,
    /// The upstream's State (empty when it sent none).
    pub state: Vec<u8>,
    /// The code the first request carried, already used; `None`: no valid code came with it.
    pub proven: Option<Proven>,
    /// The gate the password's guess was counted at: a login resets it.
    pub gate: Option<Gate>,
}

impl Relay {
    /// The `relay` column (JSON).
    pub(crate) fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Database(e.to_string()))
    }
}

impl Challenge {
    /// A row's groups column (a JSON list) and relay column (JSON, or NULL) → the challenge.
    pub(crate) fn read(
        owner: String,
        groups: &str,
        relay: Option<&str>,
    ) -> Result<Self, StoreError> {
        let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt {
            user: owner.clone(),
            reason: format!("a challenge's {what}: {e}"),
        };
        let groups = serde_json::from_str(groups)
            .map_err(|e| corrupt("groups are not a JSON list of strings", e))?;
        let relay = relay
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt("relay is not what radotp writes", e))?;
        Ok(Challenge {
            owner,
            groups,
            relay,
        })
    }
}

/// What `user add` and `user import` store.
pub struct NewUser<'a> {
    pub name: &'a str,
    /// Empty for a user whose password is the directory's.
    pub password_hash: &'a str,
    pub password_source: PasswordSource,
    /// Its first token (`None`: the user enrolls later).
    pub token: Option<&'a NewToken>,
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("user \"{0}\" already exists")]
    UserExists(String),
    #[error("user \"{0}\" does not exist (see: radotp user list)")]
    UserNotFound(String),
    #[error("user \"{user}\" has no token {id} (see: radotp token list {user})")]
    TokenNotFound { user: String, id: u32 },
    #[error(
        "a YubiKey with public id {public_id} is already enrolled (see: radotp token list; remove it there first)"
    )]
    YubikeyTaken { public_id: String },
    #[error("the invitation is no longer valid (used, expired, replaced, or tried too often)")]
    InvitationGone,
    #[error(
        "user \"{0}\" already has an active token; to enroll a new one, first: radotp user reset-otp {0}, or radotp token remove {0} ID"
    )]
    HasActiveToken(String),
    #[error(
        "an API token named \"{0}\" already exists (see: radotp api-token list; remove it first with: radotp api-token remove {0})"
    )]
    ApiTokenExists(String),
    #[error("there is no API token named \"{0}\" (see: radotp api-token list)")]
    ApiTokenNotFound(String),
    #[error("the database holds an invalid record for user \"{user}\": {reason}")]
    Corrupt { user: String, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("database error: {0}")]
    Database(String),
}

/// The storage every radotp node uses. Seeds are sealed and codes MACed inside the store, with
/// the keys it was opened with; callers only see plain values.
pub trait Store: Send + Sync + fmt::Debug {
    /// Look a user up by exact name.
    fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Create users, all or none; `UserExists` names the first name taken.
    fn add_users(&self, users: &[NewUser<'_>]) -> Result<(), StoreError>;

    /// Replace the password hash; `expires_at` makes it temporary. The user's resumable EAP
    /// sessions end in the same transaction.
    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Give users more tokens, all or none; each gets the next id of its user (returned in
    /// order). `YubikeyTaken` when a YubiKey's public id is already enrolled.
    fn add_tokens(&self, tokens: &[(&str, NewToken)], now: i64) -> Result<Vec<u32>, StoreError>;

    /// Replace all the user's tokens with this one (`user reset-otp`): the codes of the old
    /// ones stop working at once, and the user's resumable EAP sessions end, in the same
    /// transaction. Its id.
    fn replace_tokens(&self, name: &str, token: &NewToken, now: i64) -> Result<u32, StoreError>;

    /// Delete one token: its codes stop working at once.
    fn remove_token(&self, name: &str, id: u32) -> Result<(), StoreError>;

    fn set_token_disabled(&self, name: &str, id: u32, disabled: bool) -> Result<(), StoreError>;

    /// Disabling a user also ends their resumable EAP sessions, in the same transaction.
    fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError>;

    /// Clear the failure counter and any lock (EAP sessions are kept).
    fn unlock(&self, name: &str) -> Result<(), StoreError>;

    /// Delete the user and everything that belongs to them (their EAP sessions too).
    fn remove_user(&self, name: &str) -> Result<(), StoreError>;

    /// Delete these users (those that exist) in one transaction, with everything that belongs
    /// to them; how many there were.
    fn remove_users(&self, names: &[&str]) -> Result<u64, StoreError>;

    /// Replace the user's recovery codes with these (stored as keyed MACs only).
    fn replace_recovery_codes(&self, name: &str, codes: &[SecretBytes]) -> Result<(), StoreError>;

    /// Use a recovery code: one atomic statement (then the last login is recorded).
    /// `Some(left)` if it was unused, else `None`.
    fn consume_recovery_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError>;

    /// Record `value` — a TOTP step, an HOTP counter, a Yubico counter — as the token's newest
    /// used, `drift` as its offset and `now` as the last login, but only if `value` is newer
    /// than the token's last used one, the token is enabled and the user is not locked — one
    /// atomic conditional update. `false` means another request (or node) used this value or
    /// a later one first (a replay), or the user was locked at that moment.
    fn consume_token(
        &self,
        name: &str,
        id: u32,
        value: u64,
        drift: i64,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Set or clear where out-of-band codes go.
    fn set_delivery(&self, name: &str, delivery: Option<&Delivery>) -> Result<(), StoreError>;

    /// Is `code` one of the user's recovery codes, and is it still unused? (A read; a used one
    /// is named as a replay at login.)
    fn recovery_code_state(
        &self,
        name: &str,
        code: &SecretBytes,
    ) -> Result<RecoveryCodeState, StoreError>;

    /// Store a code to be sent, unless the cooldown or the hourly limit forbids it — one atomic
    /// statement, so two nodes cannot both send.
    fn issue_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
        limits: SendLimits,
    ) -> Result<IssueOutcome, StoreError>;

    /// Is `code` a live sent code (unused, unexpired, not guessed at too often)?
    fn sent_code_exists(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Use a sent code: one atomic statement; `false` if it is no longer live.
    fn consume_sent_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// A wrong code was tried: count it against every live sent code of the user.
    fn count_code_attempt(&self, name: &str, now: i64) -> Result<(), StoreError>;

    /// Remember a challenge's State (as a MAC) for `user`, answerable from `client` until
    /// `expires_at`; `groups` are those the password source granted, for the answer's Accept;
    /// `relay`, the upstream question it passes on.
    #[allow(clippy::too_many_arguments)]
    fn create_challenge(
        &self,
        state: &[u8],
        name: &str,
        client: &str,
        groups: &[String],
        relay: Option<&Relay>,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Take (delete) a live challenge for `client`. Single use, atomic.
    fn take_challenge(
        &self,
        state: &[u8],
        client: &str,
        now: i64,
    ) -> Result<Option<Challenge>, StoreError>;

    /// Resynchronisation: set the token's drift, and mark `last_used` used (the newest used
    /// never goes back).
    fn resync_token(
        &self,
        name: &str,
        id: u32,
        drift: i64,
        last_used: u64,
    ) -> Result<(), StoreError>;

    /// Count a failed login; every `max_failures`-th consecutive one locks the user (each lock
    /// twice as long as the one before). Returns the time the user is locked until, if this
    /// failure (or an earlier one) locked them. One atomic statement. Any success resets the
    /// count.
    fn record_failure(
        &self,
        name: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError>;

    /// May a password of the user, from `station`, be judged now? If so, the guess is counted
    /// at once — before the password is checked, so that a burst, on however many nodes, gets
    /// no more judgements than the gate allows — at the station's own gate if the user logged
    /// in there lately, else at the user's. One atomic conditional statement.
    fn claim_guess(
        &self,
        name: &str,
        station: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Claim, StoreError>;

    /// The password was right: the guess `claim_guess` counted was none.
    fn refund_guess(&self, name: &str, station: &str, gate: Gate) -> Result<(), StoreError>;

    /// The user logged in from `station`: it becomes (or stays) trusted, and the gate that
    /// admitted the login starts again from zero.
    fn trust_station(
        &self,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError>;

    /// Replace the user's groups.
    fn set_groups(&self, name: &str, groups: &[String]) -> Result<(), StoreError>;

    /// Replace the user's own reply attributes (`Name=value`, validated by the caller).
    fn set_reply(&self, name: &str, reply: &[String]) -> Result<(), StoreError>;

    /// Number of users (metrics, status).
    fn count_users(&self) -> Result<u64, StoreError>;

    /// Apply an accounting record to the open sessions, keeping at most `max_sessions`. The
    /// write does not wait for the disk (a power cut may forget the last few updates).
    fn record_session(
        &self,
        change: SessionChange<'_>,
        max_sessions: u64,
    ) -> Result<(), StoreError>;

    /// Every open session, the most recently started first.
    fn list_sessions(&self) -> Result<Vec<Session>, StoreError>;

    /// Write a heartbeat: the store is healthy only if it can record (a full disk, a read-only
    /// file or a standby database still answer reads). It writes more than any login does
    /// (`PROBE_BYTES` of fresh random data), so a write that fits is not a lucky small one.
    fn probe(&self, now: i64) -> Result<(), StoreError>;

    /// Make `secret` (the link's random part) the user's invitation until `expires_at`,
    /// replacing any earlier one (whose link stops working at once). UserNotFound if no user.
    fn create_invitation(
        &self,
        name: &str,
        secret: &SecretBytes,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The user's invitation, live or not (None if there is none or it was completed).
    fn invitation_for_user(&self, name: &str) -> Result<Option<Invitation>, StoreError>;

    /// The live invitation `secret` belongs to (unexpired at `now`, failures < MAX), else None.
    fn find_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError>;

    /// A password or code about to be checked on the page: one atomic increment of a live
    /// invitation's failures, claimed before the check so that any number of requests at once
    /// get at most `INVITATION_MAX_FAILURES` checks (a right one gives its claim back with
    /// `refund_invitation_try`). Returns the failures after it (None if the invitation was not
    /// live: nothing counted, nothing may be checked).
    fn count_invitation_failure(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError>;

    /// Give back a claim whose password or code was right (never below zero).
    fn refund_invitation_try(&self, secret: &SecretBytes) -> Result<(), StoreError>;

    /// Finish an enrollment, in one transaction: the invitation `secret` must be live
    /// (else InvitationGone), its user must have no active (enabled) token (else
    /// HasActiveToken, and the invitation is kept); then `token` is added with the user's next
    /// token id exactly as add_tokens does (its `last_used` kept: the first code is marked
    /// used), the invitation is deleted, and (name, token id) returned. Two concurrent calls
    /// with the same secret: exactly one wins.
    fn complete_invitation(
        &self,
        secret: &SecretBytes,
        token: &NewToken,
        now: i64,
    ) -> Result<(String, u32), StoreError>;

    /// Store a new API token (only a keyed MAC of `secret`). ApiTokenExists if the name is
    /// taken.
    fn create_api_token(
        &self,
        name: &str,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Revoke it: requests with it are refused at once. ApiTokenNotFound if no such name.
    fn remove_api_token(&self, name: &str) -> Result<(), StoreError>;

    /// Every API token, by name.
    fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// The name of the token whose value is `secret`, recording `now` as its last use; None if
    /// none.
    fn authenticate_api_token(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<String>, StoreError>;

    /// The EAP ticket keys, newest first (at most a handful live).
    fn eap_ticket_keys(&self) -> Result<Vec<TicketKey>, StoreError>;

    /// Add `key` unless one created after `not_before` already exists (another node rotated
    /// first); the keys after the call, newest first. Nodes rotating at once wait for each
    /// other, so one new key is left (should a random id be taken already, none: the caller
    /// tries again). Never an error for losing the race.
    fn rotate_eap_ticket_key(
        &self,
        key: &TicketKey,
        not_before: i64,
    ) -> Result<Vec<TicketKey>, StoreError>;

    /// Forget the ticket keys created before `before` (no ticket they sealed is still valid);
    /// how many.
    fn remove_eap_ticket_keys(&self, before: i64) -> Result<u64, StoreError>;

    /// Remember that `handle` (a TLS session's resumption data) resumes a session of `user`
    /// proved (password and code) at `created`; a handle bound before is bound anew. Nothing
    /// is bound for a disabled user (disabled since the login: the disabling ended the rest);
    /// UserNotFound if there is no such user. Only a keyed MAC of `handle` is stored.
    fn bind_eap_session(&self, handle: &[u8], user: &str, created: i64) -> Result<(), StoreError>;

    /// The session `handle` resumes, if it is still bound (not ended, not expired).
    fn find_eap_session(&self, handle: &[u8]) -> Result<Option<EapSession>, StoreError>;

    /// Forget the sessions, and the TLS sessions, created before `before`; how many.
    fn expire_eap_sessions(&self, before: i64) -> Result<u64, StoreError>;

    /// Keep a TLS 1.2 session (its state sealed by the caller: `eap::tickets`) under its
    /// session id, for a supplicant that resumes by id on any node. Only a keyed MAC of the id
    /// is stored; an id kept before is replaced.
    fn put_eap_tls_session(&self, id: &[u8], sealed: &[u8], created: i64)
    -> Result<(), StoreError>;

    /// The sealed TLS session kept under `id`, if it was created at or after `since`.
    fn get_eap_tls_session(&self, id: &[u8], since: i64) -> Result<Option<Vec<u8>>, StoreError>;

    /// End every resumable session of the user now; how many there were.
    fn end_eap_sessions(&self, user: &str) -> Result<u64, StoreError>;
}

/// `[database]`: where the store is, and the key file that seals it.
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

/// Run store operations from async code: on tokio's blocking pool, so the caller's runtime
/// keeps serving its other tasks while the database works. (A blocking call made straight from
/// a task is safe too, but holds that task's thread for as long as the database takes.)
/// A panic inside `op` comes back as a database error.
pub async fn call<T, F>(store: &Arc<dyn Store>, op: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || op(store.as_ref()))
        .await
        .unwrap_or_else(|e| Err(StoreError::Database(format!("the operation failed: {e}"))))
}

/// Open the configured store — the SQLite file or the PostgreSQL database — with its key file
/// (created on first use), creating or upgrading the schema.
pub fn open(config: &DatabaseConfig) -> Result<Arc<dyn Store>, StoreError> {
    let keys = Keys::load_or_create(&config.key_file)?;
    Ok(match &config.url {
        Some(url) => Arc::new(PostgresStore::open(url, keys)?),
        None => Arc::new(SqliteStore::open(&config.path, keys)?),
    })
}

/// A stored delivery address, when both columns are set and the channel is known.
pub(crate) fn delivery(channel: Option<String>, destination: Option<String>) -> Option<Delivery> {
    Some(Delivery {
        channel: Channel::parse(&channel?)?,
        destination: destination?,
    })
}

/// A TOTP step as the 64-bit signed column stores it.
pub(crate) fn step_param(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| StoreError::Database("step overflow".into()))
}

/// Stored TOTP parameters, refusing values no enrollment could have written.
pub(crate) fn totp_params(algorithm: &str, digits: i64, period: i64) -> Result<TotpParams, String> {
    let algorithm = algorithm.parse::<Algorithm>()?;
    match (u8::try_from(digits), u64::try_from(period)) {
        (Ok(digits @ (6 | 8)), Ok(period @ 1..=300)) => Ok(TotpParams {
            algorithm,
            digits,
            period,
        }),
        _ => Err(format!(
            "TOTP digits {digits} / period {period} out of range"
        )),
    }
}
