//! Self-check of the tests' own RADIUS client against the RFC examples, so a failing
//! integration test can be blamed on the server, not on the client.

mod common;

use common::client::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn user_password_hiding_matches_rfc2865_section_7_1() {
    let packet = hex("01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
         98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
         93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
         01 10 05 06 00 00 00 03");
    let auth: [u8; 16] = packet[4..20].try_into().unwrap();
    assert_eq!(
        hide_password(b"arctangent", b"xyzzy5461", &auth),
        packet[28..44]
    );
}

#[test]
fn status_server_matches_rfc5997_section_6_1() {
    let expected = hex("0c da 00 26 8a 54 f4 68 6f b3 94 c5 28 66 e3 02
         18 5d 06 23 50 12 5a 66 5e 2e 1e 84 11 f3 e2 43
         82 20 97 c8 4f a3");
    let mut req = Request::status("xyzzy5461").with_id(0xda);
    req.authenticator = expected[4..20].try_into().unwrap();
    assert_eq!(req.encode(), expected);
    // The RFC's reply (no attributes): Response Authenticator formula.
    let reply = hex("02 da 00 14 ef 0d 55 2a 4b f2 d6 93 ec 2b 6f e8 b5 41 1d 66");
    assert_eq!(
        md5(&[&reply[..4], &expected[4..20], b"xyzzy5461"])[..],
        reply[4..20]
    );
    // check_reply insists on Message-Authenticator, which the RFC example lacks.
    assert!(check_reply(&reply, &expected, b"xyzzy5461").is_err());
}

#[test]
fn check_reply_accepts_a_correct_reply_and_refuses_tampering() {
    let secret = b"s3";
    let req = Request::status("s3").encode();
    let mut reply = vec![ACCESS_ACCEPT, req[1], 0, 38];
    reply.extend_from_slice(&req[4..20]);
    reply.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
    reply.extend_from_slice(&[0; 16]);
    let mac = hmac_md5(secret, &reply);
    reply[22..38].copy_from_slice(&mac);
    let resp = md5(&[&reply[..4], &req[4..20], &reply[20..], secret]);
    reply[4..20].copy_from_slice(&resp);
    assert!(check_reply(&reply, &req, secret).is_ok());
    let mut bad = reply.clone();
    bad[30] ^= 1;
    assert!(check_reply(&bad, &req, secret).is_err());
    assert!(check_reply(&reply, &req, b"other").is_err());
}
