//! PEAPv0's inner EAP (draft-kamath-pppext-peapv0, Microsoft MS-PEAP §2.2): inside the tunnel
//! packets travel without their 4-octet header (the outer packet's code and identifier stand
//! in), except Extensions (type 33) packets, which keep it. The server ends phase 2 with an
//! Extensions Request carrying a Result TLV and reads the peer's Result TLV back.
//!
//! Checked against wpa_supplicant's peer (`eap_peap_decrypt`, `eap_tlv_process`,
//! `eap_tlv_build_result` in src/eap_peer/eap_peap.c): it restores the header of what it
//! receives from the outer Request unless the data starts like a full Request of type 33 (or
//! is a 5-octet full Identity Request); it strips the header of what it sends unless it is a
//! Response of type 33; its Result TLV is `80 03 00 02` and a 2-octet status.

use std::fmt;

use super::packet::{Code, HEADER_LEN, types};

/// The Result TLV's type (MS-PEAP §2.2.8.1); with the M bit, `0x8003`.
pub const RESULT_TLV: u16 = 3;
/// A NAK TLV, sent by a peer that does not understand a mandatory TLV of ours.
pub const NAK_TLV: u16 = 4;
/// The Crypto-Binding TLV, which radotp does not request (the MSK is then the TLS one).
pub const CRYPTO_BINDING_TLV: u16 = 12;
/// M: the receiver must understand the TLV.
pub const TLV_MANDATORY: u16 = 0x8000;
/// The type is the low 14 bits (the next bit is reserved).
pub const TLV_TYPE_MASK: u16 = 0x3fff;
pub const RESULT_SUCCESS: u16 = 1;
pub const RESULT_FAILURE: u16 = 2;

/// An inner packet out of the tunnel. `Debug` shows the length of the type data only: a GTC
/// response holds the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Inner {
    pub eap_type: u8,
    pub type_data: Vec<u8>,
    /// It came with its 4-octet header (only Extensions packets do).
    pub full_header: bool,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("eap_type", &self.eap_type)
            .field("type_data_len", &self.type_data.len())
            .field("full_header", &self.full_header)
            .finish()
    }
}

/// Why tunnel data is not a PEAPv0 inner packet or an acceptable Result.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PeapError {
    #[error("empty inner PEAP packet")]
    Empty,
    #[error("TLV at octet {offset} of the Extensions packet is cut short")]
    TruncatedTlv { offset: usize },
    #[error("peer sent mandatory TLV {0} that radotp does not know")]
    UnknownMandatoryTlv(u16),
    #[error("peer refused one of our TLVs (NAK TLV)")]
    Nak,
    #[error("Extensions response without a Result TLV")]
    NoResult,
    #[error("Extensions response with more than one Result TLV")]
    DuplicateResult,
    #[error("Result TLV with status {0} (1 is success, 2 failure)")]
    BadResult(u16),
    #[error("Result TLV of {0} octets (must be 2)")]
    BadResultLength(usize),
}

/// An inner packet as it travels in PEAPv0: type and type data, with the header only when
/// `eap_type` is Extensions (`identifier` and `code` are otherwise carried by the outer packet).
pub fn encode_inner(identifier: u8, code: Code, eap_type: u8, type_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 1 + type_data.len());
    if eap_type == types::EXTENSIONS {
        let length = u16::try_from(HEADER_LEN + 1 + type_data.len()).unwrap_or(u16::MAX);
        out.push(code as u8);
        out.push(identifier);
        out.extend_from_slice(&length.to_be_bytes());
    }
    out.push(eap_type);
    out.extend_from_slice(type_data);
    out
}

