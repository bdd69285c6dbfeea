//! Step 7: the attributes of an authenticated Access-Request — exactly one User-Name, at most
//! one State, the User-Password decrypted (RFC 2865 §5.2) — or which method it uses instead,
//! named, when it carries no password radotp can check.

use radius::core::packet::Packet;
use radius::core::rfc2865;

use super::outcome::DropReason;
use crate::auth::Unsupported;
use crate::protocol::{attr, password};
use crate::secret::SecretBytes;

/// RFC 2548: Microsoft's vendor number and its MS-CHAP attributes.
const MICROSOFT: u32 = 311;
const MS_CHAP_RESPONSE: u8 = 1;
const MS_CHAP_CHALLENGE: u8 = 11;
const MS_CHAP2_RESPONSE: u8 = 25;

/// What the Access-Request asks.
#[derive(Debug)]
pub(crate) struct AccessRequest {
    pub user_name: String,
    /// The decrypted User-Password, or the method radotp cannot check.
    pub password: Result<SecretBytes, Unsupported>,
    /// State, when this request answers an Access-Challenge.
    pub state: Option<Vec<u8>>,
    pub proxy_states: Vec<Vec<u8>>,
    /// The Calling-Station-Id (RFC 2865 §5.31), printable, at most `MAX_STATION_LEN` octets.
    pub calling_station_id: Option<String>,
    /// The EAP packet, its EAP-Message attributes joined in order (RFC 3579 §3.1).
    pub eap: Option<Vec<u8>>,
}

/// Longer Calling-Station-Ids are cut: the throttle keys on them, and a key has a size.
const MAX_STATION_LEN: usize = 64;

/// Decode the attributes; the framing was prechecked and the packet authenticated.
pub(crate) fn decode(packet: &[u8]) -> Result<Packet, DropReason> {
    // The codec keeps the secret only for encoding; decoding needs none.
    Packet::decode(packet, b"").map_err(|_| DropReason::BadAttribute("attribute framing"))
}

/// The Proxy-States to copy into the reply, in order (RFC 2865 §5.33).
pub(crate) fn proxy_states(
    packet: &[u8],
    has_proxy_state: bool,
) -> Result<Vec<Vec<u8>>, DropReason> {
    if !has_proxy_state {
        return Ok(Vec::new());
    }
    Ok(rfc2865::lookup_all_proxy_state(&decode(packet)?))
}

pub(crate) fn parse(
    packet: &[u8],
    request_authenticator: &[u8; 16],
    shared_secret: &[u8],
) -> Result<AccessRequest, DropReason> {
    let decoded = decode(packet)?;
    let names = rfc2865::lookup_all_user_name(&decoded)
        .map_err(|_| DropReason::BadAttribute("User-Name is not UTF-8"))?;
    let user_name = match names.as_slice() {
        [name] => name.clone(),
        [] => return Err(DropReason::BadAttribute("no User-Name")),
        _ => return Err(DropReason::BadAttribute("more than one User-Name")),
    };
    let state = match rfc2865::lookup_all_state(&decoded).as_slice() {
        [] => None,
        [state] => Some(state.clone()),
        _ => return Err(DropReason::BadAttribute("more than one State")),
    };
    let hidden = decoded.lookup_all(attr::USER_PASSWORD);
    let password = match hidden.as_slice() {
        [one] => Ok(
            password::decrypt(&one.encode_bytes(), request_authenticator, shared_secret)
                .map_err(DropReason::BadUserPassword)?,
        ),
        [] => Err(method(&decoded)),
        _ => return Err(DropReason::BadAttribute("more than one User-Password")),
    };
    let calling_station_id = decoded.lookup(attr::CALLING_STATION_ID).map(|id| {
        let bytes = id.encode_bytes();
        super::log::printable_user(&bytes[..bytes.len().min(MAX_STATION_LEN)])
    });
    let eap_parts = decoded.lookup_all(attr::EAP_MESSAGE);
    let eap = (!eap_parts.is_empty()).then(|| {
        eap_parts
            .iter()
            .flat_map(|part| part.encode_bytes())
            .collect::<Vec<u8>>()
    });
    Ok(AccessRequest {
        user_name,
        eap,
        password,
        state,
        proxy_states: rfc2865::lookup_all_proxy_state(&decoded),
        calling_station_id,
    })
}

/// The method of a request without User-Password.
fn method(decoded: &Packet) -> Unsupported {
    if decoded.lookup(attr::CHAP_PASSWORD).is_some() {
        return Unsupported::Chap;
    }
    if decoded.lookup(attr::EAP_MESSAGE).is_some() {
        return Unsupported::Eap;
    }
    let microsoft: Vec<u8> = decoded
        .lookup_all(attr::VENDOR_SPECIFIC)
        .iter()
        .filter_map(|vsa| {
            // Vendor-Id (4 octets), then Vendor-Type and Vendor-Length (RFC 2865 §5.26).
            let bytes = vsa.encode_bytes();
            let vendor = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
            (vendor == MICROSOFT)
                .then(|| bytes.get(4).copied())
                .flatten()
        })
        .collect();
    if microsoft.contains(&MS_CHAP2_RESPONSE) {
        Unsupported::MsChapV2
    } else if microsoft.contains(&MS_CHAP_RESPONSE) || microsoft.contains(&MS_CHAP_CHALLENGE) {
        Unsupported::MsChap
    } else {
        Unsupported::NoPassword
    }
}
