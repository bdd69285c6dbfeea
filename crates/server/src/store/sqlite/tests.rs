//! The SQLite store: the shared suite (`store::suite`) on a real file, and what only SQLite
//! has (file permissions, the in-memory database).

use std::path::PathBuf;

use super::*;
use crate::store::suite::{self, Backend};

/// A folder with `sub/radotp.db` in it (the folder is created on open).
pub(crate) struct SqliteBackend {
    dir: tempfile::TempDir,
}

impl SqliteBackend {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("sub/radotp.db")
    }

    fn connection(&self) -> Connection {
        Connection::open(self.path()).unwrap()
    }
}

impl Backend for SqliteBackend {
    fn open(&self, keys: Keys) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(&self.path(), keys)?))
    }

    fn count_rows(&self, table: &str) -> i64 {
        self.connection()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn raw_contents(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for file in ["radotp.db", "radotp.db-wal"] {
            if let Ok(b) = std::fs::read(self.dir.path().join("sub").join(file)) {
                bytes.extend(b);
            }
        }
        bytes
    }

    fn set_schema_version(&self, version: i64) {
        self.connection()
            .execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
    }

    fn create_at_version(&self, version: usize) {
        std::fs::create_dir_all(self.dir.path().join("sub")).unwrap();
        let conn = self.connection();
        for step in &schema::MIGRATIONS[..version] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
    }

    fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("X'{hex}'")
    }

    fn execute(&self, sql: &str) {
        self.connection().execute_batch(sql).unwrap();
    }
}

mod shared {
    crate::store::suite::store_suite!(super::SqliteBackend::new());
}

#[cfg(unix)]
#[test]
fn database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let backend = SqliteBackend::new();
    let _store = backend.open(suite::keys()).unwrap();
    let mode = std::fs::metadata(backend.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

#[test]
fn an_in_memory_store_has_the_schema() {
    let store = SqliteStore::open_in_memory(Keys::from_master(b"k")).unwrap();
    assert_eq!(store.count_users().unwrap(), 0);
    assert!(store.find_user("x").unwrap().is_none());
}