/// What came out of the tunnel: a full Extensions packet (code 1 or 2, Length equal to the
/// data's length, type 33), else a header-less type and type data.
pub fn decode_inner(bytes: &[u8]) -> Result<Inner, PeapError> {
    if let [1 | 2, _identifier, high, low, types::EXTENSIONS, rest @ ..] = bytes
        && usize::from(u16::from_be_bytes([*high, *low])) == bytes.len()
    {
        return Ok(Inner {
            eap_type: types::EXTENSIONS,
            type_data: rest.to_vec(),
            full_header: true,
        });
    }
    let (&eap_type, type_data) = bytes.split_first().ok_or(PeapError::Empty)?;
    Ok(Inner {
        eap_type,
        type_data: type_data.to_vec(),
        full_header: false,
    })
}

/// The Result TLV: M bit, type 3, length 2, status.
fn result_tlv(success: bool) -> [u8; 6] {
    let [t0, t1] = (TLV_MANDATORY | RESULT_TLV).to_be_bytes();
    let status = if success {
        RESULT_SUCCESS
    } else {
        RESULT_FAILURE
    };
    let [s0, s1] = status.to_be_bytes();
    [t0, t1, 0, 2, s0, s1]
}

/// A full EAP Request/Extensions with the Result TLV, to send inside the tunnel.
pub fn result_request(identifier: u8, success: bool) -> Vec<u8> {
    encode_inner(
        identifier,
        Code::Request,
        types::EXTENSIONS,
        &result_tlv(success),
    )
}

