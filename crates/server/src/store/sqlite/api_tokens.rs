//! Administrators' API tokens in SQLite: a name and the MAC of the token's value, found by
//! that MAC on each request. The PostgreSQL twin is `postgres/api_tokens.rs`.

use rusqlite::params;

use super::{SqliteStore, db_error, returning};
use crate::secret::SecretBytes;
use crate::store::{ApiToken, MacPurpose, StoreError};

/// A name taken changes no row (`ApiTokenExists`); a MAC taken — the same value twice, which
/// random values never are — is still an error.
const CREATE: &str = "INSERT INTO api_tokens (name, mac, created_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (name) DO NOTHING";

const REMOVE: &str = "DELETE FROM api_tokens WHERE name = ?1";

/// SQLite's default collation (BINARY) sorts names by their bytes.
const LIST: &str = "SELECT name, created_at, last_used_at FROM api_tokens ORDER BY name";

const AUTHENTICATE: &str = "UPDATE api_tokens SET last_used_at = ?2 WHERE mac = ?1
     RETURNING name";
/// Read first: a wrong token then takes no write lock (which logins need).
const KNOWN: &str = "SELECT 1 FROM api_tokens WHERE mac = ?1";

impl SqliteStore {
    /// The token's value as stored: not bound to its name, since a request carries the value
    /// alone.
    fn api_token_mac(&self, secret: &SecretBytes) -> Vec<u8> {
        self.keys
            .code_mac(MacPurpose::ApiToken, "", secret.expose())
    }

    pub(super) fn add_api_token(
        &self,
        name: &str,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<(), StoreError> {
        let mac = self.api_token_mac(secret);
        let conn = self.conn();
        let created = conn
            .prepare_cached(CREATE)
            .and_then(|mut s| s.execute(params![name, mac, now]))
            .map_err(db_error)?;
        match created {
            0 => Err(StoreError::ApiTokenExists(name.to_owned())),
            _ => Ok(()),
        }
    }

    pub(super) fn revoke_api_token(&self, name: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let removed = conn
            .prepare_cached(REMOVE)
            .and_then(|mut s| s.execute([name]))
            .map_err(db_error)?;
        match removed {
            0 => Err(StoreError::ApiTokenNotFound(name.to_owned())),
            _ => Ok(()),
        }
    }

    pub(super) fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(LIST).map_err(db_error)?;
        let rows = statement
            .query_map([], |r| {
                Ok(ApiToken {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                    last_used_at: r.get(2)?,
                })
            })
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    pub(super) fn api_token_owner(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mac = self.api_token_mac(secret);
        let conn = self.conn();
        let known = conn
            .prepare_cached(KNOWN)
            .and_then(|mut s| s.exists([&mac]))
            .map_err(db_error)?;
        if !known {
            return Ok(None);
        }
        returning(&conn, AUTHENTICATE, params![mac, now], |r| r.get(0))
    }
}
