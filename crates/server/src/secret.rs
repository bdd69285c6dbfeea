//! Secret values: shared secrets, passwords, codes and TOTP seeds.
//!
//! They redact themselves in `Debug` and `Display` and are zeroed when dropped, so a stray
//! `{:?}` in a log line or an error can never print one.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes that must never be printed: zeroed on drop, `[redacted]` when formatted.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Bytes written in hex (either case; no separators), or `None`. A secret half decoded when a
/// bad digit turns up is zeroed, not left behind.
pub fn from_hex(text: &str) -> Option<SecretBytes> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = SecretBytes::new(Vec::with_capacity(text.len() / 2));
    for pair in text.as_bytes().chunks_exact(2) {
        // Dropping `out` on the way out zeroes what it holds.
        out.0.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Some(out)
}

/// Fill a buffer from the operating system's CSPRNG.
///
/// A machine without a working entropy source cannot run an authentication server safely, so
/// this is one of the few places allowed to panic.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random number generator failed");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_its_contents() {
        let secret = SecretBytes::from(b"testing123".as_slice());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), b"testing123");
    }

    #[test]
    fn hex_of_either_case_and_nothing_else() {
        assert_eq!(from_hex("00fFa1").unwrap().expose(), [0, 255, 161]);
        assert_eq!(from_hex("").unwrap().expose(), b"");
        for bad in ["0", "0g", "+1", " 01", "0x01", "é1"] {
            assert!(from_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn random_bytes_differ() {
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }
}
