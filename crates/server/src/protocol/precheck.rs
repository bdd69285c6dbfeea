//! Checks on the raw bytes of a datagram, before any cryptography (DESIGN step 3).
//!
//! Everything here is bounds arithmetic: lengths, codes and the attribute walk. A packet that
//! passes can be handed to the codec and to HMAC without further length checks.

use super::{HEADER_LEN, MAX_PACKET_LEN, attr, code, message_authenticator};

/// What the precheck learned about a well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precheck {
    pub code: u8,
    pub identifier: u8,
    /// The Length field: the packet is `datagram[..length]`; octets after it are padding
    /// (RFC 2865 §3) and ignored.
    pub length: usize,
    pub request_authenticator: [u8; 16],
    /// Offset of the Message-Authenticator's 16-octet value, when present.
    pub message_authenticator: Option<usize>,
    pub has_proxy_state: bool,
    pub has_eap_message: bool,
    /// Where the first User-Name's value is (`offset..offset + len`), so that a line about a
    /// dropped request can name the user without decoding a packet not yet authenticated.
    pub user_name: Option<(usize, usize)>,
}

impl Precheck {
    /// The first User-Name's octets, as sent.
    pub fn user_name<'p>(&self, packet: &'p [u8]) -> Option<&'p [u8]> {
        let (offset, len) = self.user_name?;
        packet.get(offset..offset + len)
    }
}

/// Why a datagram is not a request we serve. Each is a silent drop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("datagram of {0} octets is shorter than a RADIUS header")]
    TooShort(usize),
    #[error("datagram of {0} octets is longer than 4096")]
    TooLong(usize),
    #[error("Length field {0} is outside 20..=4096")]
    BadLengthField(usize),
    #[error("Length field {length} exceeds the datagram's {datagram} octets")]
    Truncated { length: usize, datagram: usize },
    #[error("code {0} ({name}) is not served here", name = code::name(*.0))]
    UnsupportedCode(u8),
    #[error("attribute at offset {0} has length below 2")]
    AttributeTooShort(usize),
    #[error("attribute at offset {0} runs past the packet's Length")]
    AttributePastEnd(usize),
    #[error("Message-Authenticator has length {0}, not 18")]
    MessageAuthenticatorLength(usize),
    #[error("more than one Message-Authenticator")]
    DuplicateMessageAuthenticator,
    #[error("EAP-Message without Message-Authenticator (RFC 3579 §3.3)")]
    EapWithoutMessageAuthenticator,
    #[error("more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
}

/// No NAS sends this many attributes in an Access-Request; more is an attack on parsing.
pub const MAX_ATTRIBUTES: usize = 255;

