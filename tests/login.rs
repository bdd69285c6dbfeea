//! Login over RADIUS against the real binary: accept, rejects, replay, retransmission, restart,
//! unusual passwords, IPv6, and the `radius` crate as a second client.

mod common;

use common::client::*;
use common::*;

#[test]
fn password_and_code_is_accepted_with_signed_reply() {
    let server = Server::start();
    let secret = server.add_user("alice", "correct horse");
    let client = Client::new(server.addr());
    let pw = format!("correct horse{}", code_now(&secret));
    // `exchange` verifies the Response Authenticator, the Message-Authenticator and that it is first.
    let reply = client.exchange(&Request::access(SECRET, "alice", pw.as_bytes()));
    assert_eq!(
        reply.code, ACCESS_ACCEPT,
        "expected Access-Accept, got code {}",
        reply.code
    );
    assert_eq!(reply.types()[0], MESSAGE_AUTHENTICATOR);
}

#[test]
fn wrong_code_wrong_password_and_unknown_user_get_identical_rejects() {
    let server = Server::start();
    let secret = server.add_user("bob", "s3cret-pw");
    let client = Client::new(server.addr());
    let attempts = [
        ("bob", format!("s3cret-pw{}", wrong_code(&secret))),
        ("bob", format!("not-the-pw{}", code_now(&secret))),
        ("nobody", format!("s3cret-pw{}", code_now(&secret))),
    ];
    let mut shapes = Vec::new();
    for (user, pw) in &attempts {
        let reply = client.exchange(&Request::access(SECRET, user, pw.as_bytes()));
        assert_eq!(
            reply.code, ACCESS_REJECT,
            "{user}: expected Access-Reject, got code {}",
            reply.code
        );
        shapes.push((reply.raw.len(), reply.types()));
    }
    assert_eq!(
        shapes[0],
        (38, vec![MESSAGE_AUTHENTICATOR]),
        "a reject carries only Message-Authenticator"
    );
    assert!(
        shapes.iter().all(|s| *s == shapes[0]),
        "rejects differ on the wire: {shapes:?}"
    );
    server.assert_reason("unknown user");
    server.assert_reason("wrong password");
    // The valid code was not consumed by the failed attempts.
    let ok = client.exchange(&Request::access(
        SECRET,
        "bob",
        format!("s3cret-pw{}", code_now(&secret)).as_bytes(),
    ));
    assert_eq!(
        ok.code, ACCESS_ACCEPT,
        "a correct login after failures must be accepted"
    );
}

#[test]
fn same_code_in_a_new_request_is_rejected() {
    let server = Server::start();
    let secret = server.add_user("carol", "pw");
    let client = Client::new(server.addr());
    let pw = format!("pw{}", code_now(&secret));
    let first = client.exchange(&Request::access(SECRET, "carol", pw.as_bytes()));
    assert_eq!(first.code, ACCESS_ACCEPT);
    let second = client.exchange(&Request::access(SECRET, "carol", pw.as_bytes()));
    assert_eq!(second.code, ACCESS_REJECT, "a used code was accepted again");
    server.assert_reason("code already used");
}

#[test]
fn retransmission_of_accepted_request_gets_identical_bytes() {
    let server = Server::start();
    let secret = server.add_user("dave", "hunter2");
    let client = Client::new(server.addr());
    let datagram = Request::access(
        SECRET,
        "dave",
        format!("hunter2{}", code_now(&secret)).as_bytes(),
    )
    .encode();
    let first = client.exchange_raw(&datagram, SECRET);
    assert_eq!(first.code, ACCESS_ACCEPT);
    let again = client.exchange_raw(&datagram, SECRET);
    assert_eq!(
        again.raw, first.raw,
        "the retransmission was answered with different bytes"
    );
    // A third copy, for good measure: still the cached Accept, not a replay Reject.
    let third = client.exchange_raw(&datagram, SECRET);
    assert_eq!(third.raw, first.raw);
}

#[test]
fn restart_keeps_a_used_code_used() {
    let mut server = Server::start();
    let secret = server.add_user("erin", "pw-erin");
    let pw = format!("pw-erin{}", code_now(&secret));
    let reply =
        Client::new(server.addr()).exchange(&Request::access(SECRET, "erin", pw.as_bytes()));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    server.restart();
    let client = Client::new(server.addr());
    let status = client.exchange(&Request::status(SECRET));
    assert_eq!(status.code, ACCESS_ACCEPT, "Status-Server after restart");
    let reply = client.exchange(&Request::access(SECRET, "erin", pw.as_bytes()));
    assert_eq!(
        reply.code, ACCESS_REJECT,
        "a code used before the restart was accepted after it"
    );
}

