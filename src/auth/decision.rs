//! The pure decision core (DESIGN step 8): from the typed input, the user record, the policy
//! and `now`, choose which single password verification to run, then turn its result into a
//! verdict. No clocks, sockets or database in here.

use super::otp;
use super::split::split;
use crate::store::UserRecord;

/// The second factor the input carried, as far as the cheap checks can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The tail is the TOTP code of `step`, newer than the last step used.
    Totp { step: u64 },
    /// The tail is the TOTP code of a step that was already used: a replay.
    UsedTotp { step: u64 },
    /// No valid code at the end: the whole input is taken as the password.
    None,
}

/// Which hash the one verification runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    User,
    /// The dummy hash: the user does not exist (or cannot log in), but the cost is the same.
    Dummy,
}

/// What to verify: the first `password_len` octets of the input, against `against`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub password_len: usize,
    pub against: Against,
    pub factor: Factor,
}

/// Why a request was refused. Goes to the log only: every reject looks the same on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    UnknownUser,
    Disabled,
    NoTotpEnrolled,
    /// A valid code, a wrong password.
    WrongPassword,
    /// No valid code at the end, and the whole input is not the password either.
    WrongPasswordOrCode,
    /// Right password, but the code's step was already used.
    CodeAlreadyUsed,
    /// Right password and no code.
    CodeMissing,
    /// The stored hash cannot be verified (corrupt or over the cost bounds).
    UnusableHash,
    /// Right password, but it was a temporary one and has expired.
    PasswordExpired,
    /// The request cannot be checked at all (CHAP, EAP, no User-Password).
    Unsupported(&'static str),
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::UnknownUser => "unknown user",
            RejectReason::Disabled => "disabled",
            RejectReason::NoTotpEnrolled => "no TOTP enrolled",
            RejectReason::WrongPassword => "wrong password",
            RejectReason::WrongPasswordOrCode => "wrong password or code",
            RejectReason::CodeAlreadyUsed => "code already used",
            RejectReason::CodeMissing => "password without code",
            RejectReason::UnusableHash => "stored password hash unusable",
            RejectReason::PasswordExpired => "password expired",
            RejectReason::Unsupported(why) => why,
        }
    }
}

/// The outcome once the password has been verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accept, provided `step` can still be consumed atomically (else it is a replay).
    Accept {
        step: u64,
    },
    Reject(RejectReason),
}

/// Choose the split and the hash to verify against. At most a handful of HMACs; no argon2.
pub fn plan(user: Option<&UserRecord>, input: &[u8], window: u8, now: u64) -> Plan {
    let whole = |against| Plan {
        password_len: input.len(),
        against,
        factor: Factor::None,
    };
    let Some(user) = user else {
        return whole(Against::Dummy);
    };
    let Some(seed) = &user.totp else {
        return whole(Against::User);
    };
    let Some((password, code)) = split(input, seed.params.digits) else {
        return whole(Against::User);
    };
    match otp::matching_step(&seed.secret, seed.params, code, now, window) {
        Some(step) => Plan {
            password_len: password.len(),
            against: Against::User,
            factor: match user.last_step {
                Some(last) if step <= last => Factor::UsedTotp { step },
                _ => Factor::Totp { step },
            },
        },
        None => whole(Against::User),
    }
}

/// Turn the verification result into a verdict. `verified` is `None` when the stored hash could
/// not be used at all.
pub fn verdict(
    user: Option<&UserRecord>,
    plan: &Plan,
    verified: Option<bool>,
    now: u64,
) -> Verdict {
    let Some(user) = user else {
        return Verdict::Reject(RejectReason::UnknownUser);
    };
    let Some(verified) = verified else {
        return Verdict::Reject(RejectReason::UnusableHash);
    };
    // Account state is checked after the verification so that it costs the same.
    if user.disabled {
        return Verdict::Reject(RejectReason::Disabled);
    }
    if user.totp.is_none() {
        return Verdict::Reject(RejectReason::NoTotpEnrolled);
    }
    let expired = user
        .password_expires_at
        .is_some_and(|at| i64::try_from(now).unwrap_or(i64::MAX) >= at);
    if verified && expired {
        return Verdict::Reject(RejectReason::PasswordExpired);
    }
    match (plan.factor, verified) {
        (Factor::Totp { step }, true) => Verdict::Accept { step },
        (Factor::Totp { .. } | Factor::UsedTotp { .. }, false) => {
            Verdict::Reject(RejectReason::WrongPassword)
        }
        (Factor::UsedTotp { .. }, true) => Verdict::Reject(RejectReason::CodeAlreadyUsed),
        (Factor::None, true) => Verdict::Reject(RejectReason::CodeMissing),
        (Factor::None, false) => Verdict::Reject(RejectReason::WrongPasswordOrCode),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
