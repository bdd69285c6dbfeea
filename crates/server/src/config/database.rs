//! `[database]` → `store::DatabaseConfig`: `path` (SQLite) or `url` (PostgreSQL), and the key
//! file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::problems::Problems;
use crate::store::{DatabaseConfig, PostgresUrl};

/// Where the key file lives unless `database.key_file` says otherwise: beside the config.
const DEFAULT_KEY_FILE: &str = "radotp.key";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    /// SQLite file (one node).
    pub path: Option<String>,
    /// PostgreSQL URL (several nodes sharing one database); instead of `path`.
    pub url: Option<String>,
    pub key_file: Option<String>,
}

pub(super) fn database(
    raw: Option<&RawDatabase>,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<DatabaseConfig> {
    let Some(db) = raw else {
        problems.add(
            "database",
            "the [database] section is missing; add one with path = \"radotp.db\" (SQLite) \
             or url = \"postgres://…\" (PostgreSQL, shared by several nodes)",
        );
        return None;
    };
    if db.key_file.as_deref().is_some_and(|k| k.trim().is_empty()) {
        problems.add(
            "database.key_file",
            "must not be empty (leave it out for radotp.key)",
        );
        return None;
    }
    let key_file = base_dir.join(db.key_file.as_deref().unwrap_or(DEFAULT_KEY_FILE));
    match (&db.path, &db.url) {
        (Some(_), Some(_)) => {
            problems.add(
                "database.url",
                "set either path (SQLite, one node) or url (PostgreSQL, several nodes), not both",
            );
            None
        }
        (None, None) => {
            problems.add(
                "database.path",
                "is required: path = \"radotp.db\" (SQLite), or instead url = \"postgres://…\" \
                 (PostgreSQL)",
            );
            None
        }
        (Some(path), None) if path.trim().is_empty() => {
            problems.add("database.path", "must not be empty");
            None
        }
        (Some(path), None) => Some(DatabaseConfig {
            path: base_dir.join(path),
            url: None,
            key_file,
        }),
        (None, Some(url)) => match PostgresUrl::parse(url).and_then(|mut url| {
            url.resolve_paths(base_dir);
            // The CA file is read now, so check-config finds a wrong one.
            url.tls().client_config().map(|_| url)
        }) {
            Ok(url) => Some(DatabaseConfig {
                path: PathBuf::new(),
                url: Some(url),
                key_file,
            }),
            Err(message) => {
                problems.add("database.url", message);
                None
            }
        },
    }
}
