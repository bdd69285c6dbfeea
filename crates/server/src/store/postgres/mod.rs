//! The shared PostgreSQL store: several radotp nodes, one user base and one replay record.
//!
//! The same tables and the same statements as the SQLite store (`sql.rs` says why each is safe
//! when nodes race); seeds are sealed and codes MACed here, with the node's key file, so every
//! node must use the same key file. Connections come from a bounded pool with timeouts
//! (`pool.rs`); an unreachable database gives errors quickly, never a guess.

mod api_tokens;
pub mod copy;
mod eap;
mod error;
mod invitations;
mod pool;
mod schema;
mod sql;
mod store_impl;
#[cfg(test)]
mod tests;
mod throttle;
pub mod tls;
mod tokens;
mod url;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use self::error::OpError;
use self::pool::{Conn, Pool};
use super::row::{self, Columns, UserRow, Value, json_list};
use super::{
    Claim, Delivery, Gate, IssueOutcome, KEEP_EXPIRED_SECS, Keys, LockoutPolicy, MAX_CODE_ATTEMPTS,
    MacPurpose, NewUser, RecoveryCodeState, SendLimits, Store, StoreError, UserRecord, step_param,
};
use crate::secret::SecretBytes;

pub use pool::Limits;
pub use schema::VERSION as SCHEMA_VERSION;
pub use url::PostgresUrl;

pub struct PostgresStore {
    pool: Pool,
    keys: Keys,
    /// The schema version found on open, before migrating.
    found_version: i64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("found_version", &self.found_version)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect and bring the schema up to date (creating it in an empty database).
    pub fn open(url: &PostgresUrl, keys: Keys) -> Result<Self, StoreError> {
        Self::open_with(url, keys, Limits::default())
    }

    /// `open` with other pool bounds.
    pub fn open_with(url: &PostgresUrl, keys: Keys, limits: Limits) -> Result<Self, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            path: url.to_string().into(),
            reason,
        };
        let pool = Pool::new(url, limits).map_err(open_error)?;
        let mut store = Self {
            pool,
            keys,
            found_version: 0,
        };
        store.found_version = store.migrate().map_err(|e| open_error(e.to_string()))?;
        Ok(store)
    }

    /// The schema version the database had when this store opened it (0: none yet).
    pub fn found_version(&self) -> i64 {
        self.found_version
    }

    /// Apply missing schema migrations; returns the version found before.
    pub fn migrate(&self) -> Result<i64, StoreError> {
        self.pool.run(
            self.pool.operation_timeout() * 6,
            async |conn: &mut Conn| schema::migrate(&mut conn.client).await,
        )
    }

    /// Check a database without changing it: reachable, a schema this radotp knows (or none
    /// yet: the first `serve` or `db migrate` creates it), and the key file opens its seeds.
    pub fn check(url: &PostgresUrl, keys: &Keys) -> Result<(), StoreError> {
        Self::open_existing(url, keys.clone()).map(|_| ())
    }

    /// `check`, keeping the connection: the store of a database that has the current schema
    /// (never migrated here), or `None` when it has no schema yet.
    pub fn open_existing(url: &PostgresUrl, keys: Keys) -> Result<Option<Self>, StoreError> {
        let pool = Pool::new(url, Limits::default()).map_err(StoreError::Database)?;
        let found =
            pool.run(
                pool.operation_timeout(),
                async |conn: &mut Conn| match schema::version(&conn.client).await? {
                    None => Ok(None),
                    Some(v) if v > schema::VERSION => Err(schema::newer(v).into()),
                    Some(v) if v < schema::VERSION => Err(schema::older(v).into()),
                    Some(v) => {
                        let row = conn.client.query_opt(row::SAMPLE_SEALED, &[]).await?;
                        let sample = row.map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)));
                        Ok(Some((v, sample)))
                    }
                },
            )?;
        let Some((version, sample)) = found else {
            return Ok(None);
        };
        if let Some((name, sealed)) = sample {
            keys.unseal(&name, &sealed)?;
        }
        Ok(Some(Self {
            pool,
            keys,
            found_version: version,
        }))
    }

    fn pool(&self) -> &Pool {
        &self.pool
    }

    /// One ordinary operation, bounded by the pool's operation timeout.
    fn run<T>(
        &self,
        op: impl AsyncFnMut(&mut Conn) -> Result<T, OpError>,
    ) -> Result<T, StoreError> {
        self.pool.run(self.pool.operation_timeout(), op)
    }

    /// Execute one prepared statement; the number of rows it changed.
    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql).await?;
            Ok(conn.client.execute(&statement, params).await?)
        })
    }

    /// `UPDATE … WHERE` the user's token `$2`: no row changed means the token, or the user,
    /// does not exist.
    fn update_token(
        &self,
        name: &str,
        id: u32,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        if self.execute(sql, params)? > 0 {
            return Ok(());
        }
        let exists: bool = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::USER_EXISTS).await?;
            Ok(conn.client.query_one(&statement, &[&name]).await?.get(0))
        })?;
        Err(match exists {
            true => StoreError::TokenNotFound {
                user: name.to_owned(),
                id,
            },
            false => StoreError::UserNotFound(name.to_owned()),
        })
    }

    /// `UPDATE … WHERE name = $1`: no row changed means the user does not exist.
    fn update(
        &self,
        name: &str,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        match self.execute(sql, params)? {
            0 => Err(StoreError::UserNotFound(name.to_owned())),
            _ => Ok(()),
        }
    }
}

/// The schema's types match the mapping's (BIGINT as `i64`, BOOLEAN `disabled`); a mismatch
/// is reported with its cause.
impl Columns for Row {
    fn column<T: Value>(&self, name: &str) -> Result<T, String> {
        self.try_get(name).map_err(|e| error::describe(&e))
    }

    fn flag(&self, name: &str) -> Result<bool, String> {
        self.column(name)
    }
}
