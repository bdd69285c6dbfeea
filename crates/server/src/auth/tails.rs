//! Which codes the end of the input could be, and what each would mean: the cheap part of the
//! decision (shapes, then a few HMACs or one AES block per token), done before the one
//! password check.
//!
//! A user may have several tokens. The shape of the tail says which could have made it: 44
//! modhex characters for a YubiKey, a token's number of digits for HOTP and TOTP, the
//! recovery-code shape. Each candidate token is checked; the first that matches chooses where
//! the password ends.

use super::codes::{RECOVERY_TYPED_LEN, normalize_recovery_code};
use super::otp;
use super::split::split;
use crate::secret::SecretBytes;
use crate::store::{RecoveryCodeState, Token, TokenKind, TokenSecret, UserRecord};
use crate::tokens::hotp::Hotp;
use crate::tokens::yubico::{self, OtpTail};

/// Learned drift may wander this far (in steps) on its own; `resync` may set more.
pub const MAX_AUTO_DRIFT: i64 = 10;

/// Codes at the end of the input that are worth a (cheap) check. `Debug` shows where each
/// would start, never the code.
#[derive(Default)]
pub struct Tails {
    /// The last characters, when they are digits: one tail for each code length among the
    /// user's tokens and sent codes, shortest first.
    pub numeric: Vec<(usize, String)>,
    /// How long a code radotp sends the user is.
    sent_digits: usize,
    /// The last 44 characters, when they are modhex and the user has a YubiKey.
    pub yubico: Option<OtpTail>,
    /// The last characters, when they have the shape of a recovery code (normalised).
    pub recovery: Option<(usize, SecretBytes)>,
}

impl std::fmt::Debug for Tails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |tails: &[(usize, String)]| -> Vec<(usize, usize)> {
            tails.iter().map(|(at, code)| (*at, code.len())).collect()
        };
        f.debug_struct("Tails")
            .field("numeric (at, digits)", &at(&self.numeric))
            .field("yubico at", &self.yubico.as_ref().map(|t| t.at))
            .field("recovery at", &self.recovery.as_ref().map(|(at, _)| *at))
            .finish()
    }
}

impl Tails {
    /// The candidate tails of `input` for `user`. With `whole`, the input must be the code
    /// alone (a challenge answer); otherwise a password must come before it. A user without
    /// an active token has none: nothing they type is a code.
    pub fn of(user: &UserRecord, input: &[u8], whole: bool) -> Tails {
        if !user.has_active_token() {
            return Tails::default();
        }
        let sent_digits = user.code_digits();
        let mut lengths: Vec<u8> = user
            .active_tokens()
            .filter_map(|t| t.secret.digits())
            .chain([sent_digits])
            .collect();
        lengths.sort_unstable();
        lengths.dedup();
        let numeric = lengths
            .into_iter()
            .filter_map(|digits| numeric_tail(input, digits, whole))
            .collect();
        let yubico = user
            .active_tokens()
            .any(|t| t.kind() == TokenKind::Yubico)
            .then(|| yubico::tail(input, whole))
            .flatten();
        let recovery = if whole {
            normalize_recovery_code(input).map(|c| (0, c))
        } else if input.len() > RECOVERY_TYPED_LEN {
            let at = input.len() - RECOVERY_TYPED_LEN;
            normalize_recovery_code(&input[at..]).map(|c| (at, c))
        } else {
            None
        };
        Tails {
            numeric,
            sent_digits: usize::from(sent_digits),
            yubico,
            recovery,
        }
    }

    /// The numeric tail of `digits` digits, if the input ends in one.
    pub fn numeric_of(&self, digits: usize) -> Option<&(usize, String)> {
        self.numeric.iter().find(|(_, code)| code.len() == digits)
    }

    /// The numeric tail as the store compares sent codes.
    pub fn sent_code(&self) -> Option<SecretBytes> {
        self.numeric_of(self.sent_digits)
            .map(|(_, code)| SecretBytes::from(code.as_bytes()))
    }
}

/// The last `digits` characters of `input`, when they are digits (and, unless `whole`,
/// something comes before them); with `whole`, the input must be exactly those digits.
fn numeric_tail(input: &[u8], digits: u8, whole: bool) -> Option<(usize, String)> {
    if whole {
        return (input.len() == usize::from(digits) && input.iter().all(u8::is_ascii_digit))
            .then(|| (0, String::from_utf8_lossy(input).into_owned()));
    }
    split(input, digits).map(|(pw, code)| (pw.len(), code.to_owned()))
}

