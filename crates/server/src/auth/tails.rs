//! Which codes the end of the input could be, and what each would mean: the cheap part of the
//! decision (shapes, then at most a few HMACs), done before the one password check.

use super::codes::{RECOVERY_TYPED_LEN, normalize_recovery_code};
use super::otp;
use super::split::split;
use crate::secret::SecretBytes;
use crate::store::{RecoveryCodeState, UserRecord};

/// Learned drift may wander this far (in steps) on its own; `user resync` may set more.
pub const MAX_AUTO_DRIFT: i64 = 10;

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

    /// The numeric tail as the store compares sent codes.
    pub fn sent_code(&self) -> Option<SecretBytes> {
        self.numeric
            .as_ref()
            .map(|(_, code)| SecretBytes::from(code.as_bytes()))
    }
}

/// The second factor the input carries, as far as the cheap checks can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The tail is the TOTP code of `step`, newer than the last step used; `drift` is the
    /// offset to remember if it is accepted.
    Totp { step: u64, drift: i64 },
    /// The tail is the TOTP code of a step that was already used: a replay.
    UsedTotp { step: u64 },
    /// The tail is a code we sent the user and that is still live.
    Sent,
    /// The tail is one of the user's unused recovery codes.
    Recovery,
    /// The tail is one of the user's recovery codes, already used.
    UsedRecovery,
    /// No valid code at the end: the whole input is taken as the password.
    None,
}

/// The TOTP factor of a numeric code, if it is one: checked around the user's learned drift.
pub(crate) fn totp_factor(user: &UserRecord, code: &str, window: u8, now: u64) -> Option<Factor> {
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

/// The factor a tail proves, and where the password ends: TOTP first, then a sent code, then a
/// recovery code. `None` when no tail is a code of the user's.
pub(crate) fn classify(
    user: &UserRecord,
    tails: &Tails,
    sent: bool,
    recovery: RecoveryCodeState,
    window: u8,
    now: u64,
) -> Option<(usize, Factor)> {
    if let Some((at, code)) = &tails.numeric {
        if let Some(factor) = totp_factor(user, code, window, now) {
            return Some((*at, factor));
        }
        if sent {
            return Some((*at, Factor::Sent));
        }
    }
    let (at, _) = tails.recovery.as_ref()?;
    match recovery {
        RecoveryCodeState::Unused => Some((*at, Factor::Recovery)),
        RecoveryCodeState::Used => Some((*at, Factor::UsedRecovery)),
        RecoveryCodeState::NotFound => None,
    }
}
