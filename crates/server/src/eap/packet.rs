//! The EAP packet (RFC 3748 §4) and its carriage over RADIUS: one EAP packet split across
//! consecutive EAP-Message attributes of at most 253 octets each (RFC 3579 §3.1).

/// The Code field (RFC 3748 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Request = 1,
    Response = 2,
    Success = 3,
    Failure = 4,
}

impl Code {
    /// The code for an octet, or `None` for the values RFC 3748 does not define.
    pub fn from_u8(octet: u8) -> Option<Code> {
        match octet {
            1 => Some(Code::Request),
            2 => Some(Code::Response),
            3 => Some(Code::Success),
            4 => Some(Code::Failure),
            _ => None,
        }
    }

    /// Request and Response carry a Type; Success and Failure carry nothing.
    pub fn has_type(self) -> bool {
        matches!(self, Code::Request | Code::Response)
    }
}

/// The Type numbers radotp names (IANA "Method Types").
pub mod types {
    pub const IDENTITY: u8 = 1;
    pub const NOTIFICATION: u8 = 2;
    pub const NAK: u8 = 3;
    pub const MD5: u8 = 4;
    pub const GTC: u8 = 6;
    pub const TLS: u8 = 13;
    pub const TTLS: u8 = 21;
    pub const PEAP: u8 = 25;
    pub const MSCHAPV2: u8 = 26;
    pub const EXTENSIONS: u8 = 33;
    pub const EXPANDED: u8 = 254;
}

/// Code, Identifier and Length.
pub const HEADER_LEN: usize = 4;

/// The largest packet the Length field can describe. Callers bound what they accept further.
pub const MAX_LEN: usize = 65535;

/// The most an EAP-Message attribute carries (RFC 3579 §3.1: 255 minus type and length).
pub const RADIUS_CHUNK: usize = 253;

/// An EAP packet. `Debug` shows its type and length, never its data: an inner EAP-GTC
/// Response carries the password and code.
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub identifier: u8,
    /// Type and type data (Request/Response); empty for Success/Failure
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("code", &self.code)
            .field("identifier", &self.identifier)
            .field("type", &self.eap_type())
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Why bytes are not an EAP packet. Nothing here quotes the packet's contents.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PacketError {
    #[error("EAP packet shorter than its 4-octet header")]
    TooShort,
    #[error("EAP Length field says {field} octets but the packet has {actual}")]
    LengthMismatch { field: usize, actual: usize },
    #[error("EAP code {0} is not Request, Response, Success or Failure")]
    UnknownCode(u8),
    #[error("EAP Request or Response without a Type octet")]
    NoType,
    #[error("EAP Success or Failure of {0} octets (must be exactly 4)")]
    DataOnSuccessOrFailure(usize),
    #[error("EAP packet longer than the 65535 octets its Length field can say")]
    TooLong,
}

