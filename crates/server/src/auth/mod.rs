//! Authentication: the pure decision core and the shell that runs it.
//!
//! - [`decision`]: pure: from the request, the user record, the policy and `now`, the one
//!   password check to run (`plan`), then the answer, its reason and the effects on the store
//!   (`verdict`).
//! - [`reason`]: why: one variant per cause, each with the label the log and metrics share.
//! - [`tails`]: which codes the end of the input could be (TOTP, sent, recovery).
//! - [`check`]: the `PasswordCheck` seam, one check per request whatever the source; the local
//!   argon2 hash is its first implementation.
//! - [`authenticator`]: the shell: store lookups, the check, the effects — nothing decided.
//! - [`otp`], [`password`], [`codes`], [`split`]: TOTP, argon2id hashes, generated codes, and
//!   where the password ends.

pub mod authenticator;
pub mod check;
pub mod codes;
pub mod decision;
pub mod otp;
pub mod password;
pub mod reason;
pub mod split;
pub mod tails;

pub use authenticator::{AuthError, Authenticator, Consequences, Decision, DeliveryNote};
pub use check::{Answer, Checked, LocalHashes, PasswordCheck, SourceError, Sources, Subject};
pub use decision::{Outcome, Policy, Request};
pub use reason::{Reason, Unsupported};

use crate::secret::SecretBytes;
use crate::store::Delivery;

/// How a NAS asks for the second factor (per client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `password + code` in one field; a password alone is refused (and a code is sent).
    Append,
    /// A password alone is answered with Access-Challenge; the next request carries the code.
    Challenge,
}

/// What a NAS does with a directory user radotp has no token for (per client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unenrolled {
    /// Refused, like any unknown user.
    #[default]
    Reject,
    /// Logged in with the directory password alone (a staged rollout); every such Accept is
    /// logged as `accepted without a second factor (not enrolled)`.
    PasswordOnly,
}

/// Seconds a challenge's State stays answerable.
pub const CHALLENGE_TTL_SECS: i64 = 120;
/// Octets of random State (RFC 2865 §5.24 leaves the size to us; 16 is the floor we promise).
pub const STATE_LEN: usize = 32;

/// A code to send out of band, after the reply has gone.
#[derive(Debug)]
pub struct CodeToSend {
    pub user: String,
    pub delivery: Delivery,
    pub code: SecretBytes,
    pub expires_in: i64,
}
