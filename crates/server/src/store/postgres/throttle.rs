//! The throttle of wrong passwords in PostgreSQL, statement for statement the SQLite one
//! (`sqlite/throttle.rs`). Each charge is one conditional `UPDATE`: under READ COMMITTED a
//! racing node's charge is seen before the condition is checked again, so a burst from any
//! number of nodes gets no more judgements than the gate allows.
//!
//! As on SQLite (`sqlite::store_impl::relaxed`), the throttle's bookkeeping — charges, refunds,
//! a station's trust — commits without waiting for the disk: each of these statements sets
//! `synchronous_commit = off` for its own transaction (`relaxed!`). The commit is in the WAL
//! before the statement returns, and a later durable commit (a used code, a failure, a lock)
//! flushes it too; a crash of the database server can lose the last relaxed ones — a few wrong
//! passwords forgotten — never a used code. It saves an fsync per statement, three per accept.

use super::PostgresStore;
use super::pool::Conn;
use crate::store::{Claim, Gate, LockoutPolicy, StoreError, THROTTLE_MEMORY_SECS};

/// A condition that is always true and makes the statement's own transaction commit without
/// waiting for the disk: `set_config(…, true)` lasts until the end of the transaction, and a
/// single statement is its own transaction, committed after it ran. In every row's condition,
/// so it is evaluated whenever a row changes (an unchanged row writes nothing to wait for).
macro_rules! relaxed {
    () => {
        "pg_catalog.set_config('synchronous_commit', 'off', true) = 'off'"
    };
}

/// `$2` now, `$3` max_failures, `$4` base_secs, `$5` max_secs, `$6` memory.
macro_rules! charge {
    ($table:literal, $where:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET guesses = CASE WHEN guessed_at IS NULL OR guessed_at <= $2::bigint - $6::bigint
                                 THEN 1 ELSE guesses + 1 END,
                  guessed_at = $2::bigint
             WHERE ",
            $where,
            " AND (guessed_at IS NULL OR guessed_at <= $2::bigint - $6::bigint
                   OR guesses < $3::bigint
                   OR $2::bigint >= guessed_at + LEAST($4::bigint * (1::bigint
                        << LEAST(GREATEST(guesses - $3::bigint, 0), 20)::integer), $5::bigint))
               AND ",
            relaxed!()
        )
    };
}

/// Which gate judges the guess, and its charge, in one statement (one round trip): the
/// station's own gate when `$8` (trusted_station_days > 0) and the station was trusted after
/// `$9`, else the user's. Returns (station gate?, charged?). `$7` station.
const CLAIM: &str = concat!(
    "WITH gate AS (
         SELECT $8::boolean AND EXISTS (SELECT 1 FROM stations
             WHERE user_id = (SELECT id FROM users WHERE name = $1) AND station = $7
               AND trusted_at > $9::bigint) AS station
     ), by_user AS (",
    charge!("users", "name = $1 AND NOT (SELECT station FROM gate)"),
    " RETURNING 1
     ), by_station AS (",
    charge!(
        "stations",
        "user_id = (SELECT id FROM users WHERE name = $1) AND station = $7
         AND (SELECT station FROM gate)"
    ),
    " RETURNING 1
     )
     SELECT (SELECT station FROM gate),
            EXISTS (SELECT 1 FROM by_user) OR EXISTS (SELECT 1 FROM by_station)"
);

const COUNT_USER: &str = "SELECT guesses, guessed_at FROM users WHERE name = $1";
const COUNT_STATION: &str = "SELECT guesses, guessed_at FROM stations
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND station = $2";

pub(super) const REFUND_USER: &str = concat!(
    "UPDATE users SET guesses = GREATEST(guesses - 1, 0) WHERE name = $1 AND ",
    relaxed!()
);
pub(super) const REFUND_STATION: &str = concat!(
    "UPDATE stations SET guesses = GREATEST(guesses - 1, 0)
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND station = $2 AND ",
    relaxed!()
);

/// What a login leaves behind, in one statement (one round trip): the user's row locked (it
/// serialises the user's logins, as the other statements of `sql` do); the station trusted
/// when `$5` (trusted_station_days > 0); stations last trusted at or before `$4` forgotten
/// (never the one trusted now, which the same statement cannot both write and delete); the
/// user's own gate reset when `$6` (the login passed it). `$1` name, `$2` station, `$3` now.
const TRUST: &str = concat!(
    "WITH target AS (
         SELECT id FROM users WHERE name = $1 AND ",
    relaxed!(),
    " FOR UPDATE
     ), trusted AS (
         INSERT INTO stations (user_id, station, trusted_at, guesses)
         SELECT id, $2, $3, 0 FROM target WHERE $5::boolean
         ON CONFLICT (user_id, station)
         DO UPDATE SET trusted_at = excluded.trusted_at, guesses = 0, guessed_at = NULL
     ), forgotten AS (
         DELETE FROM stations
         WHERE user_id = (SELECT id FROM target) AND trusted_at <= $4
           AND NOT ($5::boolean AND station = $2)
     ), reset AS (
         UPDATE users SET guesses = 0, guessed_at = NULL
         WHERE id = (SELECT id FROM target) AND $6::boolean
     )
     SELECT count(*) FROM target"
);

impl PostgresStore {
    pub(super) fn claim(
        &self,
        name: &str,
        station: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Claim, StoreError> {
        let max = i64::from(policy.max_failures);
        let since = now - policy.trust_secs();
        let trusting = policy.trusted_station_days > 0;
        self.run(async |conn: &mut Conn| {
            let claim = conn.statement(CLAIM).await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
                &name,
                &now,
                &max,
                &policy.base_secs,
                &policy.max_secs,
                &THROTTLE_MEMORY_SECS,
                &station,
                &trusting,
                &since,
            ];
            let row = conn.client.query_one(&claim, &params).await?;
            let (by_station, charged): (bool, bool) = (row.get(0), row.get(1));
            let gate = if by_station {
                Gate::Station
            } else {
                Gate::User
            };
            let count = match gate {
                Gate::User => COUNT_USER,
                Gate::Station => COUNT_STATION,
            };
            if charged {
                return Ok(Claim::Granted(gate));
            }
            let count = conn.statement(count).await?;
            let row = match gate {
                Gate::User => conn.client.query_opt(&count, &[&name]).await?,
                Gate::Station => conn.client.query_opt(&count, &[&name, &station]).await?,
            };
            let (guesses, at): (i64, Option<i64>) = row.map_or((0, None), |r| (r.get(0), r.get(1)));
            Ok(Claim::Throttled {
                gate,
                until: at.unwrap_or(now) + policy.delay(guesses - max),
            })
        })
    }

    pub(super) fn trust(
        &self,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        let forget_before = now - policy.trust_secs();
        let trust = policy.trusted_station_days > 0;
        let reset = gate == Gate::User;
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(TRUST).await?;
            conn.client
                .query_one(
                    &statement,
                    &[&name, &station, &now, &forget_before, &trust, &reset],
                )
                .await?;
            Ok(())
        })
    }
}
