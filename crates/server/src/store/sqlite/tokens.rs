//! The SQLite statements of tokens: adding one within a transaction, and the conditional
//! update that uses a code. `postgres/sql.rs` holds their twins.

use rusqlite::{Connection, OptionalExtension, params};

use super::{db_error, user_exists};
use crate::store::{Keys, NewToken, StoreError};

/// Add `token` to `name`'s tokens inside the caller's transaction: the user's id counter
/// gives it the next id. Its id.
pub(super) fn insert(
    tx: &Connection,
    keys: &Keys,
    name: &str,
    token: &NewToken,
    now: i64,
) -> Result<u32, StoreError> {
    let (user_id, id): (i64, i64) = tx
        .prepare_cached(
            "UPDATE users SET token_ids = token_ids + 1 WHERE name = ?1 RETURNING id, token_ids",
        )
        .and_then(|mut s| {
            s.query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_error)?
        .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?;
    let sealed = keys.seal(name, &token.secret.sealed_part());
    let c = token.columns();
    tx.prepare_cached(
        "INSERT INTO tokens (user_id, id, kind, label, serial, sealed, algorithm, digits, period,
                             public_id, last_used, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            user_id,
            id,
            c.kind,
            token.label,
            token.serial,
            sealed,
            c.algorithm,
            c.digits,
            c.period,
            c.public_id,
            c.last_used,
            now
        ])
    })
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::YubikeyTaken {
                public_id: c.public_id.unwrap_or_default().to_owned(),
            }
        }
        other => db_error(other),
    })?;
    u32::try_from(id).map_err(|_| StoreError::Database("token id overflow".into()))
}

/// Delete every token of the user (inside the caller's transaction).
pub(super) fn delete_all(tx: &Connection, name: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM tokens WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )
    .map(|_| ())
    .map_err(db_error)
}

/// The token's use, then the login's record, in one transaction: both or neither. The first
/// statement decides (a newer value, an enabled token); the second refuses a user locked now.
pub(super) fn consume(
    conn: &mut Connection,
    name: &str,
    id: u32,
    value: i64,
    drift: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(db_error)?;
    let used = tx
        .prepare_cached(
            "UPDATE tokens SET last_used = ?3, drift = ?4, last_used_at = ?5
             WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND id = ?2
               AND disabled = 0 AND (last_used IS NULL OR last_used < ?3)",
        )
        .and_then(|mut s| s.execute(params![name, id, value, drift, now]))
        .map_err(db_error)?;
    if used == 0 {
        return Ok(false);
    }
    let logged_in = tx
        .prepare_cached(
            "UPDATE users SET last_login_at = ?2, failures = 0, locks = 0
             WHERE name = ?1 AND (locked_until IS NULL OR locked_until <= ?2)",
        )
        .and_then(|mut s| s.execute(params![name, now]))
        .map_err(db_error)?;
    if logged_in == 0 {
        return Ok(false);
    }
    tx.commit().map_err(db_error)?;
    Ok(true)
}

/// `UPDATE tokens … WHERE` the user's token `id` touched no row: which of the two is missing.
pub(super) fn one_token(
    conn: &Connection,
    name: &str,
    id: u32,
    changed: usize,
) -> Result<(), StoreError> {
    if changed > 0 {
        return Ok(());
    }
    let exists = user_exists(conn, name)?;
    Err(match exists {
        true => StoreError::TokenNotFound {
            user: name.to_owned(),
            id,
        },
        false => StoreError::UserNotFound(name.to_owned()),
    })
}
