//! Why a request got the answer it got: one variant per cause, never a free string.
//!
//! Each reason has a fixed `label` — the `reason` field of the log line and the `reason` label
//! of `radotp_decisions_total`, the same text in both — and, where there is more to say, a
//! `detail` for the log only. Reasons never reach the wire: every reject looks the same there.

use std::fmt;

use crate::store::{Gate, TokenKind};
use crate::timefmt::rfc3339;

/// How the second factor of an Accept was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptedBy {
    /// A code of token `id`, newer than the token's last used; `drift` is a TOTP token's
    /// offset in steps.
    Token {
        id: u32,
        kind: TokenKind,
        drift: i64,
    },
    /// A code radotp sent out of band.
    SentCode,
    /// One of the user's recovery codes.
    RecoveryCode,
}

/// An authentication method radotp cannot check (only PAP carries password + code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    Chap,
    MsChap,
    MsChapV2,
    Eap,
    /// No User-Password and no other method radotp recognises.
    NoPassword,
}

/// Why a challenge's State was not answerable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateProblem {
    /// Never issued, already used, expired, or issued to another NAS.
    UnknownOrUsed,
    /// Issued for another User-Name.
    OtherUser,
}

/// The cause of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Accepted; `temporary_until` is set when the password was a temporary one.
    Accepted {
        by: AcceptedBy,
        temporary_until: Option<i64>,
    },
    /// The directory password alone, for a user radotp has no token for, on a NAS with
    /// `unenrolled = "password-only"`.
    AcceptedNotEnrolled,
    /// Right password and no code, on a NAS in challenge mode: Access-Challenge.
    CodeRequested,
    /// The upstream RADIUS server asked a question of its own: relayed as an Access-Challenge.
    UpstreamChallenge,
    UnknownUser,
    Disabled,
    /// The user has no token that may log in (none enrolled, or all disabled).
    NoToken,
    /// A valid code, a wrong password.
    WrongPassword,
    /// A valid code, and the upstream RADIUS server refused the password (or the answer to its
    /// question).
    UpstreamRejected,
    /// No valid code at the end, and the whole input is not the password either.
    WrongPasswordOrCode,
    /// Right password, but the TOTP step was already used.
    CodeAlreadyUsed,
    /// Right password, but the recovery code was already used.
    RecoveryCodeAlreadyUsed,
    /// Right password and no code, on a NAS in append mode.
    PasswordWithoutCode,
    /// The answer to a challenge is no valid code.
    WrongCode,
    /// Right password, but it was a temporary one and it expired at this time.
    PasswordExpired {
        at: i64,
    },
    /// The stored hash cannot be verified (corrupt, or over the cost bounds).
    UnusableHash,
    /// Fully authenticated, but the NAS only admits other groups.
    NotInAllowedGroups,
    /// The account is locked until this time; nothing was judged.
    Locked {
        until: i64,
    },
    /// Too many wrong passwords at this gate lately: not judged before this time.
    Throttled {
        gate: Gate,
        until: i64,
    },
    /// The request answers a challenge radotp cannot match.
    UnknownState(StateProblem),
    /// The user's reply attributes cannot be encoded: no Accept without the policy.
    InvalidReplyAttributes(String),
    /// The request cannot be checked at all.
    Unsupported(Unsupported),
    /// An EAP (Wi-Fi) login resumed the TLS session of a full password + code login of the
    /// same user at `created`, within `[eap] resumption_hours`: accepted without a new code.
    ResumedSession {
        created: i64,
    },
    /// A resumed TLS session that may not skip the code (too old, the user disabled, locked,
    /// removed or reset since): refused, the next login is a full one.
    ResumptionRefused(String),
    /// The EAP conversation failed before any password was judged: why.
    EapFailed(String),
}

