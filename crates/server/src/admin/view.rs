//! Users, tokens, invitations and sessions as JSON: the shape `radotp … --json` prints and the
//! admin API returns — everything an administrator may see, never a secret (hash, seed, code,
//! link).

use serde_json::{Value, json};

use crate::store::{Invitation, LockoutPolicy, Session, Token, TokenSecret, TotpSeed, UserRecord};
use crate::timefmt;

/// RFC 3339 (`2026-11-25T17:30:00Z`), or null.
pub fn rfc3339(unix: Option<i64>) -> Value {
    unix.map_or(Value::Null, |t| Value::String(timefmt::rfc3339(t)))
}

/// Is the lock still in force at `now`?
pub fn locked(user: &UserRecord, now: i64) -> Option<i64> {
    user.locked_until.filter(|&until| until > now)
}

/// One token: what it is and its state.
pub fn token(token: &Token) -> Value {
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

/// The state of an invitation at `now`: `pending`, `expired` or `closed` (too many wrong
/// tries).
pub fn invitation_state(invitation: &Invitation, now: i64) -> &'static str {
    if invitation.failures >= crate::store::INVITATION_MAX_FAILURES {
        "closed"
    } else if now >= invitation.expires_at {
        "expired"
    } else {
        "pending"
    }
}

/// An invitation, without its link.
pub fn invitation(invitation: &Invitation, now: i64) -> Value {
    json!({
        "state": invitation_state(invitation, now),
        "created": rfc3339(Some(invitation.created_at)),
        "expires_at": rfc3339(Some(invitation.expires_at)),
        "wrong_tries": invitation.failures,
    })
}

/// The user's first TOTP token (what `totp` in the JSON describes, as before several tokens).
fn first_totp(user: &UserRecord) -> Option<(&Token, &TotpSeed)> {
    user.tokens.iter().find_map(|t| match &t.secret {
        TokenSecret::Totp(seed) => Some((t, seed)),
        _ => None,
    })
}

/// One user: everything an administrator may see, nothing secret. `invitation` is theirs, if
/// any (`user show` and the API's user read ask for it; lists leave it out).
pub fn user(
    user: &UserRecord,
    policy: LockoutPolicy,
    invitation: Option<&Invitation>,
    now: i64,
) -> Value {
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
        "tokens": user.tokens.iter().map(token).collect::<Vec<_>>(),
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
        "invitation": invitation.map(|i| self::invitation(i, now)),
    })
}

/// One open accounting session.
pub fn session(session: &Session) -> Value {
    json!({
        "user": session.user,
        "nas": session.nas,
        "session_id": session.session_id,
        "address": session.address,
        "since": rfc3339(Some(session.since)),
        "updated": rfc3339(Some(session.updated)),
    })
}

/// A temporary password, shown once: `{"name", "password", "expires_at"}`.
pub fn temporary_password(name: &str, made: &super::users::TemporaryPassword) -> Value {
    json!({
        "name": name,
        "password": String::from_utf8_lossy(made.password.expose()),
        "expires_at": rfc3339(Some(made.expires_at)),
    })
}

/// New recovery codes, shown once: `{"name", "codes"}`.
pub fn recovery_codes(name: &str, codes: &[String]) -> Value {
    json!({ "name": name, "codes": codes })
}

/// An invitation made: `{"name", "expires_at", "sent_to"}`, and its `url` unless it was sent
/// (a sent link is not shown again).
pub fn invitation_link(link: &super::invitations::Link, sent_to: Option<&str>) -> Value {
    let mut value = json!({
        "name": link.user,
        "sent_to": sent_to,
        "expires_at": rfc3339(Some(link.expires_at)),
    });
    if sent_to.is_none() {
        value["url"] = json!(link.url);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_null() {
        assert_eq!(
            rfc3339(Some(0)),
            Value::String("1970-01-01T00:00:00Z".into())
        );
        assert_eq!(rfc3339(None), Value::Null);
    }

    #[test]
    fn a_sent_invitation_does_not_show_its_link() {
        let link = crate::admin::invitations::Link {
            user: "bob".into(),
            url: "https://otp.example.org/enroll/00".into(),
            expires_at: 0,
        };
        assert_eq!(invitation_link(&link, None)["url"], link.url.as_str());
        let sent = invitation_link(&link, Some("email bob@example.org"));
        assert!(sent.get("url").is_none() && sent["sent_to"] == "email bob@example.org");
    }
}