/// The Result of an Extensions response's type data: `true` for success, `false` for
/// failure. Unknown TLVs without the M bit (such as a Crypto-Binding TLV we did not ask for)
/// are skipped; a mandatory unknown one, or a NAK TLV, is an error.
pub fn result_response(type_data: &[u8]) -> Result<bool, PeapError> {
    let mut result = None;
    let mut offset = 0;
    while offset < type_data.len() {
        let Some(header) = type_data[offset..].first_chunk::<4>() else {
            return Err(PeapError::TruncatedTlv { offset });
        };
        let tlv_type = u16::from_be_bytes([header[0], header[1]]);
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let Some(value) = type_data.get(offset + 4..offset + 4 + length) else {
            return Err(PeapError::TruncatedTlv { offset });
        };
        match tlv_type & TLV_TYPE_MASK {
            RESULT_TLV => {
                let status = <[u8; 2]>::try_from(value)
                    .map_err(|_| PeapError::BadResultLength(value.len()))?;
                if result.replace(u16::from_be_bytes(status)).is_some() {
                    return Err(PeapError::DuplicateResult);
                }
            }
            NAK_TLV => return Err(PeapError::Nak),
            other if tlv_type & TLV_MANDATORY != 0 => {
                return Err(PeapError::UnknownMandatoryTlv(other));
            }
            _ => {}
        }
        offset += 4 + length;
    }
    match result.ok_or(PeapError::NoResult)? {
        RESULT_SUCCESS => Ok(true),
        RESULT_FAILURE => Ok(false),
        other => Err(PeapError::BadResult(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wpa_supplicant's eap_tlv_build_result, as it goes into the tunnel: a full Response
    /// header (it keeps the header for type 33), `80 03 00 02`, the status.
    fn wpa_supplicant_result(identifier: u8, status: u16) -> Vec<u8> {
        let [s0, s1] = status.to_be_bytes();
        vec![2, identifier, 0, 11, 33, 0x80, 0x03, 0, 2, s0, s1]
    }

    #[test]
    fn result_request_is_what_wpa_supplicant_parses() {
        assert_eq!(
            result_request(9, true),
            [1, 9, 0, 11, 33, 0x80, 0x03, 0x00, 0x02, 0x00, 0x01]
        );
        assert_eq!(result_request(10, false)[9..], [0, 2]);
        // The peer keeps the header because the data starts as a Request of type 33.
        let bytes = result_request(9, true);
        assert!(bytes.len() >= 5 && bytes[0] == 1 && bytes[4] == types::EXTENSIONS);
    }

    #[test]
    fn other_inner_packets_go_without_header() {
        assert_eq!(
            encode_inner(3, Code::Request, types::IDENTITY, b""),
            [types::IDENTITY]
        );
        assert_eq!(
            encode_inner(4, Code::Request, types::GTC, b"Password: "),
            [&[types::GTC][..], b"Password: "].concat()
        );
    }

    #[test]
    fn decodes_what_wpa_supplicant_sends() {
        // Identity and GTC responses: the header stripped, type first.
        let identity = decode_inner(b"\x01alice").unwrap();
        assert_eq!(
            (identity.eap_type, identity.full_header),
            (types::IDENTITY, false)
        );
        assert_eq!(identity.type_data, b"alice");
        let gtc = decode_inner(b"\x06hunter2 123456").unwrap();
        assert_eq!(
            (gtc.eap_type, gtc.type_data.as_slice()),
            (6, &b"hunter2 123456"[..])
        );
        assert!(!format!("{gtc:?}").contains("104"));
        // The Result answer: full header.
        let result = decode_inner(&wpa_supplicant_result(9, RESULT_SUCCESS)).unwrap();
        assert_eq!(
            (result.eap_type, result.full_header),
            (types::EXTENSIONS, true)
        );
        assert_eq!(result_response(&result.type_data), Ok(true));
        let failure = decode_inner(&wpa_supplicant_result(9, RESULT_FAILURE)).unwrap();
        assert_eq!(result_response(&failure.type_data), Ok(false));
        // A Nak of the inner method (peer not configured for GTC): header-less type 3.
        let nak = decode_inner(&[types::NAK, types::MSCHAPV2]).unwrap();
        assert_eq!((nak.eap_type, nak.type_data.as_slice()), (3, &[26u8][..]));
        assert_eq!(decode_inner(&[]), Err(PeapError::Empty));
    }

    #[test]
    fn a_header_whose_length_disagrees_is_header_less_data() {
        // Starts like an Extensions packet but Length says otherwise.
        let inner = decode_inner(&[2, 9, 0, 99, 33, 0x80, 3, 0, 2, 0, 1]).unwrap();
        assert_eq!((inner.eap_type, inner.full_header), (2, false));
    }

    #[test]
    fn result_response_skips_optional_tlvs_and_refuses_bad_ones() {
        let crypto_binding = [&[0x00, 0x0c, 0x00, 56][..], &[0; 56]].concat();
        let with_binding = [&result_tlv(true)[..], &crypto_binding].concat();
        assert_eq!(result_response(&with_binding), Ok(true));

        let cases: [(&[u8], PeapError); 8] = [
            (&[], PeapError::NoResult),
            (&[0x80, 0x03, 0x00], PeapError::TruncatedTlv { offset: 0 }),
            (
                &[0x80, 0x03, 0x00, 0x02, 0x00],
                PeapError::TruncatedTlv { offset: 0 },
            ),
            (
                &[0x80, 0x03, 0x00, 0x01, 0x01],
                PeapError::BadResultLength(1),
            ),
            (
                &[0x80, 0x03, 0x00, 0x02, 0x00, 0x07],
                PeapError::BadResult(7),
            ),
            (&[0x80, 0x09, 0x00, 0x00], PeapError::UnknownMandatoryTlv(9)),
            (
                &[0x80, 0x04, 0x00, 0x06, 0, 0, 0, 0, 0x80, 0x03],
                PeapError::Nak,
            ),
            (
                &[
                    0x80, 0x03, 0x00, 0x02, 0x00, 0x01, 0x80, 0x03, 0x00, 0x02, 0x00, 0x01,
                ],
                PeapError::DuplicateResult,
            ),
        ];
        for (data, error) in cases {
            assert_eq!(result_response(data), Err(error), "{data:?}");
        }
        // The reserved bit does not change the type.
        assert_eq!(
            result_response(&[0xc0, 0x03, 0x00, 0x02, 0x00, 0x02]),
            Ok(false)
        );
    }
}
