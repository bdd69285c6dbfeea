//! The reply builder: whatever goes in, a reply comes out that a NAS accepts (Length right,
//! Message-Authenticator first and valid, Response Authenticator valid, attributes exactly as
//! given and in order), or a refusal that names a real limit. Each attribute of the reply is
//! also printed with the built-in dictionary, as `radotp test` does.
//!
//! Input: code, identifier, 16 octets of Request Authenticator, secret length and secret, then
//! attributes as (type, value length, value); type 33 goes to the Proxy-State list. A final
//! count repeats the last attribute, to reach the 4096-octet limit.

use std::sync::OnceLock;

use crate::{Cursor, wire};
use radotp_server::dictionary::Dictionary;
use radotp_server::protocol::reply::{self, MAX_VALUE_LEN, ReplyError, RequestHeader};
use radotp_server::protocol::{HEADER_LEN, MAX_PACKET_LEN, attr};

fn dictionary() -> &'static Dictionary {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    DICTIONARY.get_or_init(Dictionary::builtin)
}

/// One fuzzing input: panics on a bug.
pub fn run(data: &[u8]) {
    let mut input = Cursor::new(data);
    let reply_code = input.byte();
    let identifier = input.byte();
    let mut request_authenticator = [0u8; 16];
    request_authenticator.copy_from_slice(&{
        let mut a = input.bytes(16).to_vec();
        a.resize(16, 0);
        a
    });
    let secret_len = usize::from(input.byte() % 64);
    let secret = input.bytes(secret_len).to_vec();
    let mut proxy_states: Vec<&[u8]> = Vec::new();
    let mut attributes: Vec<(u8, &[u8])> = Vec::new();
    let mut order: Vec<(u8, &[u8])> = Vec::new();
    while !input.is_empty() {
        let kind = input.byte();
        let len = usize::from(input.byte());
        let value = input.bytes(len);
        if kind == 0 && len == 0 {
            // Repeat the last attribute.
            if let Some(&last) = attributes.last() {
                for _ in 0..input.byte() {
                    attributes.push(last);
                }
            }
            continue;
        }
        if kind == attr::MESSAGE_AUTHENTICATOR {
            // The builder adds its own; callers never pass one (not a reachable input).
            continue;
        }
        if kind == attr::PROXY_STATE {
            proxy_states.push(value);
        } else {
            attributes.push((kind, value));
        }
    }
    order.extend(proxy_states.iter().map(|v| (attr::PROXY_STATE, *v)));
    order.extend(attributes.iter().copied());
    let header = RequestHeader {
        identifier,
        request_authenticator: &request_authenticator,
    };
    let built = reply::build(reply_code, header, &proxy_states, &attributes, &secret);
    let too_long_value = order.iter().find(|(_, v)| v.len() > MAX_VALUE_LEN);
    let length: usize = HEADER_LEN + 18 + order.iter().map(|(_, v)| 2 + v.len()).sum::<usize>();
    let raw = match built {
        Err(ReplyError::ValueTooLong { kind, len }) => {
            let (k, v) = too_long_value.expect("refused a value that fits");
            assert_eq!((kind, len), (*k, v.len()), "names the wrong attribute");
            return;
        }
        Err(ReplyError::TooLong(n)) => {
            assert!(too_long_value.is_none(), "the long value was not named");
            assert_eq!(n, length);
            assert!(n > MAX_PACKET_LEN, "refused a reply of {n} octets");
            return;
        }
        Ok(raw) => raw,
    };
    assert!(too_long_value.is_none() && length <= MAX_PACKET_LEN);
    assert_eq!(raw.len(), length);
    assert_eq!(raw[0], reply_code);
    // The checker needs only the request's identifier and authenticator.
    let mut request = vec![1, identifier, 0, 20];
    request.extend_from_slice(&request_authenticator);
    let attrs = wire::check_reply(&raw, &request, &secret)
        .unwrap_or_else(|e| panic!("built reply does not verify: {e}"));
    let expected: Vec<(u8, Vec<u8>)> = order.iter().map(|(k, v)| (*k, v.to_vec())).collect();
    assert_eq!(attrs[1..], expected[..], "attributes changed on the way");
    let dictionary = dictionary();
    for (kind, value) in &attrs {
        for described in
            dictionary.describe_with_secret(*kind, value, &secret, &request_authenticator)
        {
            let _ = described.to_string();
        }
    }
}
