//! The store's statements, each the PostgreSQL twin of the SQLite one.
//!
//! Under READ COMMITTED a conditional `UPDATE`/`DELETE` that waits for a row another node is
//! changing re-checks its `WHERE` against the row as committed, and computes `SET` from it: so
//! a step is used once, a code or a challenge taken once, and every failure counted. An
//! `INSERT … WHERE NOT EXISTS` gets no such re-check; `issue_code` therefore locks the user's
//! row first (see there). Parameters carry explicit types where PostgreSQL cannot infer them.

use crate::store::row::select_user;

/// The user's tokens as `row::TokenRow` reads them.
macro_rules! tokens_json {
    () => {
        "SELECT COALESCE(json_agg(json_build_object(
             'id', t.id, 'kind', t.kind, 'label', t.label, 'serial', t.serial,
             'sealed', encode(t.sealed, 'hex'), 'algorithm', t.algorithm, 'digits', t.digits,
             'period', t.period, 'public_id', t.public_id, 'last_used', t.last_used,
             'drift', t.drift, 'disabled', t.disabled,
             'created_at', t.created_at, 'last_used_at', t.last_used_at)), '[]'::json)::text
         FROM tokens t WHERE t.user_id = u.id"
    };
}

pub(super) const FIND_USER: &str = select_user!(tokens_json!(), "WHERE u.name = $1");
/// `COLLATE "C"`: byte order, as SQLite sorts.
pub(super) const LIST_USERS: &str = select_user!(tokens_json!(), "ORDER BY u.name COLLATE \"C\"");

pub(super) const ADD_USER: &str = "INSERT INTO users (name, password_hash, created_at,
                                                      password_source)
                                   VALUES ($1, $2, $3, $4)";

/// The next token id of the user; the row stays locked until the transaction ends.
pub(super) const NEXT_TOKEN_ID: &str =
    "UPDATE users SET token_ids = token_ids + 1 WHERE name = $1 RETURNING id, token_ids";

pub(super) const ADD_TOKEN: &str = "INSERT INTO tokens (user_id, id, kind, label, serial, sealed,
                                                        algorithm, digits, period, public_id,
                                                        last_used, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub(super) const DELETE_TOKENS: &str = "DELETE FROM tokens WHERE user_id = $1";

pub(super) const REMOVE_TOKEN: &str = "DELETE FROM tokens
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND id = $2";

pub(super) const SET_TOKEN_DISABLED: &str = "UPDATE tokens SET disabled = $3
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND id = $2";

/// The newest used never goes back.
pub(super) const RESYNC_TOKEN: &str =
    "UPDATE tokens SET drift = $3, last_used = GREATEST(COALESCE(last_used, $4), $4)
     WHERE user_id = (SELECT id FROM users WHERE name = $1) AND id = $2";

pub(super) const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)";

/// One statement: the user's EAP sessions, proved with the old password, end with it (the
/// rows changed are the user's: none, no such user).
pub(super) const SET_PASSWORD: &str = "WITH ended AS (
         DELETE FROM eap_sessions WHERE user_id = (SELECT id FROM users WHERE name = $1))
     UPDATE users SET password_hash = $2, password_expires_at = $3 WHERE name = $1";

/// One statement: disabling also ends the user's EAP sessions.
pub(super) const SET_DISABLED: &str = "WITH ended AS (
         DELETE FROM eap_sessions
         WHERE $2::boolean AND user_id = (SELECT id FROM users WHERE name = $1))
     UPDATE users SET disabled = $2 WHERE name = $1";

/// Every EAP session of the user with this id (inside `replace_tokens`' transaction).
pub(super) const DELETE_EAP_SESSIONS: &str = "DELETE FROM eap_sessions WHERE user_id = $1";

pub(super) const UNLOCK: &str = "UPDATE users SET failures = 0, locks = 0, locked_until = NULL,
                                                 guesses = 0, guessed_at = NULL
                                 WHERE name = $1";
pub(super) const UNLOCK_STATIONS: &str = "UPDATE stations SET guesses = 0, guessed_at = NULL
     WHERE user_id = (SELECT id FROM users WHERE name = $1)";

