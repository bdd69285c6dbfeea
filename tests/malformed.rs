//! Malformed datagrams: each gets no reply, and the server answers a valid request afterwards.

mod common;

use common::client::*;
use common::*;

/// Start a server with `conf`, send the datagram `make` builds, expect silence, then expect a
/// valid Status-Server to be answered (done by `expect_no_reply`), and the drop logged with
/// `reason` and a detail saying `why`.
fn dropped_with(conf: Conf, (reason, why): (&str, &str), make: impl FnOnce(&Server) -> Vec<u8>) {
    let server = Server::with(conf);
    let bad = make(&server);
    Client::new(server.addr()).expect_no_reply(&bad, SECRET);
    server.assert_dropped(reason, why);
}

fn dropped(expect: (&str, &str), make: impl FnOnce(&Server) -> Vec<u8>) {
    dropped_with(Conf::default(), expect, make)
}

fn malformed(why: &str) -> (&str, &str) {
    ("malformed", why)
}

/// A correctly signed Access-Request (Message-Authenticator first) for a user who exists.
fn login(server: &Server) -> Request {
    let secret = server.add_user("alice", "abcd");
    Request::access(
        SECRET,
        "alice",
        format!("abcd{}", code_now(&secret)).as_bytes(),
    )
}

fn set_len(p: &mut [u8], len: usize) {
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
}

/// Append raw attribute bytes to a valid packet, fix Length, re-sign Message-Authenticator.
fn append_raw(mut p: Vec<u8>, extra: &[u8]) -> Vec<u8> {
    p.extend_from_slice(extra);
    let n = p.len();
    set_len(&mut p, n);
    sign_request_ma(&mut p, SECRET.as_bytes());
    p
}

/// Fill with Vendor-Specific attributes until the encoded packet is exactly `total` bytes.
fn pad_to(mut req: Request, total: usize) -> Request {
    let mut left = total - req.encode().len();
    while left > 0 {
        let n = if left > 255 {
            if left - 255 < 8 { left - 8 } else { 255 }
        } else {
            left
        };
        assert!(n >= 8, "cannot pad {left} bytes");
        let mut v = vec![0, 0, 0, 9, 1, (n - 6) as u8];
        v.resize(n - 2, b'x');
        req = req.attr(26, &v);
        left -= n;
    }
    req
}

#[test]
fn datagram_under_20_bytes() {
    dropped(malformed("shorter than a RADIUS header"), |_| {
        Request::status(SECRET).encode()[..19].to_vec()
    });
}

#[test]
fn length_field_under_20() {
    dropped(malformed("Length field 19 is outside"), |_| {
        let mut p = Request::status(SECRET).encode();
        set_len(&mut p, 19);
        p
    });
}

#[test]
fn length_field_over_4096() {
    dropped(malformed("Length field 4097 is outside"), |_| {
        let mut p = Request::status(SECRET).encode();
        set_len(&mut p, 4097);
        p
    });
}

#[test]
fn length_field_larger_than_datagram() {
    dropped(malformed("exceeds the datagram"), |s| {
        let mut p = login(s).encode();
        let n = p.len();
        set_len(&mut p, n + 1);
        p
    });
}

#[test]
fn attribute_length_0() {
    dropped(malformed("length below 2"), |s| {
        append_raw(login(s).encode(), &[18, 0])
    });
}

#[test]
fn attribute_length_1() {
    dropped(malformed("length below 2"), |s| {
        append_raw(login(s).encode(), &[18, 1])
    });
}

#[test]
fn attribute_running_past_length() {
    // The last attribute claims 10 bytes; only 4 are inside Length (and the datagram).
    dropped(malformed("runs past the packet's Length"), |s| {
        append_raw(login(s).encode(), &[18, 10, b'a', b'b'])
    });
}

#[test]
fn stray_byte_after_last_attribute() {
    dropped(malformed("length below 2"), |s| {
        append_raw(login(s).encode(), &[0x01])
    });
}

