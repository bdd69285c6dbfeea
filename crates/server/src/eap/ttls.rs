//! What travels inside the EAP-TTLS tunnel: Diameter-style AVPs (RFC 5281 §10) and the one
//! inner method radotp takes, PAP (§11.2.5): a User-Name and a User-Password AVP.

use std::fmt;

use crate::secret::SecretBytes;

/// V: a Vendor-ID follows the length.
pub const FLAG_VENDOR: u8 = 0x80;
/// M: the receiver must understand this AVP or refuse the whole message (RFC 5281 §10.1).
pub const FLAG_MANDATORY: u8 = 0x40;

pub const USER_NAME: u32 = 1;
pub const USER_PASSWORD: u32 = 2;
pub const CHAP_PASSWORD: u32 = 3;
pub const REPLY_MESSAGE: u32 = 18;
pub const CHAP_CHALLENGE: u32 = 60;
pub const EAP_MESSAGE: u32 = 79;
/// Microsoft's vendor number, for the MS-CHAP AVPs (RFC 2548).
pub const VENDOR_MICROSOFT: u32 = 311;
pub const MS_CHAP_RESPONSE: u32 = 1;
pub const MS_CHAP_CHALLENGE: u32 = 11;
pub const MS_CHAP2_RESPONSE: u32 = 25;

/// A tunnel message holds a handful of AVPs; more is not a PAP request.
pub const MAX_AVPS: usize = 64;
/// RFC 2865 §5.1 and §5.2.
pub const MAX_USER_NAME: usize = 253;
pub const MAX_PASSWORD: usize = 128;

/// One AVP, borrowed from the decrypted tunnel data. `Debug` shows the data's length only,
/// since a User-Password AVP holds the password.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Avp<'a> {
    pub code: u32,
    pub vendor: Option<u32>,
    pub mandatory: bool,
    pub data: &'a [u8],
}

impl fmt::Debug for Avp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Avp")
            .field("code", &self.code)
            .field("vendor", &self.vendor)
            .field("mandatory", &self.mandatory)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Why tunnel data is not a PAP request. Safe to log: never holds data octets.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AvpError {
    #[error("AVP header at octet {offset} of the tunnel data is cut short")]
    Truncated { offset: usize },
    #[error(
        "AVP {code} at octet {offset} has length {length}, shorter than its header or past the end"
    )]
    BadLength {
        code: u32,
        offset: usize,
        length: usize,
    },
    #[error("more than {MAX_AVPS} AVPs in one tunnel message")]
    TooMany,
    #[error("inner {0} not supported: radotp takes PAP inside TTLS")]
    UnsupportedInner(&'static str),
    #[error("AVP {code}{} has the M bit set and radotp does not know it (RFC 5281 §10.1)", vendor_suffix(.vendor))]
    UnknownMandatory { code: u32, vendor: Option<u32> },
    #[error("inner PAP request has more than one {0}")]
    Duplicate(&'static str),
    #[error("inner PAP request has no User-Name")]
    NoUserName,
    #[error("inner PAP request has no User-Password")]
    NoUserPassword,
    #[error("inner User-Name is {0}")]
    BadUserName(&'static str),
    #[error("inner User-Password is {0}")]
    BadUserPassword(&'static str),
}

fn vendor_suffix(vendor: &Option<u32>) -> String {
    vendor.map_or_else(String::new, |v| format!(" (vendor {v})"))
}

fn header_len(vendor: bool) -> usize {
    if vendor { 12 } else { 8 }
}

/// Every AVP in `bytes`, in order. The last may lack its padding (RFC 5281 §10.2 pads
/// between AVPs; peers differ on the last).
pub fn parse_avps(bytes: &[u8]) -> Result<Vec<Avp<'_>>, AvpError> {
    let mut avps = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        if avps.len() == MAX_AVPS {
            return Err(AvpError::TooMany);
        }
        let rest = &bytes[offset..];
        let Some(header) = rest.first_chunk::<8>() else {
            return Err(AvpError::Truncated { offset });
        };
        let code = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let flags = header[4];
        let length =
            usize::from(header[5]) << 16 | usize::from(header[6]) << 8 | usize::from(header[7]);
        let has_vendor = flags & FLAG_VENDOR != 0;
        let data_start = header_len(has_vendor);
        if length < data_start || length > rest.len() {
            return Err(AvpError::BadLength {
                code,
                offset,
                length,
            });
        }
        let vendor = has_vendor.then(|| u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]));
        avps.push(Avp {
            code,
            vendor,
            mandatory: flags & FLAG_MANDATORY != 0,
            data: &rest[data_start..length],
        });
        // Past the padding, or to the end when the last AVP's padding was left off.
        offset = (offset + length.div_ceil(4) * 4).min(bytes.len());
    }
    Ok(avps)
}

