//! The embedded SQLite store: one file, WAL journal, schema versioned with `user_version`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{NewUser, Store, StoreError, TotpSeed, UserRecord};
use crate::auth::otp::{Algorithm, TotpParams};
use crate::secret::SecretBytes;

/// Each entry upgrades the schema by one version; append, never edit.
const MIGRATIONS: &[&str] = &[
    // 1: users with their TOTP seed and replay marker.
    "CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        totp_secret   BLOB,
        totp_algorithm TEXT NOT NULL DEFAULT 'SHA1',
        totp_digits   INTEGER NOT NULL DEFAULT 6,
        totp_period   INTEGER NOT NULL DEFAULT 30,
        last_step     INTEGER,
        disabled      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        last_login_at INTEGER
    );",
];

/// SQLite behind a mutex: statements take microseconds and run on blocking threads, never on
/// the packet loop.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl SqliteStore {
    /// Open (creating file, folder and schema on first use) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                open_error(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
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
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back any
        // open statement on its own.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

fn row_to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<UserRecord, StoreError>> {
    let name: String = row.get("name")?;
    let secret: Option<Vec<u8>> = row.get("totp_secret")?;
    let algorithm: String = row.get("totp_algorithm")?;
    let digits: i64 = row.get("totp_digits")?;
    let period: i64 = row.get("totp_period")?;
    let last_step: Option<i64> = row.get("last_step")?;
    let corrupt = |reason: String| StoreError::Corrupt {
        user: name.clone(),
        reason,
    };
    let totp = match secret {
        None => None,
        Some(bytes) => {
            let algorithm = match algorithm.parse::<Algorithm>() {
                Ok(a) => a,
                Err(e) => return Ok(Err(corrupt(e))),
            };
            let (Ok(digits @ (6 | 8)), Ok(period @ 1..=300)) =
                (u8::try_from(digits), u64::try_from(period))
            else {
                return Ok(Err(corrupt(format!(
                    "TOTP digits {digits} / period {period} out of range"
                ))));
            };
            Some(TotpSeed {
                secret: SecretBytes::new(bytes),
                params: TotpParams {
                    algorithm,
                    digits,
                    period,
                },
            })
        }
    };
    Ok(Ok(UserRecord {
        password_hash: row.get("password_hash")?,
        totp,
        last_step: last_step.and_then(|s| u64::try_from(s).ok()),
        disabled: row.get::<_, i64>("disabled")? != 0,
        created_at: row.get("created_at")?,
        last_login_at: row.get("last_login_at")?,
        name,
    }))
}

impl Store for SqliteStore {
    fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT * FROM users WHERE name = ?1")
            .map_err(db_error)?;
        stmt.query_row([name], row_to_user)
            .optional()
            .map_err(db_error)?
            .transpose()
    }

    fn add_user(&self, user: &NewUser<'_>) -> Result<(), StoreError> {
        let conn = self.conn();
        let params = user.totp.params;
        let result = conn.execute(
            "INSERT INTO users (name, password_hash, totp_secret, totp_algorithm, totp_digits,
                                totp_period, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                user.name,
                user.password_hash,
                user.totp.secret.expose(),
                params.algorithm.as_str(),
                params.digits,
                params.period as i64,
                user.now,
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::UserExists(user.name.to_owned()))
            }
            Err(e) => Err(db_error(e)),
        }
    }

    fn consume_totp_step(&self, name: &str, step: u64, now: i64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Database("step overflow".into()))?;
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE users SET last_step = ?2, last_login_at = ?3
                 WHERE name = ?1 AND (last_step IS NULL OR last_step < ?2)",
            )
            .and_then(|mut stmt| stmt.execute(params![name, step, now]))
            .map_err(db_error)?;
        Ok(changed == 1)
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let conn = self.conn();
        conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> TotpSeed {
        TotpSeed {
            secret: SecretBytes::new(vec![7; 20]),
            params: TotpParams {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60,
            },
        }
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sub/radotp.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn add_find_and_refuse_duplicates() {
        let (_dir, store) = store();
        let seed = seed();
        let user = NewUser {
            name: "alice",
            password_hash: "$argon2id$x",
            totp: &seed,
            now: 100,
        };
        store.add_user(&user).unwrap();
        assert!(matches!(store.add_user(&user), Err(StoreError::UserExists(n)) if n == "alice"));
        let found = store.find_user("alice").unwrap().unwrap();
        assert_eq!(found.password_hash, "$argon2id$x");
        let totp = found.totp.unwrap();
        assert_eq!(totp.params, seed.params);
        assert_eq!(totp.secret, seed.secret);
        assert_eq!(found.last_step, None);
        assert!(store.find_user("Alice").unwrap().is_none());
        assert_eq!(store.count_users().unwrap(), 1);
    }

    #[test]
    fn a_step_is_consumed_once_and_only_forwards() {
        let (dir, store) = store();
        let seed = seed();
        store
            .add_user(&NewUser {
                name: "bob",
                password_hash: "h",
                totp: &seed,
                now: 0,
            })
            .unwrap();
        assert!(store.consume_totp_step("bob", 10, 1).unwrap());
        assert!(!store.consume_totp_step("bob", 10, 2).unwrap(), "replay");
        assert!(!store.consume_totp_step("bob", 9, 3).unwrap(), "older step");
        assert!(store.consume_totp_step("bob", 11, 4).unwrap());
        assert!(!store.consume_totp_step("nobody", 12, 5).unwrap());
        drop(store);
        // Survives a reopen (a restart).
        let store = SqliteStore::open(&dir.path().join("sub/radotp.db")).unwrap();
        let bob = store.find_user("bob").unwrap().unwrap();
        assert_eq!(bob.last_step, Some(11));
        assert_eq!(bob.last_login_at, Some(4));
        assert!(!store.consume_totp_step("bob", 11, 6).unwrap());
    }

    #[test]
    fn refuses_a_schema_from_the_future() {
        let (dir, store) = store();
        store
            .conn()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        drop(store);
        let err = SqliteStore::open(&dir.path().join("sub/radotp.db"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("version 99"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _store) = store();
        let mode = std::fs::metadata(dir.path().join("sub/radotp.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
}
