//! How users are shown: UTC times, durations, and the JSON shape shared by `list` and `show`.
//! Secrets (hash, seed, codes) are never part of it.

use serde_json::{Value, json};

use radotp_server::store::{LockoutPolicy, PasswordSource, UserRecord};
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

pub(super) fn totp(user: &UserRecord) -> String {
    user.totp.as_ref().map_or_else(
        || "none".to_owned(),
        |s| {
            format!(
                "{}/{}s/{}",
                s.params.digits, s.params.period, s.params.algorithm
            )
        },
    )
}

/// One user as JSON: everything an administrator may see, nothing secret.
pub(super) fn user_json(user: &UserRecord, policy: LockoutPolicy, now: i64) -> Value {
    let (wrong_passwords, throttled_until) = policy.standing(user.guesses, user.guessed_at, now);
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
        "totp": user.totp.as_ref().map(|s| json!({
            "digits": s.params.digits,
            "period": s.params.period,
            "algorithm": s.params.algorithm.as_str(),
        })),
        "last_used_step_at": rfc3339(user.last_step.and_then(|step| {
            let period = user.totp.as_ref()?.params.period;
            i64::try_from(step * period).ok()
        })),
        "recovery_codes_left": user.recovery_codes_left,
        "delivery": user.delivery.as_ref().map(|d| json!({
            "channel": d.channel.as_str(),
            "destination": d.destination,
        })),
        "drift_steps": user.drift,
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
