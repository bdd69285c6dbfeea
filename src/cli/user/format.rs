//! How users are shown: UTC times, durations, and the JSON shape shared by `list` and `show`.
//! Secrets (hash, seed, codes) are never part of it.

use serde_json::{Value, json};

use radotp_server::store::{LockoutPolicy, PasswordSource, Token, TokenSecret, UserRecord};
use radotp_server::timefmt::civil;

/// `2026-11-25 17:30:00 UTC`, or `-` for none.
pub(crate) fn time(unix: Option<i64>) -> String {
    unix.map_or_else(|| "-".to_owned(), |t| format!("{} UTC", civil(t)))
}

/// RFC 3339 for JSON (`2026-11-25T17:30:00Z`), or null.
pub(crate) fn rfc3339(unix: Option<i64>) -> Value {
    unix.map_or(Value::Null, |t| {
        Value::String(radotp_server::timefmt::rfc3339(t))
    })
}

/// Is the lock still in force at `now`?
pub(super) fn locked(user: &UserRecord, now: i64) -> Option<i64> {
    user.locked_until.filter(|&until| until > now)
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
        return "none (enroll one: radotp token add NAME --type totp)".to_owned();
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

/// One token as JSON: what an administrator may see, never a secret.
pub(crate) fn token_json(token: &Token) -> Value {
    let mut value = json!({
        "id": token.id,
        "type": token.kind().as_str(),
        "label": token.label,
        "serial": token.serial,
        "enabled": !token.disabled,
        "created": rfc3339(Some(token.created_at)),
        "last_used": rfc3339(token.last_used_at),
    });
    let extra = match &token.secret {
        TokenSecret::Totp(seed) => json!({
            "digits": seed.params.digits,
            "period": seed.params.period,
            "algorithm": seed.params.algorithm.as_str(),
            "drift_steps": token.drift,
        }),
        TokenSecret::Hotp { digits, .. } => json!({
            "digits": digits,
            "next_counter": token.last_used.map_or(0, |c| c + 1),
        }),
        TokenSecret::Yubico { public_id, .. } => json!({ "public_id": public_id }),
    };
    if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
        map.extend(more);
    }
    value
}

/// The user's first TOTP token (what `totp` in the JSON describes, as before several tokens).
fn first_totp(user: &UserRecord) -> Option<(&Token, &radotp_server::store::TotpSeed)> {
    user.tokens.iter().find_map(|t| match &t.secret {
        TokenSecret::Totp(seed) => Some((t, seed)),
        _ => None,
    })
}

/// One user as JSON: everything an administrator may see, nothing secret.
pub(super) fn user_json(user: &UserRecord, policy: LockoutPolicy, now: i64) -> Value {
    let (wrong_passwords, throttled_until) = policy.standing(user.guesses, user.guessed_at, now);
    let totp = first_totp(user);
    json!({
        "name": user.name,
        "enabled": !user.disabled,
        "password_source": user.password_source.as_str(),
        "locked_until": rfc3339(locked(user, now)),
        "failures": user.failures,
        "wrong_passwords": wrong_passwords,
        "throttled_until": rfc3339(throttled_until),
        "last_login": rfc3339(user.last_login_at),
        "created": rfc3339(Some(user.created_at)),
        "password_expires_at": rfc3339(user.password_expires_at),
        "tokens": user.tokens.iter().map(token_json).collect::<Vec<_>>(),
        "totp": totp.map(|(_, s)| json!({
            "digits": s.params.digits,
            "period": s.params.period,
            "algorithm": s.params.algorithm.as_str(),
        })),
        "last_used_step_at": rfc3339(totp.and_then(|(t, s)| {
            i64::try_from(t.last_used? * s.params.period).ok()
        })),
        "recovery_codes_left": user.recovery_codes_left,
        "delivery": user.delivery.as_ref().map(|d| json!({
            "channel": d.channel.as_str(),
            "destination": d.destination,
        })),
        "drift_steps": totp.map_or(0, |(t, _)| t.drift),
        "groups": user.groups,
        "reply": user.reply,
    })
}

/// `8h`, `30m`, `2d`, `90s`, `1h30m` → seconds.
pub(super) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("\"{text}\" is not a duration; use e.g. 30m, 8h, 2d or 1h30m");
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_times() {
        assert_eq!(
            rfc3339(Some(0)),
            Value::String("1970-01-01T00:00:00Z".into())
        );
        assert_eq!(time(None), "-");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("2s"), Ok(2));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        for bad in ["", "24", "h", "1x", "0s", "-1h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