#[test]
fn passwords_ending_in_digits_and_non_ascii_passwords_work() {
    let server = Server::start();
    let client = Client::new(server.addr());
    for (user, password) in [
        ("digits", "pass1234567"),
        ("numeric", "123456"),
        ("utf8", "pässwörd—密码🔑"),
    ] {
        let secret = server.add_user(user, password);
        let ok = client.exchange(&Request::access(
            SECRET,
            user,
            format!("{password}{}", code_now(&secret)).as_bytes(),
        ));
        assert_eq!(
            ok.code, ACCESS_ACCEPT,
            "{user}: password {password:?} + code was not accepted"
        );
        let bare = client.exchange(&Request::access(SECRET, user, password.as_bytes()));
        assert_eq!(
            bare.code, ACCESS_REJECT,
            "{user}: password without code was accepted"
        );
    }
}

#[test]
fn user_added_while_running_can_log_in() {
    let server = Server::start();
    let client = Client::new(server.addr());
    let before = client.exchange(&Request::access(SECRET, "late", b"pw000000"));
    assert_eq!(before.code, ACCESS_REJECT);
    let secret = server.add_user("late", "pw");
    let reply = client.exchange(&Request::access(
        SECRET,
        "late",
        format!("pw{}", code_now(&secret)).as_bytes(),
    ));
    assert_eq!(
        reply.code, ACCESS_ACCEPT,
        "a user added while the server runs must work without restart"
    );
}

#[test]
fn listens_on_ipv6_loopback() {
    let conf = Conf::default()
        .listen(&["[::1]:0"])
        .clients(vec![ClientConf::new("v6", "::1/128", SECRET)]);
    let server = Server::with(conf);
    assert!(server.addr().is_ipv6(), "bound {:?}", server.addrs);
    let secret = server.add_user("frank", "pw6");
    let client = Client::new(server.addr());
    assert_eq!(
        client.exchange(&Request::status(SECRET)).code,
        ACCESS_ACCEPT
    );
    let reply = client.exchange(&Request::access(
        SECRET,
        "frank",
        format!("pw6{}", code_now(&secret)).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_ACCEPT);
}

#[test]
fn listens_on_several_addresses() {
    let conf = Conf::default()
        .listen(&["127.0.0.1:0", "[::1]:0"])
        .clients(vec![
            ClientConf::new("v4", "127.0.0.1/32", SECRET),
            ClientConf::new("v6", "::1/128", SECRET),
        ]);
    let server = Server::with(conf);
    assert_eq!(server.addrs.len(), 2, "bound {:?}", server.addrs);
    for addr in server.addrs.clone() {
        let reply = Client::new(addr).exchange(&Request::status(SECRET));
        assert_eq!(reply.code, ACCESS_ACCEPT, "Status-Server to {addr}");
    }
}

mod radius_crate {
    use super::common::client::*;
    use super::common::*;
    use radius::core::code::Code;
    use radius::core::packet::Packet;
    use radius::core::rfc2865::{add_user_name, add_user_password};
    use radius::core::rfc2869::add_message_authenticator;

    fn request(user: &str, password: &str, with_ma: bool) -> Vec<u8> {
        let mut p = Packet::new(Code::AccessRequest, SECRET.as_bytes());
        if with_ma {
            add_message_authenticator(&mut p, &[0; 16]);
        }
        add_user_name(&mut p, user);
        add_user_password(&mut p, password.as_bytes()).unwrap();
        let mut bytes = p.encode().unwrap();
        sign_request_ma(&mut bytes, SECRET.as_bytes());
        bytes
    }

    fn check(reply: &Reply, request: &[u8], want: Code) {
        assert!(
            Packet::is_authentic_response(&reply.raw, request, SECRET.as_bytes()),
            "radius crate rejects the reply"
        );
        let decoded =
            Packet::decode(&reply.raw, SECRET.as_bytes()).expect("radius crate decodes the reply");
        assert_eq!(decoded.get_code(), want);
    }

    #[test]
    fn radius_crate_client_accept_and_reject() {
        let server = Server::start();
        let secret = server.add_user("grace", "radius-pw");
        let client = Client::new(server.addr());
        let good = request("grace", &format!("radius-pw{}", code_now(&secret)), true);
        check(
            &client.exchange_raw(&good, SECRET),
            &good,
            Code::AccessAccept,
        );
        let bad = request("grace", &format!("radius-pw{}", wrong_code(&secret)), true);
        check(&client.exchange_raw(&bad, SECRET), &bad, Code::AccessReject);
    }

    #[test]
    fn radius_crate_client_without_ma_when_not_required() {
        let server = Server::with(Conf::default().require_ma(false));
        let secret = server.add_user("heidi", "legacy");
        let client = Client::new(server.addr());
        let good = request("heidi", &format!("legacy{}", code_now(&secret)), false);
        let reply = client.exchange_raw(&good, SECRET);
        check(&reply, &good, Code::AccessAccept);
        assert_eq!(
            reply.types()[0],
            MESSAGE_AUTHENTICATOR,
            "reply carries Message-Authenticator first anyway"
        );
    }
}
