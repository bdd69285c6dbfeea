//! How users are shown on a terminal: UTC times, states, tokens. (Their JSON is
//! `radotp_server::admin::view`, shared with the admin API.) Secrets are never part of it.

use radotp_server::store::{LockoutPolicy, PasswordSource, Token, TokenSecret, UserRecord};
use radotp_server::timefmt::civil;

pub(crate) use radotp_server::admin::users::parse_duration;
pub(crate) use radotp_server::admin::view::locked;

/// `2026-11-25 17:30:00 UTC`, or `-` for none.
pub(crate) fn time(unix: Option<i64>) -> String {
    unix.map_or_else(|| "-".to_owned(), |t| format!("{} UTC", civil(t)))
}

/// `user show`'s "Wrong passwords": the count at the user's gate (stations the user has not
/// logged in from) as the next guess sees it, and until when that guess waits.
pub(super) fn wrong_passwords(user: &UserRecord, policy: LockoutPolicy, now: i64) -> String {
    match policy.standing(user.guesses, user.guessed_at, now) {
        (0, _) => "0".to_owned(),
        (n, None) => format!("{n} (from stations not trusted; the next one is judged at once)"),
        (n, Some(until)) => format!(
            "{n} (from stations not trusted; the next one waits until {})",
            time(Some(until))
        ),
    }
}

pub(super) fn state(user: &UserRecord) -> &'static str {
    if user.disabled { "disabled" } else { "enabled" }
}

/// Where the password is checked, as `user show` says it.
pub(super) fn source(user: &UserRecord) -> &'static str {
    match user.password_source {
        PasswordSource::Local => "local (argon2id hash in radotp)",
        PasswordSource::Directory => "directory (bind to [directory])",
        PasswordSource::Upstream => "upstream (Access-Request to [upstream])",
    }
}

/// The kinds of the user's tokens, for `user list`: `totp,yubico`, or `none`.
pub(super) fn token_kinds(user: &UserRecord) -> String {
    let kinds: Vec<String> = user
        .tokens
        .iter()
        .map(|t| match t.disabled {
            true => format!("{}(disabled)", t.kind()),
            false => t.kind().to_string(),
        })
        .collect();
    match kinds.is_empty() {
        true => "none".to_owned(),
        false => kinds.join(","),
    }
}

/// What a token is, in a few words (never a secret): `6 digits/30 s/SHA1`, `8 digits, next
/// counter 12`, `public id ccccccbchvth`.
pub(crate) fn token_details(token: &Token) -> String {
    match &token.secret {
        TokenSecret::Totp(seed) => {
            let p = seed.params;
            let mut text = format!("{} digits/{} s/{}", p.digits, p.period, p.algorithm);
            if token.drift != 0 {
                text.push_str(&format!(", clock drift {:+} steps", token.drift));
            }
            text
        }
        TokenSecret::Hotp { digits, .. } => format!(
            "{digits} digits, next counter {}",
            token.last_used.map_or(0, |c| c + 1)
        ),
        TokenSecret::Yubico { public_id, .. } => format!("public id {public_id}"),
    }
}

/// `user show`'s tokens: one line each.
pub(super) fn tokens(user: &UserRecord) -> String {
    if user.tokens.is_empty() {
        return "none (enroll one: radotp token add NAME --type totp, or let them enroll their phone: radotp user invite NAME)".to_owned();
    }
    user.tokens
        .iter()
        .map(|t| {
            format!(
                "{} \"{}\"{}: {}{}",
                t.name(),
                t.label,
                t.serial
                    .as_ref()
                    .map_or_else(String::new, |s| format!(" serial {s}")),
                token_details(t),
                if t.disabled { " (disabled)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n                     ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_times() {
        assert_eq!(time(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(None), "-");
    }
}
