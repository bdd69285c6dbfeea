//! `Store` for `SqliteStore`: each method one statement, or one transaction, on the shared
//! connection; `postgres/sql.rs` holds their PostgreSQL twins and says why each is atomic.

use super::*;
use super::{eap, tokens};
use crate::store::{
    ApiToken, Challenge, EapSession, Invitation, NewToken, Relay, Session, SessionChange, TicketKey,
};

impl Store for SqliteStore {
    fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(FIND_USER).map_err(db_error)?;
        stmt.query_row([name], |row| Ok(UserRow::read_user(row, &self.keys)))
            .optional()
            .map_err(db_error)?
            .transpose()
    }

    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(LIST_USERS).map_err(db_error)?;
        let rows = stmt
            .query_map([], |row| Ok(UserRow::read_user(row, &self.keys)))
            .map_err(db_error)?;
        let mut users = Vec::new();
        for row in rows {
            users.push(row.map_err(db_error)??);
        }
        Ok(users)
    }

    fn add_users(&self, users: &[NewUser<'_>]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO users (name, password_hash, created_at, password_source)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db_error)?;
            for user in users {
                insert
                    .execute(params![
                        user.name,
                        user.password_hash,
                        user.now,
                        user.password_source.as_str(),
                    ])
                    .map_err(|e| match e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StoreError::UserExists(user.name.to_owned())
                        }
                        other => db_error(other),
                    })?;
                if let Some(token) = user.token {
                    tokens::insert(&tx, &self.keys, user.name, token, user.now)?;
                }
            }
        }
        tx.commit().map_err(db_error)
    }

    fn add_tokens(&self, new: &[(&str, NewToken)], now: i64) -> Result<Vec<u32>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        let ids = new
            .iter()
            .map(|(name, token)| tokens::insert(&tx, &self.keys, name, token, now))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().map_err(db_error)?;
        Ok(ids)
    }

    fn replace_tokens(&self, name: &str, token: &NewToken, now: i64) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        tokens::delete_all(&tx, name)?;
        let id = tokens::insert(&tx, &self.keys, name, token, now)?;
        // A session proved with an old token resumes no longer.
        eap::end_sessions(&tx, name)?;
        tx.commit().map_err(db_error)?;
        Ok(id)
    }

    fn remove_token(&self, name: &str, id: u32) -> Result<(), StoreError> {
        let conn = self.conn();
        let changed = conn
            .execute(
                "DELETE FROM tokens
                 WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND id = ?2",
                params![name, id],
            )
            .map_err(db_error)?;
        tokens::one_token(&conn, name, id, changed)
    }

    fn set_token_disabled(&self, name: &str, id: u32, disabled: bool) -> Result<(), StoreError> {
        let conn = self.conn();
        let changed = conn
            .execute(
                "UPDATE tokens SET disabled = ?3
                 WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND id = ?2",
                params![name, id, disabled],
            )
            .map_err(db_error)?;
        tokens::one_token(&conn, name, id, changed)
    }

    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        let changed = tx
            .execute(
                "UPDATE users SET password_hash = ?2, password_expires_at = ?3 WHERE name = ?1",
                params![name, password_hash, expires_at],
            )
            .map_err(db_error)?;
        one_row(name, changed)?;
        // A session proved with the old password resumes no longer.
        eap::end_sessions(&tx, name)?;
        tx.commit().map_err(db_error)
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        let changed = tx
            .execute(
                "UPDATE users SET disabled = ?2 WHERE name = ?1",
                params![name, disabled],
            )
            .map_err(db_error)?;
        one_row(name, changed)?;
        if disabled {
            eap::end_sessions(&tx, name)?;
        }
        tx.commit().map_err(db_error)
    }

    fn unlock(&self, name: &str) -> Result<(), StoreError> {
        self.update(
            name,
            "UPDATE users SET failures = 0, locks = 0, locked_until = NULL, guesses = 0,
                              guessed_at = NULL
             WHERE name = ?1",
            &[&name],
        )?;
        self.conn()
            .execute(
                "UPDATE stations SET guesses = 0, guessed_at = NULL
                 WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
            )
            .map(|_| ())
            .map_err(db_error)
    }

    fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        // Recovery codes, EAP sessions and the rest go with the user (ON DELETE CASCADE).
        self.update(name, "DELETE FROM users WHERE name = ?1", &[&name])
    }

    fn remove_users(&self, names: &[&str]) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        let mut removed = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM users WHERE name = ?1")
                .map_err(db_error)?;
            for name in names {
                removed += delete.execute([name]).map_err(db_error)? as u64;
            }
        }
        tx.commit().map_err(db_error)?;
        Ok(removed)
    }

    fn replace_recovery_codes(&self, name: &str, codes: &[SecretBytes]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db_error)?;
        let id: i64 = tx
            .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(db_error)?
            .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [id])
            .map_err(db_error)?;
        for code in codes {
            let mac = self
                .keys
                .code_mac(MacPurpose::Recovery, name, code.expose());
            tx.execute(
                "INSERT INTO recovery_codes (user_id, mac) VALUES (?1, ?2)",
                params![id, mac],
            )
            .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    }

    fn consume_recovery_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let mac = self
            .keys
            .code_mac(MacPurpose::Recovery, name, code.expose());
        let conn = self.conn();
        let used = conn
            .execute(
                "UPDATE recovery_codes SET used_at = ?3
                 WHERE mac = ?2 AND used_at IS NULL
                   AND user_id = (SELECT id FROM users WHERE name = ?1
                                  AND (locked_until IS NULL OR locked_until <= ?3))",
                params![name, mac, now],
            )
            .map_err(db_error)?;
        if used == 0 {
            return Ok(None);
        }
        touch_login(&conn, name, now)?;
        let left: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM recovery_codes
                 WHERE used_at IS NULL AND user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        Ok(Some(u32::try_from(left).unwrap_or(0)))
    }

    fn consume_token(
        &self,
        name: &str,
        id: u32,
        value: u64,
        drift: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let value = step_param(value)?;
        tokens::consume(&mut self.conn(), name, id, value, drift, now)
    }

    fn set_delivery(&self, name: &str, delivery: Option<&Delivery>) -> Result<(), StoreError> {
        self.update(
            name,
            "UPDATE users SET delivery_channel = ?2, delivery_destination = ?3 WHERE name = ?1",
            &[
                &name,
                &delivery.map(|d| d.channel.as_str()),
                &delivery.map(|d| d.destination.as_str()),
            ],
        )
    }

    fn recovery_code_state(
        &self,
        name: &str,
        code: &SecretBytes,
    ) -> Result<RecoveryCodeState, StoreError> {
        let mac = self
            .keys
            .code_mac(MacPurpose::Recovery, name, code.expose());
        let conn = self.conn();
        let used: Option<bool> = conn
            .prepare_cached(
                "SELECT used_at IS NOT NULL FROM recovery_codes
                 WHERE mac = ?2 AND user_id = (SELECT id FROM users WHERE name = ?1)",
            )
            .and_then(|mut stmt| stmt.query_row(params![name, mac], |r| r.get(0)).optional())
            .map_err(db_error)?;
        Ok(RecoveryCodeState::from_used(used))
    }

    fn issue_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
        limits: SendLimits,
    ) -> Result<IssueOutcome, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Sent, name, code.expose());
        let conn = self.conn();
        conn.execute(
            "DELETE FROM sent_codes WHERE expires_at < ?1",
            [now - KEEP_EXPIRED_SECS],
        )
        .map_err(db_error)?;
        // One statement decides and inserts, so concurrent requests (or nodes) cannot both send.
        let issued = conn
            .execute(
                "INSERT INTO sent_codes (user_id, mac, created_at, expires_at)
                 SELECT u.id, ?2, ?3, ?3 + ?4 FROM users u
                 WHERE u.name = ?1
                   AND NOT EXISTS (SELECT 1 FROM sent_codes s
                                   WHERE s.user_id = u.id AND s.created_at > ?3 - ?5)
                   AND (SELECT COUNT(*) FROM sent_codes s
                        WHERE s.user_id = u.id AND s.created_at > ?3 - 3600) < ?6",
                params![name, mac, now, limits.ttl, limits.cooldown, limits.per_hour],
            )
            .map_err(db_error)?;
        if issued == 1 {
            return Ok(IssueOutcome::Issued);
        }
        let last: Option<i64> = conn
            .query_row(
                "SELECT MAX(created_at) FROM sent_codes
                 WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        Ok(IssueOutcome::refused(last, now, limits))
    }

    fn sent_code_exists(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Sent, name, code.expose());
        let conn = self.conn();
        conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sent_codes
             WHERE mac = ?2 AND used_at IS NULL AND expires_at > ?3 AND attempts < ?4
               AND user_id = (SELECT id FROM users WHERE name = ?1))",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![name, mac, now, MAX_CODE_ATTEMPTS], |r| r.get(0))
        })
        .map_err(db_error)
    }

    fn consume_sent_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Sent, name, code.expose());
        let conn = self.conn();
        let used = conn
            .execute(
                "UPDATE sent_codes SET used_at = ?3
                 WHERE mac = ?2 AND used_at IS NULL AND expires_at > ?3 AND attempts < ?4
                   AND user_id = (SELECT id FROM users WHERE name = ?1
                                  AND (locked_until IS NULL OR locked_until <= ?3))",
                params![name, mac, now, MAX_CODE_ATTEMPTS],
            )
            .map_err(db_error)?;
        if used == 1 {
            touch_login(&conn, name, now)?;
        }
        Ok(used == 1)
    }

    fn count_code_attempt(&self, name: &str, now: i64) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE sent_codes SET attempts = attempts + 1
             WHERE used_at IS NULL AND expires_at > ?2
               AND user_id = (SELECT id FROM users WHERE name = ?1)",
            params![name, now],
        )
        .map_err(db_error)?;
        Ok(())
    }

    fn create_challenge(
        &self,
        state: &[u8],
        name: &str,
        client: &str,
        groups: &[String],
        relay: Option<&Relay>,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let groups = json_list(groups)?;
        let relay = relay.map(Relay::to_json).transpose()?;
        let mac = self.keys.code_mac(MacPurpose::Challenge, "", state);
        let conn = self.conn();
        conn.execute("DELETE FROM challenges WHERE expires_at < ?1", [now])
            .map_err(db_error)?;
        let created = conn
            .execute(
                "INSERT INTO challenges (state_mac, user_id, client, expires_at, groups, relay)
                 SELECT ?1, id, ?3, ?4, ?5, ?6 FROM users WHERE name = ?2",
                params![mac, name, client, expires_at, groups, relay],
            )
            .map_err(db_error)?;
        one_row(name, created)
    }

    fn take_challenge(
        &self,
        state: &[u8],
        client: &str,
        now: i64,
    ) -> Result<Option<Challenge>, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Challenge, "", state);
        let conn = self.conn();
        // DELETE … RETURNING: whoever deletes the row owns the challenge; a second use finds none.
        let taken: Option<(i64, String, Option<String>)> = returning(
            &conn,
            "DELETE FROM challenges WHERE state_mac = ?1 AND client = ?2 AND expires_at > ?3
             RETURNING user_id, groups, relay",
            params![mac, client, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let Some((id, groups, relay)) = taken else {
            return Ok(None);
        };
        let owner: Option<String> = conn
            .query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(db_error)?;
        owner
            .map(|o| Challenge::read(o, &groups, relay.as_deref()))
            .transpose()
    }

    fn resync_token(
        &self,
        name: &str,
        id: u32,
        drift: i64,
        last_used: u64,
    ) -> Result<(), StoreError> {
        let last_used = step_param(last_used)?;
        let conn = self.conn();
        let changed = conn
            .execute(
                "UPDATE tokens SET drift = ?3, last_used = MAX(COALESCE(last_used, ?4), ?4)
                 WHERE user_id = (SELECT id FROM users WHERE name = ?1) AND id = ?2",
                params![name, id, drift, last_used],
            )
            .map_err(db_error)?;
        tokens::one_token(&conn, name, id, changed)
    }

    fn record_failure(
        &self,
        name: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError> {
        let conn = self.conn();
        // One statement: SQLite computes every SET from the row's old values, so the counter,
        // the lock count and the lock agree even when nodes race.
        let locked_until: Option<Option<i64>> = returning(
            &conn,
            "UPDATE users SET
                    failures = failures + 1,
                    locks = CASE WHEN (failures + 1) % ?3 = 0 THEN locks + 1 ELSE locks END,
                    locked_until = CASE WHEN (failures + 1) % ?3 = 0
                        THEN ?2 + MIN(?4 * (1 << MIN(locks, 20)), ?5)
                        ELSE locked_until END
                 WHERE name = ?1
                 RETURNING CASE WHEN locked_until > ?2 THEN locked_until END",
            params![
                name,
                now,
                policy.max_failures,
                policy.base_secs,
                policy.max_secs
            ],
            |r| r.get(0),
        )?;
        Ok(locked_until.flatten())
    }

    fn set_groups(&self, name: &str, groups: &[String]) -> Result<(), StoreError> {
        self.update(
            name,
            "UPDATE users SET groups = ?2 WHERE name = ?1",
            &[&name, &json_list(groups)?],
        )
    }

    fn set_reply(&self, name: &str, reply: &[String]) -> Result<(), StoreError> {
        self.update(
            name,
            "UPDATE users SET reply = ?2 WHERE name = ?1",
            &[&name, &json_list(reply)?],
        )
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let conn = self.conn();
        conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_error)
    }

    fn claim_guess(
        &self,
        name: &str,
        station: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Claim, StoreError> {
        relaxed(&self.conn(), |conn| {
            Self::claim(conn, name, station, now, policy)
        })
    }

    fn refund_guess(&self, name: &str, station: &str, gate: Gate) -> Result<(), StoreError> {
        relaxed(&self.conn(), |conn| Self::refund(conn, name, station, gate))
    }

    fn trust_station(
        &self,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        relaxed(&self.conn(), |conn| {
            Self::trust(conn, name, station, gate, now, policy)
        })
    }

    fn record_session(
        &self,
        change: SessionChange<'_>,
        max_sessions: u64,
    ) -> Result<(), StoreError> {
        relaxed(&self.conn(), |conn| {
            let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
                conn.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute(values))
                    .map_err(db_error)
            };
            match change {
                SessionChange::Open(session) => {
                    let updated = run(
                        "UPDATE sessions SET user_name = ?3, address = ?4, updated = ?5
                         WHERE nas = ?1 AND session_id = ?2",
                        params![
                            session.nas,
                            session.session_id,
                            session.user,
                            session.address,
                            session.updated
                        ],
                    )?;
                    if updated == 0 {
                        run(
                            "INSERT INTO sessions (nas, session_id, user_name, address, since, updated)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![
                                session.nas,
                                session.session_id,
                                session.user,
                                session.address,
                                session.since,
                                session.updated
                            ],
                        )?;
                        // A new session: the least recently updated go beyond the bound.
                        run(
                            "DELETE FROM sessions WHERE rowid IN (
                                 SELECT rowid FROM sessions ORDER BY updated
                                 LIMIT max(0, (SELECT count(*) FROM sessions) - ?1))",
                            params![i64::try_from(max_sessions).unwrap_or(i64::MAX)],
                        )?;
                    }
                }
                SessionChange::Close { nas, session_id } => {
                    run(
                        "DELETE FROM sessions WHERE nas = ?1 AND session_id = ?2",
                        params![nas, session_id],
                    )?;
                }
                SessionChange::ClearNas { nas } => {
                    run("DELETE FROM sessions WHERE nas = ?1", params![nas])?;
                }
            }
            Ok(())
        })
    }

    fn list_sessions(&self) -> Result<Vec<Session>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT nas, session_id, user_name, address, since, updated FROM sessions
                 ORDER BY since DESC, nas, session_id",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |row| {
                Ok(Session {
                    nas: row.get(0)?,
                    session_id: row.get(1)?,
                    user: row.get(2)?,
                    address: row.get(3)?,
                    since: row.get(4)?,
                    updated: row.get(5)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    fn probe(&self, now: i64) -> Result<(), StoreError> {
        let conn = self.conn();
        let data = row::probe_data();
        conn.prepare_cached(row::PROBE)
            .and_then(|mut stmt| stmt.execute(params![now, data]))
            .map(|_| ())
            .map_err(db_error)
    }

    // Invitations and API tokens: `invitations.rs`, `api_tokens.rs`.

    fn create_invitation(
        &self,
        name: &str,
        secret: &SecretBytes,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.invite(name, secret, expires_at, now)
    }

    fn invitation_for_user(&self, name: &str) -> Result<Option<Invitation>, StoreError> {
        self.invitation_of(name)
    }

    fn find_invitation(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        self.live_invitation(secret, now)
    }

    fn count_invitation_failure(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        self.fail_invitation(secret, now)
    }

    fn refund_invitation_try(&self, secret: &SecretBytes) -> Result<(), StoreError> {
        self.refund_invitation(secret)
    }

    fn complete_invitation(
        &self,
        secret: &SecretBytes,
        token: &NewToken,
        now: i64,
    ) -> Result<(String, u32), StoreError> {
        self.complete(secret, token, now)
    }

    fn create_api_token(
        &self,
        name: &str,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<(), StoreError> {
        self.add_api_token(name, secret, now)
    }

    fn remove_api_token(&self, name: &str) -> Result<(), StoreError> {
        self.revoke_api_token(name)
    }

    fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.api_tokens()
    }

    fn authenticate_api_token(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        self.api_token_owner(secret, now)
    }

    // EAP ticket keys and sessions: `eap.rs`.

    fn eap_ticket_keys(&self) -> Result<Vec<TicketKey>, StoreError> {
        self.ticket_keys()
    }

    fn rotate_eap_ticket_key(
        &self,
        key: &TicketKey,
        not_before: i64,
    ) -> Result<Vec<TicketKey>, StoreError> {
        self.rotate_ticket_key(key, not_before)
    }

    fn remove_eap_ticket_keys(&self, before: i64) -> Result<u64, StoreError> {
        self.remove_ticket_keys(before)
    }

    fn bind_eap_session(&self, handle: &[u8], user: &str, created: i64) -> Result<(), StoreError> {
        self.bind_session(handle, user, created)
    }

    fn find_eap_session(&self, handle: &[u8]) -> Result<Option<EapSession>, StoreError> {
        self.find_session(handle)
    }

    fn expire_eap_sessions(&self, before: i64) -> Result<u64, StoreError> {
        self.expire_sessions(before)
    }

    fn end_eap_sessions(&self, user: &str) -> Result<u64, StoreError> {
        self.end_user_sessions(user)
    }

    fn put_eap_tls_session(
        &self,
        id: &[u8],
        sealed: &[u8],
        created: i64,
    ) -> Result<(), StoreError> {
        self.put_tls_session(id, sealed, created)
    }

    fn get_eap_tls_session(&self, id: &[u8], since: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_tls_session(id, since)
    }
}

/// Run `op` committing without waiting for the disk (`synchronous = NORMAL`), for the
/// throttle's bookkeeping: its counts and a station's trust. Every other change waits for the
/// disk (`FULL`): a used code, a taken challenge or a lock must survive a power cut, or a code
/// could be replayed. A relaxed commit is still written to the WAL before it returns, so a
/// full disk or an I/O error is seen at once, and a crash of radotp loses nothing; a power cut
/// can lose the last relaxed commits, unless a durable one came after them (the WAL reaches
/// the disk in order). What that costs: a few wrong passwords forgotten, once, after a power
/// cut. What it saves: the accept path's three other fsyncs, and the reject path's one.
pub(super) fn relaxed<T>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let pragma = |text: &str| {
        conn.prepare_cached(text)
            .and_then(|mut s| s.raw_execute())
            .map_err(db_error)
    };
    pragma("PRAGMA synchronous = NORMAL")?;
    let result = op(conn);
    pragma("PRAGMA synchronous = FULL")?;
    result
}
