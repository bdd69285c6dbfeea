//! User operations: add (with a TOTP app, or without a token for an invitation), temporary
//! passwords, recovery codes, disable / enable / unlock / remove; and the rules on names and
//! passwords both shells apply.

use super::{AdminError, find_user};
use crate::auth::{codes, password};
use crate::config::Config;
use crate::directory::{Directory, Entries};
use crate::protocol::password::MAX_LEN as MAX_USER_PASSWORD_LEN;
use crate::secret::SecretBytes;
use crate::store::{
    Channel, Delivery, NewToken, NewUser, PasswordSource, Store, StoreError, UserRecord,
};

/// The longest a temporary password may live.
pub const MAX_TEMPORARY_SECS: i64 = 30 * 86_400;

/// Passwords above this length get a warning: some NAS clients cut User-Password at 64 bytes.
pub const SHORT_CLIENT_LIMIT: usize = 64;

/// A name NASes can send and authenticator apps can show.
pub fn validate_name(name: &str) -> Result<(), AdminError> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > 253 {
        "is longer than 253 octets, the most a User-Name can carry"
    } else if name.trim() != name {
        "starts or ends with white space"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else if name.contains(':') {
        "contains ':', which authenticator apps cannot show"
    } else {
        return Ok(());
    };
    Err(AdminError::invalid(
        "name",
        format!("the user name {name:?} {problem}"),
    ))
}

/// The longest password that still fits in User-Password with a `digits`-long code appended.
pub fn check_password(password: &[u8], digits: u8) -> Result<(), AdminError> {
    let max = MAX_USER_PASSWORD_LEN - usize::from(digits);
    let problem = if password.is_empty() {
        "the password is empty".to_owned()
    } else if password.contains(&0) {
        "the password contains a NUL character, which RADIUS cannot carry".to_owned()
    } else if password.len() > max {
        format!(
            "the password is {} bytes; with the {digits}-digit code appended it must fit in {} \
             bytes of User-Password, so it may be at most {max} bytes",
            password.len(),
            MAX_USER_PASSWORD_LEN
        )
    } else {
        return Ok(());
    };
    Err(AdminError::invalid("password", problem))
}

/// An SMS delivery address: digits with an optional leading `+` (spaces, dashes and
/// parentheses are dropped).
pub fn sms_delivery(number: &str) -> Result<Delivery, AdminError> {
    let cleaned: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if !(6..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AdminError::invalid(
            "sms",
            format!(
                "{number:?} is not a phone number; use digits with an optional leading +, e.g. +41791234567"
            ),
        ));
    }
    Ok(Delivery {
        channel: Channel::Sms,
        destination: cleaned,
    })
}

/// An e-mail delivery address.
pub fn email_delivery(address: &str) -> Result<Delivery, AdminError> {
    let valid = address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !valid {
        return Err(AdminError::invalid(
            "email",
            format!("{address:?} is not an e-mail address, e.g. alice@example.org"),
        ));
    }
    Ok(Delivery {
        channel: Channel::Email,
        destination: address.to_owned(),
    })
}

/// A user to create.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub source: PasswordSource,
    /// The password of a local user (required then; refused for the others).
    pub password: Option<&'a SecretBytes>,
    /// Their first token; `None` makes a user without one, who enrolls by invitation.
    pub token: Option<NewToken>,
    pub delivery: Option<Delivery>,
    pub groups: &'a [String],
    pub reply: &'a [String],
}

