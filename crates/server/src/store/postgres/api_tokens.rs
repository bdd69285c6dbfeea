//! Administrators' API tokens in PostgreSQL, statement for statement the SQLite ones
//! (`sqlite/api_tokens.rs`): a name and the MAC of the token's value.

use super::PostgresStore;
use super::pool::Conn;
use crate::secret::SecretBytes;
use crate::store::{ApiToken, MacPurpose, StoreError};

/// A name taken changes no row (`ApiTokenExists`), also when two nodes create it at once; a
/// MAC taken — the same value twice, which random values never are — is still an error.
const CREATE: &str = "INSERT INTO api_tokens (name, mac, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO NOTHING";

const REMOVE: &str = "DELETE FROM api_tokens WHERE name = $1";

/// `COLLATE "C"`: byte order, as SQLite sorts.
const LIST: &str = "SELECT name, created_at, last_used_at FROM api_tokens
     ORDER BY name COLLATE \"C\"";

const AUTHENTICATE: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE mac = $1
     RETURNING name";

impl PostgresStore {
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
        match self.execute(CREATE, &[&name, &mac, &now])? {
            0 => Err(StoreError::ApiTokenExists(name.to_owned())),
            _ => Ok(()),
        }
    }

    pub(super) fn revoke_api_token(&self, name: &str) -> Result<(), StoreError> {
        match self.execute(REMOVE, &[&name])? {
            0 => Err(StoreError::ApiTokenNotFound(name.to_owned())),
            _ => Ok(()),
        }
    }

    pub(super) fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(LIST).await?;
            let rows = conn.client.query(&statement, &[]).await?;
            Ok(rows
                .iter()
                .map(|r| ApiToken {
                    name: r.get(0),
                    created_at: r.get(1),
                    last_used_at: r.get(2),
                })
                .collect())
        })
    }

    pub(super) fn api_token_owner(
        &self,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mac = self.api_token_mac(secret);
        self.run(async |conn: &mut Conn| {
            let statement = conn.statement(AUTHENTICATE).await?;
            let row = conn.client.query_opt(&statement, &[&mac, &now]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }
}
