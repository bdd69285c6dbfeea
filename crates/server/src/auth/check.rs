//! The one password check a request costs, whatever the source: the local argon2 hash, a bind
//! to the LDAP directory, or an Access-Request to an upstream RADIUS server (`Sources` routes
//! each user to theirs).
//!
//! The decision core asks for exactly one check per Access-Request (`Check::User`,
//! `Check::Unenrolled`, `Check::Relay` or `Check::Dummy`); an unknown or locked user gets a
//! dummy check of the same cost, so the time of a reject says nothing about who exists.

use std::fmt;
use std::sync::Arc;

use super::password::{self, DummyHash, HashSlots};
use crate::dictionary::EncodedAttribute;
use crate::directory::{Directory, Verified};
use crate::store::{PasswordSource, Relay, UserRecord};
use crate::upstream::{self, Upstream};

/// What a check found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checked {
    Right,
    #[default]
    Wrong,
    /// The stored credential cannot be checked at all (a corrupt hash, one over the bounds).
    Unusable,
    /// The source does not know the name (a directory search found no one).
    Unknown,
    /// The upstream RADIUS server answered Access-Reject.
    Rejected,
    /// The upstream RADIUS server asked a question of its own (Access-Challenge): `Answer::turn`
    /// says where the answer goes, `Answer::attributes` holds its prompt.
    Challenged,
}

/// A check's result, with what the source adds to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub checked: Checked,
    /// radotp groups the source grants for this login (the directory's groups, mapped).
    pub groups: Vec<String>,
    /// What the source said, for the log only (why a directory refused a bind).
    pub note: Option<String>,
    /// The upstream's reply attributes: its Accept's policy, or its challenge's prompt.
    pub attributes: Vec<EncodedAttribute>,
    /// Where the answer to an upstream challenge goes: the server and its State.
    pub turn: Option<(u8, Vec<u8>)>,
}

impl Answer {
    /// A wrong password, with what the source said about it.
    fn refused(note: impl Into<String>) -> Self {
        Answer {
            checked: Checked::Wrong,
            note: Some(note.into()),
            ..Answer::default()
        }
    }
}

impl From<Checked> for Answer {
    fn from(checked: Checked) -> Self {
        Answer {
            checked,
            ..Answer::default()
        }
    }
}

