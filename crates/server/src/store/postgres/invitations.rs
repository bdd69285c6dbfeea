//! Enrollment invitations in PostgreSQL, statement for statement the SQLite ones
//! (`sqlite/invitations.rs`). Under READ COMMITTED a conditional `UPDATE`/`DELETE` waiting for
//! a row another node is changing re-checks its `WHERE` against the committed row: a failure
//! is counted only while the invitation is live, and an invitation is completed once.

use super::PostgresStore;
use super::pool::Conn;
use super::tokens::{self, Sealed};
use crate::secret::SecretBytes;
use crate::store::row::count;
use crate::store::{INVITATION_MAX_FAILURES, Invitation, MacPurpose, NewToken, StoreError};

/// One statement creates or replaces (two nodes inviting the same user at once: the later
/// wins); the earlier link's MAC is overwritten, so it stops working at once.
const CREATE: &str = "INSERT INTO invitations (user_id, mac, created_at, expires_at, failures)
     SELECT id, $2::bytea, $3::bigint, $4::bigint, 0 FROM users WHERE name = $1
     ON CONFLICT (user_id) DO UPDATE SET mac = EXCLUDED.mac, created_at = EXCLUDED.created_at,
                                         expires_at = EXCLUDED.expires_at, failures = 0";

const FOR_USER: &str = "SELECT u.name, i.created_at, i.expires_at, i.failures
     FROM invitations i JOIN users u ON u.id = i.user_id WHERE u.name = $1";

/// Live: `$2` now before its expiry, fewer than `$3` failures (`Invitation::is_live`).
const FIND: &str = "SELECT u.name, i.created_at, i.expires_at, i.failures
     FROM invitations i JOIN users u ON u.id = i.user_id
     WHERE i.mac = $1 AND i.expires_at > $2 AND i.failures < $3";

/// Re-checked against a row another node just counted on, so the count stops at the limit.
const COUNT_FAILURE: &str = "UPDATE invitations SET failures = failures + 1
     WHERE mac = $1 AND expires_at > $2 AND failures < $3
     RETURNING failures";

/// A right password or code gives its claimed try back.
const REFUND: &str = "UPDATE invitations SET failures = failures - 1
     WHERE mac = $1 AND failures > 0";

/// Whoever deletes the row completes the invitation; a racing node's deletion waits for this
/// transaction and then finds the row gone (or, after a rollback, takes it itself).
const TAKE: &str = "DELETE FROM invitations
     WHERE mac = $1 AND expires_at > $2 AND failures < $3
     RETURNING user_id";

/// The user's row, locked until the transaction ends: a token being added to the user
/// (`add_tokens` locks the same row) is committed before `ACTIVE` looks, or waits for it.
const LOCK_OWNER: &str = "SELECT name FROM users WHERE id = $1 FOR UPDATE";

/// A statement of its own after the lock, so that it sees what was committed while it waited.
const ACTIVE: &str = "SELECT EXISTS (SELECT 1 FROM tokens WHERE user_id = $1 AND NOT disabled)";

/// An invitation's columns as read: name, created_at, expires_at, failures.
fn invitation(row: &tokio_postgres::Row) -> Invitation {
    Invitation {
        name: row.get(0),
        created_at: row.get(1),
        expires_at: row.get(2),
        failures: count(row.get(3)),
    }
}

impl PostgresStore {
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
        self.update(name, CREATE, &[&name, &mac, &now, &expires_at])
    }

    pub(super) fn invitation_of(&self, name: &str) -> Result<Option<Invitation>, StoreError> {
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(FOR_USER).await?;
            let row = conn.client.query_opt(&statement, &[&name]).await?;
            Ok(row.as_ref().map(invitation))
        })
    }

    pub(super) fn live_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let mac = self.invitation_mac(secret);
        let max = i64::from(INVITATION_MAX_FAILURES);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(FIND).await?;
            let row = conn
                .client
                .query_opt(&statement, &[&mac, &now, &max])
                .await?;
            Ok(row.as_ref().map(invitation))
        })
    }

    pub(super) fn fail_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let mac = self.invitation_mac(secret);
        let max = i64::from(INVITATION_MAX_FAILURES);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(COUNT_FAILURE).await?;
            let row = conn
                .client
                .query_opt(&statement, &[&mac, &now, &max])
                .await?;
            Ok(row.map(|r| count(r.get(0))))
        })
    }

    pub(super) fn refund_invitation(&self, secret: &SecretBytes) -> Result<(), StoreError> {
        let mac = self.invitation_mac(secret);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(REFUND).await?;
            conn.client.execute(&statement, &[&mac]).await?;
            Ok(())
        })
    }

    pub(super) fn complete(
        &self,
        secret: &SecretBytes,
        token: &NewToken,
        now: i64,
    ) -> Result<(String, u32), StoreError> {
        let mac = self.invitation_mac(secret);
        let max = i64::from(INVITATION_MAX_FAILURES);
        self.run(async |conn: &mut Conn| {
            let tx = conn.client.transaction().await?;
            let user_id: i64 = tx
                .query_opt(TAKE, &[&mac, &now, &max])
                .await?
                .ok_or(StoreError::InvitationGone)?
                .get(0);
            let name: String = tx.query_one(LOCK_OWNER, &[&user_id]).await?.get(0);
            if tx.query_one(ACTIVE, &[&user_id]).await?.get::<_, bool>(0) {
                // Dropping the transaction rolls the deletion back: the link still works once
                // an administrator has removed the token.
                return Err(StoreError::HasActiveToken(name).into());
            }
            // Sealed here: the seal is bound to the user, whom only the invitation names.
            let sealed = Sealed::new(&self.keys, &name, token);
            let id = tokens::insert(&tx, &sealed, now).await?;
            tx.commit().await?;
            Ok((name, id))
        })
    }
}
