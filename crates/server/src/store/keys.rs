//! The key file, and what the store does with it: TOTP seeds sealed with ChaCha20-Poly1305,
//! as are the EAP ticket keys the nodes share; recovery codes, invitation links, API tokens and
//! EAP session handles stored as HMAC-SHA256. A copy of the database alone reveals neither.
//!
//! The file holds 32 random bytes as hex. It is created with mode 0600 on first use, and
//! refused when other users can read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::{SecretBytes, random_bytes};

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 12;
/// Version octet in front of every sealed value, so the format can change later.
const SEALED_V1: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot create the key file {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error(
        "the key file {path} can be read by other users (mode {mode:o}); fix it with: chmod 600 {path}"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the key file {path} does not hold 64 hexadecimal characters; restore it from backup")]
    Invalid { path: PathBuf },
    #[error(
        "a TOTP secret in the database cannot be unsealed: the key file does not match this database, or the record was altered"
    )]
    Unseal,
}

/// What a code MAC is for; its label is bound into the MAC, so a code stored for one purpose
/// never matches a lookup for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacPurpose {
    /// A recovery code (`recovery_codes.mac`).
    Recovery,
    /// A code sent out of band (`sent_codes.mac`).
    Sent,
    /// A challenge's State attribute (`challenges.state_mac`).
    Challenge,
    /// The random part of an enrollment link (`invitations.mac`).
    Invitation,
    /// An administrator's API token (`api_tokens.mac`).
    ApiToken,
    /// The handle of a resumable EAP session (`eap_sessions.handle_mac`).
    EapSession,
}

impl MacPurpose {
    /// The bytes MACed in front of the user and the code. Databases hold MACs computed with
    /// exactly these: changing one makes every stored code of that purpose unusable.
    fn label(self) -> &'static [u8] {
        match self {
            MacPurpose::Recovery => b"recovery",
            MacPurpose::Sent => b"sent",
            MacPurpose::Challenge => b"challenge",
            MacPurpose::Invitation => b"invitation",
            MacPurpose::ApiToken => b"api token",
            MacPurpose::EapSession => b"eap session",
        }
    }
}

/// Keys derived from the key file, one per purpose.
#[derive(Clone)]
pub struct Keys {
    seal: SecretBytes,
    mac: SecretBytes,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

fn derive(master: &[u8], purpose: &str) -> SecretBytes {
    let mut mac = HmacSha256::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    SecretBytes::new(mac.finalize().into_bytes().to_vec())
}

impl Keys {
    /// Keys from a master secret (tests, and the file loader).
    pub fn from_master(master: &[u8]) -> Self {
        Self {
            seal: derive(master, "radotp seal v1"),
            mac: derive(master, "radotp code mac v1"),
        }
    }

    /// Read the key file, creating it (mode 0600) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        if !path.exists() {
            create(path)?;
        }
        check_permissions(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let master = decode_hex(text.trim()).ok_or_else(|| KeyError::Invalid {
            path: path.to_owned(),
        })?;
        Ok(Self::from_master(master.expose()))
    }

    /// Seal a TOTP seed; `context` (the user name) is bound in, so a sealed seed cannot be
    /// moved to another user's row. (EAP ticket keys are sealed the same way, their context
    /// naming the key: `store::eap::seal_context`.)
    pub fn seal(&self, context: &str, secret: &SecretBytes) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_LEN>();
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.expose(),
                    aad: context.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption cannot fail for short messages");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn unseal(&self, context: &str, sealed: &[u8]) -> Result<SecretBytes, KeyError> {
        let (&version, rest) = sealed.split_first().ok_or(KeyError::Unseal)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeyError::Unseal)?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(SecretBytes::new)
            .map_err(|_| KeyError::Unseal)
    }

    /// Keyed MAC of a one-time code, bound to its user and purpose.
    pub fn code_mac(&self, purpose: MacPurpose, user: &str, code: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(self.mac.expose()).expect("any key length");
        for part in [purpose.label(), user.as_bytes(), code] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        let key: [u8; 32] = self
            .seal
            .expose()
            .try_into()
            .expect("derived keys are 32 bytes");
        ChaCha20Poly1305::new(&Key::from(key))
    }
}

