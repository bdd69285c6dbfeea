//! A `users` row as stored, read the same way from either backend, and the one mapping from
//! it to a [`UserRecord`].
//!
//! SQLite and PostgreSQL hold the same columns with different types (SQLite's `disabled` is an
//! INTEGER, PostgreSQL's a BOOLEAN); [`Columns`] hides that, one impl per driver, so the checks
//! a stored value has to pass (seed unsealed, TOTP parameters in range, JSON lists parsed,
//! counters clamped) are written once. `db copy` copies a [`UserRow`] as read, without
//! unsealing or checking anything: rows move exactly as stored.

use super::{Keys, PasswordSource, StoreError, TotpSeed, UserRecord, delivery, totp_params};

/// `SELECT` of users, each with the count of their unused recovery codes (what a
/// [`UserRecord`] shows), followed by `$tail`: the `WHERE` or `ORDER BY` in the backend's
/// placeholder syntax. A macro, so each backend's statement stays a `&'static str`.
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT u.*, (SELECT COUNT(*) FROM recovery_codes r
                          WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_codes_left
             FROM users u ",
            $tail
        )
    };
}
pub(crate) use select_user;

/// One sealed seed to check a key file against (`check` of either backend).
pub(crate) const SAMPLE_SEALED: &str =
    "SELECT name, totp_sealed FROM users WHERE totp_sealed IS NOT NULL LIMIT 1";

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
    pub totp_sealed: Option<Vec<u8>>,
    pub totp_algorithm: String,
    pub totp_digits: i64,
    pub totp_period: i64,
    pub last_step: Option<i64>,
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
    pub drift_steps: i64,
    /// JSON arrays of text.
    pub groups: String,
    pub reply: String,
    /// Unused recovery codes: computed by `select_user!`, not a column (`None` elsewhere).
    pub recovery_codes_left: Option<i64>,
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
            totp_sealed: get(row, user, "totp_sealed")?,
            totp_algorithm: get(row, user, "totp_algorithm")?,
            totp_digits: get(row, user, "totp_digits")?,
            totp_period: get(row, user, "totp_period")?,
            last_step: get(row, user, "last_step")?,
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
            drift_steps: get(row, user, "drift_steps")?,
            groups: get(row, user, "groups")?,
            reply: get(row, user, "reply")?,
            recovery_codes_left: None,
            name,
        })
    }

    /// The user a `select_user!` row describes: unsealed with `keys`, every value checked.
    pub(crate) fn read_user(row: &impl Columns, keys: &Keys) -> Result<UserRecord, StoreError> {
        let mut user = Self::read(row)?;
        user.recovery_codes_left = Some(get(row, &user.name, "recovery_codes_left")?);
        user.into_record(keys)
    }

    /// The record this row stores. A seed that does not unseal is a key error (wrong key file,
    /// or a seed moved to another user's row); values no radotp writes make it corrupt.
    pub(crate) fn into_record(self, keys: &Keys) -> Result<UserRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            user: self.name.clone(),
            reason,
        };
        let totp = match &self.totp_sealed {
            None => None,
            Some(sealed) => {
                let params = totp_params(&self.totp_algorithm, self.totp_digits, self.totp_period)
                    .map_err(corrupt)?;
                let secret = keys.unseal(&self.name, sealed)?;
                Some(TotpSeed { secret, params })
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
            totp,
            last_step: self.last_step.and_then(|s| u64::try_from(s).ok()),
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
            drift: self.drift_steps,
            name: self.name,
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
fn count(value: i64) -> u32 {
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
