//! Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 over the whole packet, keyed with the
//! shared secret, computed with the attribute's own 16 octets zeroed.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

type HmacMd5 = Hmac<Md5>;

/// Length of the attribute: type, length and 16 octets of HMAC.
pub const ATTRIBUTE_LEN: usize = 18;

fn mac_over(packet: &[u8], value_offset: usize, secret: &[u8]) -> HmacMd5 {
    let mut mac = HmacMd5::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&packet[..value_offset]);
    mac.update(&[0u8; 16]);
    mac.update(&packet[value_offset + 16..]);
    mac
}

/// Verify, in constant time, the Message-Authenticator whose 16-octet value starts at
/// `value_offset`. For requests the authenticator field already holds the Request
/// Authenticator, which is what the HMAC covers.
pub fn verify(packet: &[u8], value_offset: usize, secret: &[u8]) -> bool {
    let Some(received) = packet.get(value_offset..value_offset + 16) else {
        return false;
    };
    mac_over(packet, value_offset, secret)
        .verify_slice(received)
        .is_ok()
}

/// Compute the Message-Authenticator for `packet` and write it at `value_offset`. For a reply,
/// the authenticator field must hold the Request Authenticator while this runs.
pub fn sign(packet: &mut [u8], value_offset: usize, secret: &[u8]) {
    let tag = mac_over(packet, value_offset, secret)
        .finalize()
        .into_bytes();
    packet[value_offset..value_offset + 16].copy_from_slice(&tag);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // RFC 5997 §6.1: Status-Server with Message-Authenticator, secret "xyzzy5461".
    const RFC5997_STATUS_SERVER: &str = "0c da 00 26 8a 54 f4 68 6f b3 94 c5 28 66 e3 02
        18 5d 06 23 50 12 5a 66 5e 2e 1e 84 11 f3 e2 43 82 20 97 c8 4f a3";

    #[test]
    fn rfc5997_status_server_example_verifies() {
        let packet = hex(RFC5997_STATUS_SERVER);
        assert!(verify(&packet, 22, b"xyzzy5461"));
        assert!(!verify(&packet, 22, b"xyzzy5462"));
        let mut tampered = packet.clone();
        tampered[1] ^= 1;
        assert!(!verify(&tampered, 22, b"xyzzy5461"));
    }

    #[test]
    fn sign_reproduces_the_rfc5997_example() {
        let expected = hex(RFC5997_STATUS_SERVER);
        let mut packet = expected.clone();
        packet[22..38].fill(0);
        sign(&mut packet, 22, b"xyzzy5461");
        assert_eq!(packet, expected);
    }

    #[test]
    fn truncated_value_does_not_verify() {
        let packet = hex(RFC5997_STATUS_SERVER);
        assert!(!verify(&packet[..30], 22, b"xyzzy5461"));
    }
}