impl Packet {
    /// Parse exactly one packet. RFC 3579 §3.1 joins the EAP-Message attributes into exactly
    /// one packet, so octets after Length are refused rather than ignored.
    pub fn parse(bytes: &[u8]) -> Result<Packet, PacketError> {
        let Some((header, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(PacketError::TooShort);
        };
        if bytes.len() > MAX_LEN {
            return Err(PacketError::TooLong);
        }
        let code = Code::from_u8(header[0]).ok_or(PacketError::UnknownCode(header[0]))?;
        let field = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if field != bytes.len() {
            return Err(PacketError::LengthMismatch {
                field,
                actual: bytes.len(),
            });
        }
        match code {
            Code::Request | Code::Response if rest.is_empty() => Err(PacketError::NoType),
            Code::Success | Code::Failure if !rest.is_empty() => {
                Err(PacketError::DataOnSuccessOrFailure(bytes.len()))
            }
            _ => Ok(Packet {
                code,
                identifier: header[1],
                data: rest.to_vec(),
            }),
        }
    }

    /// The packet on the wire. `data` longer than [`MAX_LEN`] − 4 is a caller's bug (our own
    /// packets are built from bounded fragments); the Length field then saturates.
    pub fn encode(&self) -> Vec<u8> {
        let len = HEADER_LEN + self.data.len();
        debug_assert!(len <= MAX_LEN, "EAP packet of {len} octets");
        let field = u16::try_from(len).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(len);
        out.push(self.code as u8);
        out.push(self.identifier);
        out.extend_from_slice(&field.to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// The Type of a Request or Response.
    pub fn eap_type(&self) -> Option<u8> {
        if self.code.has_type() {
            self.data.first().copied()
        } else {
            None
        }
    }

    /// What follows the Type octet (empty for Success/Failure).
    pub fn type_data(&self) -> &[u8] {
        self.data.get(1..).unwrap_or(&[])
    }

    pub fn request(identifier: u8, eap_type: u8, type_data: &[u8]) -> Packet {
        Packet::typed(Code::Request, identifier, eap_type, type_data)
    }

    /// A Response, as a peer sends it (for tests and for replies we build inside tunnels).
    pub fn response(identifier: u8, eap_type: u8, type_data: &[u8]) -> Packet {
        Packet::typed(Code::Response, identifier, eap_type, type_data)
    }

    pub fn success(identifier: u8) -> Packet {
        Packet {
            code: Code::Success,
            identifier,
            data: Vec::new(),
        }
    }

    pub fn failure(identifier: u8) -> Packet {
        Packet {
            code: Code::Failure,
            identifier,
            data: Vec::new(),
        }
    }

    fn typed(code: Code, identifier: u8, eap_type: u8, type_data: &[u8]) -> Packet {
        let mut data = Vec::with_capacity(1 + type_data.len());
        data.push(eap_type);
        data.extend_from_slice(type_data);
        Packet {
            code,
            identifier,
            data,
        }
    }
}

/// The types a Nak (type 3) response asks for instead (its type data), empty if none.
/// RFC 3748 §5.3.1: a single 0 means "no alternative".
pub fn nak_desired(type_data: &[u8]) -> &[u8] {
    if type_data == [0] { &[] } else { type_data }
}

/// An EAP packet cut into EAP-Message attribute values of at most 253 octets (RFC 3579 §3.1).
pub fn split_for_radius(eap: &[u8]) -> Vec<&[u8]> {
    eap.chunks(RADIUS_CHUNK).collect()
}

/// The EAP packet carried by consecutive EAP-Message attributes, in their order.
pub fn join_from_radius(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_data() {
        let gtc = Packet::response(3, types::GTC, b"hunter2123456");
        let shown = format!("{gtc:?}");
        assert!(shown.contains("data_len: 14"), "{shown}");
        assert!(
            !shown.contains("hunter") && !shown.contains("104"),
            "{shown}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_code() {
        for packet in [
            Packet::request(7, types::IDENTITY, b""),
            Packet::response(7, types::IDENTITY, b"alice"),
            Packet::request(200, types::TTLS, &[0x20]),
            Packet::success(9),
            Packet::failure(255),
        ] {
            assert_eq!(Packet::parse(&packet.encode()).unwrap(), packet);
        }
    }

    #[test]
    fn encodes_rfc3748_layout() {
        // Response/Identity "bob", identifier 3: 02 03 00 08 01 'b' 'o' 'b'.
        let bytes = Packet::response(3, types::IDENTITY, b"bob").encode();
        assert_eq!(bytes, [2, 3, 0, 8, 1, b'b', b'o', b'b']);
        let packet = Packet::parse(&bytes).unwrap();
        assert_eq!(packet.eap_type(), Some(types::IDENTITY));
        assert_eq!(packet.type_data(), b"bob");
        assert_eq!(Packet::success(4).encode(), [3, 4, 0, 4]);
        assert_eq!(Packet::success(4).eap_type(), None);
        assert_eq!(Packet::success(4).type_data(), b"");
    }

    #[test]
    fn refuses_malformed_packets() {
        let cases: [(&[u8], PacketError); 9] = [
            (&[], PacketError::TooShort),
            (&[1, 1, 0], PacketError::TooShort),
            (&[0, 1, 0, 5, 1], PacketError::UnknownCode(0)),
            (&[5, 1, 0, 4], PacketError::UnknownCode(5)),
            (&[1, 1, 0, 4], PacketError::NoType),
            (&[2, 1, 0, 4], PacketError::NoType),
            (
                &[2, 1, 0, 3, 1],
                PacketError::LengthMismatch {
                    field: 3,
                    actual: 5,
                },
            ),
            (
                // Trailing octet after Length: RFC 3579 joins exactly one packet.
                &[2, 1, 0, 5, 1, 0],
                PacketError::LengthMismatch {
                    field: 5,
                    actual: 6,
                },
            ),
            (&[3, 1, 0, 5, 0], PacketError::DataOnSuccessOrFailure(5)),
        ];
        for (bytes, error) in cases {
            assert_eq!(Packet::parse(bytes), Err(error), "{bytes:?}");
        }
        let short = [2, 1, 0, 9, 1];
        assert_eq!(
            Packet::parse(&short),
            Err(PacketError::LengthMismatch {
                field: 9,
                actual: 5
            })
        );
        let mut huge = vec![2, 1, 0xff, 0xff];
        huge.resize(MAX_LEN + 1, 0);
        assert_eq!(Packet::parse(&huge), Err(PacketError::TooLong));
    }

    #[test]
    fn largest_packet_parses() {
        let packet = Packet::request(1, types::TTLS, &vec![0; MAX_LEN - 5]);
        let bytes = packet.encode();
        assert_eq!(bytes.len(), MAX_LEN);
        assert_eq!(Packet::parse(&bytes).unwrap(), packet);
    }

    #[test]
    fn nak_lists_desired_types() {
        assert_eq!(nak_desired(&[types::TTLS, types::PEAP]), [21, 25]);
        assert_eq!(nak_desired(&[0]), b"");
        assert_eq!(nak_desired(&[]), b"");
    }

    #[test]
    fn splits_and_joins_eap_message_attributes() {
        for len in [0usize, 1, 253, 254, 506, 1000] {
            let eap: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let parts = split_for_radius(&eap);
            assert_eq!(parts.len(), len.div_ceil(RADIUS_CHUNK));
            assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= 253));
            assert_eq!(join_from_radius(&parts), eap);
        }
    }
}