#[test]
fn message_authenticator_of_length_17() {
    dropped(malformed("Message-Authenticator has length 17"), |s| {
        let mut req = login(s).without_ma();
        req.attrs.insert(0, (MESSAGE_AUTHENTICATOR, vec![0; 15]));
        let mut p = req.encode();
        // Fill the short value with the HMAC of the packet, as a lenient server might compute it.
        let mac = hmac_md5(SECRET.as_bytes(), &p);
        p[22..37].copy_from_slice(&mac[..15]);
        p
    });
}

#[test]
fn two_message_authenticators() {
    // Both carry the HMAC computed with both zeroed: each one "verifies" on its own.
    dropped(malformed("more than one Message-Authenticator"), |s| {
        login(s).ma().encode()
    });
}

#[test]
fn eap_message_without_message_authenticator() {
    // The client does not require Message-Authenticator, but RFC 3579 §3.3 does with EAP-Message.
    let why = malformed("EAP-Message without Message-Authenticator");
    dropped_with(Conf::default().require_ma(false), why, |s| {
        login(s)
            .without_ma()
            .attr(EAP_MESSAGE, &[2, 1, 0, 10, 1, b'a', b'l', b'i', b'c', b'e'])
            .encode()
    });
}

#[test]
fn an_accounting_request_without_accounting_is_dropped_saying_so() {
    dropped(
        (
            "accounting not served here",
            "no [accounting] section: radotp does not serve accounting",
        ),
        |_| Request::new(4, SECRET).user("alice").ma().encode(),
    );
}

#[test]
fn unknown_code_40_disconnect_request() {
    dropped(
        malformed("code 40 (Disconnect-Request) is not served"),
        |_| Request::new(40, SECRET).user("alice").ma().encode(),
    );
}

#[test]
fn reply_codes_sent_to_the_server() {
    for code in [ACCESS_ACCEPT, ACCESS_REJECT, 11, 0, 255] {
        dropped(malformed(&format!("code {code} ")), |_| {
            Request::new(code, SECRET).user("alice").ma().encode()
        });
    }
}

#[test]
fn datagram_of_4097_bytes() {
    // Length says 4096 and the packet up to there is valid; the datagram has one more byte.
    dropped(malformed("longer than 4096"), |s| {
        let mut p = pad_to(login(s), 4096).encode();
        assert_eq!(p.len(), 4096);
        p.push(0);
        p
    });
}

#[test]
fn datagram_of_4096_bytes_is_answered() {
    // Control for the case above: the same packet without the extra byte is served.
    let server = Server::start();
    let req = pad_to(login(&server), 4096);
    assert_eq!(req.encode().len(), 4096);
    let reply = Client::new(server.addr()).exchange(&req);
    assert_eq!(reply.code, ACCESS_ACCEPT);
}

#[test]
fn user_password_not_a_multiple_of_16() {
    dropped(
        ("bad User-Password", "17 octets is not a multiple of 16"),
        |s| {
            let mut req = login(s);
            let pw = req
                .attrs
                .iter_mut()
                .find(|(t, _)| *t == USER_PASSWORD)
                .unwrap();
            pw.1.push(0x42); // 17 bytes
            req.encode()
        },
    );
}

#[test]
fn user_password_over_128_bytes() {
    dropped(
        (
            "bad User-Password",
            "144 octets is not a multiple of 16 between 16 and 128",
        ),
        |s| {
            let secret = s.add_user("long", "x");
            let pw = format!("{}{}", "x".repeat(124), code_now(&secret)); // 130 bytes -> 144 hidden
            Request::access(SECRET, "long", pw.as_bytes()).encode()
        },
    );
}

#[test]
fn nul_inside_the_password() {
    dropped(("bad User-Password", "holds a NUL"), |s| {
        let secret = s.add_user("nul", "abcd");
        let pw = format!("ab\0cd{}", code_now(&secret));
        Request::access(SECRET, "nul", pw.as_bytes()).encode()
    });
}