/// Recovery codes, sent codes, challenges, EAP sessions and the rest go with the user (ON
/// DELETE CASCADE).
pub(super) const REMOVE_USER: &str = "DELETE FROM users WHERE name = $1";
pub(super) const REMOVE_USERS: &str = "DELETE FROM users WHERE name = ANY($1)";

/// The user's row, locked until the transaction ends: concurrent writers of the same user's
/// codes wait for each other.
pub(super) const LOCK_USER: &str = "SELECT id FROM users WHERE name = $1 FOR UPDATE";

pub(super) const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";

pub(super) const ADD_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, mac) VALUES ($1, $2)";

/// Never for a user locked at the moment of the commit.
pub(super) const CONSUME_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $3
     WHERE mac = $2 AND used_at IS NULL
       AND user_id = (SELECT id FROM users WHERE name = $1
                      AND (locked_until IS NULL OR locked_until <= $3))";

pub(super) const RECOVERY_CODES_LEFT: &str = "SELECT COUNT(*) FROM recovery_codes
     WHERE used_at IS NULL AND user_id = (SELECT id FROM users WHERE name = $1)";

pub(super) const RECOVERY_CODE_STATE: &str = "SELECT used_at IS NOT NULL FROM recovery_codes
     WHERE mac = $2 AND user_id = (SELECT id FROM users WHERE name = $1)";

/// Record a successful login made with a code other than TOTP.
/// Any successful login resets the failure count, whatever the factor.
pub(super) const TOUCH_LOGIN: &str =
    "UPDATE users SET last_login_at = $2, failures = 0, locks = 0 WHERE name = $1";

/// One statement, one round trip: the token's update decides (re-checked against a row
/// another node just changed, so a value is used once), and the login is recorded only for a
/// user not locked at that moment; one row changed means both happened. A locked user's
/// code is not used (it works once the lock has run out); should a lock be committed between
/// the two, the code is burned and the login refused: typed by someone the lock is for.
pub(super) const CONSUME_TOKEN: &str = "WITH used AS (
         UPDATE tokens SET last_used = $3, drift = $4, last_used_at = $5
         WHERE user_id = (SELECT id FROM users WHERE name = $1
                          AND (locked_until IS NULL OR locked_until <= $5))
           AND id = $2
           AND NOT disabled AND (last_used IS NULL OR last_used < $3)
         RETURNING user_id)
     UPDATE users SET last_login_at = $5, failures = 0, locks = 0
     WHERE id = (SELECT user_id FROM used) AND (locked_until IS NULL OR locked_until <= $5)";

pub(super) const SET_DELIVERY: &str =
    "UPDATE users SET delivery_channel = $2, delivery_destination = $3 WHERE name = $1";

pub(super) const DELETE_OLD_SENT_CODES: &str = "DELETE FROM sent_codes WHERE expires_at < $1";

/// Decides and inserts in one statement. It runs after `LOCK_USER` in the same transaction:
/// under READ COMMITTED each statement sees what was committed before it started, so a
/// concurrent sender for the same user, which held the lock, is seen here.
pub(super) const ISSUE_CODE: &str = "INSERT INTO sent_codes (user_id, mac, created_at, expires_at)
     SELECT u.id, $2::bytea, $3::bigint, $3::bigint + $4::bigint FROM users u
     WHERE u.name = $1
       AND NOT EXISTS (SELECT 1 FROM sent_codes s
                       WHERE s.user_id = u.id AND s.created_at > $3::bigint - $5::bigint)
       AND (SELECT COUNT(*) FROM sent_codes s
            WHERE s.user_id = u.id AND s.created_at > $3::bigint - 3600) < $6::bigint";

pub(super) const LAST_SENT: &str = "SELECT MAX(created_at) FROM sent_codes
                                    WHERE user_id = (SELECT id FROM users WHERE name = $1)";

pub(super) const SENT_CODE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sent_codes
                    WHERE mac = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4
                      AND user_id = (SELECT id FROM users WHERE name = $1))";

