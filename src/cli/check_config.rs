//! `radotp check-config`: validate the file and everything it points to (secret files, key file,
//! database: the SQLite file, or the PostgreSQL server, connected to with a bounded timeout),
//! print `configuration OK` or every problem.

use std::path::Path;

use super::Failure;
use radotp_server::config::{Config, ConfigError, Problem};
use radotp_server::store::{Keys, PostgresStore, PostgresUrl, SqliteStore, StoreError};

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path)?;
    let problems = check_storage(&config);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        }
        .into());
    }
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    println!("configuration OK");
    Ok(())
}

/// The key file and the database, checked without creating or changing either.
fn check_storage(config: &Config) -> Vec<Problem> {
    if let Some(url) = &config.database.url {
        return check_postgres(url, &config.database.key_file);
    }
    let db = &config.database.path;
    let key_file = &config.database.key_file;
    let problem = |key: &str, message: String| Problem {
        key: key.to_owned(),
        message,
    };
    let mut problems = Vec::new();
    let keys = if key_file.exists() {
        match Keys::load_or_create(key_file) {
            Ok(keys) => Some(keys),
            Err(e) => {
                problems.push(problem("database.key_file", e.to_string()));
                None
            }
        }
    } else {
        if db.exists() {
            problems.push(problem(
                "database.key_file",
                format!(
                    "{} is missing but the database exists: its TOTP secrets cannot be read \
                     without it; restore the key file from backup",
                    key_file.display()
                ),
            ));
        } else if let Some(message) = not_creatable(key_file) {
            problems.push(problem("database.key_file", message));
        }
        None
    };
    if db.exists() {
        if let Some(keys) = keys
            && let Err(e) = SqliteStore::check(db, &keys)
        {
            problems.push(problem("database.path", e.to_string()));
        }
    } else if let Some(message) = not_creatable(db) {
        problems.push(problem("database.path", message));
    }
    problems
}

/// A shared database: reachable, a schema this radotp knows, and the key file opens its seeds
/// (a node's key file must be the one the other nodes use).
fn check_postgres(url: &PostgresUrl, key_file: &Path) -> Vec<Problem> {
    let problem = |key: &str, message: String| Problem {
        key: key.to_owned(),
        message,
    };
    let keys = if key_file.exists() {
        match Keys::load_or_create(key_file) {
            Ok(keys) => Some(keys),
            Err(e) => return vec![problem("database.key_file", e.to_string())],
        }
    } else if let Some(message) = not_creatable(key_file) {
        return vec![problem("database.key_file", message)];
    } else {
        None
    };
    // Without a key file, any key shows whether the database already holds sealed seeds.
    let probe =
        keys.unwrap_or_else(|| Keys::from_master(&radotp_server::secret::random_bytes::<32>()));
    match PostgresStore::check(url, &probe) {
        Ok(()) => Vec::new(),
        Err(StoreError::Key(e)) if key_file.exists() => {
            vec![problem(
                "database.key_file",
                format!("{e}; every node needs the same key file"),
            )]
        }
        Err(StoreError::Key(_)) => vec![problem(
            "database.key_file",
            format!(
                "{} is missing but {url} holds users: their TOTP secrets cannot be read \
                 without it; copy the key file from another node",
                key_file.display()
            ),
        )],
        Err(e) => vec![problem("database.url", e.to_string())],
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
        Ok(m) if m.permissions().readonly() => Some(format!(
            "cannot create {}: {} is read-only",
            path.display(),
            dir.display()
        )),
        Ok(_) => None,
        Err(e) => Some(format!("cannot create {}: {e}", path.display())),
    }
}
