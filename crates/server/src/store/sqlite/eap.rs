//! EAP session resumption in SQLite: the shared ticket keys (sealed, bound to their id) and the
//! resumable sessions (found by the MAC of their handle). The PostgreSQL twin is
//! `postgres/eap.rs`. What ends a user's sessions along with another change (disable, a new
//! password, reset-otp) runs `END_SESSIONS` in that change's transaction (`store_impl.rs`).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::store_impl::relaxed;
use super::{SqliteStore, db_error, user_exists};
use crate::store::eap::{TLS_SESSION, key_id, seal_context};
use crate::store::{EapSession, MacPurpose, StoreError, TicketKey};

/// Newest first; the id orders keys made in the same second.
const KEYS: &str = "SELECT id, created, sealed FROM eap_ticket_keys ORDER BY created DESC, id DESC";

/// Only while no key newer than `?4` exists; run under the write lock (an immediate
/// transaction), so a node rotating at the same time waits, then sees this key and adds none.
/// An id already taken adds nothing either (the caller tries again with another).
const ROTATE: &str = "INSERT INTO eap_ticket_keys (id, created, sealed)
     SELECT ?1, ?2, ?3
     WHERE NOT EXISTS (SELECT 1 FROM eap_ticket_keys WHERE created > ?4)
     ON CONFLICT (id) DO NOTHING";

const REMOVE_KEYS: &str = "DELETE FROM eap_ticket_keys WHERE created < ?1";

/// A handle bound again (the same TLS session resumed once more) is bound anew. Never for a
/// disabled user.
const BIND: &str = "INSERT INTO eap_sessions (handle_mac, user_id, created)
     SELECT ?1, id, ?3 FROM users WHERE name = ?2 AND disabled = 0
     ON CONFLICT (handle_mac) DO UPDATE SET user_id = excluded.user_id,
                                            created = excluded.created";

const FIND: &str = "SELECT u.name, s.created FROM eap_sessions s JOIN users u ON u.id = s.user_id
     WHERE s.handle_mac = ?1";

const EXPIRE: &str = "DELETE FROM eap_sessions WHERE created < ?1";

const EXPIRE_TLS: &str = "DELETE FROM eap_tls_sessions WHERE created < ?1";

const PUT_TLS: &str = "INSERT INTO eap_tls_sessions (id_mac, created, sealed) VALUES (?1, ?2, ?3)
     ON CONFLICT (id_mac) DO UPDATE SET created = excluded.created, sealed = excluded.sealed";

const GET_TLS: &str = "SELECT sealed FROM eap_tls_sessions WHERE id_mac = ?1 AND created >= ?2";

/// Every session of the user `?1`.
pub(super) const END_SESSIONS: &str =
    "DELETE FROM eap_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)";

/// End the user's sessions inside the caller's transaction; how many.
pub(super) fn end_sessions(tx: &Connection, name: &str) -> Result<u64, StoreError> {
    tx.prepare_cached(END_SESSIONS)
        .and_then(|mut s| s.execute([name]))
        .map(|n| n as u64)
        .map_err(db_error)
}

impl SqliteStore {
    /// A session's handle as stored: not bound to a user, since the handle alone names one.
    fn eap_session_mac(&self, handle: &[u8]) -> Vec<u8> {
        self.keys.code_mac(MacPurpose::EapSession, "", handle)
    }

    /// A TLS session id as stored (apart from handles by its context).
    fn tls_session_mac(&self, id: &[u8]) -> Vec<u8> {
        self.keys.code_mac(MacPurpose::EapSession, TLS_SESSION, id)
    }

    /// The keys, unsealed, newest first.
    fn read_ticket_keys(&self, conn: &Connection) -> Result<Vec<TicketKey>, StoreError> {
        let mut statement = conn.prepare_cached(KEYS).map_err(db_error)?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .map_err(db_error)?;
        let mut keys = Vec::new();
        for row in rows {
            let (id, created, sealed) = row.map_err(db_error)?;
            let id = key_id(id)?;
            let key = self.keys.unseal(&seal_context(id), &sealed)?;
            keys.push(TicketKey { id, created, key });
        }
        Ok(keys)
    }

