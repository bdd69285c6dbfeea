//! The three ways a dictionary's `encrypt=` flag hides a value, each keyed by the shared secret
//! and the Request Authenticator: User-Password's MD5 chain (RFC 2865 §5.2), the salted chain
//! of Tunnel-Password and MS-MPPE keys (RFC 2868 §3.5, RFC 2548 §2.4.2), and Ascend's single
//! block. Each has its inverse, for printing replies.

use md5::{Digest, Md5};

use super::Encrypt;

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

/// XOR `blocks` in place with MD5(secret + previous ciphertext block), the first "previous"
/// being `first`. `encrypting` says whether `blocks` is plaintext (so the ciphertext that
/// chains is the output) or ciphertext.
fn chain(blocks: &mut [u8], secret: &[u8], first: &[u8], encrypting: bool) {
    let mut previous = first.to_vec();
    for block in blocks.chunks_mut(16) {
        let key = md5(&[secret, &previous]);
        let cipher_before = block.to_vec();
        block.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
        previous = if encrypting {
            block.to_vec()
        } else {
            cipher_before
        };
    }
}

/// Zero-pad to a multiple of 16, at least 16.
fn padded(plain: &[u8]) -> Vec<u8> {
    let mut out = plain.to_vec();
    out.resize(plain.len().div_ceil(16).max(1) * 16, 0);
    out
}

/// Octets on the wire for `plain_len` octets of plaintext hidden by `method`.
pub(super) fn hidden_len(method: Encrypt, plain_len: usize) -> usize {
    match method {
        Encrypt::UserPassword => plain_len.div_ceil(16).max(1) * 16,
        Encrypt::TunnelPassword => 2 + (1 + plain_len).div_ceil(16) * 16,
        Encrypt::AscendSecret => 16,
    }
}

/// The most plaintext `method` can hide in `space` octets.
pub(super) fn max_plain_len(method: Encrypt, space: usize) -> usize {
    match method {
        // RFC 2865 §5.2: at most 128 octets.
        Encrypt::UserPassword => (space / 16 * 16).min(128),
        Encrypt::TunnelPassword => (space.saturating_sub(2) / 16 * 16).saturating_sub(1),
        Encrypt::AscendSecret => 16.min(space),
    }
}

/// Hide `plain`. `salt` is used by `TunnelPassword` only; its top bit must be set.
pub(super) fn hide(
    method: Encrypt,
    plain: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Vec<u8> {
    match method {
        Encrypt::UserPassword => {
            let mut out = padded(plain);
            chain(&mut out, secret, request_authenticator, true);
            out
        }
        Encrypt::TunnelPassword => {
            // RFC 2868 §3.5: a length octet, the data, zero padding; chained from R + A.
            let mut body = vec![plain.len() as u8];
            body.extend_from_slice(plain);
            let mut body = padded(&body);
            let first = [request_authenticator.as_slice(), &salt].concat();
            chain(&mut body, secret, &first, true);
            [salt.as_slice(), &body].concat()
        }
        Encrypt::AscendSecret => {
            let key = md5(&[request_authenticator, secret]);
            let mut out = [0u8; 16];
            for (i, o) in out.iter_mut().enumerate() {
                *o = key[i] ^ plain.get(i).copied().unwrap_or(0);
            }
            out.to_vec()
        }
    }
}

/// Recover what [`hide`] hid, or say why it cannot be (a wrong secret shows as bad padding).
pub(super) fn reveal(
    method: Encrypt,
    hidden: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, &'static str> {
    match method {
        Encrypt::UserPassword => {
            if hidden.is_empty() || !hidden.len().is_multiple_of(16) {
                return Err("length is not a multiple of 16");
            }
            let mut out = hidden.to_vec();
            chain(&mut out, secret, request_authenticator, false);
            let end = out.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            out.truncate(end);
            Ok(out)
        }
        Encrypt::TunnelPassword => {
            let Some((salt, body)) = hidden.split_first_chunk::<2>() else {
                return Err("shorter than its salt");
            };
            if body.is_empty() || !body.len().is_multiple_of(16) {
                return Err("length is not a salt and a multiple of 16");
            }
            let mut body = body.to_vec();
            let first = [request_authenticator.as_slice(), salt].concat();
            chain(&mut body, secret, &first, false);
            let len = usize::from(body[0]);
            if len + 1 > body.len() || body[len + 1..].iter().any(|&b| b != 0) {
                return Err("bad length or padding (wrong shared secret?)");
            }
            Ok(body[1..=len].to_vec())
        }
        Encrypt::AscendSecret => {
            if hidden.len() != 16 {
                return Err("length is not 16");
            }
            let mut out = hide(method, hidden, secret, request_authenticator, [0; 2]);
            let end = out.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            out.truncate(end);
            Ok(out)
        }
    }
}