/// One AVP with its padding to a multiple of 4 (not counted in its length). `data` is ours
/// and short (a Reply-Message, an EAP packet); lengths over 24 bits are a caller's bug.
pub fn encode_avp(code: u32, vendor: Option<u32>, mandatory: bool, data: &[u8]) -> Vec<u8> {
    let length = header_len(vendor.is_some()) + data.len();
    debug_assert!(length < 1 << 24, "AVP of {length} octets");
    let mut flags = 0;
    if vendor.is_some() {
        flags |= FLAG_VENDOR;
    }
    if mandatory {
        flags |= FLAG_MANDATORY;
    }
    let mut out = Vec::with_capacity(length.div_ceil(4) * 4);
    out.extend_from_slice(&code.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
    if let Some(vendor) = vendor {
        out.extend_from_slice(&vendor.to_be_bytes());
    }
    out.extend_from_slice(data);
    out.resize(length.div_ceil(4) * 4, 0);
    out
}

/// The user name and password of an inner PAP request.
#[derive(Clone, Debug)]
pub struct PapCredentials {
    pub user_name: String,
    pub password: SecretBytes,
}

/// The inner method an AVP belongs to, when it is one radotp refuses.
fn unsupported_inner(avp: &Avp<'_>) -> Option<&'static str> {
    match (avp.vendor, avp.code) {
        (None, EAP_MESSAGE) => Some("EAP"),
        (None, CHAP_PASSWORD | CHAP_CHALLENGE) => Some("CHAP"),
        (Some(VENDOR_MICROSOFT), MS_CHAP_RESPONSE) => Some("MS-CHAP"),
        (Some(VENDOR_MICROSOFT), MS_CHAP2_RESPONSE) => Some("MS-CHAP-V2"),
        (Some(VENDOR_MICROSOFT), MS_CHAP_CHALLENGE) => Some("MS-CHAP"),
        _ => None,
    }
}

/// The inner PAP request: exactly one User-Name (UTF-8, 1..=253 octets) and one
/// User-Password (sent NUL-padded to a multiple of 16; the padding is removed, leaving
/// 1..=128 octets). Unknown AVPs are ignored unless their M bit is set.
pub fn pap_credentials(avps: &[Avp<'_>]) -> Result<PapCredentials, AvpError> {
    let mut user_name = None;
    let mut password = None;
    for avp in avps {
        if let Some(method) = unsupported_inner(avp) {
            return Err(AvpError::UnsupportedInner(method));
        }
        let slot = match (avp.vendor, avp.code) {
            (None, USER_NAME) => &mut user_name,
            (None, USER_PASSWORD) => &mut password,
            (vendor, code) if avp.mandatory => {
                return Err(AvpError::UnknownMandatory { code, vendor });
            }
            _ => continue,
        };
        if slot.replace(avp.data).is_some() {
            let name = if avp.code == USER_NAME {
                "User-Name"
            } else {
                "User-Password"
            };
            return Err(AvpError::Duplicate(name));
        }
    }
    let user_name = user_name.ok_or(AvpError::NoUserName)?;
    let password = password.ok_or(AvpError::NoUserPassword)?;
    if user_name.is_empty() {
        return Err(AvpError::BadUserName("empty"));
    }
    if user_name.len() > MAX_USER_NAME {
        return Err(AvpError::BadUserName("longer than 253 octets"));
    }
    let user_name = std::str::from_utf8(user_name)
        .map_err(|_| AvpError::BadUserName("not UTF-8"))?
        .to_owned();
    let end = password.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let password = &password[..end];
    if password.is_empty() {
        return Err(AvpError::BadUserPassword("empty"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AvpError::BadUserPassword("longer than 128 octets"));
    }
    Ok(PapCredentials {
        user_name,
        password: SecretBytes::from(password),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What wpa_supplicant's eap_ttls_phase2_request_pap sends: User-Name then User-Password,
    /// both with M set, the password NUL-padded to a multiple of 16 (16 NULs when empty).
    fn wpa_supplicant_pap(identity: &[u8], password: &[u8]) -> Vec<u8> {
        let pad = if password.is_empty() {
            16
        } else {
            (16 - password.len() % 16) % 16
        };
        let padded = [password, &vec![0; pad]].concat();
        [
            encode_avp(USER_NAME, None, true, identity),
            encode_avp(USER_PASSWORD, None, true, &padded),
        ]
        .concat()
    }

    #[test]
    fn encodes_rfc5281_layout() {
        assert_eq!(
            encode_avp(USER_NAME, None, true, b"bob"),
            [0, 0, 0, 1, 0x40, 0, 0, 11, b'b', b'o', b'b', 0]
        );
        assert_eq!(
            encode_avp(MS_CHAP2_RESPONSE, Some(VENDOR_MICROSOFT), false, &[9; 4]),
            [0, 0, 0, 25, 0x80, 0, 0, 16, 0, 0, 1, 55, 9, 9, 9, 9]
        );
    }

    #[test]
    fn round_trips_avps_with_and_without_vendor() {
        let bytes = [
            encode_avp(USER_NAME, None, true, b"alice"),
            encode_avp(MS_CHAP_CHALLENGE, Some(VENDOR_MICROSOFT), true, &[1; 16]),
            encode_avp(REPLY_MESSAGE, None, false, b""),
        ]
        .concat();
        let avps = parse_avps(&bytes).unwrap();
        assert_eq!(avps.len(), 3);
        assert_eq!(
            (avps[0].code, avps[0].vendor, avps[0].mandatory),
            (1, None, true)
        );
        assert_eq!(avps[0].data, b"alice");
        assert_eq!((avps[1].code, avps[1].vendor), (11, Some(311)));
        assert_eq!(avps[1].data, [1; 16]);
        assert_eq!(
            (avps[2].code, avps[2].mandatory, avps[2].data),
            (18, false, &b""[..])
        );
    }

    #[test]
    fn last_avp_may_lack_padding() {
        let mut bytes = encode_avp(USER_NAME, None, true, b"bob");
        bytes.pop();
        assert_eq!(parse_avps(&bytes).unwrap()[0].data, b"bob");
    }

    #[test]
    fn malformed_avps_are_refused() {
        assert_eq!(
            parse_avps(&[0, 0, 0, 1, 0x40, 0, 0]),
            Err(AvpError::Truncated { offset: 0 })
        );
        let short = [0, 0, 0, 1, 0x40, 0, 0, 7];
        assert!(matches!(
            parse_avps(&short),
            Err(AvpError::BadLength { length: 7, .. })
        ));
        let vendor_short = [0, 0, 0, 1, 0xc0, 0, 0, 8, 0, 0, 0, 0];
        assert!(matches!(
            parse_avps(&vendor_short),
            Err(AvpError::BadLength { length: 8, .. })
        ));
        let past_end = [0, 0, 0, 1, 0x40, 0, 0, 20, 1, 2];
        assert!(matches!(
            parse_avps(&past_end),
            Err(AvpError::BadLength { length: 20, .. })
        ));
        let mut second_cut = encode_avp(USER_NAME, None, true, b"bob");
        second_cut.extend_from_slice(&[0, 0]);
        assert_eq!(
            parse_avps(&second_cut),
            Err(AvpError::Truncated { offset: 12 })
        );
        let many: Vec<u8> = (0..=MAX_AVPS)
            .flat_map(|_| encode_avp(REPLY_MESSAGE, None, false, b""))
            .collect();
        assert_eq!(parse_avps(&many), Err(AvpError::TooMany));
        assert_eq!(parse_avps(&[]), Ok(vec![]));
    }

    #[test]
    fn reads_what_wpa_supplicant_sends() {
        for password in [
            &b"s3cret"[..],
            &[b'x'; 16],
            &[b'y'; 17],
            b"pass\xc3\xa9123456",
        ] {
            let bytes = wpa_supplicant_pap(b"alice@example.org", password);
            let credentials = pap_credentials(&parse_avps(&bytes).unwrap()).unwrap();
            assert_eq!(credentials.user_name, "alice@example.org");
            assert_eq!(credentials.password.expose(), password);
        }
    }

    #[test]
    fn ignores_unknown_optional_avps_and_refuses_unknown_mandatory_ones() {
        let extra = encode_avp(4242, None, false, b"whatever");
        let bytes = [extra, wpa_supplicant_pap(b"bob", b"pw")].concat();
        assert!(pap_credentials(&parse_avps(&bytes).unwrap()).is_ok());

        let mandatory = encode_avp(4242, Some(9), true, b"whatever");
        let bytes = [wpa_supplicant_pap(b"bob", b"pw"), mandatory].concat();
        let error = pap_credentials(&parse_avps(&bytes).unwrap()).unwrap_err();
        assert_eq!(
            error,
            AvpError::UnknownMandatory {
                code: 4242,
                vendor: Some(9)
            }
        );
        assert_eq!(
            error.to_string(),
            "AVP 4242 (vendor 9) has the M bit set and radotp does not know it (RFC 5281 §10.1)"
        );
    }

    #[test]
    fn other_inner_methods_are_named() {
        let eap = encode_avp(
            EAP_MESSAGE,
            None,
            true,
            &[2, 0, 0, 9, 1, b'b', b'o', b'b', 0],
        );
        let chap = encode_avp(CHAP_PASSWORD, None, true, &[1; 17]);
        let mschapv2 = encode_avp(MS_CHAP2_RESPONSE, Some(VENDOR_MICROSOFT), true, &[0; 50]);
        for (avp, method) in [(eap, "EAP"), (chap, "CHAP"), (mschapv2, "MS-CHAP-V2")] {
            let bytes = [encode_avp(USER_NAME, None, true, b"bob"), avp].concat();
            let error = pap_credentials(&parse_avps(&bytes).unwrap()).unwrap_err();
            assert_eq!(error, AvpError::UnsupportedInner(method));
            assert_eq!(
                error.to_string(),
                format!("inner {method} not supported: radotp takes PAP inside TTLS")
            );
        }
    }

    #[test]
    fn pap_errors_name_the_problem_and_never_the_password() {
        let name = encode_avp(USER_NAME, None, true, b"bob");
        let password = encode_avp(USER_PASSWORD, None, true, b"hunter2\0\0\0\0\0\0\0\0\0");
        let cases: Vec<(Vec<u8>, AvpError)> = vec![
            (password.clone(), AvpError::NoUserName),
            (name.clone(), AvpError::NoUserPassword),
            (
                [name.clone(), name.clone(), password.clone()].concat(),
                AvpError::Duplicate("User-Name"),
            ),
            (
                [name.clone(), password.clone(), password.clone()].concat(),
                AvpError::Duplicate("User-Password"),
            ),
            (
                wpa_supplicant_pap(b"", b"pw"),
                AvpError::BadUserName("empty"),
            ),
            (
                wpa_supplicant_pap(&[b'a'; 254], b"pw"),
                AvpError::BadUserName("longer than 253 octets"),
            ),
            (
                wpa_supplicant_pap(b"\xff", b"pw"),
                AvpError::BadUserName("not UTF-8"),
            ),
            (
                wpa_supplicant_pap(b"bob", b""),
                AvpError::BadUserPassword("empty"),
            ),
            (
                wpa_supplicant_pap(b"bob", &[b'p'; 129]),
                AvpError::BadUserPassword("longer than 128 octets"),
            ),
        ];
        for (bytes, expected) in cases {
            let error = pap_credentials(&parse_avps(&bytes).unwrap()).unwrap_err();
            assert_eq!(error, expected);
            assert!(!error.to_string().contains("hunter2"));
        }
        let credentials =
            pap_credentials(&parse_avps(&[name, password].concat()).unwrap()).unwrap();
        assert!(!format!("{credentials:?}").contains("hunter2"));
        let bytes = wpa_supplicant_pap(b"bob", b"hunter2");
        let avps = parse_avps(&bytes).unwrap();
        assert!(!format!("{avps:?}").contains("104, 117"));
    }
}
