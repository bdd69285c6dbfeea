//! The embedded SQLite store: one file, WAL journal, schema versioned with `user_version`.

mod api_tokens;
mod eap;
mod invitations;
mod schema;
mod store_impl;
#[cfg(test)]
mod tests;
mod throttle;
mod tokens;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::row::{self, Columns, UserRow, Value, json_list, select_user};
use super::{
    Claim, Delivery, Gate, IssueOutcome, KEEP_EXPIRED_SECS, Keys, LockoutPolicy, MAX_CODE_ATTEMPTS,
    MacPurpose, NewUser, RecoveryCodeState, SendLimits, Store, StoreError, UserRecord, step_param,
};
use crate::secret::SecretBytes;

/// SQLite behind a mutex: statements take microseconds and run on blocking threads, never on
/// the packet loop.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    keys: Keys,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// `UPDATE … WHERE name = ?` touched no row: the user does not exist.
/// Whether a user of this name exists (to tell "no such user" from "nothing to change").
fn user_exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    conn.query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(db_error)
}

fn one_row(name: &str, changed: usize) -> Result<(), StoreError> {
    if changed == 0 {
        return Err(StoreError::UserNotFound(name.to_owned()));
    }
    Ok(())
}

/// The user's tokens as `row::TokenRow` reads them.
macro_rules! tokens_json {
    () => {
        "SELECT json_group_array(json_object(
             'id', t.id, 'kind', t.kind, 'label', t.label, 'serial', t.serial,
             'sealed', hex(t.sealed), 'algorithm', t.algorithm, 'digits', t.digits,
             'period', t.period, 'public_id', t.public_id, 'last_used', t.last_used,
             'drift', t.drift, 'disabled', json(CASE WHEN t.disabled != 0 THEN 'true' ELSE 'false' END),
             'created_at', t.created_at, 'last_used_at', t.last_used_at))
         FROM tokens t WHERE t.user_id = u.id"
    };
}

const FIND_USER: &str = select_user!(tokens_json!(), "WHERE u.name = ?1");
/// SQLite's default collation (BINARY) sorts names by their bytes.
const LIST_USERS: &str = select_user!(tokens_json!(), "ORDER BY u.name");

/// SQLite is dynamically typed, so every value is checked on the way out; `disabled` is an
/// INTEGER, 0 or 1.
impl Columns for rusqlite::Row<'_> {
    fn column<T: Value>(&self, name: &str) -> Result<T, String> {
        self.get(name).map_err(|e| e.to_string())
    }

    fn flag(&self, name: &str) -> Result<bool, String> {
        Ok(self.column::<i64>(name)? != 0)
    }
}

impl SqliteStore {
    /// Open (creating file, folder and schema on first use) the database at `path`.
    pub fn open(path: &Path, keys: Keys) -> Result<Self, StoreError> {
        let conn = schema::open(path)?;
        Ok(Self {
            conn: Mutex::new(conn),
            keys,
        })
    }

    /// A private database in memory (tests, fuzzing): same schema, nothing on disk.
    pub fn open_in_memory(keys: Keys) -> Result<Self, StoreError> {
        let conn = schema::open_in_memory()?;
        Ok(Self {
            conn: Mutex::new(conn),
            keys,
        })
    }

    /// Check an existing database without changing it: the schema is one this radotp knows,
    /// and the key file opens its sealed seeds.
    pub fn check(path: &Path, keys: &Keys) -> Result<(), StoreError> {
        let conn = schema::open_read_only(path)?;
        let sample: Option<(String, Vec<u8>)> = conn
            .query_row(row::SAMPLE_SEALED, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db_error)?;
        if let Some((name, sealed)) = sample {
            keys.unseal(&name, &sealed)?;
        }
        Ok(())
    }

    /// An existing database, checked as `check` does, opened read-only: what `check-config`
    /// builds the server on, so that checking changes nothing.
    pub fn open_checked(path: &Path, keys: Keys) -> Result<Self, StoreError> {
        Self::check(path, &keys)?;
        Ok(Self {
            conn: Mutex::new(schema::open_read_only(path)?),
            keys,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back any
        // open statement on its own.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(
        &self,
        name: &str,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let changed = conn.execute(sql, values).map_err(db_error)?;
        one_row(name, changed)
    }
}

/// Record a successful login made with a code other than TOTP: like any success, it resets
/// the failure count.
/// A statement with `RETURNING`, run to its end; the first row it returns, if any.
///
/// SQLite applies the change at the first step but commits it (in autocommit mode) only when
/// the statement completes. `query_row` stops after the first row and resets the statement,
/// which discards the commit's error: a full disk or an I/O error then looks like success and
/// the write is lost. Stepping to the end reports it.
fn returning<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = statement.query(params).map_err(db_error)?;
    let first = match rows.next().map_err(db_error)? {
        Some(row) => Some(map(row).map_err(db_error)?),
        None => None,
    };
    while rows.next().map_err(db_error)?.is_some() {}
    Ok(first)
}

fn touch_login(conn: &Connection, name: &str, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET last_login_at = ?2, failures = 0, locks = 0 WHERE name = ?1",
        params![name, now],
    )
    .map(|_| ())
    .map_err(db_error)
}
