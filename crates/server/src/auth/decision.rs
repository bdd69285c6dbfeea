//! The pure decision core (DESIGN step 8): from the typed input, the user record, what the
//! store said about candidate codes, the policy and `now`, choose the single password
//! verification to run, then turn its result into a verdict. No clocks, sockets or database.

use super::codes::{RECOVERY_TYPED_LEN, normalize_recovery_code};
use super::otp;
use super::split::split;
use crate::secret::SecretBytes;
use crate::store::UserRecord;

/// Learned drift may wander this far (in steps) on its own; `user resync` may set more.
pub const MAX_AUTO_DRIFT: i64 = 10;

/// The second factor the input carried, as far as the cheap checks can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The tail is the TOTP code of `step`, newer than the last step used; `drift` is the
    /// offset to remember if it is accepted.
    Totp { step: u64, drift: i64 },
    /// The tail is the TOTP code of a step that was already used: a replay.
    UsedTotp { step: u64 },
    /// The tail is one of the user's unused recovery codes.
    Recovery,
    /// The tail is a code we sent the user and that is still live.
    Sent,
    /// No valid code at the end: the whole input is taken as the password.
    None,
}

/// Which hash the one verification runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    User,
    /// The dummy hash: the user does not exist, but the cost is the same.
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
    /// The answer to a challenge is no valid code.
    WrongCode,
    /// Right password, but it was a temporary one and has expired.
    PasswordExpired,
    /// The stored hash cannot be verified (corrupt or over the cost bounds).
    UnusableHash,
    /// Fully authenticated, but the NAS only admits other groups.
    NotInAllowedGroups,
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
            RejectReason::WrongCode => "wrong code",
            RejectReason::PasswordExpired => "password expired",
            RejectReason::UnusableHash => "stored password hash unusable",
            RejectReason::NotInAllowedGroups => "not in allowed groups",
            RejectReason::Unsupported(why) => why,
        }
    }
}

/// The verdict once the password has been verified (or, answering a challenge, the code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accept, provided the factor can still be consumed atomically (else it is a replay).
    Accept(Factor),
    Reject(RejectReason),
}

/// Codes at the end of the input that are worth a (cheap) store lookup.
#[derive(Debug, Default)]
pub struct Tails {
    /// The last `digits` characters, when they are digits: TOTP or a sent code.
    pub numeric: Option<(usize, String)>,
    /// The last characters, when they have the shape of a recovery code (normalised).
    pub recovery: Option<(usize, SecretBytes)>,
}

impl Tails {
    /// The candidate tails of `input` for `user`. With `whole`, the input must be the code
    /// alone (a challenge answer); otherwise a password must come before it.
    pub fn of(user: &UserRecord, input: &[u8], whole: bool) -> Tails {
        let Some(seed) = &user.totp else {
            return Tails::default();
        };
        let digits = usize::from(seed.params.digits);
        let numeric = if whole {
            (input.len() == digits && input.iter().all(u8::is_ascii_digit))
                .then(|| (0, String::from_utf8_lossy(input).into_owned()))
        } else {
            split(input, seed.params.digits).map(|(pw, code)| (pw.len(), code.to_owned()))
        };
        let recovery = if whole {
            normalize_recovery_code(input).map(|c| (0, c))
        } else if input.len() > RECOVERY_TYPED_LEN {
            let at = input.len() - RECOVERY_TYPED_LEN;
            normalize_recovery_code(&input[at..]).map(|c| (at, c))
        } else {
            None
        };
        debug_assert!(
            numeric
                .as_ref()
                .is_none_or(|(at, _)| *at + digits == input.len())
        );
        Tails { numeric, recovery }
    }
}

/// What the store said about the candidate tails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The numeric tail is a live code we sent.
    pub sent: bool,
    /// The recovery-shaped tail is an unused recovery code.
    pub recovery: bool,
}

