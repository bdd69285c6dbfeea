//! A user's tokens as stored: an authenticator app (TOTP), an OATH key fob (HOTP or TOTP), a
//! YubiKey (Yubico OTP). Each has an id of its own within the user, a label, and its own
//! replay state: the newest step, counter or Yubico counter already used.

use std::fmt;

use super::TotpSeed;
use crate::secret::SecretBytes;

/// The kinds of token radotp checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// RFC 6238: codes from the time (phone apps, TOTP fobs).
    Totp,
    /// RFC 4226: codes from a counter that advances with each press.
    Hotp,
    /// A YubiKey typing a 44-character Yubico OTP.
    Yubico,
}

impl TokenKind {
    /// The `kind` column, the CLI's `--type` and the JSON's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Totp => "totp",
            TokenKind::Hotp => "hotp",
            TokenKind::Yubico => "yubico",
        }
    }

    /// How the log names the kind: `token 2 (yubikey)`.
    pub fn device(self) -> &'static str {
        match self {
            TokenKind::Totp => "totp",
            TokenKind::Hotp => "hotp",
            TokenKind::Yubico => "yubikey",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "totp" => Some(TokenKind::Totp),
            "hotp" => Some(TokenKind::Hotp),
            "yubico" => Some(TokenKind::Yubico),
            _ => None,
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HOTP codes have 6 or 8 digits (RFC 4226 §5.3 allows 6 to 8; fobs ship 6 or 8).
pub const HOTP_DIGITS: [u8; 2] = [6, 8];

/// What a token computes its codes from; secret parts redact themselves.
#[derive(Clone, Debug)]
pub enum TokenSecret {
    Totp(TotpSeed),
    Hotp {
        secret: SecretBytes,
        digits: u8,
    },
    Yubico {
        /// 12 modhex characters, lower case: the start of every OTP the key types.
        public_id: String,
        /// 6 bytes inside every OTP.
        private_id: SecretBytes,
        /// AES-128.
        aes_key: SecretBytes,
    },
}

impl TokenSecret {
    pub fn kind(&self) -> TokenKind {
        match self {
            TokenSecret::Totp(_) => TokenKind::Totp,
            TokenSecret::Hotp { .. } => TokenKind::Hotp,
            TokenSecret::Yubico { .. } => TokenKind::Yubico,
        }
    }

    /// The length of the token's numeric codes (none for a YubiKey).
    pub fn digits(&self) -> Option<u8> {
        match self {
            TokenSecret::Totp(seed) => Some(seed.params.digits),
            TokenSecret::Hotp { digits, .. } => Some(*digits),
            TokenSecret::Yubico { .. } => None,
        }
    }

    /// The bytes the store seals: the OATH secret, or a YubiKey's AES key then private id.
    pub(crate) fn sealed_part(&self) -> SecretBytes {
        match self {
            TokenSecret::Totp(seed) => seed.secret.clone(),
            TokenSecret::Hotp { secret, .. } => secret.clone(),
            TokenSecret::Yubico {
                private_id,
                aes_key,
                ..
            } => {
                // Exactly the room both need: no reallocation leaves a copy of the key behind.
                let mut both = Vec::with_capacity(aes_key.len() + private_id.len());
                both.extend_from_slice(aes_key.expose());
                both.extend_from_slice(private_id.expose());
                SecretBytes::new(both)
            }
        }
    }
}

/// AES key and private id, as `sealed_part` joins them.
pub(crate) const YUBICO_SEALED_LEN: usize = 16 + 6;

/// One token of a user.
#[derive(Clone, Debug)]
pub struct Token {
    /// Unique within the user, never reused.
    pub id: u32,
    pub label: String,
    /// The device's serial number, when it came from a vendor's file.
    pub serial: Option<String>,
    pub secret: TokenSecret,
    /// The newest TOTP step, HOTP counter or Yubico (session, use) counter already used:
    /// only a newer one logs in.
    pub last_used: Option<u64>,
    /// TOTP: the learned clock offset in steps (positive: the token runs ahead).
    pub drift: i64,
    pub disabled: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Token {
    pub fn kind(&self) -> TokenKind {
        self.secret.kind()
    }

    /// How logs and messages name it: `token 2 (yubikey)`.
    pub fn name(&self) -> String {
        format!("token {} ({})", self.id, self.kind().device())
    }
}

/// A token to store.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub label: String,
    pub serial: Option<String>,
    pub secret: TokenSecret,
    /// The newest step or counter already used (HOTP `--counter N`: N - 1).
    pub last_used: Option<u64>,
}

impl NewToken {
    /// An authenticator app's TOTP token, as `user add` enrolls it.
    pub fn app(seed: TotpSeed) -> Self {
        NewToken {
            label: "app".to_owned(),
            serial: None,
            secret: TokenSecret::Totp(seed),
            last_used: None,
        }
    }
}

/// The `tokens` columns of a new token, but its sealed bytes.
pub(crate) struct TokenColumns<'a> {
    pub kind: &'static str,
    pub algorithm: &'static str,
    pub digits: i64,
    pub period: i64,
    pub public_id: Option<&'a str>,
    pub last_used: Option<i64>,
}

impl NewToken {
    pub(crate) fn columns(&self) -> TokenColumns<'_> {
        let (algorithm, digits, period, public_id) = match &self.secret {
            TokenSecret::Totp(seed) => (
                seed.params.algorithm.as_str(),
                i64::from(seed.params.digits),
                seed.params.period as i64,
                None,
            ),
            TokenSecret::Hotp { digits, .. } => ("SHA1", i64::from(*digits), 30, None),
            TokenSecret::Yubico { public_id, .. } => ("SHA1", 6, 30, Some(public_id.as_str())),
        };
        TokenColumns {
            kind: self.secret.kind().as_str(),
            algorithm,
            digits,
            period,
            public_id,
            last_used: self.last_used.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        }
    }
}