/// What is wrong with creating `name` with this password source, groups and reply
/// attributes, before any password is asked or hashed (the CLI asks for the password after
/// this): the name, that it is free, the groups, and that a directory has the name.
pub fn check_new(
    config: &Config,
    store: &dyn Store,
    name: &str,
    source: PasswordSource,
    groups: &[String],
    reply: &[String],
) -> Result<(), AdminError> {
    validate_name(name)?;
    if store.find_user(name)?.is_some() {
        return Err(exists(name));
    }
    // The groups first, then with the user's own attributes (their sizes add up), so the
    // error names the list that is wrong.
    let authorization = &config.authorization;
    authorization
        .check_user(groups, &[])
        .map_err(|e| AdminError::invalid("groups", format!("{name}: {e}")))?;
    authorization
        .check_user(groups, reply)
        .map_err(|e| AdminError::invalid("reply", format!("{name}: {e}")))?;
    match source {
        PasswordSource::Local => Ok(()),
        PasswordSource::Directory => in_directory(config, name),
        PasswordSource::Upstream => has_upstream(config),
    }
}

fn exists(name: &str) -> AdminError {
    AdminError::Store(StoreError::UserExists(name.to_owned()))
}

/// Create a user. The checks of `check_new`, then the password (local users: hashed here;
/// directory users: the name must exist there), then one insert.
pub fn add(
    config: &Config,
    store: &dyn Store,
    account: NewAccount<'_>,
    now: i64,
) -> Result<(), AdminError> {
    let name = account.name;
    check_new(
        config,
        store,
        name,
        account.source,
        account.groups,
        account.reply,
    )?;
    let hash = match (account.source, account.password) {
        (PasswordSource::Local, Some(password)) => {
            let digits = account
                .token
                .as_ref()
                .and_then(|t| t.secret.digits())
                .unwrap_or(config.otp.defaults.digits);
            check_password(password.expose(), digits)?;
            password::hash(config.password, password.expose())
                .map_err(|e| AdminError::Unavailable(format!("cannot hash the password: {e}")))?
        }
        (PasswordSource::Local, None) => {
            return Err(AdminError::invalid(
                "password",
                format!(
                    "a local user needs a password (or password_source \"directory\" / \"upstream\"): {name}"
                ),
            ));
        }
        (source, Some(_)) => {
            return Err(AdminError::invalid(
                "password",
                format!(
                    "radotp keeps no password for a {} user; leave it out",
                    source.as_str()
                ),
            ));
        }
        (PasswordSource::Directory | PasswordSource::Upstream, None) => String::new(),
    };
    let user = NewUser {
        name,
        password_hash: &hash,
        password_source: account.source,
        token: account.token.as_ref(),
        now,
    };
    store.add_users(&[user])?;
    if let Some(delivery) = &account.delivery {
        store.set_delivery(name, Some(delivery))?;
    }
    if !account.groups.is_empty() {
        store.set_groups(name, account.groups)?;
    }
    if !account.reply.is_empty() {
        store.set_reply(name, account.reply)?;
    }
    Ok(())
}

/// The directory, as the configuration describes it; an error if there is none.
pub fn directory(config: &Config) -> Result<Directory, AdminError> {
    let settings = config.directory.clone().ok_or_else(|| {
        AdminError::invalid(
            "password_source",
            "there is no [directory] section in the configuration: add one (see the README, \
             \"Passwords from LDAP / Active Directory\"), or use the local password source",
        )
    })?;
    Directory::new(settings).map_err(|e| AdminError::Unavailable(format!("directory: {e}")))
}

/// Succeeds if the configuration has `[upstream]`: an upstream user's password is checked
/// there (radotp cannot ask whether a name exists without a password).
pub fn has_upstream(config: &Config) -> Result<(), AdminError> {
    match config.upstream {
        Some(_) => Ok(()),
        None => Err(AdminError::invalid(
            "password_source",
            "there is no [upstream] section in the configuration: add one (see the README, \
             \"Passwords from another RADIUS server\"), or use the local password source",
        )),
    }
}

