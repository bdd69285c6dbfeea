//! Opening the SQLite file: folder, permissions, pragmas and schema migrations.

use std::path::Path;

use rusqlite::Connection;

use crate::store::StoreError;

/// Each entry upgrades the schema by one version. Once released, append, never edit.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: users (TOTP seed sealed with the key file), replay marker, lockout state, recovery codes.
    "CREATE TABLE users (
        id                  INTEGER PRIMARY KEY,
        name                TEXT NOT NULL UNIQUE,
        password_hash       TEXT NOT NULL,
        password_expires_at INTEGER,
        totp_sealed         BLOB,
        totp_algorithm      TEXT NOT NULL DEFAULT 'SHA1',
        totp_digits         INTEGER NOT NULL DEFAULT 6,
        totp_period         INTEGER NOT NULL DEFAULT 30,
        last_step           INTEGER,
        failures            INTEGER NOT NULL DEFAULT 0,
        locked_until        INTEGER,
        disabled            INTEGER NOT NULL DEFAULT 0,
        created_at          INTEGER NOT NULL,
        last_login_at       INTEGER
    );
    CREATE TABLE recovery_codes (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mac     BLOB NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, mac)
    );",
    // 2: out-of-band delivery, sent codes, challenges, learned clock drift.
    "ALTER TABLE users ADD COLUMN delivery_channel TEXT;
    ALTER TABLE users ADD COLUMN delivery_destination TEXT;
    ALTER TABLE users ADD COLUMN drift_steps INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sent_codes (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mac        BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        used_at    INTEGER
    );
    CREATE INDEX sent_codes_by_user ON sent_codes (user_id, created_at);
    CREATE TABLE challenges (
        state_mac  BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        client     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );",
    // 3: consecutive locks, so each further lock lasts twice as long.
    "ALTER TABLE users ADD COLUMN locks INTEGER NOT NULL DEFAULT 0;",
    // 4: authorization: groups, and per-user reply attributes (JSON arrays of text).
    "ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE users ADD COLUMN reply TEXT NOT NULL DEFAULT '[]';",
    // 5: one row the health probe rewrites: the store is healthy when it can record.
    "CREATE TABLE heartbeat (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        written_at INTEGER NOT NULL,
        data       BLOB NOT NULL
    );",
    // 6: wrong passwords are throttled, not locked: the user's gate, and the stations the user
    // logged in from, each with a gate of its own.
    "ALTER TABLE users ADD COLUMN guesses INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN guessed_at INTEGER;
    CREATE TABLE stations (
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        station    TEXT NOT NULL,
        trusted_at INTEGER NOT NULL,
        guesses    INTEGER NOT NULL DEFAULT 0,
        guessed_at INTEGER,
        PRIMARY KEY (user_id, station)
    );",
    // 7: where each user's password is checked: radotp's hash, or the LDAP directory.
    // The groups a directory granted at the password, for the challenge's answer.
    "ALTER TABLE users ADD COLUMN password_source TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE challenges ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';",
    // 8: an upstream RADIUS server's question relayed to the NAS (JSON: server, its State, the
    // code already proven).
    "ALTER TABLE challenges ADD COLUMN relay TEXT;",
    // 9: open accounting sessions (RFC 2866), by NAS and Acct-Session-Id.
    "CREATE TABLE sessions (
        nas        TEXT NOT NULL,
        session_id TEXT NOT NULL,
        user_name  TEXT NOT NULL,
        address    TEXT,
        since      INTEGER NOT NULL,
        updated    INTEGER NOT NULL,
        PRIMARY KEY (nas, session_id)
    );
    CREATE INDEX sessions_by_updated ON sessions (updated);",
    // 10: several tokens per user (TOTP apps, HOTP and TOTP fobs, YubiKeys), each with its
    // own replay state; each user's TOTP seed becomes their token 1, sealed as it was.
    // `token_ids` counts the ids handed out, so that an id is never reused.
    "CREATE TABLE tokens (
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        id           INTEGER NOT NULL,
        kind         TEXT NOT NULL,
        label        TEXT NOT NULL,
        serial       TEXT,
        sealed       BLOB NOT NULL,
        algorithm    TEXT NOT NULL DEFAULT 'SHA1',
        digits       INTEGER NOT NULL DEFAULT 6,
        period       INTEGER NOT NULL DEFAULT 30,
        public_id    TEXT UNIQUE,
        last_used    INTEGER,
        drift        INTEGER NOT NULL DEFAULT 0,
        disabled     INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        PRIMARY KEY (user_id, id)
    );
    INSERT INTO tokens (user_id, id, kind, label, sealed, algorithm, digits, period, last_used,
                        drift, created_at, last_used_at)
        SELECT id, 1, 'totp', 'app', totp_sealed, totp_algorithm, totp_digits, totp_period,
               last_step, drift_steps, created_at, last_login_at
        FROM users WHERE totp_sealed IS NOT NULL;
    ALTER TABLE users ADD COLUMN token_ids INTEGER NOT NULL DEFAULT 0;
    UPDATE users SET token_ids = 1 WHERE totp_sealed IS NOT NULL;
    ALTER TABLE users DROP COLUMN totp_sealed;
    ALTER TABLE users DROP COLUMN totp_algorithm;
    ALTER TABLE users DROP COLUMN totp_digits;
    ALTER TABLE users DROP COLUMN totp_period;
    ALTER TABLE users DROP COLUMN last_step;
    ALTER TABLE users DROP COLUMN drift_steps;",
    // 11: enrollment invitations, at most one per user (a new one replaces it), found by the
    // MAC of the link's random part; and administrators' API tokens, found by the MAC of their
    // value. Neither secret is stored.
    "CREATE TABLE invitations (
        user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        mac        BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        failures   INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE api_tokens (
        name         TEXT PRIMARY KEY,
        mac          BLOB NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER
    );",
    // 12: EAP session resumption: the keys that seal TLS session tickets, shared by the nodes
    // (sealed with the key file, bound to their id); and the resumable sessions, each found by
    // the MAC of its handle (never stored) and bound to the user whose login it resumes; and
    // the TLS 1.2 sessions kept by session id (found by the MAC of the id, sealed with a ticket
    // key), for supplicants that resume without tickets.
    "CREATE TABLE eap_ticket_keys (
        id      INTEGER PRIMARY KEY,
        created INTEGER NOT NULL,
        sealed  BLOB NOT NULL
    );
    CREATE TABLE eap_sessions (
        handle_mac BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created    INTEGER NOT NULL
    );
    CREATE INDEX eap_sessions_by_user ON eap_sessions (user_id);
    CREATE INDEX eap_sessions_by_created ON eap_sessions (created);
    CREATE TABLE eap_tls_sessions (
        id_mac  BLOB PRIMARY KEY,
        created INTEGER NOT NULL,
        sealed  BLOB NOT NULL
    );
    CREATE INDEX eap_tls_sessions_by_created ON eap_tls_sessions (created);",
];

