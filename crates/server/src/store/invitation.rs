//! What the store keeps of enrollment invitations and administrators' API tokens, as callers
//! see them. Neither holds a secret: the database has only keyed MACs of the link's random
//! part and of the token's value (`MacPurpose::Invitation`, `MacPurpose::ApiToken`), so a copy
//! of it opens no enrollment page and calls no API.

/// The most wrong passwords or codes an invitation link survives.
pub const INVITATION_MAX_FAILURES: u32 = 5;

/// A user's invitation as stored (`user show`, the enrollment page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Wrong passwords or codes typed on the enrollment page so far.
    pub failures: u32,
}

impl Invitation {
    /// Unexpired at `now` and tried fewer than INVITATION_MAX_FAILURES times: the same test
    /// the statements of `find_invitation` and `complete_invitation` make.
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at && self.failures < INVITATION_MAX_FAILURES
    }
}

/// An administrator's API token as listed (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_is_live_until_it_expires_or_is_tried_too_often() {
        let invitation = Invitation {
            name: "ann".into(),
            created_at: 0,
            expires_at: 100,
            failures: INVITATION_MAX_FAILURES - 1,
        };
        assert!(invitation.is_live(99));
        assert!(!invitation.is_live(100), "expired at expires_at");
        let tried = Invitation {
            failures: INVITATION_MAX_FAILURES,
            ..invitation
        };
        assert!(!tried.is_live(0));
    }
}
