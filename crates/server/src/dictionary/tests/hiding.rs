//! `encrypt=` values against vectors computed outside this code (Python's hashlib, from the
//! RFC text), and back again; salts as RFC 2868 §3.5 demands.

use super::super::crypt;
use super::{AUTHENTICATOR, SECRET, encode, test_dictionary, text, unhex};
use crate::dictionary::{Dictionary, Encrypt, to_wire_all};

/// RFC 2868 §3.5 for secret "testing123", Request Authenticator 00 01 … 0f, salt 0x8123.
const TUNNEL_PASSWORD_HUNTER2: &str = "8123 754e9da6a83e24bd8bd01d7beeba8f83";
/// The same for "correct horse battery staple": two blocks, so the chaining is exercised.
const TUNNEL_PASSWORD_TWO_BLOCKS: &str =
    "8123 6e4587baae3e35fbabb872099ddfafe1 ef1b935d4377ed8af70ade9661a81071";
/// RFC 2865 §5.2 for "0123456789abcdef0123" with the same secret and authenticator.
const USER_PASSWORD: &str = "a6df3bf940c84c2d287f66466370e7ed 329926eda05f4f990007505920bd8742";
/// MD5(authenticator + secret) XOR "ascend" padded to 16.
const ASCEND_SECRET: &str = "c991b76ccea9c29ccaf1bdcb2541f770";

#[test]
fn tunnel_password_matches_the_rfc_algorithm() {
    let dictionary = Dictionary::builtin();
    for (password, expected) in [
        ("hunter2", TUNNEL_PASSWORD_HUNTER2),
        ("correct horse battery staple", TUNNEL_PASSWORD_TWO_BLOCKS),
    ] {
        let attribute = encode(&dictionary, "Tunnel-Password:1", text(password));
        assert!(attribute.is_hidden());
        let wire = attribute.to_wire_with_salt(SECRET, &AUTHENTICATOR, [0x81, 0x23]);
        assert_eq!(wire.attribute_type, 69);
        assert_eq!(wire.value[0], 1, "the tag comes first");
        assert_eq!(wire.value[1..], unhex(expected)[..], "{password}");
        assert_eq!(attribute.wire_len(), wire.to_bytes().len());
        let revealed = crypt::reveal(
            Encrypt::TunnelPassword,
            &wire.value[1..],
            SECRET,
            &AUTHENTICATOR,
        );
        assert_eq!(revealed.unwrap(), password.as_bytes());
    }
}

#[test]
fn untagged_salted_vendor_attribute() {
    let dictionary = Dictionary::builtin();
    let attribute = encode(&dictionary, "MS-MPPE-Send-Key", text("hunter2"));
    let wire = attribute.to_wire_with_salt(SECRET, &AUTHENTICATOR, [0x81, 0x23]);
    let mut expected = unhex("00000137 10 14");
    expected.extend(unhex(TUNNEL_PASSWORD_HUNTER2));
    assert_eq!(wire.value, expected);
}

#[test]
fn user_password_and_ascend_methods() {
    let dictionary = test_dictionary();
    let wire = encode(&dictionary, "Test-Hidden", text("0123456789abcdef0123"))
        .to_wire(SECRET, &AUTHENTICATOR);
    assert_eq!(wire.value, unhex(USER_PASSWORD));
    let wire = encode(&dictionary, "Test-Secret", text("ascend")).to_wire(SECRET, &AUTHENTICATOR);
    assert_eq!(wire.value, unhex(ASCEND_SECRET));
}

/// Hide and reveal mirror each other for every method and many lengths.
#[test]
fn reveal_inverts_hide() {
    for method in [
        Encrypt::UserPassword,
        Encrypt::TunnelPassword,
        Encrypt::AscendSecret,
    ] {
        let longest = match method {
            Encrypt::UserPassword => 128,
            Encrypt::TunnelPassword => 239,
            Encrypt::AscendSecret => 16,
        };
        for len in 1..=longest {
            let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let hidden = crypt::hide(method, &plain, SECRET, &AUTHENTICATOR, [0x80, len as u8]);
            assert_eq!(
                hidden.len(),
                crypt::hidden_len(method, len),
                "{method:?} {len}"
            );
            let revealed = crypt::reveal(method, &hidden, SECRET, &AUTHENTICATOR).unwrap();
            assert_eq!(revealed, plain, "{method:?} {len}");
        }
    }
    let hidden = crypt::hide(
        Encrypt::TunnelPassword,
        b"x",
        SECRET,
        &AUTHENTICATOR,
        [0x80, 1],
    );
    assert!(crypt::reveal(Encrypt::TunnelPassword, &hidden, b"wrong", &AUTHENTICATOR).is_err());
    assert!(
        crypt::reveal(
            Encrypt::TunnelPassword,
            &hidden[..5],
            SECRET,
            &AUTHENTICATOR
        )
        .is_err()
    );
}

#[test]
fn salts_have_the_high_bit_and_differ_within_a_reply() {
    let dictionary = Dictionary::builtin();
    let attributes: Vec<_> = (0..40)
        .map(|i| encode(&dictionary, "Tunnel-Password", text(&format!("pw{i}"))))
        .collect();
    let wire = to_wire_all(&attributes, SECRET, &AUTHENTICATOR);
    let mut salts: Vec<[u8; 2]> = wire.iter().map(|w| [w.value[1], w.value[2]]).collect();
    assert!(salts.iter().all(|salt| salt[0] & 0x80 != 0));
    salts.sort();
    salts.dedup();
    assert_eq!(salts.len(), 40);
}

#[test]
fn hidden_values_stay_out_of_debug_output() {
    let dictionary = Dictionary::builtin();
    let attribute = encode(&dictionary, "Tunnel-Password", text("hunter2"));
    let debug = format!("{attribute:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("[redacted]"),
        "{debug}"
    );
}
