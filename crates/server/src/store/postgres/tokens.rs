//! Adding tokens inside a transaction, and telling a missing token from a missing user: the
//! PostgreSQL side of `sqlite/tokens.rs`.

use tokio_postgres::Transaction;
use tokio_postgres::error::SqlState;

use super::error::OpError;
use super::sql;
use crate::store::{Keys, NewToken, StoreError};

/// A token to insert, sealed once, outside the pool's retry loop.
pub(super) struct Sealed<'a> {
    pub name: &'a str,
    pub token: &'a NewToken,
    pub sealed: Vec<u8>,
}

impl<'a> Sealed<'a> {
    pub(super) fn new(keys: &Keys, name: &'a str, token: &'a NewToken) -> Self {
        Sealed {
            name,
            token,
            sealed: keys.seal(name, &token.secret.sealed_part()),
        }
    }
}

/// Add the token to its user's inside `tx`, with the user's next id (the user's row stays
/// locked until `tx` ends). Its id.
pub(super) async fn insert(
    tx: &Transaction<'_>,
    new: &Sealed<'_>,
    now: i64,
) -> Result<u32, OpError> {
    let row = tx
        .query_opt(sql::NEXT_TOKEN_ID, &[&new.name])
        .await?
        .ok_or_else(|| StoreError::UserNotFound(new.name.to_owned()))?;
    let (user_id, id): (i64, i64) = (row.get(0), row.get(1));
    let c = new.token.columns();
    let inserted = tx
        .execute(
            sql::ADD_TOKEN,
            &[
                &user_id,
                &id,
                &c.kind,
                &new.token.label,
                &new.token.serial,
                &new.sealed,
                &c.algorithm,
                &c.digits,
                &c.period,
                &c.public_id,
                &c.last_used,
                &now,
            ],
        )
        .await;
    match inserted {
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            return Err(StoreError::YubikeyTaken {
                public_id: c.public_id.unwrap_or_default().to_owned(),
            }
            .into());
        }
        other => other?,
    };
    Ok(u32::try_from(id).map_err(|_| StoreError::Database("token id overflow".into()))?)
}
