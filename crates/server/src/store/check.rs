//! Is the configured store usable, checked without creating or changing anything: the key
//! file, and the SQLite file (or the folder it will be created in) or the PostgreSQL database
//! (reachable within the timeouts, a schema this radotp knows, sealed with this key file).
//!
//! `check-config` runs this and then builds the server on what it found; `serve` runs it before
//! it creates anything, so a mistake is reported the same way by both, and nothing is left
//! half-created.

use std::path::Path;
use std::sync::Arc;

use super::{DatabaseConfig, Keys, PostgresStore, PostgresUrl, SqliteStore, Store, StoreError};
use crate::invalid::Invalid;
use crate::secret::random_bytes;

/// What the check found.
#[derive(Debug)]
pub enum Found {
    /// The store exists and opens: here it is, read-only where the backend allows.
    Existing(Arc<dyn Store>),
    /// Nothing yet; `serve` will create it (and the key file) where it can.
    WillBeCreated,
}

/// Check the store and its key file; problems are named by their `[database]` field.
pub fn check(config: &DatabaseConfig) -> Result<Found, Vec<Invalid>> {
    match &config.url {
        Some(url) => check_postgres(url, &config.key_file),
        None => check_sqlite(&config.path, &config.key_file),
    }
}

fn key_problem(message: impl Into<String>) -> Vec<Invalid> {
    vec![Invalid::new("key_file", message)]
}

fn check_sqlite(db: &Path, key_file: &Path) -> Result<Found, Vec<Invalid>> {
    let mut problems = Vec::new();
    let keys = if key_file.exists() {
        match Keys::load_or_create(key_file) {
            Ok(keys) => Some(keys),
            Err(e) => {
                problems.extend(key_problem(e.to_string()));
                None
            }
        }
    } else {
        if db.exists() {
            problems.extend(key_problem(format!(
                "{} is missing but the database exists: its TOTP secrets cannot be read \
                 without it; restore the key file from backup",
                key_file.display()
            )));
        } else if let Some(message) = not_creatable(key_file) {
            problems.extend(key_problem(message));
        }
        None
    };
    let found = if db.exists() {
        if let Some(message) = not_writable(db) {
            problems.push(Invalid::new("path", message));
        }
        match keys.map(|keys| SqliteStore::open_checked(db, keys)) {
            Some(Ok(store)) => Some(Found::Existing(Arc::new(store))),
            Some(Err(e)) => {
                problems.push(Invalid::new("path", e.to_string()));
                None
            }
            None => None,
        }
    } else {
        if let Some(message) = not_creatable(db) {
            problems.push(Invalid::new("path", message));
        }
        Some(Found::WillBeCreated)
    };
    match found {
        Some(found) if problems.is_empty() => Ok(found),
        _ => Err(problems),
    }
}

/// A shared database: reachable, a schema this radotp knows, and the key file opens its seeds
/// (a node's key file must be the one the other nodes use).
fn check_postgres(url: &PostgresUrl, key_file: &Path) -> Result<Found, Vec<Invalid>> {
    let keys = if key_file.exists() {
        Some(Keys::load_or_create(key_file).map_err(|e| key_problem(e.to_string()))?)
    } else if let Some(message) = not_creatable(key_file) {
        return Err(key_problem(message));
    } else {
        None
    };
    // Without a key file, any key shows whether the database already holds sealed seeds.
    let probe = keys
        .clone()
        .unwrap_or_else(|| Keys::from_master(&random_bytes::<32>()));
    match PostgresStore::open_existing(url, probe) {
        Ok(Some(store)) if keys.is_some() => Ok(Found::Existing(Arc::new(store))),
        Ok(_) => Ok(Found::WillBeCreated),
        Err(StoreError::Key(e)) if key_file.exists() => Err(key_problem(format!(
            "{e}; every node needs the same key file"
        ))),
        Err(StoreError::Key(_)) => Err(key_problem(format!(
            "{} is missing but {url} holds users: their TOTP secrets cannot be read without \
             it; copy the key file from another node",
            key_file.display()
        ))),
        Err(e) => Err(vec![Invalid::new("url", e.to_string())]),
    }
}

/// Why a file that does not exist yet could not be created on first use, if it could not.
fn not_creatable(path: &Path) -> Option<String> {
    let mut dir = path.parent()?;
    // The nearest existing ancestor must be a writable folder.
    while !dir.as_os_str().is_empty() && !dir.exists() {
        dir = dir.parent()?;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Some(format!("{} is not a folder", dir.display())),
        Ok(_) => folder_not_writable(dir)
            .map(|e| format!("cannot create {}: {} {e}", path.display(), dir.display())),
        Err(e) => Some(format!("cannot create {}: {e}", path.display())),
    }
}

/// Why the existing database could not be written (its file, or its folder, where SQLite keeps
/// the write-ahead log), if it could not. A read-only filesystem answers reads as usual.
fn not_writable(db: &Path) -> Option<String> {
    // Opened for writing, not written: nothing changes.
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(db) {
        return Some(format!("{} cannot be written: {e}", db.display()));
    }
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    folder_not_writable(dir).map(|e| {
        format!(
            "{} {e}, and SQLite keeps its write-ahead log beside the database",
            dir.display()
        )
    })
}

/// Can a page be written in `dir`? Permission bits do not tell (a read-only mount, an ACL, a
/// full disk): a file of one database page is written, synced and removed at once.
fn folder_not_writable(dir: &Path) -> Option<String> {
    use std::io::Write;
    let probe = dir.join(format!(".radotp-write-check-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut file| {
            let page = [0u8; 4096];
            let outcome = file.write_all(&page).and_then(|()| file.sync_all());
            let _ = std::fs::remove_file(&probe);
            outcome
        });
    written.err().map(|e| format!("cannot be written: {e}"))
}
