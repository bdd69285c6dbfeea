//! User-Password hiding (RFC 2865 §5.2): the password, NUL-padded to a multiple of 16, XORed
//! block by block with MD5(secret + previous ciphertext block), starting from the Request
//! Authenticator.

use md5::{Digest, Md5};

use crate::secret::SecretBytes;

/// RFC 2865 §5.2: at most 128 octets.
pub const MAX_LEN: usize = 128;

/// Why a User-Password attribute cannot be a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("User-Password of {0} octets is not a multiple of 16 between 16 and 128")]
    BadLength(usize),
    #[error("User-Password holds a NUL before its end")]
    EmbeddedNul,
}

fn keystream_block(secret: &[u8], previous: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(secret);
    md5.update(previous);
    md5.finalize().into()
}

/// Recover the password. Trailing NUL padding is removed; a NUL with anything but NULs after it
/// means a wrong secret or a broken client, and is refused rather than truncated.
pub fn decrypt(
    hidden: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<SecretBytes, PasswordError> {
    if hidden.is_empty() || !hidden.len().is_multiple_of(16) || hidden.len() > MAX_LEN {
        return Err(PasswordError::BadLength(hidden.len()));
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut previous: &[u8] = request_authenticator;
    for block in hidden.chunks(16) {
        let key = keystream_block(secret, previous);
        out.extend(block.iter().zip(key).map(|(c, k)| c ^ k));
        previous = block;
    }
    let end = out.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let embedded_nul = out[..end].contains(&0);
    out.truncate(end); // only zeros are cut
    let plain = SecretBytes::new(out); // zeroed on drop, also on the error path
    if embedded_nul {
        return Err(PasswordError::EmbeddedNul);
    }
    Ok(plain)
}

/// Hide a password (used by our own client: `bench`, tests).
pub fn encrypt(
    password: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<Vec<u8>, PasswordError> {
    if password.len() > MAX_LEN {
        return Err(PasswordError::BadLength(password.len()));
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut out = Vec::with_capacity(padded_len);
    let mut previous = *request_authenticator;
    for i in 0..padded_len / 16 {
        let key = keystream_block(secret, &previous);
        let mut block = [0u8; 16];
        for (j, b) in block.iter_mut().enumerate() {
            *b = password.get(i * 16 + j).copied().unwrap_or(0) ^ key[j];
        }
        out.extend_from_slice(&block);
        previous = block;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2865 §7.1: user "nemo", password "arctangent", secret "xyzzy5461".
    const AUTHENTICATOR: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];
    const HIDDEN: [u8; 16] = [
        0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a,
        0xee,
    ];

    #[test]
    fn rfc2865_example_both_ways() {
        let plain = decrypt(&HIDDEN, &AUTHENTICATOR, b"xyzzy5461").unwrap();
        assert_eq!(plain.expose(), b"arctangent");
        assert_eq!(
            encrypt(b"arctangent", &AUTHENTICATOR, b"xyzzy5461").unwrap(),
            HIDDEN
        );
    }

    #[test]
    fn round_trips_every_length() {
        let secret = b"s3cret";
        for len in 1..=MAX_LEN {
            let password: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let hidden = encrypt(&password, &AUTHENTICATOR, secret).unwrap();
            assert_eq!(hidden.len() % 16, 0);
            let plain = decrypt(&hidden, &AUTHENTICATOR, secret).unwrap();
            assert_eq!(plain.expose(), password.as_slice(), "length {len}");
        }
    }

    #[test]
    fn refuses_bad_lengths_and_embedded_nul() {
        let secret = b"s3cret";
        for len in [0, 15, 17, 144] {
            assert_eq!(
                decrypt(&vec![0u8; len], &AUTHENTICATOR, secret),
                Err(PasswordError::BadLength(len))
            );
        }
        assert!(encrypt(&[b'a'; 129], &AUTHENTICATOR, secret).is_err());
        let hidden = encrypt(b"ab\0cd123456", &AUTHENTICATOR, secret).unwrap();
        assert_eq!(
            decrypt(&hidden, &AUTHENTICATOR, secret),
            Err(PasswordError::EmbeddedNul)
        );
        // UTF-8 survives untouched.
        let hidden = encrypt("pässwörd✓123456".as_bytes(), &AUTHENTICATOR, secret).unwrap();
        let plain = decrypt(&hidden, &AUTHENTICATOR, secret).unwrap();
        assert_eq!(plain.expose(), "pässwörd✓123456".as_bytes());
    }
}
