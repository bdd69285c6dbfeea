//! The one password check a request costs, whatever the source: the seam where a directory
//! bind (LDAP) or an upstream RADIUS server plugs in beside the local argon2 hash.
//!
//! The decision core asks for exactly one check per Access-Request (`Check::User` or
//! `Check::Dummy`); an unknown or locked user gets a dummy check of the same cost, so the time
//! of a reject says nothing about who exists.

use std::fmt;

use super::password::{self, DummyHash};
use crate::store::UserRecord;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Right,
    Wrong,
    /// The stored credential cannot be checked at all (a corrupt hash, one over the bounds).
    Unusable,
}

/// The source could not answer (a directory or upstream server down): the request is dropped,
/// never guessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the password source cannot answer: {0}")]
pub struct SourceError(pub String);

/// Checks passwords. Blocking: it runs on a worker thread.
pub trait PasswordCheck: Send + Sync + fmt::Debug {
    /// Check `password` for `user`. With `None` (unknown or locked), spend what a real check
    /// costs and answer `Wrong`.
    fn check(&self, user: Option<&UserRecord>, password: &[u8]) -> Result<Checked, SourceError>;
}

/// The local source: the argon2id hash stored with the user.
#[derive(Debug, Clone)]
pub struct LocalHashes {
    dummy: DummyHash,
}

impl LocalHashes {
    /// `dummy` is a hash at the configured cost that unknown users are checked against.
    pub fn new(dummy: DummyHash) -> Self {
        Self { dummy }
    }
}

impl PasswordCheck for LocalHashes {
    fn check(&self, user: Option<&UserRecord>, password: &[u8]) -> Result<Checked, SourceError> {
        let Some(user) = user else {
            self.dummy.verify(password);
            return Ok(Checked::Wrong);
        };
        Ok(match password::verify(password, &user.password_hash) {
            Ok(true) => Checked::Right,
            Ok(false) => Checked::Wrong,
            Err(_) => Checked::Unusable,
        })
    }
}