/// Validate the framing of a received datagram.
pub fn precheck(datagram: &[u8]) -> Result<Precheck, Malformed> {
    if datagram.len() < HEADER_LEN {
        return Err(Malformed::TooShort(datagram.len()));
    }
    if datagram.len() > MAX_PACKET_LEN {
        return Err(Malformed::TooLong(datagram.len()));
    }
    let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(Malformed::BadLengthField(length));
    }
    if length > datagram.len() {
        return Err(Malformed::Truncated {
            length,
            datagram: datagram.len(),
        });
    }
    let packet_code = datagram[0];
    if ![
        code::ACCESS_REQUEST,
        code::STATUS_SERVER,
        code::ACCOUNTING_REQUEST,
    ]
    .contains(&packet_code)
    {
        return Err(Malformed::UnsupportedCode(packet_code));
    }
    let mut check = Precheck {
        code: packet_code,
        identifier: datagram[1],
        length,
        request_authenticator: datagram[4..HEADER_LEN].try_into().expect("16 octets"),
        message_authenticator: None,
        has_proxy_state: false,
        has_eap_message: false,
        user_name: None,
    };
    let packet = &datagram[..length];
    let mut offset = HEADER_LEN;
    let mut count = 0;
    while offset < length {
        count += 1;
        if count > MAX_ATTRIBUTES {
            return Err(Malformed::TooManyAttributes);
        }
        if length - offset < 2 {
            // A lone octet after the last attribute cannot even hold a header.
            return Err(Malformed::AttributeTooShort(offset));
        }
        let (kind, attr_len) = (packet[offset], usize::from(packet[offset + 1]));
        if attr_len < 2 {
            return Err(Malformed::AttributeTooShort(offset));
        }
        if offset + attr_len > length {
            return Err(Malformed::AttributePastEnd(offset));
        }
        match kind {
            attr::MESSAGE_AUTHENTICATOR => {
                if attr_len != message_authenticator::ATTRIBUTE_LEN {
                    return Err(Malformed::MessageAuthenticatorLength(attr_len));
                }
                if check.message_authenticator.is_some() {
                    return Err(Malformed::DuplicateMessageAuthenticator);
                }
                check.message_authenticator = Some(offset + 2);
            }
            attr::USER_NAME if check.user_name.is_none() => {
                check.user_name = Some((offset + 2, attr_len - 2));
            }
            attr::PROXY_STATE => check.has_proxy_state = true,
            attr::EAP_MESSAGE => check.has_eap_message = true,
            _ => {}
        }
        offset += attr_len;
    }
    if check.has_eap_message && check.message_authenticator.is_none() {
        return Err(Malformed::EapWithoutMessageAuthenticator);
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(code: u8, attrs: &[u8], extra_len: isize) -> Vec<u8> {
        let len = (HEADER_LEN + attrs.len()) as isize + extra_len;
        let mut p = vec![code, 7, (len >> 8) as u8, len as u8];
        p.extend([0xAA; 16]);
        p.extend_from_slice(attrs);
        p
    }

    fn ma(len: u8) -> Vec<u8> {
        let mut a = vec![80, len];
        a.resize(usize::from(len.max(2)), 0);
        a
    }

    #[test]
    fn table() {
        let user = [1u8, 7, b'a', b'l', b'i', b'c', b'e'];
        let two_ma = [ma(18), ma(18)].concat();
        let eap = [79u8, 3, 1];
        let mut oversize = packet(1, &[], 0);
        oversize.resize(4097, 0);
        let cases: Vec<(&str, Vec<u8>, Result<(), Malformed>)> = vec![
            ("minimal", packet(1, &[], 0), Ok(())),
            ("status-server", packet(12, &ma(18), 0), Ok(())),
            ("with user", packet(1, &user, 0), Ok(())),
            (
                "19 octets",
                packet(1, &[], 0)[..19].to_vec(),
                Err(Malformed::TooShort(19)),
            ),
            ("4097 octets", oversize, Err(Malformed::TooLong(4097))),
            (
                "length 19",
                packet(1, &[], -1),
                Err(Malformed::BadLengthField(19)),
            ),
            (
                "length beyond datagram",
                packet(1, &user, 1),
                Err(Malformed::Truncated {
                    length: 28,
                    datagram: 27,
                }),
            ),
            (
                "accounting response",
                packet(5, &[], 0),
                Err(Malformed::UnsupportedCode(5)),
            ),
            (
                "reply code",
                packet(2, &[], 0),
                Err(Malformed::UnsupportedCode(2)),
            ),
            (
                "attr length 0",
                packet(1, &[1, 0], 0),
                Err(Malformed::AttributeTooShort(20)),
            ),
            (
                "attr length 1",
                packet(1, &[1, 1], 0),
                Err(Malformed::AttributeTooShort(20)),
            ),
            (
                "attr past end",
                packet(1, &[1, 9, b'a'], 0),
                Err(Malformed::AttributePastEnd(20)),
            ),
            (
                "stray octet",
                packet(1, &[&user[..], &[0u8]].concat(), 0),
                Err(Malformed::AttributeTooShort(27)),
            ),
            (
                "MA of 17",
                packet(1, &ma(17), 0),
                Err(Malformed::MessageAuthenticatorLength(17)),
            ),
            (
                "two MA",
                packet(1, &two_ma, 0),
                Err(Malformed::DuplicateMessageAuthenticator),
            ),
            (
                "EAP without MA",
                packet(1, &eap, 0),
                Err(Malformed::EapWithoutMessageAuthenticator),
            ),
            (
                "EAP with MA",
                packet(1, &[&eap[..], &ma(18)].concat(), 0),
                Ok(()),
            ),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(precheck(&bytes).map(|_| ()), expected, "{name}");
        }
    }

    #[test]
    fn reports_what_it_found() {
        let mut bytes = packet(1, &[&[33u8, 4, 1, 2][..], &ma(18)].concat(), 0);
        bytes.extend([0, 0, 0]); // padding after Length is ignored
        let p = precheck(&bytes).unwrap();
        assert_eq!(p.length, bytes.len() - 3);
        assert_eq!(p.message_authenticator, Some(26));
        assert!(p.has_proxy_state);
        assert_eq!(p.identifier, 7);
        assert_eq!(p.request_authenticator, [0xAA; 16]);
        assert_eq!(p.user_name(&bytes), None);
        let named = packet(1, &[1u8, 7, b'a', b'l', b'i', b'c', b'e', 1, 3, b'x'], 0);
        let p = precheck(&named).unwrap();
        assert_eq!(p.user_name(&named), Some(&b"alice"[..]), "the first one");
    }
}