/// Open (creating file, folder and schema on first use) the database at `path`.
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        path: path.to_owned(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| open_error(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    let existed = path.exists();
    let conn = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
    if !existed {
        restrict_permissions(path).map_err(|e| open_error(e.to_string()))?;
    }
    // FULL sync: a used TOTP step must survive a power cut, or the code could be replayed.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(|e| open_error(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| open_error(e.to_string()))?;
    migrate(&conn).map_err(|e| open_error(format!("schema migration failed: {e}")))?;
    Ok(conn)
}

/// A fresh in-memory database with the current schema.
pub(super) fn open_in_memory() -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        path: ":memory:".into(),
        reason,
    };
    let conn = Connection::open_in_memory().map_err(|e| open_error(e.to_string()))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(|e| open_error(e.to_string()))?;
    migrate(&conn).map_err(open_error)?;
    Ok(conn)
}

/// Open an existing database read-only and check its schema version.
pub(super) fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        path: path.to_owned(),
        reason,
    };
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| open_error(e.to_string()))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| open_error(e.to_string()))?;
    match usize::try_from(version) {
        Ok(v) if v == MIGRATIONS.len() => Ok(conn),
        Ok(v) if v < MIGRATIONS.len() => Err(open_error(format!(
            "schema version {v} is older than this radotp's ({}); `radotp serve` upgrades it",
            MIGRATIONS.len()
        ))),
        _ => Err(open_error(format!(
            "schema version {version} is newer than this radotp knows ({}); run a newer radotp",
            MIGRATIONS.len()
        ))),
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn migrate(conn: &Connection) -> Result<(), String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(format!(
            "the database schema is version {version}, newer than this radotp knows ({}); \
             run a newer radotp",
            MIGRATIONS.len()
        ));
    }
    apply(conn, version).map_err(|e| e.to_string())
}

fn apply(conn: &Connection, version: usize) -> rusqlite::Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}