    pub(super) fn ticket_keys(&self) -> Result<Vec<TicketKey>, StoreError> {
        self.read_ticket_keys(&self.conn())
    }

    pub(super) fn rotate_ticket_key(
        &self,
        key: &TicketKey,
        not_before: i64,
    ) -> Result<Vec<TicketKey>, StoreError> {
        let sealed = self.keys.seal(&seal_context(key.id), &key.key);
        let mut conn = self.conn();
        // The write lock first: a second handle (another process on the same file) rotating
        // now waits for this commit instead of deciding on what it read before.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error)?;
        tx.prepare_cached(ROTATE)
            .and_then(|mut s| {
                s.execute(params![i64::from(key.id), key.created, sealed, not_before])
            })
            .map_err(db_error)?;
        let keys = self.read_ticket_keys(&tx)?;
        tx.commit().map_err(db_error)?;
        Ok(keys)
    }

    pub(super) fn remove_ticket_keys(&self, before: i64) -> Result<u64, StoreError> {
        let conn = self.conn();
        conn.prepare_cached(REMOVE_KEYS)
            .and_then(|mut s| s.execute([before]))
            .map(|n| n as u64)
            .map_err(db_error)
    }

    pub(super) fn bind_session(
        &self,
        handle: &[u8],
        name: &str,
        created: i64,
    ) -> Result<(), StoreError> {
        let mac = self.eap_session_mac(handle);
        let conn = self.conn();
        // Relaxed: a bind a power cut loses costs the device one full login (with a code);
        // what ends sessions (disable, reset-otp, a new password) waits for the disk.
        let bound = relaxed(&conn, |conn| {
            conn.prepare_cached(BIND)
                .and_then(|mut s| s.execute(params![mac, name, created]))
                .map_err(db_error)
        })?;
        if bound > 0 {
            return Ok(());
        }
        // Nothing bound: a disabled user (fine: nothing to resume), or no user at all.
        let exists = user_exists(&conn, name)?;
        match exists {
            true => Ok(()),
            false => Err(StoreError::UserNotFound(name.to_owned())),
        }
    }

    pub(super) fn find_session(&self, handle: &[u8]) -> Result<Option<EapSession>, StoreError> {
        let mac = self.eap_session_mac(handle);
        let conn = self.conn();
        conn.prepare_cached(FIND)
            .and_then(|mut s| {
                s.query_row([mac], |r| {
                    Ok(EapSession {
                        user: r.get(0)?,
                        created: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(db_error)
    }

    pub(super) fn expire_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let conn = self.conn();
        let mut expired = 0;
        for statement in [EXPIRE, EXPIRE_TLS] {
            expired += conn
                .prepare_cached(statement)
                .and_then(|mut s| s.execute([before]))
                .map_err(db_error)? as u64;
        }
        Ok(expired)
    }

    pub(super) fn put_tls_session(
        &self,
        id: &[u8],
        sealed: &[u8],
        created: i64,
    ) -> Result<(), StoreError> {
        let mac = self.tls_session_mac(id);
        // Relaxed, as a bind is: losing it costs one full login.
        relaxed(&self.conn(), |conn| {
            conn.prepare_cached(PUT_TLS)
                .and_then(|mut s| s.execute(params![mac, created, sealed]))
                .map(|_| ())
                .map_err(db_error)
        })
    }

    pub(super) fn get_tls_session(
        &self,
        id: &[u8],
        since: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mac = self.tls_session_mac(id);
        self.conn()
            .prepare_cached(GET_TLS)
            .and_then(|mut s| s.query_row(params![mac, since], |r| r.get(0)).optional())
            .map_err(db_error)
    }

    pub(super) fn end_user_sessions(&self, name: &str) -> Result<u64, StoreError> {
        end_sessions(&self.conn(), name)
    }
}
