//! What the store keeps for EAP (Wi-Fi) TLS session resumption, as callers see it: the keys
//! that seal TLS session tickets, shared by every node (sealed at rest with the key file, like
//! TOTP seeds), and the resumable sessions, each bound to the user whose full login (password
//! and code) it resumes (found by a keyed MAC of its handle, `MacPurpose::EapSession`: the
//! database never holds a handle); and the TLS 1.2 sessions of supplicants that resume by
//! session id rather than ticket (sealed with a ticket key, found by a MAC of the id). All are
//! ephemeral: `db copy` leaves them behind.

use crate::secret::SecretBytes;

/// A key that seals and opens TLS session tickets. `Debug` does not show the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketKey {
    /// Names the key in the tickets it seals.
    pub id: u32,
    /// When it was made (unix seconds).
    pub created: i64,
    /// 32 octets.
    pub key: SecretBytes,
}

/// A resumable session: whose it is, and when the full login that proved them was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EapSession {
    pub user: String,
    pub created: i64,
}

/// What a ticket key's seal is bound to: its id, so that a sealed key cannot be moved to
/// another row (or taken for a TOTP seed: no user name has this form).
pub(crate) fn seal_context(id: u32) -> String {
    format!("eap ticket key {id}")
}

/// The MAC context of a TLS 1.2 session id (`MacPurpose::EapSession`; handles have none), so
/// an id and a handle with the same octets are stored apart.
pub(crate) const TLS_SESSION: &str = "tls session id";

/// A stored key id, refusing one no radotp writes (ids are `u32`).
pub(crate) fn key_id(stored: i64) -> Result<u32, crate::store::StoreError> {
    u32::try_from(stored).map_err(|_| {
        crate::store::StoreError::Database(format!(
            "the database holds an EAP ticket key with the id {stored}, out of range"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_key_does_not_show_its_key() {
        let key = TicketKey {
            id: 7,
            created: 100,
            key: SecretBytes::new(vec![0xab; 32]),
        };
        let shown = format!("{key:?}");
        assert!(
            shown.contains("[redacted]") && shown.contains("id: 7"),
            "{shown}"
        );
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, "));
    }
}
