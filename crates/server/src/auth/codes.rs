//! Generated secrets people type: recovery codes and temporary passwords.
//!
//! Recovery codes have their own shape — `xxxxx-xxxxx` from an alphabet without look-alikes —
//! so at login they cannot be confused with a TOTP code, whatever the user's code length.

use crate::secret::{SecretBytes, random_bytes};

/// Lower-case letters and digits without 0/o, 1/l/i: 30 symbols, ~4.9 bits each.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz2345678";
const RECOVERY_GROUP: usize = 5;
/// How many recovery codes a set holds.
pub const RECOVERY_SET_SIZE: usize = 10;
/// Length of a recovery code as typed: two groups and a dash.
pub const RECOVERY_TYPED_LEN: usize = 2 * RECOVERY_GROUP + 1;

/// Letters and digits without look-alikes, both cases: ~5.7 bits each.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
/// 16 characters ≈ 92 bits.
pub const TEMPORARY_PASSWORD_LEN: usize = 16;

/// Uniform choice from `alphabet` by rejection sampling (no modulo bias).
fn random_string(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<32>() {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    out
}

/// A fresh set of recovery codes, as shown to the user (`abcde-fghjk`).
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_SET_SIZE)
        .map(|_| {
            let raw = random_string(RECOVERY_ALPHABET, 2 * RECOVERY_GROUP);
            format!("{}-{}", &raw[..RECOVERY_GROUP], &raw[RECOVERY_GROUP..])
        })
        .collect()
}

/// The canonical form that is MACed and stored: lower case, no dash. `None` if `typed` does not
/// have the shape of a recovery code.
pub fn normalize_recovery_code(typed: &[u8]) -> Option<SecretBytes> {
    if typed.len() != RECOVERY_TYPED_LEN || typed[RECOVERY_GROUP] != b'-' {
        return None;
    }
    let canonical: Vec<u8> = typed
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != RECOVERY_GROUP)
        .map(|(_, b)| b.to_ascii_lowercase())
        .collect();
    canonical
        .iter()
        .all(|b| RECOVERY_ALPHABET.contains(b))
        .then(|| SecretBytes::new(canonical))
}

/// A uniformly random numeric code of `digits` digits, to send out of band.
pub fn generate_numeric_code(digits: u8) -> SecretBytes {
    SecretBytes::new(random_string(b"0123456789", usize::from(digits)).into_bytes())
}

/// A strong temporary password an administrator can read out over the phone.
pub fn generate_temporary_password() -> SecretBytes {
    SecretBytes::new(random_string(PASSWORD_ALPHABET, TEMPORARY_PASSWORD_LEN).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_their_shape_and_normalise() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_SET_SIZE);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        for code in &codes {
            assert_eq!(code.len(), RECOVERY_TYPED_LEN, "{code}");
            let canonical = normalize_recovery_code(code.as_bytes()).unwrap();
            assert_eq!(canonical.expose(), code.replace('-', "").as_bytes());
            let shouted = normalize_recovery_code(code.to_uppercase().as_bytes()).unwrap();
            assert_eq!(shouted, canonical, "case does not matter");
        }
        for bad in [
            "abcdefghjk",
            "abcde-fghj",
            "abcde_fghjk",
            "abcd0-fghjk",
            "123456",
            "",
        ] {
            assert!(normalize_recovery_code(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn numeric_codes_have_the_users_length() {
        for digits in [6, 8] {
            let code = generate_numeric_code(digits);
            assert_eq!(code.len(), usize::from(digits));
            assert!(code.expose().iter().all(u8::is_ascii_digit));
        }
    }

    #[test]
    fn temporary_passwords_are_long_and_distinct() {
        let a = generate_temporary_password();
        let b = generate_temporary_password();
        assert_eq!(a.len(), TEMPORARY_PASSWORD_LEN);
        assert_ne!(a, b);
        assert!(a.expose().iter().all(|c| PASSWORD_ALPHABET.contains(c)));
    }
}
