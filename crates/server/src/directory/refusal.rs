//! Why a directory refused a bind, as far as it says. Active Directory puts a sub-code in the
//! diagnostic text of `invalidCredentials` (`…AcceptSecurityContext error, data 52e, v4563`);
//! the log tells an administrator which it was. The wire never does: every reject looks alike.

use std::fmt;

/// The cause of a refused bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `invalidCredentials` with no sub-code we know, or AD's 52e.
    WrongPassword,
    /// AD 525: no such user (the search found one: a replication race).
    NoSuchUser,
    /// AD 530, 531: not permitted at this time or from this workstation.
    Restricted,
    /// AD 532.
    PasswordExpired,
    /// AD 533.
    AccountDisabled,
    /// AD 701.
    AccountExpired,
    /// AD 773.
    MustChangePassword,
    /// AD 775: the directory's own lockout (not radotp's).
    LockedOut,
    /// Another LDAP result code (e.g. 53 `unwillingToPerform`).
    Other(u32),
}

/// `invalidCredentials` (RFC 4511 appendix A).
const INVALID_CREDENTIALS: u32 = 49;

impl Refusal {
    /// The refusal a bind's result code and diagnostic text mean.
    pub fn of(rc: u32, text: &str) -> Refusal {
        if rc != INVALID_CREDENTIALS {
            return Refusal::Other(rc);
        }
        let code = text
            .split_once("data ")
            .map(|(_, rest)| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
            .unwrap_or_default()
            .map(str::to_ascii_lowercase);
        match code.as_deref() {
            Some("525") => Refusal::NoSuchUser,
            Some("530" | "531") => Refusal::Restricted,
            Some("532") => Refusal::PasswordExpired,
            Some("533") => Refusal::AccountDisabled,
            Some("701") => Refusal::AccountExpired,
            Some("773") => Refusal::MustChangePassword,
            Some("775") => Refusal::LockedOut,
            _ => Refusal::WrongPassword,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::WrongPassword => f.write_str("the directory refused the password"),
            Refusal::NoSuchUser => f.write_str("the directory does not know the user"),
            Refusal::Restricted => {
                f.write_str("the directory does not permit a logon at this time or from here")
            }
            Refusal::PasswordExpired => f.write_str("the directory password has expired"),
            Refusal::AccountDisabled => f.write_str("the directory account is disabled"),
            Refusal::AccountExpired => f.write_str("the directory account has expired"),
            Refusal::MustChangePassword => {
                f.write_str("the directory requires the user to change their password")
            }
            Refusal::LockedOut => {
                f.write_str("the directory has locked the account (its own lockout, not radotp's)")
            }
            Refusal::Other(rc) => write!(f, "the directory refused the bind with result code {rc}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    fn ad(data: &str) -> Refusal {
        let text = format!(
            "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563\0"
        );
        Refusal::of(49, &text)
    }

    #[test]
    fn active_directory_sub_codes_are_told_apart() {
        assert_eq!(ad("52e"), Refusal::WrongPassword);
        assert_eq!(ad("52E"), Refusal::WrongPassword);
        assert_eq!(ad("533"), Refusal::AccountDisabled);
        assert_eq!(ad("701"), Refusal::AccountExpired);
        assert_eq!(ad("532"), Refusal::PasswordExpired);
        assert_eq!(ad("773"), Refusal::MustChangePassword);
        assert_eq!(ad("775"), Refusal::LockedOut);
        assert_eq!(ad("530"), Refusal::Restricted);
        assert_eq!(ad("525"), Refusal::NoSuchUser);
    }

    #[test]
    fn other_directories_and_codes() {
        assert_eq!(Refusal::of(49, ""), Refusal::WrongPassword);
        assert_eq!(
            Refusal::of(49, "invalid credentials"),
            Refusal::WrongPassword
        );
        assert_eq!(Refusal::of(53, "unwilling to perform"), Refusal::Other(53));
    }
}
