//! Replies (DESIGN step 10): Message-Authenticator first, then Proxy-State copies in order,
//! then reply attributes; length checked; signed with HMAC-MD5 and then the Response
//! Authenticator (RFC 2865 §3), in that order because the second covers the first.

use md5::{Digest, Md5};

use super::{HEADER_LEN, MAX_PACKET_LEN, attr, message_authenticator};

/// Largest attribute value: the length octet counts the 2-octet header too.
pub const MAX_VALUE_LEN: usize = 253;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("attribute {kind} has a {len}-octet value; at most 253 fit")]
    ValueTooLong { kind: u8, len: usize },
    #[error("the reply would be {0} octets; RADIUS allows at most 4096")]
    TooLong(usize),
}

/// What the reply copies from its request.
#[derive(Debug, Clone, Copy)]
pub struct RequestHeader<'a> {
    pub identifier: u8,
    pub request_authenticator: &'a [u8; 16],
}

/// Build and sign a reply.
pub fn build(
    code: u8,
    request: RequestHeader<'_>,
    proxy_states: &[&[u8]],
    attributes: &[(u8, &[u8])],
    secret: &[u8],
) -> Result<Vec<u8>, ReplyError> {
    let body: Vec<(u8, &[u8])> = proxy_states
        .iter()
        .map(|value| (attr::PROXY_STATE, *value))
        .chain(attributes.iter().copied())
        .collect();
    let mut packet = signed(
        code,
        request.identifier,
        request.request_authenticator,
        &body,
        secret,
    )?;
    sign_response_authenticator(&mut packet, secret);
    Ok(packet)
}

/// An Accounting-Response (RFC 2866 §4.2): the Proxy-States and the Response Authenticator,
/// no Message-Authenticator (RFC 2866 has none, and clients disagree on how one would be
/// computed over an accounting packet).
pub fn accounting_response(
    request: RequestHeader<'_>,
    proxy_states: &[&[u8]],
    secret: &[u8],
) -> Result<Vec<u8>, ReplyError> {
    let mut length = HEADER_LEN;
    for value in proxy_states {
        if value.len() > MAX_VALUE_LEN {
            return Err(ReplyError::ValueTooLong {
                kind: attr::PROXY_STATE,
                len: value.len(),
            });
        }
        length += 2 + value.len();
    }
    if length > MAX_PACKET_LEN {
        return Err(ReplyError::TooLong(length));
    }
    let mut packet = Vec::with_capacity(length);
    packet.push(super::code::ACCOUNTING_RESPONSE);
    packet.push(request.identifier);
    packet.extend_from_slice(&(length as u16).to_be_bytes());
    packet.extend_from_slice(request.request_authenticator);
    for value in proxy_states {
        packet.push(attr::PROXY_STATE);
        packet.push((2 + value.len()) as u8);
        packet.extend_from_slice(value);
    }
    sign_response_authenticator(&mut packet, secret);
    Ok(packet)
}

/// A packet with Message-Authenticator first (the BlastRADIUS advice) and then `attributes`,
/// its Message-Authenticator signed over `authenticator` in the authenticator field: a request
/// as it is sent, or a reply before its Response Authenticator.
pub fn signed(
    code: u8,
    identifier: u8,
    authenticator: &[u8; 16],
    attributes: &[(u8, &[u8])],
    secret: &[u8],
) -> Result<Vec<u8>, ReplyError> {
    let body = attributes.iter().copied();
    let mut length = HEADER_LEN + message_authenticator::ATTRIBUTE_LEN;
    for (kind, value) in body.clone() {
        if value.len() > MAX_VALUE_LEN {
            return Err(ReplyError::ValueTooLong {
                kind,
                len: value.len(),
            });
        }
        length += 2 + value.len();
    }
    // Checked before anything is written, so the 16-bit Length field cannot wrap.
    if length > MAX_PACKET_LEN {
        return Err(ReplyError::TooLong(length));
    }
    let mut packet = Vec::with_capacity(length);
    packet.push(code);
    packet.push(identifier);
    packet.extend_from_slice(&(length as u16).to_be_bytes());
    packet.extend_from_slice(authenticator);
    packet.extend_from_slice(&[attr::MESSAGE_AUTHENTICATOR, 18]);
    packet.extend_from_slice(&[0; 16]);
    for (kind, value) in body {
        packet.push(kind);
        packet.push((2 + value.len()) as u8);
        packet.extend_from_slice(value);
    }
    message_authenticator::sign(&mut packet, HEADER_LEN + 2, secret);
    Ok(packet)
}

