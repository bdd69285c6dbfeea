//! The cryptography of a PSKC container (RFC 6030 §6): strict base64, AES-CBC with the IV in
//! front of the ciphertext, HMAC, PBKDF2. Buffers that may hold key material are zeroed when
//! they are dropped.

use aes::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// AES's block, and the IV that RFC 6030 §6.1.1 puts in front of every CipherValue.
const BLOCK: usize = 16;

/// Decodes xs:base64Binary given as the text pieces of one element. Whitespace is skipped
/// (pretty-printers wrap and indent long values); anything else outside the standard alphabet,
/// missing or misplaced padding, and non-zero trailing bits are refused.
pub(super) fn base64<'a>(pieces: impl IntoIterator<Item = &'a str>) -> Option<Zeroizing<Vec<u8>>> {
    let pieces: Vec<&str> = pieces.into_iter().collect();
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    // Room for the whole result up front, so it is never reallocated (which would leave an
    // unzeroed copy of a secret behind).
    let mut out = Zeroizing::new(Vec::with_capacity(len / 4 * 3 + 3));
    let (mut acc, mut symbols, mut padding) = (0u32, 0usize, 0usize);
    for &c in pieces.iter().flat_map(|p| p.as_bytes()) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'=' => padding += 1,
            _ => {
                if padding > 0 {
                    return None;
                }
                acc = (acc << 6) | base64_value(c)?;
                symbols += 1;
                if symbols == 4 {
                    out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                    (acc, symbols) = (0, 0);
                }
            }
        }
    }
    match (symbols, padding) {
        (0, 0) => {}
        (2, 2) if acc & 0xf == 0 => out.push((acc >> 4) as u8),
        (3, 1) if acc & 0x3 == 0 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return None,
    }
    Some(out)
}

fn base64_value(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// The block ciphers of `xenc:EncryptionMethod` that PSKC files use (RFC 6030 §6.1), all in
/// CBC mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cipher {
    Aes128,
    Aes192,
    Aes256,
}

/// Why an encrypted value did not open.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DecryptError {
    /// The key is not the cipher's key size.
    KeyLength,
    /// The CipherValue is not an IV and whole blocks.
    Shape(usize),
    /// The padding is wrong: the key is wrong or the ciphertext was altered.
    Padding,
}

impl Cipher {
    pub(super) fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Some(Self::Aes128),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Some(Self::Aes192),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Some(Self::Aes256),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Aes128 => "AES-128-CBC",
            Self::Aes192 => "AES-192-CBC",
            Self::Aes256 => "AES-256-CBC",
        }
    }

    pub(super) fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    /// Decrypts a CipherValue: the IV, then the ciphertext (RFC 6030 §6.1.1), PKCS#7-padded
    /// (strictly, as python-pskc and the vendors' Java and .NET writers pad).
    pub(super) fn decrypt(
        self,
        key: &[u8],
        cipher_value: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        if key.len() != self.key_len() {
            return Err(DecryptError::KeyLength);
        }
        let len = cipher_value.len();
        if len < 2 * BLOCK || !len.is_multiple_of(BLOCK) {
            return Err(DecryptError::Shape(len));
        }
        let (iv, ciphertext) = cipher_value.split_at(BLOCK);
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let plain_len = match self {
            Self::Aes128 => cbc_decrypt::<aes::Aes128>(key, iv, &mut buf),
            Self::Aes192 => cbc_decrypt::<aes::Aes192>(key, iv, &mut buf),
            Self::Aes256 => cbc_decrypt::<aes::Aes256>(key, iv, &mut buf),
        }?;
        // The cut-off padding stays in the spare capacity, which Zeroizing clears too.
        buf.truncate(plain_len);
        Ok(buf)
    }
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<usize, DecryptError>
where
    C: BlockCipherDecrypt,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    let decryptor =
        cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| DecryptError::KeyLength)?;
    decryptor
        .decrypt_padded::<Pkcs7>(buf)
        .map(<[u8]>::len)
        .map_err(|_| DecryptError::Padding)
}

