//! A `users` row as stored, read the same way from either backend, and the one mapping from
//! it to a [`UserRecord`].
//!
//! SQLite and PostgreSQL hold the same columns with different types (SQLite's `disabled` is an
//! INTEGER, PostgreSQL's a BOOLEAN); [`Columns`] hides that, one impl per driver, so the checks
//! a stored value has to pass (seed unsealed, TOTP parameters in range, JSON lists parsed,
//! counters clamped) are written once. `db copy` copies a [`UserRow`] as read, without
//! unsealing or checking anything: rows move exactly as stored.

use super::token::{HOTP_DIGITS, Token, TokenKind, TokenSecret, YUBICO_SEALED_LEN};
use super::{Keys, PasswordSource, StoreError, TotpSeed, UserRecord, delivery, totp_params};
use crate::secret::SecretBytes;

/// `SELECT` of users, each with the count of their unused recovery codes and their tokens as
/// a JSON list (one round trip for what a [`UserRecord`] shows), followed by `$tail`: the
/// `WHERE` or `ORDER BY` in the backend's placeholder syntax. `$tokens` is the backend's JSON
/// aggregate of the user's `tokens` rows ([`TokenRow`]'s fields). A macro, so each backend's
/// statement stays a `&'static str`.
macro_rules! select_user {
    ($tokens:expr, $tail:literal) => {
        concat!(
            "SELECT u.*, (SELECT COUNT(*) FROM recovery_codes r
                          WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_codes_left,
                     (",
            $tokens,
            ") AS tokens
             FROM users u ",
            $tail
        )
    };
}
pub(crate) use select_user;

/// One sealed seed to check a key file against (`check` of either backend).
pub(crate) const SAMPLE_SEALED: &str =
    "SELECT u.name, t.sealed FROM tokens t JOIN users u ON u.id = t.user_id LIMIT 1";

/// A Rust type both drivers can read a column into.
pub(crate) trait Value:
    rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>
{
}

impl<T> Value for T where T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}

/// A result row of either driver: a column by name, or why it cannot be read.
pub(crate) trait Columns {
    fn column<T: Value>(&self, name: &str) -> Result<T, String>;

    /// A yes/no column; each backend stores it in its own type.
    fn flag(&self, name: &str) -> Result<bool, String>;
}

/// The `users` table's columns, as stored: nothing unsealed, checked or clamped yet.
pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub password_source: String,
    pub password_expires_at: Option<i64>,
    pub failures: i64,
    pub locks: i64,
    pub locked_until: Option<i64>,
    pub guesses: i64,
    pub guessed_at: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub delivery_channel: Option<String>,
    pub delivery_destination: Option<String>,
    /// JSON arrays of text.
    pub groups: String,
    pub reply: String,
    /// Token ids handed out so far (the next token gets one more).
    pub token_ids: i64,
    /// Unused recovery codes: computed by `select_user!`, not a column (`None` elsewhere).
    pub recovery_codes_left: Option<i64>,
    /// The user's tokens, a JSON list: computed by `select_user!`, not a column.
    pub tokens: Option<String>,
}

impl UserRow {
    /// A row of `SELECT * FROM users`. A column that cannot be read makes the record corrupt,
    /// named by its user; without a readable name there is no user to name.
    pub(crate) fn read(row: &impl Columns) -> Result<Self, StoreError> {
        let name: String = row.column("name").map_err(StoreError::Database)?;
        let user = name.as_str();
        Ok(Self {
            id: get(row, user, "id")?,
            password_hash: get(row, user, "password_hash")?,
            password_source: get(row, user, "password_source")?,
            password_expires_at: get(row, user, "password_expires_at")?,
            failures: get(row, user, "failures")?,
            locks: get(row, user, "locks")?,
            locked_until: get(row, user, "locked_until")?,
            guesses: get(row, user, "guesses")?,
            guessed_at: get(row, user, "guessed_at")?,
            disabled: row
                .flag("disabled")
                .map_err(|reason| unreadable(user, "disabled", reason))?,
            created_at: get(row, user, "created_at")?,
            last_login_at: get(row, user, "last_login_at")?,
            delivery_channel: get(row, user, "delivery_channel")?,
            delivery_destination: get(row, user, "delivery_destination")?,
            groups: get(row, user, "groups")?,
            reply: get(row, user, "reply")?,
            token_ids: get(row, user, "token_ids")?,
            recovery_codes_left: None,
            tokens: None,
            name,
        })
    }

    /// The user a `select_user!` row describes: unsealed with `keys`, every value checked.
    pub(crate) fn read_user(row: &impl Columns, keys: &Keys) -> Result<UserRecord, StoreError> {
        let mut user = Self::read(row)?;
        user.recovery_codes_left = Some(get(row, &user.name, "recovery_codes_left")?);
        user.tokens = Some(get(row, &user.name, "tokens")?);
        user.into_record(keys)
    }

