//! HOTP (RFC 4226): a code from a secret and a counter the token advances at each press.
//!
//! The server keeps the newest counter used; a code is looked for in a window ahead of it
//! (RFC 4226 §7.4, the look-ahead parameter), and resynchronisation finds two consecutive
//! codes further ahead.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::secret::SecretBytes;

type HmacSha1 = Hmac<Sha1>;

/// Counters `token resync` searches ahead of the last one used.
pub const RESYNC_RANGE: u64 = 1000;
/// The look-ahead window may be at most this (`[otp] hotp_window`).
pub const MAX_WINDOW: u8 = 100;

/// One token's codes: the HMAC key is prepared once and reused for every counter tried.
pub struct Hotp {
    mac: HmacSha1,
    digits: u8,
}

impl std::fmt::Debug for Hotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotp")
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

impl Hotp {
    /// `None` when the secret is empty (HMAC takes any other length).
    pub fn new(secret: &SecretBytes, digits: u8) -> Option<Self> {
        if secret.is_empty() || !(6..=9).contains(&digits) {
            return None;
        }
        let mac = HmacSha1::new_from_slice(secret.expose()).ok()?;
        Some(Hotp { mac, digits })
    }

    /// RFC 4226 §5.3: HMAC-SHA-1 of the 8-byte counter, dynamic truncation, modulo 10^digits.
    pub fn code(&self, counter: u64) -> String {
        format!(
            "{:0width$}",
            self.value(counter),
            width = usize::from(self.digits)
        )
    }

    /// The code of `counter` as a number (no allocation: the look-ahead computes many).
    fn value(&self, counter: u64) -> u32 {
        let mut mac = self.mac.clone();
        mac.update(&counter.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = usize::from(hash[hash.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        binary % 10u32.pow(u32::from(self.digits))
    }

    /// `code` as the number `value` computes, if it is `digits` decimal digits.
    fn parse(&self, code: &str) -> Option<u32> {
        (code.len() == usize::from(self.digits) && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| code.parse().ok())
            .flatten()
    }

    fn matches(&self, code: u32, counter: u64) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.value(counter).ct_eq(&code))
    }

    /// The first counter in `from..from + window` whose code is `code`.
    pub fn matching_counter(&self, code: &str, from: u64, window: u64) -> Option<u64> {
        let code = self.parse(code)?;
        (from..from.saturating_add(window)).find(|&c| self.matches(code, c))
    }

    /// Resynchronisation: the counter of `second`, where `first` and `second` are the codes of
    /// two consecutive counters in `from..from + range`.
    pub fn consecutive(&self, first: &str, second: &str, from: u64, range: u64) -> Option<u64> {
        let (first, second) = (self.parse(first)?, self.parse(second)?);
        (from..from.saturating_add(range))
            .find(|&c| self.matches(first, c) && self.matches(second, c + 1))
            .map(|c| c + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_token(digits: u8) -> Hotp {
        // RFC 4226 Appendix D's secret.
        Hotp::new(&SecretBytes::from(&b"12345678901234567890"[..]), digits).unwrap()
    }

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let token = rfc_token(6);
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(token.code(counter as u64), *code, "counter {counter}");
        }
        // The same truncated values, 8 digits (Appendix D's decimal column, mod 10^8).
        assert_eq!(rfc_token(8).code(0), "84755224");
    }

    #[test]
    fn look_ahead_and_resync() {
        let token = rfc_token(6);
        assert_eq!(token.matching_counter("969429", 0, 10), Some(3));
        assert_eq!(token.matching_counter("969429", 4, 10), None);
        assert_eq!(token.matching_counter("969429", 0, 3), None);
        assert_eq!(token.matching_counter("96942", 0, 10), None);
        assert_eq!(token.consecutive("399871", "520489", 0, 1000), Some(9));
        assert_eq!(token.consecutive("520489", "399871", 0, 1000), None);
        assert_eq!(token.consecutive("399871", "520489", 9, 1000), None);
    }

    #[test]
    fn refuses_what_cannot_be_a_token() {
        assert!(Hotp::new(&SecretBytes::default(), 6).is_none());
        assert!(Hotp::new(&SecretBytes::from(&b"k"[..]), 5).is_none());
    }
}