/// Replace the Request Authenticator (in the authenticator field) with the Response
/// Authenticator: MD5(Code + ID + Length + Request Authenticator + Attributes + Secret).
pub fn sign_response_authenticator(packet: &mut [u8], secret: &[u8]) {
    let digest = response_authenticator(packet, secret);
    packet[4..HEADER_LEN].copy_from_slice(&digest);
}

/// The Response Authenticator of `packet`, which holds the Request Authenticator in its
/// authenticator field: what a reply must carry (RFC 2865 §3), to sign or to check one.
pub fn response_authenticator(packet: &[u8], secret: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(packet);
    md5.update(secret);
    md5.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"xyzzy5461";

    // RFC 2865 §7.1: the Access-Accept to "nemo", without Message-Authenticator.
    const RFC2865_REQUEST_AUTH: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];
    const RFC2865_ACCEPT: [u8; 38] = [
        0x02, 0x00, 0x00, 0x26, 0x86, 0xfe, 0x22, 0x0e, 0x76, 0x24, 0xba, 0x2a, 0x10, 0x05, 0xf6,
        0xbf, 0x9b, 0x55, 0xe0, 0xb2, 0x06, 0x06, 0x00, 0x00, 0x00, 0x01, 0x0f, 0x06, 0x00, 0x00,
        0x00, 0x00, 0x0e, 0x06, 0xc0, 0xa8, 0x01, 0x03,
    ];

    #[test]
    fn response_authenticator_matches_rfc_examples() {
        let mut accept = RFC2865_ACCEPT;
        accept[4..20].copy_from_slice(&RFC2865_REQUEST_AUTH);
        sign_response_authenticator(&mut accept, SECRET);
        assert_eq!(accept, RFC2865_ACCEPT);

        // RFC 5997 §6.1: the Access-Accept answering a Status-Server.
        let mut status_accept = vec![0x02, 0xda, 0x00, 0x14];
        status_accept.extend([
            0x8a, 0x54, 0xf4, 0x68, 0x6f, 0xb3, 0x94, 0xc5, 0x28, 0x66, 0xe3, 0x02, 0x18, 0x5d,
            0x06, 0x23,
        ]);
        sign_response_authenticator(&mut status_accept, SECRET);
        assert_eq!(
            status_accept[4..],
            [
                0xef, 0x0d, 0x55, 0x2a, 0x4b, 0xf2, 0xd6, 0x93, 0xec, 0x2b, 0x6f, 0xe8, 0xb5, 0x41,
                0x1d, 0x66
            ]
        );
    }

    #[test]
    fn message_authenticator_first_then_proxy_states_in_order() {
        let auth = [9u8; 16];
        let header = RequestHeader {
            identifier: 42,
            request_authenticator: &auth,
        };
        let reply = build(2, header, &[b"one", b"two"], &[(18, b"hi")], SECRET).unwrap();
        assert_eq!(&reply[..2], &[2, 42]);
        assert_eq!(
            usize::from(u16::from_be_bytes([reply[2], reply[3]])),
            reply.len()
        );
        assert_eq!(&reply[20..22], &[80, 18]);
        assert_eq!(
            &reply[38..],
            &[
                33, 5, b'o', b'n', b'e', 33, 5, b't', b'w', b'o', 18, 4, b'h', b'i'
            ]
        );

        // Both signatures verify the way a NAS checks them.
        let mut check = reply.clone();
        check[4..20].copy_from_slice(&auth);
        assert!(message_authenticator::verify(&check, 22, SECRET));
        sign_response_authenticator(&mut check, SECRET);
        assert_eq!(check, reply);
    }

    #[test]
    fn refuses_oversized_replies() {
        let auth = [0u8; 16];
        let header = RequestHeader {
            identifier: 0,
            request_authenticator: &auth,
        };
        let long = [0u8; 254];
        assert_eq!(
            build(2, header, &[], &[(25, &long)], SECRET),
            Err(ReplyError::ValueTooLong { kind: 25, len: 254 })
        );
        let big = [0u8; 253];
        let many: Vec<(u8, &[u8])> = (0..16).map(|_| (25u8, &big[..])).collect();
        assert_eq!(
            build(2, header, &[], &many, SECRET),
            Err(ReplyError::TooLong(20 + 18 + 16 * 255))
        );
        let fits: Vec<(u8, &[u8])> = (0..15).map(|_| (25u8, &big[..])).collect();
        assert!(build(2, header, &[], &fits, SECRET).is_ok());
    }
}
