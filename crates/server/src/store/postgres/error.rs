//! Errors of the PostgreSQL store: what an operation returns, how a driver error reads, and
//! whether it means the connection is gone.

use tokio_postgres::error::SqlState;

use super::pool::Conn;
use crate::store::StoreError;

/// Why an operation failed: the database, or a store-level answer (`UserExists`, …).
pub(super) enum OpError {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for OpError {
    fn from(e: tokio_postgres::Error) -> Self {
        OpError::Pg(e)
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        OpError::Store(e)
    }
}

/// The whole text of a driver error, causes included (its `Display` alone is often terse).
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

pub(super) fn database_error(e: &tokio_postgres::Error) -> StoreError {
    StoreError::Database(describe(e))
}

/// The connection is gone (closed, reset, or the server is shutting down), as opposed to a
/// statement that failed on a healthy connection.
pub(super) fn is_broken(e: &tokio_postgres::Error, conn: &Conn) -> bool {
    conn.client.is_closed()
        || e.is_closed()
        || e.code().is_some_and(|code| {
            // Class 08: connection exception; 57P0x: the server is shutting down or restarting.
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        })
}
