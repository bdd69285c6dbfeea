//! The throttle of wrong passwords in SQLite: a guess is counted before it is judged, by one
//! conditional `UPDATE` at the gate that applies (the statements' arithmetic is
//! `LockoutPolicy::delay`'s), refunded if the password was right, and a login trusts its
//! station. The PostgreSQL twin is `postgres/throttle.rs`.

use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_error};
use crate::store::{Claim, Gate, LockoutPolicy, StoreError, THROTTLE_MEMORY_SECS};

/// Is a guess allowed at a gate whose count is `guesses`, last charged at `guessed_at`? Then
/// count it. `?2` now, `?3` max_failures, `?4` base_secs, `?5` max_secs, `?6` memory.
macro_rules! charge {
    ($table:literal, $where:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET guesses = CASE WHEN guessed_at IS NULL OR guessed_at <= ?2 - ?6
                                 THEN 1 ELSE guesses + 1 END,
                  guessed_at = ?2
             WHERE ",
            $where,
            " AND (guessed_at IS NULL OR guessed_at <= ?2 - ?6 OR guesses < ?3
                   OR ?2 >= guessed_at + MIN(?4 * (1 << MIN(MAX(guesses - ?3, 0), 20)), ?5))"
        )
    };
}

const CHARGE_USER: &str = charge!("users", "name = ?1");
const CHARGE_STATION: &str = charge!(
    "stations",
    "user_id = (SELECT id FROM users WHERE name = ?1) AND station = ?7"
);

const TRUSTED: &str = "SELECT EXISTS (SELECT 1 FROM stations
     WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND station = ?2
       AND trusted_at > ?3)";

impl SqliteStore {
    pub(super) fn claim(
        conn: &Connection,
        name: &str,
        station: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Claim, StoreError> {
        let trusted: bool = conn
            .prepare_cached(TRUSTED)
            .and_then(|mut s| {
                s.query_row(params![name, station, now - policy.trust_secs()], |r| {
                    r.get(0)
                })
            })
            .map_err(db_error)?;
        let gate = if trusted && policy.trusted_station_days > 0 {
            Gate::Station
        } else {
            Gate::User
        };
        let base = params![
            name,
            now,
            policy.max_failures,
            policy.base_secs,
            policy.max_secs,
            THROTTLE_MEMORY_SECS
        ];
        let charged = match gate {
            Gate::User => conn
                .prepare_cached(CHARGE_USER)
                .and_then(|mut s| s.execute(base)),
            Gate::Station => conn.prepare_cached(CHARGE_STATION).and_then(|mut s| {
                s.execute(params![
                    name,
                    now,
                    policy.max_failures,
                    policy.base_secs,
                    policy.max_secs,
                    THROTTLE_MEMORY_SECS,
                    station
                ])
            }),
        }
        .map_err(db_error)?;
        if charged == 1 {
            return Ok(Claim::Granted(gate));
        }
        // Refused: say until when.
        let count: Option<(i64, Option<i64>)> = match gate {
            Gate::User => conn
                .prepare_cached("SELECT guesses, guessed_at FROM users WHERE name = ?1")
                .and_then(|mut s| s.query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))),
            Gate::Station => conn
                .prepare_cached(
                    "SELECT guesses, guessed_at FROM stations
                     WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND station = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![name, station], |r| Ok((r.get(0)?, r.get(1)?)))
                }),
        }
        .optional()
        .map_err(db_error)?;
        let (guesses, at) = count.unwrap_or((0, None));
        let excess = guesses - i64::from(policy.max_failures);
        Ok(Claim::Throttled {
            gate,
            until: at.unwrap_or(now) + policy.delay(excess),
        })
    }

    pub(super) fn refund(
        conn: &Connection,
        name: &str,
        station: &str,
        gate: Gate,
    ) -> Result<(), StoreError> {
        match gate {
            Gate::User => conn
                .prepare_cached("UPDATE users SET guesses = MAX(guesses - 1, 0) WHERE name = ?1")
                .and_then(|mut s| s.execute([name])),
            Gate::Station => conn
                .prepare_cached(
                    "UPDATE stations SET guesses = MAX(guesses - 1, 0)
                     WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND station = ?2",
                )
                .and_then(|mut s| s.execute(params![name, station])),
        }
        .map(|_| ())
        .map_err(db_error)
    }

    pub(super) fn trust(
        conn: &Connection,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        let tx = conn.unchecked_transaction().map_err(db_error)?;
        if policy.trusted_station_days > 0 {
            tx.prepare_cached(
                "INSERT INTO stations (user_id, station, trusted_at, guesses)
                 SELECT id, ?2, ?3, 0 FROM users WHERE name = ?1
                 ON CONFLICT (user_id, station)
                 DO UPDATE SET trusted_at = excluded.trusted_at, guesses = 0, guessed_at = NULL",
            )
            .and_then(|mut s| s.execute(params![name, station, now]))
            .map_err(db_error)?;
        }
        // Trust runs out: stations not logged in from for that long are forgotten.
        tx.prepare_cached(
            "DELETE FROM stations WHERE user_id = (SELECT id FROM users WHERE name = ?1)
               AND trusted_at <= ?2",
        )
        .and_then(|mut s| s.execute(params![name, now - policy.trust_secs()]))
        .map_err(db_error)?;
        if gate == Gate::User {
            tx.prepare_cached("UPDATE users SET guesses = 0, guessed_at = NULL WHERE name = ?1")
                .and_then(|mut s| s.execute([name]))
                .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    }
}
