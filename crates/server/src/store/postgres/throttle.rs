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

const CHARGE_USER: &str = charge!("users", "name = $1");
const CHARGE_STATION: &str = charge!(
    "stations",
    "user_id = (SELECT id FROM users WHERE name = $1) AND station = $7"
);

const TRUSTED: &str = "SELECT EXISTS (SELECT 1 FROM stations
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND station = $2
       AND trusted_at > $3)";

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
        self.run(async |conn: &mut Conn| {
            let trusted_statement = conn.statement(TRUSTED).await?;
            let trusted: bool = conn
                .client
                .query_one(&trusted_statement, &[&name, &station, &since])
                .await?
                .get(0);
            let gate = if trusted && policy.trusted_station_days > 0 {
                Gate::Station
            } else {
                Gate::User
            };
            let (charge, count) = match gate {
                Gate::User => (CHARGE_USER, COUNT_USER),
                Gate::Station => (CHARGE_STATION, COUNT_STATION),
            };
            let charge = conn.statement(charge).await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                &name,
                &now,
                &max,
                &policy.base_secs,
                &policy.max_secs,
                &THROTTLE_MEMORY_SECS,
                &station,
            ];
            let charged = match gate {
                Gate::User => conn.client.execute(&charge, &params[..6]).await?,
                Gate::Station => conn.client.execute(&charge, &params).await?,
            };
            if charged == 1 {
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