/// Whose password is checked.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A user radotp knows, with the source their record names.
    User(&'a UserRecord),
    /// A name radotp does not know, on a NAS that lets directory users without a token in on
    /// their password alone.
    Unenrolled(&'a str),
    /// The answer to an upstream server's challenge, relayed back to the server that asked.
    Relayed {
        user: &'a UserRecord,
        relay: &'a Relay,
    },
    /// Nobody: spend what checking this name would cost and answer `Wrong`. `user` is the
    /// record when the user exists (locked or throttled), so the cost is that of their source.
    Dummy {
        name: &'a str,
        user: Option<&'a UserRecord>,
    },
}

/// The source could not answer (a directory or upstream server down): the request is dropped,
/// never guessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the password source cannot answer: {0}")]
pub struct SourceError(pub String);

/// Checks passwords. Blocking: it runs on a worker thread.
pub trait PasswordCheck: Send + Sync + fmt::Debug {
    fn check(&self, subject: Subject<'_>, password: &[u8]) -> Result<Answer, SourceError>;
}

/// The local source: the argon2id hash stored with the user.
#[derive(Debug, Clone)]
pub struct LocalHashes {
    dummy: DummyHash,
    /// Verifications at once, when limited (the server); else each thread hashes in its own
    /// memory.
    slots: Option<Arc<HashSlots>>,
}

impl LocalHashes {
    /// `dummy` is a hash at the configured cost that unknown users are checked against.
    pub fn new(dummy: DummyHash) -> Self {
        Self { dummy, slots: None }
    }

    /// Every verification takes one of `slots`.
    pub fn in_slots(self, slots: Arc<HashSlots>) -> Self {
        Self {
            slots: Some(slots),
            ..self
        }
    }

    fn hash<R>(&self, hash: impl FnOnce() -> R) -> R {
        match &self.slots {
            Some(slots) => slots.run(hash),
            None => hash(),
        }
    }

    fn verify(&self, user: &UserRecord, password: &[u8]) -> Checked {
        match self.hash(|| password::verify(password, &user.password_hash)) {
            Ok(true) => Checked::Right,
            Ok(false) => Checked::Wrong,
            Err(_) => Checked::Unusable,
        }
    }

    fn dummy(&self, password: &[u8]) -> Checked {
        self.hash(|| self.dummy.verify(password));
        Checked::Wrong
    }
}

impl PasswordCheck for LocalHashes {
    fn check(&self, subject: Subject<'_>, password: &[u8]) -> Result<Answer, SourceError> {
        Ok(match subject {
            Subject::User(user) => self.verify(user, password),
            Subject::Unenrolled(_) | Subject::Relayed { .. } | Subject::Dummy { .. } => {
                self.dummy(password)
            }
        }
        .into())
    }
}

/// Every source the configuration has, each user checked by theirs.
#[derive(Debug)]
pub struct Sources {
    pub local: LocalHashes,
    pub directory: Option<Arc<Directory>>,
    pub upstream: Option<Arc<Upstream>>,
    /// The source of users radotp does not know: what their dummy check costs.
    pub default: PasswordSource,
}

impl Sources {
    fn directory(&self) -> Result<&Directory, SourceError> {
        self.directory.as_deref().ok_or_else(|| {
            SourceError(
                "the user's password is in the directory, and [directory] is not configured".into(),
            )
        })
    }

    fn bind(&self, name: &str, password: &[u8], enrolled: bool) -> Result<Answer, SourceError> {
        let verified = self
            .directory()?
            .verify(name, password)
            .map_err(|e| SourceError(e.0))?;
        Ok(match verified {
            Verified::Right { groups } => Answer {
                checked: Checked::Right,
                groups,
                ..Answer::default()
            },
            Verified::Wrong(refusal) => Answer::refused(refusal.to_string()),
            Verified::NotFound if !enrolled => Checked::Unknown.into(),
            Verified::NotFound => Answer::refused("the directory has no entry for this name"),
            Verified::Ambiguous => Answer::refused(
                "the directory has several entries for this name: make user_filter match one",
            ),
        })
    }

    fn upstream(&self) -> Result<&Upstream, SourceError> {
        self.upstream.as_deref().ok_or_else(|| {
            SourceError(
                "the user's password is checked upstream, and [upstream] is not configured".into(),
            )
        })
    }

    fn ask(
        &self,
        name: &str,
        password: &[u8],
        resume: Option<&Relay>,
    ) -> Result<Answer, SourceError> {
        let reply = self
            .upstream()?
            .check(
                name,
                password,
                resume.map(|r| (r.server, r.state.as_slice())),
            )
            .map_err(|e| SourceError(e.0))?;
        Ok(match reply {
            upstream::Reply::Accept { attributes } => Answer {
                checked: Checked::Right,
                attributes,
                ..Answer::default()
            },
            upstream::Reply::Reject { message } => Answer {
                checked: Checked::Rejected,
                note: message.map(|m| format!("upstream says {m:?}")),
                ..Answer::default()
            },
            upstream::Reply::Challenge {
                server,
                state,
                prompt,
            } => Answer {
                checked: Checked::Challenged,
                attributes: prompt,
                turn: Some((server, state)),
                ..Answer::default()
            },
        })
    }
}

impl PasswordCheck for Sources {
    fn check(&self, subject: Subject<'_>, password: &[u8]) -> Result<Answer, SourceError> {
        match subject {
            Subject::User(user) => match user.password_source {
                PasswordSource::Local => self.local.check(subject, password),
                PasswordSource::Directory => self.bind(&user.name, password, true),
                PasswordSource::Upstream => self.ask(&user.name, password, None),
            },
            Subject::Unenrolled(name) => self.bind(name, password, false),
            Subject::Relayed { user, relay } => self.ask(&user.name, password, Some(relay)),
            Subject::Dummy { name, user } => {
                let source = user.map_or(self.default, |u| u.password_source);
                match (source, &self.directory, &self.upstream) {
                    (PasswordSource::Directory, Some(directory), _) => {
                        directory.dummy(name).map_err(|e| SourceError(e.0))?;
                        Ok(Checked::Wrong.into())
                    }
                    (PasswordSource::Upstream, _, Some(upstream)) => {
                        upstream.dummy(password).map_err(|e| SourceError(e.0))?;
                        Ok(Checked::Wrong.into())
                    }
                    _ => self.local.check(subject, password),
                }
            }
        }
    }
}
