//! Enrollment invitations in SQLite: at most one per user, found by the MAC of the link's
//! random part, counted down by wrong passwords or codes, and completed — the token added, the
//! invitation deleted — in one transaction. The PostgreSQL twin is `postgres/invitations.rs`.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, db_error, one_row, returning, tokens};
use crate::secret::SecretBytes;
use crate::store::row::count;
use crate::store::{INVITATION_MAX_FAILURES, Invitation, MacPurpose, NewToken, StoreError};

/// One statement creates or replaces: the earlier link's MAC is overwritten, so it stops
/// working at once, and the new one starts with no failures.
const CREATE: &str = "INSERT INTO invitations (user_id, mac, created_at, expires_at, failures)
     SELECT id, ?2, ?3, ?4, 0 FROM users WHERE name = ?1
     ON CONFLICT (user_id) DO UPDATE SET mac = excluded.mac, created_at = excluded.created_at,
                                         expires_at = excluded.expires_at, failures = 0";

const FOR_USER: &str = "SELECT u.name, i.created_at, i.expires_at, i.failures
     FROM invitations i JOIN users u ON u.id = i.user_id WHERE u.name = ?1";

/// Live: `?2` now before its expiry, fewer than `?3` failures (`Invitation::is_live`).
const FIND: &str = "SELECT u.name, i.created_at, i.expires_at, i.failures
     FROM invitations i JOIN users u ON u.id = i.user_id
     WHERE i.mac = ?1 AND i.expires_at > ?2 AND i.failures < ?3";

/// Counts only while live, so the count stops at the limit however many race past it.
const COUNT_FAILURE: &str = "UPDATE invitations SET failures = failures + 1
     WHERE mac = ?1 AND expires_at > ?2 AND failures < ?3
     RETURNING failures";

/// A right password or code gives its claimed try back.
const REFUND: &str = "UPDATE invitations SET failures = failures - 1
     WHERE mac = ?1 AND failures > 0";

/// Whoever deletes the row completes the invitation; a second completion finds none.
const TAKE: &str = "DELETE FROM invitations
     WHERE mac = ?1 AND expires_at > ?2 AND failures < ?3
     RETURNING user_id";

const OWNER: &str = "SELECT name, EXISTS (SELECT 1 FROM tokens t
                                          WHERE t.user_id = users.id AND t.disabled = 0)
     FROM users WHERE id = ?1";

/// An invitation's columns as read: name, created_at, expires_at, failures.
fn invitation(row: &rusqlite::Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        name: row.get(0)?,
        created_at: row.get(1)?,
        expires_at: row.get(2)?,
        failures: count(row.get(3)?),
    })
}

impl SqliteStore {
    /// The link's random part as stored: not bound to a user, since the link alone names one.
    fn invitation_mac(&self, secret: &SecretBytes) -> Vec<u8> {
        self.keys
            .code_mac(MacPurpose::Invitation, "", secret.expose())
    }

    pub(super) fn invite(
        &self,
        name: &str,
        secret: &SecretBytes,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mac = self.invitation_mac(secret);
        let conn = self.conn();
        let changed = conn
            .prepare_cached(CREATE)
            .and_then(|mut s| s.execute(params![name, mac, now, expires_at]))
            .map_err(db_error)?;
        one_row(name, changed)
    }

    pub(super) fn invitation_of(&self, name: &str) -> Result<Option<Invitation>, StoreError> {
        let conn = self.conn();
        conn.prepare_cached(FOR_USER)
            .and_then(|mut s| s.query_row([name], invitation).optional())
            .map_err(db_error)
    }

    pub(super) fn live_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let mac = self.invitation_mac(secret);
        let conn = self.conn();
        conn.prepare_cached(FIND)
            .and_then(|mut s| {
                s.query_row(params![mac, now, INVITATION_MAX_FAILURES], invitation)
                    .optional()
            })
            .map_err(db_error)
    }

    pub(super) fn fail_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let mac = self.invitation_mac(secret);
        let conn = self.conn();
        let failures: Option<i64> = returning(
            &conn,
            COUNT_FAILURE,
            params![mac, now, INVITATION_MAX_FAILURES],
            |r| r.get(0),
        )?;
        Ok(failures.map(count))
    }

    pub(super) fn refund_invitation(&self, secret: &SecretBytes) -> Result<(), StoreError> {
        let mac = self.invitation_mac(secret);
        let conn = self.conn();
        conn.prepare_cached(REFUND)
            .and_then(|mut s| s.execute(params![mac]))
            .map_err(db_error)?;
        Ok(())
    }

    pub(super) fn complete(
        &self,
        secret: &SecretBytes,
        token: &NewToken,
        now: i64,
    ) -> Result<(String, u32), StoreError> {
        let mac = self.invitation_mac(secret);
        let mut conn = self.conn();
        // The write lock first: another handle completing the same invitation waits for this
        // one to end (and then finds the invitation gone) instead of failing as busy.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let user_id: i64 = returning(&tx, TAKE, params![mac, now, INVITATION_MAX_FAILURES], |r| {
            r.get(0)
        })?
        .ok_or(StoreError::InvitationGone)?;
        let (name, active): (String, bool) = tx
            .query_row(OWNER, [user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_error)?;
        if active {
            // Dropping the transaction rolls the deletion back: the link still works once an
            // administrator has removed the token.
            return Err(StoreError::HasActiveToken(name));
        }
        let id = tokens::insert(&tx, &self.keys, &name, token, now)?;
        tx.commit().map_err(db_error)?;
        Ok((name, id))
    }
}