/// Succeeds if the directory has exactly one entry for `name`, found with the service account.
pub fn in_directory(config: &Config, name: &str) -> Result<(), AdminError> {
    let directory = directory(config)?;
    match directory.entries(name) {
        Ok(Entries::One) => Ok(()),
        Ok(Entries::None) => Err(AdminError::invalid(
            "name",
            format!(
                "the directory has no entry for {name:?} (searched {} for {}); nothing was changed",
                directory.settings().base_dn,
                directory.settings().filter_for(name)
            ),
        )),
        Ok(Entries::Several) => Err(AdminError::invalid(
            "name",
            format!(
                "the directory has several entries for {name:?}: make [directory] user_filter \
                 match one; nothing was changed"
            ),
        )),
        Err(e) => Err(AdminError::Unavailable(format!(
            "cannot ask the directory whether {name:?} exists: {e}; nothing was changed"
        ))),
    }
}

/// Refuses to set a password radotp does not check.
pub fn keeps_password(user: &UserRecord, command: &str) -> Result<(), AdminError> {
    let elsewhere = match user.password_source {
        PasswordSource::Local => return Ok(()),
        PasswordSource::Directory => "the directory",
        PasswordSource::Upstream => "the upstream RADIUS server",
    };
    Err(AdminError::Refused(format!(
        "{}'s password is checked by {elsewhere}: change it there ({command} sets passwords \
         radotp keeps); nothing was changed",
        user.name
    )))
}

/// A temporary password, shown once.
#[derive(Debug)]
pub struct TemporaryPassword {
    pub password: SecretBytes,
    pub expires_at: i64,
}

/// Replace a local user's password with a strong generated one that works for `ttl` seconds.
pub fn temporary_password(
    config: &Config,
    store: &dyn Store,
    name: &str,
    ttl: i64,
    now: i64,
) -> Result<TemporaryPassword, AdminError> {
    if !(1..=MAX_TEMPORARY_SECS).contains(&ttl) {
        return Err(AdminError::invalid(
            "ttl",
            format!("must be between 1 second and 30 days (e.g. 8h); got {ttl} s"),
        ));
    }
    keeps_password(&find_user(store, name)?, "temp-password")?;
    let password = codes::generate_temporary_password();
    let expires_at = now.saturating_add(ttl);
    let hash = password::hash(config.password, password.expose())
        .map_err(|e| AdminError::Unavailable(format!("cannot hash the password: {e}")))?;
    store.set_password(name, &hash, Some(expires_at))?;
    Ok(TemporaryPassword {
        password,
        expires_at,
    })
}

/// Ten new single-use recovery codes, replacing any earlier set; shown once.
pub fn recovery_codes(store: &dyn Store, name: &str) -> Result<Vec<String>, AdminError> {
    let codes = codes::generate_recovery_codes();
    let stored: Vec<SecretBytes> = codes
        .iter()
        .filter_map(|c| codes::normalize_recovery_code(c.as_bytes()))
        .collect();
    store.replace_recovery_codes(name, &stored)?;
    Ok(codes)
}

pub fn set_disabled(store: &dyn Store, name: &str, disabled: bool) -> Result<(), AdminError> {
    Ok(store.set_disabled(name, disabled)?)
}

pub fn unlock(store: &dyn Store, name: &str) -> Result<(), AdminError> {
    Ok(store.unlock(name)?)
}

pub fn remove(store: &dyn Store, name: &str) -> Result<(), AdminError> {
    Ok(store.remove_user(name)?)
}

/// `8h`, `30m`, `2d`, `90s`, `1h30m` → seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
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
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("2s"), Ok(2));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        for bad in ["", "24", "h", "1x", "0s", "-1h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_passwords_name_their_field() {
        for bad in ["", " a", "a:b", "a\nb"] {
            assert_eq!(
                validate_name(bad).unwrap_err().field(),
                Some("name"),
                "{bad:?}"
            );
        }
        assert!(validate_name("alice@example.org").is_ok());
        assert!(check_password(b"abc", 6).is_ok());
        for bad in [&b""[..], b"a\0b", &[b'x'; 123]] {
            assert_eq!(
                check_password(bad, 6).unwrap_err().field(),
                Some("password")
            );
        }
        assert!(check_password(&[b'x'; 122], 6).is_ok());
    }
}
