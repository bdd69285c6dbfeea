//! Administration as a library: the user, invitation, API-token and session operations that
//! the command line (`radotp user …`, `radotp api-token …`) and the HTTP API (`/api/v1/…`)
//! both call, so a rule is written once and both enforce it. Each operation returns a value
//! (never prints) or an `AdminError` a person can act on; how it is shown is the shell's.
//!
//! - `users`: add (with or without a token), temporary passwords, recovery codes, disable /
//!   enable / unlock / remove, and the rules on names and passwords.
//! - `invitations`: single-use enrollment links and sending them.
//! - `api_tokens`: the bearer tokens of the admin API.
//! - `view`: users, tokens and sessions as JSON (what an administrator may see, no secret).

pub mod api_tokens;
pub mod invitations;
pub mod users;
pub mod view;

use crate::store::StoreError;

/// Why an operation refused or failed; `Display` says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A value given is wrong: `field` names it (the CLI's argument, the API's JSON field).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A rule forbids it as things stand (an invitation for a user who has a token).
    #[error("{0}")]
    Refused(String),
    /// Something behind the operation cannot answer (the directory, the delivery gateway).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What kind of failure, for an exit code or an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The caller's mistake in what they gave (exit 2, HTTP 400).
    Invalid,
    /// What was named does not exist (exit 2, HTTP 404).
    NotFound,
    /// It exists already (exit 1), or a rule forbids it now (`Refused`: exit 2, with what to
    /// do instead); HTTP 409.
    Conflict,
    /// The database or a service cannot answer (exit 1, HTTP 503).
    Unavailable,
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            AdminError::Invalid { .. } => Kind::Invalid,
            AdminError::Refused(_) => Kind::Conflict,
            AdminError::Unavailable(_) => Kind::Unavailable,
            AdminError::Store(e) => match e {
                StoreError::UserNotFound(_)
                | StoreError::TokenNotFound { .. }
                | StoreError::ApiTokenNotFound(_) => Kind::NotFound,
                StoreError::UserExists(_)
                | StoreError::YubikeyTaken { .. }
                | StoreError::ApiTokenExists(_)
                | StoreError::HasActiveToken(_)
                | StoreError::InvitationGone => Kind::Conflict,
                StoreError::Open { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Key(_)
                | StoreError::Database(_) => Kind::Unavailable,
            },
        }
    }

    /// The field a caller's mistake is about, if it is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AdminError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The user named, or `UserNotFound`.
pub fn find_user(
    store: &dyn crate::store::Store,
    name: &str,
) -> Result<crate::store::UserRecord, AdminError> {
    store
        .find_user(name)?
        .ok_or_else(|| AdminError::Store(StoreError::UserNotFound(name.to_owned())))
}