    /// The record this row stores. A seed that does not unseal is a key error (wrong key file,
    /// or a seed moved to another user's row); values no radotp writes make it corrupt.
    pub(crate) fn into_record(self, keys: &Keys) -> Result<UserRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            user: self.name.clone(),
            reason,
        };
        let tokens = match &self.tokens {
            None => Vec::new(),
            Some(json) => {
                let rows: Vec<TokenRow> = serde_json::from_str(json)
                    .map_err(|e| corrupt(format!("its tokens are not what radotp writes: {e}")))?;
                let mut tokens = rows
                    .into_iter()
                    .map(|row| row.into_token(&self.name, keys))
                    .collect::<Result<Vec<_>, _>>()?;
                tokens.sort_by_key(|t| t.id);
                tokens
            }
        };
        let list = |column: &str, text: &str| -> Result<Vec<String>, StoreError> {
            serde_json::from_str(text).map_err(|e| {
                corrupt(format!(
                    "column {column} is not a JSON list of strings: {e}"
                ))
            })
        };
        let password_source = PasswordSource::parse(&self.password_source).ok_or_else(|| {
            corrupt(format!(
                "column password_source is \"{}\", neither local nor directory",
                self.password_source
            ))
        })?;
        Ok(UserRecord {
            password_source,
            groups: list("groups", &self.groups)?,
            reply: list("reply", &self.reply)?,
            password_hash: self.password_hash,
            password_expires_at: self.password_expires_at,
            tokens,
            failures: count(self.failures),
            locks: count(self.locks),
            locked_until: self.locked_until,
            guesses: count(self.guesses),
            guessed_at: self.guessed_at,
            disabled: self.disabled,
            created_at: self.created_at,
            last_login_at: self.last_login_at,
            recovery_codes_left: count(self.recovery_codes_left.unwrap_or(0)),
            delivery: delivery(self.delivery_channel, self.delivery_destination),
            name: self.name,
        })
    }
}

/// A `tokens` row, as the backends' JSON aggregate in `select_user!` spells it (the sealed
/// bytes in hex, `disabled` as a JSON boolean).
#[derive(serde::Deserialize)]
pub(crate) struct TokenRow {
    id: i64,
    kind: String,
    label: String,
    serial: Option<String>,
    sealed: String,
    algorithm: String,
    digits: i64,
    period: i64,
    public_id: Option<String>,
    last_used: Option<i64>,
    drift: i64,
    disabled: bool,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TokenRow {
    /// The token this row stores for `user`: unsealed, every value checked.
    fn into_token(self, user: &str, keys: &Keys) -> Result<Token, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            user: user.to_owned(),
            reason: format!("token {}: {reason}", self.id),
        };
        let id = u32::try_from(self.id).map_err(|_| corrupt("id out of range".into()))?;
        let kind = TokenKind::parse(&self.kind)
            .ok_or_else(|| corrupt(format!("kind \"{}\" is not one radotp writes", self.kind)))?;
        // Hex, either case: SQLite's `hex()` writes upper case, PostgreSQL's `encode` lower.
        let sealed = crate::secret::from_hex(&self.sealed)
            .ok_or_else(|| corrupt("sealed is not hex".into()))?;
        let secret = keys.unseal(user, sealed.expose())?;
        let secret = match kind {
            TokenKind::Totp => TokenSecret::Totp(TotpSeed {
                secret,
                params: totp_params(&self.algorithm, self.digits, self.period).map_err(corrupt)?,
            }),
            TokenKind::Hotp => TokenSecret::Hotp {
                secret,
                digits: u8::try_from(self.digits)
                    .ok()
                    .filter(|d| HOTP_DIGITS.contains(d))
                    .ok_or_else(|| corrupt(format!("HOTP digits {} out of range", self.digits)))?,
            },
            TokenKind::Yubico => {
                let public_id = self
                    .public_id
                    .ok_or_else(|| corrupt("a YubiKey without a public id".into()))?;
                if secret.len() != YUBICO_SEALED_LEN {
                    return Err(corrupt(
                        "a YubiKey's sealed key has the wrong length".into(),
                    ));
                }
                let (aes_key, private_id) = secret.expose().split_at(16);
                TokenSecret::Yubico {
                    public_id,
                    aes_key: SecretBytes::from(aes_key),
                    private_id: SecretBytes::from(private_id),
                }
            }
        };
        Ok(Token {
            id,
            label: self.label,
            serial: self.serial,
            secret,
            last_used: self.last_used.and_then(|v| u64::try_from(v).ok()),
            drift: self.drift,
            disabled: self.disabled,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

fn get<T: Value>(row: &impl Columns, user: &str, column: &str) -> Result<T, StoreError> {
    row.column(column)
        .map_err(|reason| unreadable(user, column, reason))
}

fn unreadable(user: &str, column: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        user: user.to_owned(),
        reason: format!("column {column}: {reason}"),
    }
}

/// A stored counter as a `u32`: the columns are 64-bit, the record's fields are not.
pub(crate) fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(if value < 0 { 0 } else { u32::MAX })
}

/// `groups` and `reply` as stored: a JSON array of text.
pub(crate) fn json_list(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|e| StoreError::Database(e.to_string()))
}

/// The health probe's write: one row, rewritten (see `Store::probe`).
pub(crate) const PROBE: &str = "INSERT INTO heartbeat (id, written_at, data) VALUES (1, ?1, ?2)
     ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at, data = excluded.data";
pub(crate) const PROBE_PG: &str = "INSERT INTO heartbeat (id, written_at, data) VALUES (1, $1, $2)
     ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at, data = excluded.data";

/// Fresh bytes for each probe, so that every probe really writes them.
pub(crate) fn probe_data() -> Vec<u8> {
    let mut data = vec![0u8; super::PROBE_BYTES];
    for chunk in data.chunks_mut(32) {
        chunk.copy_from_slice(&crate::secret::random_bytes::<32>()[..chunk.len()]);
    }
    data
}
