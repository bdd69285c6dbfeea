//! EAP session resumption in PostgreSQL, statement for statement the SQLite ones
//! (`sqlite/eap.rs`): the ticket keys every node shares (sealed, bound to their id), and the
//! resumable sessions (found by the MAC of their handle). What ends a user's sessions along
//! with another change (disable, a new password, reset-otp) does it in that change's
//! statement or transaction (`sql.rs`, `store_impl.rs`).

use super::PostgresStore;
use super::pool::Conn;
use super::sql;
use crate::store::eap::{TLS_SESSION, key_id, seal_context};
use crate::store::{EapSession, MacPurpose, StoreError, TicketKey};

/// Newest first; the id orders keys made in the same second.
const KEYS: &str = "SELECT id, created, sealed FROM eap_ticket_keys ORDER BY created DESC, id DESC";

/// Rotations wait for each other: this mode conflicts with itself (and with plain writes),
/// not with readers. Held until the transaction ends.
const LOCK_KEYS: &str = "LOCK TABLE eap_ticket_keys IN SHARE ROW EXCLUSIVE MODE";

/// Only while no key newer than `$4` exists. After `LOCK_KEYS`, under READ COMMITTED, this
/// statement sees the key a rotation that held the lock before committed, and adds none. An
/// id already taken adds nothing either (the caller tries again with another).
const ROTATE: &str = "INSERT INTO eap_ticket_keys (id, created, sealed)
     SELECT $1::bigint, $2::bigint, $3::bytea
     WHERE NOT EXISTS (SELECT 1 FROM eap_ticket_keys WHERE created > $4::bigint)
     ON CONFLICT (id) DO NOTHING";

const REMOVE_KEYS: &str = "DELETE FROM eap_ticket_keys WHERE created < $1";

/// A handle bound again (the same TLS session resumed once more) is bound anew. Never for a
/// disabled user.
/// Commits without waiting for the disk (the CTE `r`), as the SQLite store's bind does: a bind
/// lost costs one full login; what ends sessions waits for the disk.
const BIND: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    INSERT INTO eap_sessions (handle_mac, user_id, created)
     SELECT $1::bytea, id, $3::bigint FROM users, r
     WHERE name = $2 AND NOT disabled AND r.c = 'off'
     ON CONFLICT (handle_mac) DO UPDATE SET user_id = EXCLUDED.user_id,
                                            created = EXCLUDED.created";

const FIND: &str = "SELECT u.name, s.created FROM eap_sessions s JOIN users u ON u.id = s.user_id
     WHERE s.handle_mac = $1";

/// Both kinds of session in one statement.
const EXPIRE: &str = "WITH tls AS (DELETE FROM eap_tls_sessions WHERE created < $1 RETURNING 1),
          handles AS (DELETE FROM eap_sessions WHERE created < $1 RETURNING 1)
     SELECT (SELECT count(*) FROM tls) + (SELECT count(*) FROM handles)";

/// Without waiting for the disk, as `BIND`.
const PUT_TLS: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    INSERT INTO eap_tls_sessions (id_mac, created, sealed)
     SELECT $1::bytea, $2::bigint, $3::bytea FROM r WHERE r.c = 'off'
     ON CONFLICT (id_mac) DO UPDATE SET created = EXCLUDED.created, sealed = EXCLUDED.sealed";

const GET_TLS: &str = "SELECT sealed FROM eap_tls_sessions WHERE id_mac = $1 AND created >= $2";

/// Every session of the user `$1`.
const END_SESSIONS: &str =
    "DELETE FROM eap_sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)";

impl PostgresStore {
    /// A session's handle as stored: not bound to a user, since the handle alone names one.
    fn eap_session_mac(&self, handle: &[u8]) -> Vec<u8> {
        self.keys.code_mac(MacPurpose::EapSession, "", handle)
    }

    /// A TLS session id as stored (apart from handles by its context).
    fn tls_session_mac(&self, id: &[u8]) -> Vec<u8> {
        self.keys.code_mac(MacPurpose::EapSession, TLS_SESSION, id)
    }

    /// Rows of `KEYS`, unsealed.
    fn unseal_keys(&self, rows: Vec<(i64, i64, Vec<u8>)>) -> Result<Vec<TicketKey>, StoreError> {
        rows.into_iter()
            .map(|(id, created, sealed)| {
                let id = key_id(id)?;
                let key = self.keys.unseal(&seal_context(id), &sealed)?;
                Ok(TicketKey { id, created, key })
            })
            .collect()
    }

    pub(super) fn ticket_keys(&self) -> Result<Vec<TicketKey>, StoreError> {
        let rows = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(KEYS).await?;
            let rows = conn.client.query(&statement, &[]).await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })?;
        self.unseal_keys(rows)
    }

    pub(super) fn rotate_ticket_key(
        &self,
        key: &TicketKey,
        not_before: i64,
    ) -> Result<Vec<TicketKey>, StoreError> {
        // Sealed once, outside the retry loop of the pool.
        let sealed = self.keys.seal(&seal_context(key.id), &key.key);
        let id = i64::from(key.id);
        let rows = self.run(async |conn: &mut Conn| {
            let tx = conn.client.transaction().await?;
            tx.batch_execute(LOCK_KEYS).await?;
            tx.execute(ROTATE, &[&id, &key.created, &sealed, &not_before])
                .await?;
            let rows = tx.query(KEYS, &[]).await?;
            tx.commit().await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })?;
        self.unseal_keys(rows)
    }

    pub(super) fn remove_ticket_keys(&self, before: i64) -> Result<u64, StoreError> {
        self.execute(REMOVE_KEYS, &[&before])
    }

    pub(super) fn bind_session(
        &self,
        handle: &[u8],
        name: &str,
        created: i64,
    ) -> Result<(), StoreError> {
        let mac = self.eap_session_mac(handle);
        if self.execute(BIND, &[&mac, &name, &created])? > 0 {
            return Ok(());
        }
        // Nothing bound: a disabled user (fine: nothing to resume), or no user at all.
        let exists: bool = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::USER_EXISTS).await?;
            Ok(conn.client.query_one(&statement, &[&name]).await?.get(0))
        })?;
        match exists {
            true => Ok(()),
            false => Err(StoreError::UserNotFound(name.to_owned())),
        }
    }

    pub(super) fn find_session(&self, handle: &[u8]) -> Result<Option<EapSession>, StoreError> {
        let mac = self.eap_session_mac(handle);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(FIND).await?;
            let row = conn.client.query_opt(&statement, &[&mac]).await?;
            Ok(row.map(|r| EapSession {
                user: r.get(0),
                created: r.get(1),
            }))
        })
    }

    pub(super) fn expire_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let expired: i64 = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(EXPIRE).await?;
            Ok(conn.client.query_one(&statement, &[&before]).await?.get(0))
        })?;
        Ok(expired.max(0) as u64)
    }

    pub(super) fn put_tls_session(
        &self,
        id: &[u8],
        sealed: &[u8],
        created: i64,
    ) -> Result<(), StoreError> {
        let mac = self.tls_session_mac(id);
        self.execute(PUT_TLS, &[&mac, &created, &sealed])
            .map(|_| ())
    }

    pub(super) fn get_tls_session(
        &self,
        id: &[u8],
        since: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mac = self.tls_session_mac(id);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(GET_TLS).await?;
            let row = conn.client.query_opt(&statement, &[&mac, &since]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    pub(super) fn end_user_sessions(&self, name: &str) -> Result<u64, StoreError> {
        self.execute(END_SESSIONS, &[&name])
    }
}