impl Reason {
    /// The fixed text of the log's `reason` and of the metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Accepted { by, .. } => match by {
                AcceptedBy::Token { kind, .. } => match kind {
                    TokenKind::Totp => "TOTP code",
                    TokenKind::Hotp => "HOTP code",
                    TokenKind::Yubico => "Yubico OTP",
                },
                AcceptedBy::SentCode => "sent code",
                AcceptedBy::RecoveryCode => "recovery code",
            },
            Reason::AcceptedNotEnrolled => "accepted without a second factor (not enrolled)",
            Reason::CodeRequested => "code requested",
            Reason::UpstreamChallenge => "upstream challenge",
            Reason::UnknownUser => "unknown user",
            Reason::Disabled => "disabled",
            Reason::NoToken => "no active token",
            Reason::WrongPassword => "wrong password",
            Reason::UpstreamRejected => "wrong password (upstream)",
            Reason::WrongPasswordOrCode => "wrong password or code",
            Reason::CodeAlreadyUsed => "code already used",
            Reason::RecoveryCodeAlreadyUsed => "recovery code already used",
            Reason::PasswordWithoutCode => "password without code",
            Reason::WrongCode => "wrong code",
            Reason::PasswordExpired { .. } => "password expired",
            Reason::UnusableHash => "unusable password hash",
            Reason::NotInAllowedGroups => "not in allowed groups",
            Reason::Locked { .. } => "locked",
            Reason::Throttled { .. } => "throttled",
            Reason::UnknownState(_) => "unknown State",
            Reason::InvalidReplyAttributes(_) => "invalid reply attributes",
            Reason::Unsupported(method) => match method {
                Unsupported::Chap => "CHAP not supported",
                Unsupported::MsChap => "MS-CHAP not supported",
                Unsupported::MsChapV2 => "MS-CHAPv2 not supported",
                Unsupported::Eap => "EAP not supported",
                Unsupported::NoPassword => "no User-Password",
            },
            Reason::ResumedSession { .. } => "resumed session",
            Reason::ResumptionRefused(_) => "resumed session refused",
            Reason::EapFailed(_) => "EAP failed",
        }
    }

    /// What else the log line says about this reason, if anything.
    pub fn detail(&self) -> Option<String> {
        match self {
            Reason::Accepted {
                by,
                temporary_until,
            } => {
                let mut parts = Vec::new();
                if let AcceptedBy::Token { id, kind, drift } = by {
                    parts.push(format!("token {id} ({})", kind.device()));
                    if *drift != 0 {
                        parts.push(format!("clock drift {drift:+} steps"));
                    }
                }
                if let Some(until) = temporary_until {
                    parts.push(format!(
                        "temporary password, valid until {}",
                        rfc3339(*until)
                    ));
                }
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            Reason::PasswordExpired { at } => Some(format!(
                "the temporary password expired at {}; it had replaced the previous password, \
                 so the user needs a new one: radotp user passwd or user temp-password",
                rfc3339(*at)
            )),
            Reason::Locked { until } => Some(format!("until {}", rfc3339(*until))),
            Reason::Throttled { gate, until } => Some(format!(
                "too many wrong passwords {}; the next is judged at {}",
                match gate {
                    Gate::Station => "from this station",
                    Gate::User => "from stations the user has not logged in from",
                },
                rfc3339(*until)
            )),
            Reason::CodeAlreadyUsed | Reason::RecoveryCodeAlreadyUsed | Reason::WrongCode => {
                Some("the password was right: whoever sent it knows it".into())
            }
            Reason::UnknownState(StateProblem::UnknownOrUsed) => {
                Some("never issued, already used, expired, or issued to another NAS".into())
            }
            Reason::UnknownState(StateProblem::OtherUser) => {
                Some("the State belongs to another user".into())
            }
            Reason::InvalidReplyAttributes(why) => Some(why.clone()),
            Reason::ResumedSession { created } => Some(format!(
                "TLS session of the password + code login at {}",
                rfc3339(*created)
            )),
            Reason::ResumptionRefused(why) | Reason::EapFailed(why) => Some(why.clone()),
            Reason::Unsupported(Unsupported::NoPassword) => Some(
                "the request carries no password radotp can check; configure the NAS for PAP"
                    .into(),
            ),
            Reason::Unsupported(Unsupported::Eap) => Some(
                "EAP is served only with an [eap] section, to clients without eap = false".into(),
            ),
            Reason::Unsupported(_) => Some(
                "only PAP carries the password and code to the server; configure the NAS for PAP"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Does this refusal count towards the account's lock? A wrong or replayed code after a
    /// right password does: whoever sent it holds the password. A wrong password does not — it
    /// was counted at its throttle gate before it was judged — and neither does a right
    /// password without a code, a disabled account, an expired password, or a request that was
    /// not judged (locked, throttled, unsupported).
    pub fn locks_account(&self) -> bool {
        matches!(
            self,
            Reason::CodeAlreadyUsed | Reason::RecoveryCodeAlreadyUsed | Reason::WrongCode
        )
    }

    /// Should an administrator see this at `--log-level warn`?
    pub fn is_security_event(&self) -> bool {
        self.locks_account() || matches!(self, Reason::Locked { .. })
    }

    /// Every label, for documentation and for tests that keep the README in step.
    pub const LABELS: &'static [&'static str] = &[
        "TOTP code",
        "HOTP code",
        "Yubico OTP",
        "sent code",
        "recovery code",
        "accepted without a second factor (not enrolled)",
        "code requested",
        "upstream challenge",
        "unknown user",
        "disabled",
        "no active token",
        "wrong password",
        "wrong password (upstream)",
        "wrong password or code",
        "code already used",
        "recovery code already used",
        "password without code",
        "wrong code",
        "password expired",
        "unusable password hash",
        "not in allowed groups",
        "locked",
        "throttled",
        "unknown State",
        "invalid reply attributes",
        "CHAP not supported",
        "MS-CHAP not supported",
        "MS-CHAPv2 not supported",
        "EAP not supported",
        "no User-Password",
        "resumed session",
        "resumed session refused",
        "EAP failed",
    ];
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())?;
        if let Some(detail) = self.detail() {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_reason() -> Vec<Reason> {
        use Reason::*;
        let mut all = vec![
            Accepted {
                by: AcceptedBy::Token {
                    id: 1,
                    kind: TokenKind::Totp,
                    drift: 0,
                },
                temporary_until: None,
            },
            Accepted {
                by: AcceptedBy::Token {
                    id: 2,
                    kind: TokenKind::Hotp,
                    drift: 0,
                },
                temporary_until: None,
            },
            Accepted {
                by: AcceptedBy::Token {
                    id: 3,
                    kind: TokenKind::Yubico,
                    drift: 0,
                },
                temporary_until: None,
            },
            Accepted {
                by: AcceptedBy::SentCode,
                temporary_until: None,
            },
            Accepted {
                by: AcceptedBy::RecoveryCode,
                temporary_until: None,
            },
            AcceptedNotEnrolled,
            CodeRequested,
            UpstreamChallenge,
            UnknownUser,
            Disabled,
            NoToken,
            WrongPassword,
            UpstreamRejected,
            WrongPasswordOrCode,
            CodeAlreadyUsed,
            RecoveryCodeAlreadyUsed,
            PasswordWithoutCode,
            WrongCode,
            PasswordExpired { at: 0 },
            UnusableHash,
            NotInAllowedGroups,
            Locked { until: 0 },
            Throttled {
                gate: Gate::User,
                until: 0,
            },
            UnknownState(StateProblem::UnknownOrUsed),
            InvalidReplyAttributes("x".into()),
        ];
        for method in [
            super::Unsupported::Chap,
            super::Unsupported::MsChap,
            super::Unsupported::MsChapV2,
            super::Unsupported::Eap,
            super::Unsupported::NoPassword,
        ] {
            all.push(Unsupported(method));
        }
        all.push(ResumedSession { created: 0 });
        all.push(ResumptionRefused("too old".into()));
        all.push(EapFailed("TLS: alert".into()));
        all
    }

    #[test]
    fn labels_are_the_documented_set() {
        let labels: Vec<&str> = every_reason().iter().map(Reason::label).collect();
        assert_eq!(labels, Reason::LABELS);
    }

    #[test]
    fn only_wrong_codes_after_a_right_password_lock_the_account() {
        let counted: Vec<&str> = every_reason()
            .iter()
            .filter(|r| r.locks_account())
            .map(Reason::label)
            .collect();
        assert_eq!(
            counted,
            [
                "code already used",
                "recovery code already used",
                "wrong code"
            ]
        );
    }

    #[test]
    fn details_say_what_happened() {
        let temporary = Reason::Accepted {
            by: AcceptedBy::Token {
                id: 2,
                kind: TokenKind::Totp,
                drift: 1,
            },
            temporary_until: Some(86_400),
        };
        assert_eq!(
            temporary.to_string(),
            "TOTP code (token 2 (totp); clock drift +1 steps; temporary password, valid until 1970-01-02T00:00:00Z)"
        );
        let expired = Reason::PasswordExpired { at: 0 }.to_string();
        assert!(
            expired.contains("replaced the previous password"),
            "{expired}"
        );
        assert_eq!(
            Reason::Locked { until: 60 }.to_string(),
            "locked (until 1970-01-01T00:01:00Z)"
        );
    }
}