fn create(path: &Path) -> Result<(), KeyError> {
    let err = |reason: String| KeyError::Create {
        path: path.to_owned(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| err(e.to_string()))?;
    let master = random_bytes::<32>();
    let hex: String = master.iter().map(|b| format!("{b:02x}")).collect();
    file.write_all(format!("{hex}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| err(e.to_string()))?;
    tracing::info!(path = %path.display(), "created a new key file; back it up with the database");
    Ok(())
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| KeyError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

fn decode_hex(text: &str) -> Option<SecretBytes> {
    if text.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    bytes.map(SecretBytes::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_is_bound_to_the_user() {
        let keys = Keys::from_master(b"master");
        let seed = SecretBytes::new(b"12345678901234567890".to_vec());
        let sealed = keys.seal("alice", &seed);
        assert!(!sealed.windows(20).any(|w| w == seed.expose()));
        assert_eq!(keys.unseal("alice", &sealed).unwrap(), seed);
        assert!(
            keys.unseal("bob", &sealed).is_err(),
            "moved to another user"
        );
        assert!(
            Keys::from_master(b"other")
                .unseal("alice", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(keys.unseal("alice", &tampered).is_err());
        assert_ne!(keys.seal("alice", &seed), sealed, "fresh nonce each time");
    }

    #[test]
    fn code_macs_depend_on_key_user_and_purpose() {
        let keys = Keys::from_master(b"master");
        let mac = keys.code_mac(MacPurpose::Recovery, "alice", b"abcde-fghij");
        assert_eq!(
            mac,
            keys.code_mac(MacPurpose::Recovery, "alice", b"abcde-fghij")
        );
        assert_ne!(
            mac,
            keys.code_mac(MacPurpose::Recovery, "bob", b"abcde-fghij")
        );
        assert_ne!(
            mac,
            keys.code_mac(MacPurpose::Sent, "alice", b"abcde-fghij")
        );
        assert_ne!(
            mac,
            Keys::from_master(b"x").code_mac(MacPurpose::Recovery, "alice", b"abcde-fghij")
        );
    }

    /// Stored MACs outlive releases: these values (computed independently, with Python's hmac,
    /// from the labels "recovery", "sent", "challenge", "invitation", "api token" and
    /// "eap session") must never change.
    #[test]
    fn code_macs_are_pinned() {
        let keys = Keys::from_master(b"master");
        let hex = |mac: Vec<u8>| -> String { mac.iter().map(|b| format!("{b:02x}")).collect() };
        assert_eq!(
            hex(keys.code_mac(MacPurpose::Recovery, "alice", b"abcde-fghij")),
            "f840631d0f2dfd0aea89035bc4cd34791302c247528384a34f81b296edfc2657"
        );
        assert_eq!(
            hex(keys.code_mac(MacPurpose::Sent, "alice", b"123456")),
            "a7854474287c94662eda0e83fc1206a9f4f16947f254facf62cb5a8e571321e9"
        );
        assert_eq!(
            hex(keys.code_mac(MacPurpose::Challenge, "", b"state")),
            "927b31f265aa0ca72562758be79ae0254f827a1290bf97ad71c4828c96dc234b"
        );
        assert_eq!(
            hex(keys.code_mac(MacPurpose::Invitation, "", b"link-secret")),
            "057672473f54fc1a4e0d2082b96bd7486eaed941ad53e08c92dba75fb8f26f95"
        );
        assert_eq!(
            hex(keys.code_mac(MacPurpose::ApiToken, "", b"api-secret")),
            "eaccb66277c7cbeca952406bc9546f52609bcaadc89ca504b78ad1b17e37f91f"
        );
        assert_eq!(
            hex(keys.code_mac(MacPurpose::EapSession, "", b"session-handle")),
            "7dd1e728dd6813dc8b38e93430cc5c4e6b7bae635cf902ec64198b03e4a03a5d"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_private_and_refused_when_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/radotp.key");
        let first = Keys::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The same file gives the same keys.
        let again = Keys::load_or_create(&path).unwrap();
        let sealed = first.seal("u", &SecretBytes::new(vec![1; 20]));
        assert!(again.unseal("u", &sealed).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keys::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "not hex\n").unwrap();
        assert!(matches!(
            Keys::load_or_create(&path),
            Err(KeyError::Invalid { .. })
        ));
    }
}
