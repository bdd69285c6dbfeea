//! `radotp db copy`: an SQLite installation moved into an empty PostgreSQL database, all or
//! nothing (one transaction on the target).
//!
//! Rows are copied as stored: seeds stay sealed and codes stay MACs, so the nodes must use the
//! key file the SQLite installation used. Users come with everything that guards them (their
//! tokens with each one's last used code and drift, failures and locks, recovery codes with
//! their use, groups and reply attributes) and their pending invitation (its failures too);
//! administrators' API tokens come as they are. Sent codes and challenges are not copied: they
//! live minutes, and a user mid-login simply asks again. Nor are EAP's ticket keys and
//! resumable sessions: the nodes make new keys, and a device resuming a session logs in in
//! full once (with a code).

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
    pub tokens: u64,
    pub recovery_codes: u64,
    pub invitations: u64,
    pub api_tokens: u64,
}

/// `(mac, used_at)` of each recovery code, by user id.
type RecoveryCodes = HashMap<i64, Vec<(Vec<u8>, Option<i64>)>>;

const INSERT_USER: &str = "INSERT INTO users (id, name, password_hash, password_expires_at,
        failures, locks, locked_until, disabled, created_at, last_login_at, delivery_channel,
        delivery_destination, groups, reply, guesses, guessed_at, password_source, token_ids)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

/// The `tokens` columns, in this order, on both sides.
const TOKEN_COLUMNS: &str = "user_id, id, kind, label, serial, sealed, algorithm, digits, period,
        public_id, last_used, drift, disabled, created_at, last_used_at";

const INSERT_TOKEN: &str = "INSERT INTO tokens (user_id, id, kind, label, serial, sealed,
        algorithm, digits, period, public_id, last_used, drift, disabled, created_at,
        last_used_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

const INSERT_STATION: &str = "INSERT INTO stations (user_id, station, trusted_at, guesses,
        guessed_at) VALUES ($1, $2, $3, $4, $5)";

const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, mac, used_at) VALUES ($1, $2, $3)";

const INSERT_INVITATION: &str = "INSERT INTO invitations (user_id, mac, created_at, expires_at,
        failures) VALUES ($1, $2, $3, $4, $5)";

