//! `radotp db copy`: an SQLite installation moved into an empty PostgreSQL database, all or
//! nothing (one transaction on the target).
//!
//! Rows are copied as stored: seeds stay sealed and codes stay MACs, so the nodes must use the
//! key file the SQLite installation used. Users come with everything that guards them (used
//! steps, drift, failures and locks, recovery codes with their use, groups and reply
//! attributes). Sent codes and challenges are not copied: they live minutes, and a user
//! mid-login simply asks again.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::OpenFlags;

use super::pool::Conn;
use super::{PostgresStore, PostgresUrl};
use crate::store::row::UserRow;
use crate::store::{Keys, SqliteStore, StoreError};

/// What `copy_from_sqlite` wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopySummary {
    pub users: u64,
    pub recovery_codes: u64,
}

/// `(mac, used_at)` of each recovery code, by user id.
type RecoveryCodes = HashMap<i64, Vec<(Vec<u8>, Option<i64>)>>;

const INSERT_USER: &str = "INSERT INTO users (id, name, password_hash, password_expires_at,
        totp_sealed, totp_algorithm, totp_digits, totp_period, last_step, failures, locks,
        locked_until, disabled, created_at, last_login_at, delivery_channel,
        delivery_destination, drift_steps, groups, reply, guesses, guessed_at, password_source)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $21, $22, $23)";

const INSERT_STATION: &str = "INSERT INTO stations (user_id, station, trusted_at, guesses,
        guessed_at) VALUES ($1, $2, $3, $4, $5)";

const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, mac, used_at) VALUES ($1, $2, $3)";

/// Copy the SQLite database at `source` into the (empty) PostgreSQL database at `target`,
/// creating its schema first. `keys` must open the source's seeds: the target is only useful
/// with the same key file. `progress(done, total)` is called as users are written.
pub fn copy_from_sqlite(
    source: &Path,
    keys: &Keys,
    target: &PostgresUrl,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopySummary, StoreError> {
    if !source.exists() {
        return Err(StoreError::Open {
            path: source.to_owned(),
            reason: "no such file".to_owned(),
        });
    }
    SqliteStore::check(source, keys)?;
    let (users, codes, stations) = read_sqlite(source)?;
    let store = PostgresStore::open(target, keys.clone())?;
    let pool = store.pool();
    let total = users.len() as u64;
    // Bounded, but generous: statements keep their own timeout each.
    let budget = pool.operation_timeout() * 720;
    pool.run(budget, async |conn: &mut Conn| {
        let tx = conn.client.transaction().await?;
        // Nodes already pointed at the target wait until the copy is whole.
        tx.batch_execute(
            "LOCK TABLE users, recovery_codes, sent_codes, challenges, stations
             IN EXCLUSIVE MODE",
        )
        .await?;
        let present: i64 = tx
            .query_one(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM recovery_codes)
                      + (SELECT COUNT(*) FROM sent_codes) + (SELECT COUNT(*) FROM challenges)",
                &[],
            )
            .await?
            .get(0);
        if present > 0 {
            return Err(StoreError::Database(format!(
                "{target} is not empty ({present} rows); db copy only fills an empty database"
            ))
            .into());
        }
        let insert_user = tx.prepare(INSERT_USER).await?;
        let insert_code = tx.prepare(INSERT_RECOVERY_CODE).await?;
        let insert_station = tx.prepare(INSERT_STATION).await?;
        let mut summary = CopySummary {
            users: 0,
            recovery_codes: 0,
        };
        progress(0, total);
        for user in &users {
            tx.execute(
                &insert_user,
                &[
                    &user.id,
                    &user.name,
                    &user.password_hash,
                    &user.password_expires_at,
                    &user.totp_sealed,
                    &user.totp_algorithm,
                    &user.totp_digits,
                    &user.totp_period,
                    &user.last_step,
                    &user.failures,
                    &user.locks,
                    &user.locked_until,
                    &user.disabled,
                    &user.created_at,
                    &user.last_login_at,
                    &user.delivery_channel,
                    &user.delivery_destination,
                    &user.drift_steps,
                    &user.groups,
                    &user.reply,
                    &user.guesses,
                    &user.guessed_at,
                    &user.password_source,
                ],
            )
            .await?;
            for (mac, used_at) in codes.get(&user.id).into_iter().flatten() {
                tx.execute(&insert_code, &[&user.id, mac, used_at]).await?;
                summary.recovery_codes += 1;
            }
            // The stations the user logged in from stay trusted, with their counts.
            for s in stations.get(&user.id).into_iter().flatten() {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
                    &user.id,
                    &s.station,
                    &s.trusted_at,
                    &s.guesses,
                    &s.guessed_at,
                ];
                tx.execute(&insert_station, &params).await?;
            }
            summary.users += 1;
            progress(summary.users, total);
        }
        // New users get ids after the copied ones.
        tx.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'),
                           GREATEST((SELECT MAX(id) FROM users), 1))",
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    })
}

/// Every user row as stored (nothing unsealed: the rows are copied, not interpreted) and the
/// recovery codes. A row whose columns cannot be read refuses the copy, naming its user.
fn read_sqlite(path: &Path) -> Result<(Vec<UserRow>, RecoveryCodes, Stations), StoreError> {
    let (users, codes, stations) = read_sqlite_rows(path).map_err(|e| StoreError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok((
        users.into_iter().collect::<Result<_, _>>()?,
        codes,
        stations,
    ))
}

type UserRows = Vec<Result<UserRow, StoreError>>;

/// A trusted station of a user, as stored.
struct StationRow {
    station: String,
    trusted_at: i64,
    guesses: i64,
    guessed_at: Option<i64>,
}

/// The stations of each user, by user id.
type Stations = HashMap<i64, Vec<StationRow>>;

fn read_sqlite_rows(path: &Path) -> rusqlite::Result<(UserRows, RecoveryCodes, Stations)> {
    let conn = rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let users = conn
        .prepare("SELECT * FROM users ORDER BY id")?
        .query_map([], |row| Ok(UserRow::read(row)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut codes = RecoveryCodes::new();
    let mut statement = conn.prepare("SELECT user_id, mac, used_at FROM recovery_codes")?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    for row in rows {
        let (user_id, mac, used_at) = row?;
        codes.entry(user_id).or_default().push((mac, used_at));
    }
    let mut stations = Stations::new();
    let mut statement =
        conn.prepare("SELECT user_id, station, trusted_at, guesses, guessed_at FROM stations")?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            StationRow {
                station: r.get(1)?,
                trusted_at: r.get(2)?,
                guesses: r.get(3)?,
                guessed_at: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (user_id, station) = row?;
        stations.entry(user_id).or_default().push(station);
    }
    Ok((users, codes, stations))
}