/// The TOTP factor of a numeric code, if it is one: checked around the user's learned drift.
fn totp_factor(user: &UserRecord, code: &str, window: u8, now: u64) -> Option<Factor> {
    let seed = user.totp.as_ref()?;
    let step = otp::matching_step_around(&seed.secret, seed.params, code, now, user.drift, window)?;
    if user.last_step.is_some_and(|last| step <= last) {
        return Some(Factor::UsedTotp { step });
    }
    let offset = step as i64 - otp::step_at(now, seed.params.period) as i64;
    // Learning follows a token that really drifts (each step backed by a valid code), but on
    // its own never strays past MAX_AUTO_DRIFT unless a resync already put it there.
    let bound = MAX_AUTO_DRIFT.max(user.drift.abs() + i64::from(window));
    Some(Factor::Totp {
        step,
        drift: offset.clamp(-bound, bound),
    })
}

/// Choose the split and the hash to verify against. At most a handful of HMACs; no argon2.
pub fn plan(
    user: Option<&UserRecord>,
    input: &[u8],
    tails: &Tails,
    found: Found,
    window: u8,
    now: u64,
) -> Plan {
    let whole = |against| Plan {
        password_len: input.len(),
        against,
        factor: Factor::None,
    };
    let Some(user) = user else {
        return whole(Against::Dummy);
    };
    let with = |password_len, factor| Plan {
        password_len,
        against: Against::User,
        factor,
    };
    if let Some((at, code)) = &tails.numeric {
        if let Some(factor) = totp_factor(user, code, window, now) {
            return with(*at, factor);
        }
        if found.sent {
            return with(*at, Factor::Sent);
        }
    }
    if let (Some((at, _)), true) = (&tails.recovery, found.recovery) {
        return with(*at, Factor::Recovery);
    }
    whole(Against::User)
}

/// Account checks that apply after any successful factor, in the same order every time.
fn account_allows(user: &UserRecord, now: u64) -> Result<(), RejectReason> {
    if user.disabled {
        return Err(RejectReason::Disabled);
    }
    if user.totp.is_none() {
        return Err(RejectReason::NoTotpEnrolled);
    }
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if user.password_expires_at.is_some_and(|at| now >= at) {
        return Err(RejectReason::PasswordExpired);
    }
    Ok(())
}

/// Turn the verification result into a verdict. `verified` is `None` when the stored hash could
/// not be used at all.
pub fn verdict(
    user: Option<&UserRecord>,
    plan: &Plan,
    verified: Option<bool>,
    now: u64,
) -> Verdict {
    use RejectReason::*;
    let Some(user) = user else {
        return Verdict::Reject(UnknownUser);
    };
    let Some(verified) = verified else {
        return Verdict::Reject(UnusableHash);
    };
    // Account state is checked after the verification so that it costs the same; and a
    // wrong password is reported as such whatever the account state.
    if user.disabled {
        return Verdict::Reject(Disabled);
    }
    if !verified {
        return Verdict::Reject(match plan.factor {
            Factor::None => WrongPasswordOrCode,
            _ => WrongPassword,
        });
    }
    if let Err(reason) = account_allows(user, now) {
        return Verdict::Reject(reason);
    }
    match plan.factor {
        Factor::UsedTotp { .. } => Verdict::Reject(CodeAlreadyUsed),
        Factor::None => Verdict::Reject(CodeMissing),
        factor => Verdict::Accept(factor),
    }
}

/// The answer to a challenge: the input is the code alone (the password was verified when the
/// challenge was issued).
pub fn respond(user: &UserRecord, tails: &Tails, found: Found, window: u8, now: u64) -> Verdict {
    if let Err(reason) = account_allows(user, now) {
        return Verdict::Reject(reason);
    }
    if let Some((_, code)) = &tails.numeric {
        match totp_factor(user, code, window, now) {
            Some(Factor::UsedTotp { .. }) => return Verdict::Reject(RejectReason::CodeAlreadyUsed),
            Some(factor) => return Verdict::Accept(factor),
            None if found.sent => return Verdict::Accept(Factor::Sent),
            None => {}
        }
    }
    if tails.recovery.is_some() && found.recovery {
        return Verdict::Accept(Factor::Recovery);
    }
    Verdict::Reject(RejectReason::WrongCode)
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