const INSERT_API_TOKEN: &str =
    "INSERT INTO api_tokens (name, mac, created_at, last_used_at) VALUES ($1, $2, $3, $4)";

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
    let (users, rows) = read_sqlite(source)?;
    let SourceRows {
        codes,
        stations,
        tokens,
        invitations,
        api_tokens,
    } = rows;
    let store = PostgresStore::open(target, keys.clone())?;
    let pool = store.pool();
    let total = users.len() as u64;
    // Bounded, but generous: statements keep their own timeout each.
    let budget = pool.operation_timeout() * 720;
    pool.run(budget, async |conn: &mut Conn| {
        let tx = conn.client.transaction().await?;
        // Nodes already pointed at the target wait until the copy is whole.
        tx.batch_execute(
            "LOCK TABLE users, recovery_codes, sent_codes, challenges, stations, tokens,
                        invitations, api_tokens
             IN EXCLUSIVE MODE",
        )
        .await?;
        let present: i64 = tx
            .query_one(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM recovery_codes)
                      + (SELECT COUNT(*) FROM sent_codes) + (SELECT COUNT(*) FROM challenges)
                      + (SELECT COUNT(*) FROM api_tokens)",
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
        let insert_token = tx.prepare(INSERT_TOKEN).await?;
        let insert_invitation = tx.prepare(INSERT_INVITATION).await?;
        let mut summary = CopySummary {
            users: 0,
            tokens: 0,
            recovery_codes: 0,
            invitations: 0,
            api_tokens: 0,
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
                    &user.failures,
                    &user.locks,
                    &user.locked_until,
                    &user.disabled,
                    &user.created_at,
                    &user.last_login_at,
                    &user.delivery_channel,
                    &user.delivery_destination,
                    &user.groups,
                    &user.reply,
                    &user.guesses,
                    &user.guessed_at,
                    &user.password_source,
                    &user.token_ids,
                ],
            )
            .await?;
            for t in tokens.get(&user.id).into_iter().flatten() {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 15] = [
                    &user.id,
                    &t.id,
                    &t.kind,
                    &t.label,
                    &t.serial,
                    &t.sealed,
                    &t.algorithm,
                    &t.digits,
                    &t.period,
                    &t.public_id,
                    &t.last_used,
                    &t.drift,
                    &t.disabled,
                    &t.created_at,
                    &t.last_used_at,
                ];
                tx.execute(&insert_token, &params).await?;
                summary.tokens += 1;
            }
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
            // A pending link keeps working, with the wrong tries it already had.
            if let Some(i) = invitations.get(&user.id) {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&user.id, &i.mac, &i.created_at, &i.expires_at, &i.failures];
                tx.execute(&insert_invitation, &params).await?;
                summary.invitations += 1;
            }
            summary.users += 1;
            progress(summary.users, total);
        }
        for t in &api_tokens {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                [&t.name, &t.mac, &t.created_at, &t.last_used_at];
            tx.execute(INSERT_API_TOKEN, &params).await?;
            summary.api_tokens += 1;
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
/// rows that go with them. A row whose columns cannot be read refuses the copy, naming its
/// user.
fn read_sqlite(path: &Path) -> Result<(Vec<UserRow>, SourceRows), StoreError> {
    let (users, rows) = read_sqlite_rows(path).map_err(|e| StoreError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok((users.into_iter().collect::<Result<_, _>>()?, rows))
}

/// What the source holds besides the users' own rows.
struct SourceRows {
    codes: RecoveryCodes,
    stations: Stations,
    tokens: Tokens,
    invitations: Invitations,
    api_tokens: Vec<ApiTokenRow>,
}

/// A user's invitation, as stored (a MAC, never the link).
struct InvitationRow {
    mac: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    failures: i64,
}

/// The invitation of each user who has one, by user id.
type Invitations = HashMap<i64, InvitationRow>;

/// An API token, as stored (a MAC, never the value).
struct ApiTokenRow {
    name: String,
    mac: Vec<u8>,
    created_at: i64,
    last_used_at: Option<i64>,
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

/// A token of a user, as stored (sealed).
struct TokenCopy {
    id: i64,
    kind: String,
    label: String,
    serial: Option<String>,
    sealed: Vec<u8>,
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

/// The tokens of each user, by user id.
type Tokens = HashMap<i64, Vec<TokenCopy>>;

fn read_sqlite_rows(path: &Path) -> rusqlite::Result<(UserRows, SourceRows)> {
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
    let mut tokens = Tokens::new();
    let mut statement = conn.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens"))?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            TokenCopy {
                id: r.get(1)?,
                kind: r.get(2)?,
                label: r.get(3)?,
                serial: r.get(4)?,
                sealed: r.get(5)?,
                algorithm: r.get(6)?,
                digits: r.get(7)?,
                period: r.get(8)?,
                public_id: r.get(9)?,
                last_used: r.get(10)?,
                drift: r.get(11)?,
                disabled: r.get::<_, i64>(12)? != 0,
                created_at: r.get(13)?,
                last_used_at: r.get(14)?,
            },
        ))
    })?;
    for row in rows {
        let (user_id, token) = row?;
        tokens.entry(user_id).or_default().push(token);
    }
    let invitations = conn
        .prepare("SELECT user_id, mac, created_at, expires_at, failures FROM invitations")?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                InvitationRow {
                    mac: r.get(1)?,
                    created_at: r.get(2)?,
                    expires_at: r.get(3)?,
                    failures: r.get(4)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let api_tokens = conn
        .prepare("SELECT name, mac, created_at, last_used_at FROM api_tokens ORDER BY name")?
        .query_map([], |r| {
            Ok(ApiTokenRow {
                name: r.get(0)?,
                mac: r.get(1)?,
                created_at: r.get(2)?,
                last_used_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let rows = SourceRows {
        codes,
        stations,
        tokens,
        invitations,
        api_tokens,
    };
    Ok((users, rows))
}
