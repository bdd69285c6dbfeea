//! Invitations: a single-use link (`{public_url}/enroll/<secret>`, 128 random bits, stored
//! only as a keyed MAC) that lets one user without an active token enroll their phone on the
//! web page. A new invitation replaces the previous one.

use super::{AdminError, find_user};
use crate::config::Config;
use crate::secret::{SecretBytes, random_bytes};
use crate::store::{Store, UserRecord};

/// Random bytes in a link's secret.
pub const SECRET_LEN: usize = 16;

/// A link, shown or sent once. `Debug` hides it.
pub struct Link {
    pub user: String,
    /// The whole URL: it holds the secret.
    pub url: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("user", &self.user)
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The link's secret as it appears in the URL: 32 lowercase hex digits.
pub fn encode_secret(secret: &[u8]) -> String {
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

/// A link's secret from its URL form; `None` if it cannot be one (the page then answers as
/// for an unknown link, without asking the store).
pub fn decode_secret(text: &str) -> Option<SecretBytes> {
    if text.len() != SECRET_LEN * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    crate::secret::from_hex(text)
}

/// Why a user cannot be invited, if they cannot.
pub fn check_invitable(user: &UserRecord) -> Result<(), AdminError> {
    match user.active_tokens().next() {
        None => Ok(()),
        Some(token) => Err(AdminError::Refused(format!(
            "{name} already has an active token ({token}); an invitation is for a user \
             without one. To let them enroll a new phone, remove their tokens first (radotp token \
             remove {name} ID, see radotp token list {name}) and invite again, or enroll one \
             here with: radotp user reset-otp {name}",
            name = user.name,
            token = token.name(),
        ))),
    }
}

/// Make a new invitation for `name`, replacing any earlier one.
pub fn invite(
    config: &Config,
    store: &dyn Store,
    name: &str,
    now: i64,
) -> Result<Link, AdminError> {
    let web = config.web.as_ref().ok_or_else(|| {
        AdminError::Refused(
            "invitations need the enrollment page: add a [web] section with public_url (see the \
             README, \"Enrollment by invitation\")"
                .into(),
        )
    })?;
    let user = find_user(store, name)?;
    check_invitable(&user)?;
    let secret = SecretBytes::new(random_bytes::<SECRET_LEN>().to_vec());
    let expires_at = now.saturating_add(web.invitation_ttl);
    store.create_invitation(name, &secret, expires_at, now)?;
    Ok(Link {
        user: user.name,
        url: web.public_url.enroll_link(&encode_secret(secret.expose())),
        expires_at,
    })
}

/// Send `link` to the user's delivery address through `[delivery]`; where it went
/// (`email alice@example.org`).
pub fn send(
    config: &Config,
    store: &dyn Store,
    link: &Link,
    now: i64,
) -> Result<String, AdminError> {
    let settings = config.delivery.as_ref().ok_or_else(|| {
        AdminError::Refused(
            "--send needs [delivery] in the configuration (a command or webhook that sends \
             e-mail or SMS); without --send the link is printed for you to pass on"
                .into(),
        )
    })?;
    let user = find_user(store, &link.user)?;
    let delivery = user.delivery.ok_or_else(|| {
        AdminError::Refused(format!(
            "{name} has no delivery address: set one with radotp user set {name} --email \
             ADDRESS (or --sms NUMBER), or leave out --send and pass the link on yourself",
            name = link.user
        ))
    })?;
    let body = serde_json::json!({
        "kind": "invitation",
        "user": link.user,
        "channel": delivery.channel.as_str(),
        "destination": delivery.destination,
        "link": link.url,
        "expires_in": link.expires_at - now,
        "message": format!(
            "Set up two-step login for {}: open {} (valid until {} UTC, once).",
            link.user,
            link.url,
            crate::timefmt::civil(link.expires_at)
        ),
    });
    crate::delivery::send_now(settings, &body).map_err(|reason| {
        // What a sender says can echo its input: never pass the link on in a message.
        let secret = link.url.rsplit('/').next().unwrap_or_default();
        let reason = reason
            .replace(&link.url, "[link]")
            .replace(secret, "[secret]");
        AdminError::Unavailable(format!(
            "the invitation could not be sent ({reason}); fix [delivery] and invite again, or \
             invite without --send and pass the new link on yourself"
        ))
    })?;
    Ok(format!(
        "{} {}",
        delivery.channel.as_str(),
        delivery.destination
    ))
}