/// The hash of an HMAC: for MACMethod (RFC 6030 §6.1.1) and PBKDF2's PRF (§6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HmacHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HmacHash {
    /// The XML Signature URIs (RFC 3275, RFC 6931). HMAC-SHA1 also under xmldsig-more, as
    /// some writers put it (python-pskc accepts both).
    pub(super) fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
            | "http://www.w3.org/2001/04/xmldsig-more#hmac-sha1" => Some(Self::Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224" => Some(Self::Sha224),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256" => Some(Self::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384" => Some(Self::Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Whether `tag` is the full HMAC of `data`, compared in constant time. A truncated tag
    /// does not match.
    pub(super) fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::Sha1 => hmac_matches::<Sha1>(key, data, tag),
            Self::Sha224 => hmac_matches::<Sha224>(key, data, tag),
            Self::Sha256 => hmac_matches::<Sha256>(key, data, tag),
            Self::Sha384 => hmac_matches::<Sha384>(key, data, tag),
            Self::Sha512 => hmac_matches::<Sha512>(key, data, tag),
        }
    }

    /// PBKDF2 with this HMAC as the PRF (RFC 8018 §5.2).
    pub(super) fn pbkdf2(
        self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        len: usize,
    ) -> SecretBytes {
        let mut key = vec![0u8; len];
        match self {
            Self::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut key),
            Self::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, rounds, &mut key),
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut key),
            Self::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, rounds, &mut key),
            Self::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, &mut key),
        }
        SecretBytes::from(key)
    }
}

fn hmac_matches<D: hmac::EagerHash>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <Hmac<D> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    let expected = mac.finalize().into_bytes();
    // ct_eq on slices of different lengths is false.
    bool::from(expected.as_slice().ct_eq(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Option<Vec<u8>> {
        base64([text]).map(|v| v.to_vec())
    }

    #[test]
    fn base64_is_strict_but_skips_whitespace() {
        assert_eq!(b64("MTIzNA==").as_deref(), Some(&b"1234"[..]));
        assert_eq!(b64("MTIz").as_deref(), Some(&b"123"[..]));
        assert_eq!(b64("MTI=").as_deref(), Some(&b"12"[..]));
        assert_eq!(b64("").as_deref(), Some(&b""[..]));
        assert_eq!(b64(" MTIz\n  NA==\n   ").as_deref(), Some(&b"1234"[..]));
        assert_eq!(
            base64(["MT", "Iz", "NA=="]).map(|v| v.to_vec()),
            Some(b"1234".to_vec())
        );
        for bad in [
            "MTIzNA",
            "MTIzNA=",
            "MTIzNA===",
            "MT=zNA==",
            "MTIzNA==MTIz",
            "MTI*",
            "MTJ=",
            "MR==",
        ] {
            assert_eq!(b64(bad), None, "{bad}");
        }
    }

    #[test]
    fn decrypt_refuses_bad_shapes_and_keys() {
        let key = [0u8; 16];
        assert_eq!(
            Cipher::Aes128.decrypt(&key, &[0; 16]),
            Err(DecryptError::Shape(16))
        );
        assert_eq!(
            Cipher::Aes128.decrypt(&key, &[0; 40]),
            Err(DecryptError::Shape(40))
        );
        assert_eq!(
            Cipher::Aes256.decrypt(&key, &[0; 32]),
            Err(DecryptError::KeyLength)
        );
    }

    #[test]
    fn hmac_needs_the_whole_tag() {
        // RFC 2202 test case 2 for HMAC-SHA-1.
        let tag = [
            0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
            0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
        ];
        let data = b"what do ya want for nothing?";
        assert!(HmacHash::Sha1.verify(b"Jefe", data, &tag));
        assert!(!HmacHash::Sha1.verify(b"Jefe", data, &tag[..19]));
        assert!(!HmacHash::Sha1.verify(b"jefe", data, &tag));
    }
}
