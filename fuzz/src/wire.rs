//! An independent RADIUS checker, written from RFC 2865 §3 and RFC 3579 §3.2 rather than from
//! `radotp_server::protocol`, so that a bug there is not mirrored here.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};

pub const MESSAGE_AUTHENTICATOR: u8 = 80;

pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The attributes of `packet[20..length]` as (offset, type, value), or `None` when the
/// framing is broken.
pub fn attributes(packet: &[u8]) -> Option<Vec<(usize, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut i = 20;
    while i < packet.len() {
        let len = usize::from(*packet.get(i + 1)?);
        if len < 2 || i + len > packet.len() {
            return None;
        }
        out.push((i, packet[i], &packet[i + 2..i + len]));
        i += len;
    }
    Some(out)
}

/// Sign every 18-octet Message-Authenticator of a well-framed request (RFC 3579 §3.2);
/// `false` when there is none or the framing is broken.
pub fn sign_request(packet: &mut [u8], secret: &[u8]) -> bool {
    let Some(attrs) = attributes(packet) else {
        return false;
    };
    let at: Vec<usize> = attrs
        .iter()
        .filter(|(_, t, v)| *t == MESSAGE_AUTHENTICATOR && v.len() == 16)
        .map(|(o, _, _)| o + 2)
        .collect();
    for &o in &at {
        packet[o..o + 16].fill(0);
    }
    let mac = hmac_md5(secret, packet);
    for &o in &at {
        packet[o..o + 16].copy_from_slice(&mac);
    }
    !at.is_empty()
}

/// Does the Message-Authenticator whose value starts at `value_at` verify?
pub fn request_ma_verifies(packet: &[u8], value_at: usize, secret: &[u8]) -> bool {
    let mut copy = packet.to_vec();
    copy[value_at..value_at + 16].fill(0);
    hmac_md5(secret, &copy)[..] == packet[value_at..value_at + 16]
}

/// Check a reply the way a NAS does: Length, Identifier, Response Authenticator, and one
/// valid Message-Authenticator that comes first. Returns its attributes.
pub fn check_reply(
    raw: &[u8],
    request: &[u8],
    secret: &[u8],
) -> Result<Vec<(u8, Vec<u8>)>, String> {
    if raw.len() < 20 || raw.len() > 4096 {
        return Err(format!("reply of {} octets", raw.len()));
    }
    if usize::from(u16::from_be_bytes([raw[2], raw[3]])) != raw.len() {
        return Err("Length field differs from the reply's size".into());
    }
    if raw[1] != request[1] {
        return Err("Identifier differs from the request's".into());
    }
    let attrs = attributes(raw).ok_or("reply attributes are malformed")?;
    let request_authenticator = &request[4..20];
    if raw[4..20] != md5(&[&raw[..4], request_authenticator, &raw[20..], secret]) {
        return Err("Response Authenticator does not verify".into());
    }
    let mas: Vec<_> = attrs
        .iter()
        .filter(|(_, t, _)| *t == MESSAGE_AUTHENTICATOR)
        .collect();
    if mas.len() != 1 || attrs[0].1 != MESSAGE_AUTHENTICATOR || attrs[0].2.len() != 16 {
        return Err("Message-Authenticator is not once and first".into());
    }
    let mut copy = raw.to_vec();
    copy[4..20].copy_from_slice(request_authenticator);
    if !request_ma_verifies(&copy, 22, secret) {
        return Err("Message-Authenticator does not verify".into());
    }
    Ok(attrs.iter().map(|(_, t, v)| (*t, v.to_vec())).collect())
}
