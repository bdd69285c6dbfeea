//! `Store` for `PostgresStore`: each method is the SQLite store's, statement for statement.

use super::pool::Conn;
use super::throttle;
use super::tokens::{self, Sealed};
use super::*;
use crate::store::{
    ApiToken, Challenge, EapSession, Invitation, NewToken, Relay, Session, SessionChange, TicketKey,
};

impl Store for PostgresStore {
    fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::FIND_USER).await?;
            Ok(conn.client.query_opt(&statement, &[&name]).await?)
        })?;
        row.map(|row| UserRow::read_user(&row, &self.keys))
            .transpose()
    }

    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = self.pool.run(
            self.pool.operation_timeout() * 12,
            async |conn: &mut Conn| Ok(conn.client.query(sql::LIST_USERS, &[]).await?),
        )?;
        rows.iter()
            .map(|row| UserRow::read_user(row, &self.keys))
            .collect()
    }

    fn add_users(&self, users: &[NewUser<'_>]) -> Result<(), StoreError> {
        // Sealed once, outside the retry loop of the pool.
        let tokens: Vec<Option<Sealed<'_>>> = users
            .iter()
            .map(|u| u.token.map(|t| Sealed::new(&self.keys, u.name, t)))
            .collect();
        // A big import may take a while; each statement keeps its own timeout.
        let budget = self.pool.operation_timeout() * 60;
        self.pool.run(budget, async |conn: &mut Conn| {
            let statement = conn.statement(sql::ADD_USER).await?;
            let tx = conn.client.transaction().await?;
            for (user, token) in users.iter().zip(&tokens) {
                let inserted = tx
                    .execute(
                        &statement,
                        &[
                            &user.name,
                            &user.password_hash,
                            &user.now,
                            &user.password_source.as_str(),
                        ],
                    )
                    .await;
                match inserted {
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        return Err(StoreError::UserExists(user.name.to_owned()).into());
                    }
                    other => other?,
                };
                if let Some(token) = token {
                    tokens::insert(&tx, token, user.now).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn add_tokens(&self, new: &[(&str, NewToken)], now: i64) -> Result<Vec<u32>, StoreError> {
        let sealed: Vec<Sealed<'_>> = new
            .iter()
            .map(|(name, token)| Sealed::new(&self.keys, name, token))
            .collect();
        let budget = self.pool.operation_timeout() * 60;
        self.pool.run(budget, async |conn: &mut Conn| {
            let tx = conn.client.transaction().await?;
            let mut ids = Vec::with_capacity(sealed.len());
            for token in &sealed {
                ids.push(tokens::insert(&tx, token, now).await?);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    fn replace_tokens(&self, name: &str, token: &NewToken, now: i64) -> Result<u32, StoreError> {
        let sealed = Sealed::new(&self.keys, name, token);
        self.run(async |conn: &mut Conn| {
            let tx = conn.client.transaction().await?;
            let id: i64 = tx
                .query_opt(sql::LOCK_USER, &[&name])
                .await?
                .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?
                .get(0);
            tx.execute(sql::DELETE_TOKENS, &[&id]).await?;
            let token_id = tokens::insert(&tx, &sealed, now).await?;
            // A session proved with an old token resumes no longer.
            tx.execute(sql::DELETE_EAP_SESSIONS, &[&id]).await?;
            tx.commit().await?;
            Ok(token_id)
        })
    }

    fn remove_token(&self, name: &str, id: u32) -> Result<(), StoreError> {
        let token = i64::from(id);
        self.update_token(name, id, sql::REMOVE_TOKEN, &[&name, &token])
    }

    fn set_token_disabled(&self, name: &str, id: u32, disabled: bool) -> Result<(), StoreError> {
        let token = i64::from(id);
        self.update_token(
            name,
            id,
            sql::SET_TOKEN_DISABLED,
            &[&name, &token, &disabled],
        )
    }

    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.update(
            name,
            sql::SET_PASSWORD,
            &[&name, &password_hash, &expires_at],
        )
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        self.update(name, sql::SET_DISABLED, &[&name, &disabled])
    }

    fn unlock(&self, name: &str) -> Result<(), StoreError> {
        self.update(name, sql::UNLOCK, &[&name])?;
        self.execute(sql::UNLOCK_STATIONS, &[&name]).map(|_| ())
    }

    fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        self.update(name, sql::REMOVE_USER, &[&name])
    }

    fn remove_users(&self, names: &[&str]) -> Result<u64, StoreError> {
        // One statement, so one transaction; a large batch gets the time an import gets.
        self.pool.run(
            self.pool.operation_timeout() * 60,
            async |conn: &mut Conn| {
                let statement = conn.statement(sql::REMOVE_USERS).await?;
                Ok(conn.client.execute(&statement, &[&names]).await?)
            },
        )
    }

    fn replace_recovery_codes(&self, name: &str, codes: &[SecretBytes]) -> Result<(), StoreError> {
        let macs: Vec<Vec<u8>> = codes
            .iter()
            .map(|code| {
                self.keys
                    .code_mac(MacPurpose::Recovery, name, code.expose())
            })
            .collect();
        self.run(async |conn: &mut Conn| {
            let tx = conn.client.transaction().await?;
            // Locked: two replacements one after the other, never a mix of both sets.
            let id: i64 = tx
                .query_opt(sql::LOCK_USER, &[&name])
                .await?
                .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?
                .get(0);
            tx.execute(sql::DELETE_RECOVERY_CODES, &[&id]).await?;
            for mac in &macs {
                tx.execute(sql::ADD_RECOVERY_CODE, &[&id, mac]).await?;
            }
            tx.commit().await?;
            Ok(())
        })
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
        self.run(async |conn: &mut Conn| {
            let consume = conn.statement(sql::CONSUME_RECOVERY_CODE).await?;
            if conn.client.execute(&consume, &[&name, &mac, &now]).await? == 0 {
                return Ok(None);
            }
            let touch = conn.statement(sql::TOUCH_LOGIN).await?;
            conn.client.execute(&touch, &[&name, &now]).await?;
            let count = conn.statement(sql::RECOVERY_CODES_LEFT).await?;
            let left: i64 = conn.client.query_one(&count, &[&name]).await?.get(0);
            Ok(Some(u32::try_from(left).unwrap_or(0)))
        })
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
        let token = i64::from(id);
        let changed = self.execute(sql::CONSUME_TOKEN, &[&name, &token, &value, &drift, &now])?;
        Ok(changed == 1)
    }

    fn set_delivery(&self, name: &str, delivery: Option<&Delivery>) -> Result<(), StoreError> {
        self.update(
            name,
            sql::SET_DELIVERY,
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
        let used: Option<bool> = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::RECOVERY_CODE_STATE).await?;
            let row = conn.client.query_opt(&statement, &[&name, &mac]).await?;
            Ok(row.map(|r| r.get(0)))
        })?;
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
        let per_hour = i64::from(limits.per_hour);
        self.run(async |conn: &mut Conn| {
            let delete_old = conn.statement(sql::DELETE_OLD_SENT_CODES).await?;
            let lock = conn.statement(sql::LOCK_USER).await?;
            let issue = conn.statement(sql::ISSUE_CODE).await?;
            let last_sent = conn.statement(sql::LAST_SENT).await?;
            let tx = conn.client.transaction().await?;
            tx.execute(&delete_old, &[&(now - KEEP_EXPIRED_SECS)])
                .await?;
            // Serialises senders of this user (see sql::ISSUE_CODE); no row: no such user.
            tx.query_opt(&lock, &[&name]).await?;
            let issued = tx
                .execute(
                    &issue,
                    &[&name, &mac, &now, &limits.ttl, &limits.cooldown, &per_hour],
                )
                .await?;
            if issued == 1 {
                tx.commit().await?;
                return Ok(IssueOutcome::Issued);
            }
            let last: Option<i64> = tx.query_one(&last_sent, &[&name]).await?.get(0);
            tx.commit().await?;
            Ok(IssueOutcome::refused(last, now, limits))
        })
    }

    fn sent_code_exists(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Sent, name, code.expose());
        let max = i64::from(MAX_CODE_ATTEMPTS);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::SENT_CODE_EXISTS).await?;
            let row = conn
                .client
                .query_one(&statement, &[&name, &mac, &now, &max])
                .await?;
            Ok(row.get(0))
        })
    }

    fn consume_sent_code(
        &self,
        name: &str,
        code: &SecretBytes,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Sent, name, code.expose());
        let max = i64::from(MAX_CODE_ATTEMPTS);
        self.run(async |conn: &mut Conn| {
            let consume = conn.statement(sql::CONSUME_SENT_CODE).await?;
            let used = conn
                .client
                .execute(&consume, &[&name, &mac, &now, &max])
                .await?;
            if used == 1 {
                let touch = conn.statement(sql::TOUCH_LOGIN).await?;
                conn.client.execute(&touch, &[&name, &now]).await?;
            }
            Ok(used == 1)
        })
    }

    fn count_code_attempt(&self, name: &str, now: i64) -> Result<(), StoreError> {
        self.execute(sql::COUNT_CODE_ATTEMPT, &[&name, &now])
            .map(|_| ())
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
        let mac = self.keys.code_mac(MacPurpose::Challenge, "", state);
        let groups = json_list(groups)?;
        let relay = relay.map(Relay::to_json).transpose()?;
        let created = self.run(async |conn: &mut Conn| {
            let delete_old = conn.statement(sql::DELETE_OLD_CHALLENGES).await?;
            conn.client.execute(&delete_old, &[&now]).await?;
            let create = conn.statement(sql::CREATE_CHALLENGE).await?;
            Ok(conn
                .client
                .execute(
                    &create,
                    &[&mac, &name, &client, &expires_at, &groups, &relay],
                )
                .await?)
        })?;
        match created {
            0 => Err(StoreError::UserNotFound(name.to_owned())),
            _ => Ok(()),
        }
    }

    fn take_challenge(
        &self,
        state: &[u8],
        client: &str,
        now: i64,
    ) -> Result<Option<Challenge>, StoreError> {
        let mac = self.keys.code_mac(MacPurpose::Challenge, "", state);
        let taken: Option<(String, String, Option<String>)> =
            self.run(async |conn: &mut Conn| {
                let statement = conn.statement(sql::TAKE_CHALLENGE).await?;
                let row = conn
                    .client
                    .query_opt(&statement, &[&mac, &client, &now])
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
            })?;
        taken
            .map(|(owner, groups, relay)| Challenge::read(owner, &groups, relay.as_deref()))
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
        let token = i64::from(id);
        self.update_token(
            name,
            id,
            sql::RESYNC_TOKEN,
            &[&name, &token, &drift, &last_used],
        )
    }

    fn record_failure(
        &self,
        name: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError> {
        let max_failures = i64::from(policy.max_failures);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::RECORD_FAILURE).await?;
            let row = conn
                .client
                .query_opt(
                    &statement,
                    &[
                        &name,
                        &now,
                        &max_failures,
                        &policy.base_secs,
                        &policy.max_secs,
                    ],
                )
                .await?;
            Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)))
        })
    }

    fn set_groups(&self, name: &str, groups: &[String]) -> Result<(), StoreError> {
        self.update(name, sql::SET_GROUPS, &[&name, &json_list(groups)?])
    }

    fn set_reply(&self, name: &str, reply: &[String]) -> Result<(), StoreError> {
        self.update(name, sql::SET_REPLY, &[&name, &json_list(reply)?])
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let count: i64 = self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::COUNT_USERS).await?;
            Ok(conn.client.query_one(&statement, &[]).await?.get(0))
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn claim_guess(
        &self,
        name: &str,
        station: &str,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<Claim, StoreError> {
        self.claim(name, station, now, policy)
    }

    fn refund_guess(&self, name: &str, station: &str, gate: Gate) -> Result<(), StoreError> {
        match gate {
            Gate::User => self.execute(throttle::REFUND_USER, &[&name]),
            Gate::Station => self.execute(throttle::REFUND_STATION, &[&name, &station]),
        }
        .map(|_| ())
    }

    fn trust_station(
        &self,
        name: &str,
        station: &str,
        gate: Gate,
        now: i64,
        policy: LockoutPolicy,
    ) -> Result<(), StoreError> {
        self.trust(name, station, gate, now, policy)
    }

    fn record_session(
        &self,
        change: SessionChange<'_>,
        max_sessions: u64,
    ) -> Result<(), StoreError> {
        match change {
            SessionChange::Open(session) => {
                let inserted: bool = self.run(async |conn: &mut Conn| {
                    let statement = conn.statement(sql::OPEN_SESSION).await?;
                    let row = conn
                        .client
                        .query_one(
                            &statement,
                            &[
                                &session.nas,
                                &session.session_id,
                                &session.user,
                                &session.address,
                                &session.since,
                                &session.updated,
                            ],
                        )
                        .await?;
                    Ok(row.get(0))
                })?;
                if inserted {
                    let bound = i64::try_from(max_sessions).unwrap_or(i64::MAX);
                    self.execute(sql::EVICT_SESSIONS, &[&bound])?;
                }
            }
            SessionChange::Close { nas, session_id } => {
                self.execute(sql::CLOSE_SESSION, &[&nas, &session_id])?;
            }
            SessionChange::ClearNas { nas } => {
                self.execute(sql::CLEAR_NAS_SESSIONS, &[&nas])?;
            }
        }
        Ok(())
    }

    fn list_sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(sql::LIST_SESSIONS).await?;
            let rows = conn.client.query(&statement, &[]).await?;
            Ok(rows
                .iter()
                .map(|row| Session {
                    nas: row.get(0),
                    session_id: row.get(1),
                    user: row.get(2),
                    address: row.get(3),
                    since: row.get(4),
                    updated: row.get(5),
                })
                .collect())
        })
    }

    fn probe(&self, now: i64) -> Result<(), StoreError> {
        let data = row::probe_data();
        self.execute(row::PROBE_PG, &[&now, &data]).map(|_| ())
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