/// The second factor the input carries, as far as the cheap checks can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The tail is a code of token `id`, at `value` (TOTP step, HOTP counter, Yubico
    /// counter), newer than the token's last used; `drift` is the offset to remember if it is
    /// accepted.
    Token {
        id: u32,
        kind: TokenKind,
        value: u64,
        drift: i64,
    },
    /// The tail is a code of token `id` that was already used: a replay.
    UsedToken { id: u32, kind: TokenKind },
    /// The tail is a code we sent the user and that is still live.
    Sent,
    /// The tail is one of the user's unused recovery codes.
    Recovery,
    /// The tail is one of the user's recovery codes, already used.
    UsedRecovery,
    /// No valid code at the end: the whole input is taken as the password.
    None,
}

/// How far around the expected value codes are looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// TOTP steps either side of the (drift-corrected) current one.
    pub totp: u8,
    /// HOTP counters ahead of the last one used.
    pub hotp: u8,
}

/// The factor a token's tail proves, and where the password then ends. With `look_back` (HOTP
/// only), the code is looked for behind the last used counter instead of ahead (a replay):
/// a window of HMACs more, spent only when no token took the code.
fn token_factor(
    token: &Token,
    tails: &Tails,
    windows: Windows,
    now: u64,
    look_back: bool,
) -> Option<(usize, Factor)> {
    let (at, value, drift) = match &token.secret {
        TokenSecret::Totp(seed) => {
            let (at, code) = tails.numeric_of(usize::from(seed.params.digits))?;
            let step = otp::matching_step_around(
                &seed.secret,
                seed.params,
                code,
                now,
                token.drift,
                windows.totp,
            )?;
            let offset = step as i64 - otp::step_at(now, seed.params.period) as i64;
            // Learning follows a token that really drifts (each step backed by a valid code),
            // but on its own never strays past MAX_AUTO_DRIFT unless a resync put it there.
            let bound = MAX_AUTO_DRIFT.max(token.drift.abs() + i64::from(windows.totp));
            (*at, step, offset.clamp(-bound, bound))
        }
        TokenSecret::Hotp { secret, digits } => {
            let (at, code) = tails.numeric_of(usize::from(*digits))?;
            let hotp = Hotp::new(secret, *digits)?;
            let next = token.last_used.map_or(0, |last| last.saturating_add(1));
            let window = u64::from(windows.hotp);
            if look_back {
                // Not ahead (pass 1 looked): is it a code already used?
                let back = next.min(window);
                hotp.matching_counter(code, next - back, back)?;
                return Some((*at, used(token)));
            }
            (*at, hotp.matching_counter(code, next, window)?, 0)
        }
        TokenSecret::Yubico {
            public_id,
            private_id,
            aes_key,
        } => {
            let tail = tails
                .yubico
                .as_ref()
                .filter(|t| &t.public_id == public_id)?;
            let decoded = yubico::open(&tail.block, aes_key, private_id)?;
            (tail.at, decoded.counter(), 0)
        }
    };
    if token.last_used.is_some_and(|last| value <= last) {
        return Some((at, used(token)));
    }
    Some((
        at,
        Factor::Token {
            id: token.id,
            kind: token.kind(),
            value,
            drift,
        },
    ))
}

fn used(token: &Token) -> Factor {
    Factor::UsedToken {
        id: token.id,
        kind: token.kind(),
    }
}

/// The factor a tail proves, and where the password ends: a live code of one of the user's
/// tokens first, then a sent code, then a used token code (a replay), then a recovery code.
/// `None` when no tail is a code of the user's. Tokens are tried most recently used first: the
/// one a person carries is usually the first tried.
pub(crate) fn classify(
    user: &UserRecord,
    tails: &Tails,
    sent: bool,
    recovery: RecoveryCodeState,
    windows: Windows,
    now: u64,
) -> Option<(usize, Factor)> {
    let mut tokens: Vec<&Token> = user.active_tokens().collect();
    // Stable: tokens never used keep their id order, after the used ones.
    tokens.sort_by_key(|t| std::cmp::Reverse(t.last_used_at));
    let mut replay = None;
    for token in &tokens {
        match token_factor(token, tails, windows, now, false) {
            Some(live @ (_, Factor::Token { .. })) => return Some(live),
            Some(found) => {
                replay.get_or_insert(found);
            }
            None => {}
        }
    }
    if sent && let Some((at, _)) = tails.numeric_of(tails.sent_digits) {
        return Some((*at, Factor::Sent));
    }
    if replay.is_none() {
        // Pass 1 already saw TOTP and Yubico replays; only HOTP looks back.
        replay = tokens
            .iter()
            .filter(|t| t.kind() == TokenKind::Hotp)
            .find_map(|token| token_factor(token, tails, windows, now, true));
    }
    if replay.is_some() {
        return replay;
    }
    let (at, _) = tails.recovery.as_ref()?;
    match recovery {
        RecoveryCodeState::Unused => Some((*at, Factor::Recovery)),
        RecoveryCodeState::Used => Some((*at, Factor::UsedRecovery)),
        RecoveryCodeState::NotFound => None,
    }
}

#[cfg(test)]
#[path = "tails_tests.rs"]
mod tests;