pub(super) const CONSUME_SENT_CODE: &str = "UPDATE sent_codes SET used_at = $3
     WHERE mac = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4
       AND user_id = (SELECT id FROM users WHERE name = $1
                      AND (locked_until IS NULL OR locked_until <= $3))";

pub(super) const COUNT_CODE_ATTEMPT: &str = "UPDATE sent_codes SET attempts = attempts + 1
     WHERE used_at IS NULL AND expires_at > $2
       AND user_id = (SELECT id FROM users WHERE name = $1)";

pub(super) const DELETE_OLD_CHALLENGES: &str = "DELETE FROM challenges WHERE expires_at < $1";

pub(super) const CREATE_CHALLENGE: &str =
    "INSERT INTO challenges (state_mac, user_id, client, expires_at, groups, relay)
     SELECT $1::bytea, id, $3::text, $4::bigint, $5::text, $6::text FROM users WHERE name = $2";

/// DELETE … RETURNING: whoever deletes the row owns the challenge; a second use finds none.
pub(super) const TAKE_CHALLENGE: &str = "DELETE FROM challenges c USING users u
     WHERE c.state_mac = $1 AND c.client = $2 AND c.expires_at > $3 AND u.id = c.user_id
     RETURNING u.name, c.groups, c.relay";

/// Every SET is computed from the row's old values, so the counter, the lock count and the
/// lock agree even when nodes race. Every `$3`-th consecutive failure locks.
pub(super) const RECORD_FAILURE: &str = "UPDATE users SET
        failures = failures + 1,
        locks = CASE WHEN (failures + 1) % $3::bigint = 0 THEN locks + 1 ELSE locks END,
        locked_until = CASE WHEN (failures + 1) % $3::bigint = 0
            THEN $2::bigint
                 + LEAST($4::bigint * (1::bigint << LEAST(locks, 20)::integer), $5::bigint)
            ELSE locked_until END
     WHERE name = $1
     RETURNING CASE WHEN locked_until > $2::bigint THEN locked_until END";

pub(super) const SET_GROUPS: &str = "UPDATE users SET groups = $2 WHERE name = $1";

pub(super) const SET_REPLY: &str = "UPDATE users SET reply = $2 WHERE name = $1";

pub(super) const COUNT_USERS: &str = "SELECT COUNT(*) FROM users";

/// Accounting sessions. Each statement commits without waiting for the disk (the CTE `r` sets
/// `synchronous_commit` for its own transaction), as the SQLite store's sessions do.
/// `$1` nas, `$2` session id, `$3` user, `$4` address, `$5` since, `$6` updated; returns
/// whether the row is new.
pub(super) const OPEN_SESSION: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    INSERT INTO sessions (nas, session_id, user_name, address, since, updated)
    SELECT $1, $2, $3, $4, $5, $6 FROM r WHERE r.c = 'off'
    ON CONFLICT (nas, session_id) DO UPDATE
        SET user_name = EXCLUDED.user_name, address = EXCLUDED.address, updated = EXCLUDED.updated
    RETURNING (xmax = 0) AS inserted";

/// `$1` the bound: the least recently updated sessions beyond it go.
pub(super) const EVICT_SESSIONS: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    DELETE FROM sessions WHERE (SELECT c FROM r) = 'off' AND (nas, session_id) IN (
        SELECT nas, session_id FROM sessions ORDER BY updated
        LIMIT GREATEST(0, (SELECT count(*) FROM sessions) - $1::bigint))";

pub(super) const CLOSE_SESSION: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    DELETE FROM sessions WHERE (SELECT c FROM r) = 'off' AND nas = $1 AND session_id = $2";

pub(super) const CLEAR_NAS_SESSIONS: &str = "WITH r AS (
        SELECT pg_catalog.set_config('synchronous_commit', 'off', true) AS c
    )
    DELETE FROM sessions WHERE (SELECT c FROM r) = 'off' AND nas = $1";

pub(super) const LIST_SESSIONS: &str =
    "SELECT nas, session_id, user_name, address, since, updated FROM sessions
     ORDER BY since DESC, nas, session_id";
