//! Replies built by the server's own signing code ([`radotp_server::protocol::reply::build`]) must
//! verify here, and each kind of damage must be reported as itself.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::*;
use radotp_server::protocol::reply::{
    self as server_reply, RequestHeader, sign_response_authenticator,
};
use radotp_server::protocol::{attr, code};
use radotp_server::secret::SecretBytes;

const SECRET: &[u8] = b"testing123";

fn request() -> Request {
    RequestBuilder::access_request()
        .user_name("alice")
        .user_password(SecretBytes::from(b"pw123456".as_slice()))
        .nas_identifier(TEST_NAS_IDENTIFIER)
        .build(SECRET)
        .unwrap()
}

/// A reply as radotp's server signs it: Message-Authenticator first, then `attributes`.
fn signed_reply(request: &Request, reply_code: u8, attributes: &[(u8, &[u8])]) -> Vec<u8> {
    let header = RequestHeader {
        identifier: request.identifier(),
        request_authenticator: request.request_authenticator(),
    };
    server_reply::build(reply_code, header, &[], attributes, SECRET).unwrap()
}

/// A reply without Message-Authenticator, signed with `secret`.
fn bare_reply(request: &Request, reply_code: u8, body: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut packet = vec![reply_code, request.identifier(), 0, 0];
    packet.extend_from_slice(request.request_authenticator());
    packet.extend_from_slice(body);
    let len = packet.len() as u16;
    packet[2..4].copy_from_slice(&len.to_be_bytes());
    sign_response_authenticator(&mut packet, secret);
    packet
}

#[test]
fn accepts_what_the_server_signs() {
    let request = request();
    for reply_code in [
        code::ACCESS_ACCEPT,
        code::ACCESS_REJECT,
        code::ACCESS_CHALLENGE,
    ] {
        let bytes = signed_reply(&request, reply_code, &[(attr::REPLY_MESSAGE, b"hello")]);
        let reply = verify_reply(&bytes, &request, SECRET).unwrap();
        assert_eq!(reply.code, reply_code);
        assert_eq!(reply.identifier, request.identifier());
        assert!(reply.message_authenticator);
        assert_eq!(reply.attributes.len(), 2);
        assert_eq!(reply.attributes[0].kind, attr::MESSAGE_AUTHENTICATOR);
        assert_eq!(reply.first(attr::REPLY_MESSAGE), Some(b"hello".as_slice()));
    }
}

#[test]
fn padding_after_length_is_ignored_and_ma_is_optional() {
    let request = request();
    let mut bytes = bare_reply(&request, code::ACCESS_ACCEPT, &[18, 4, b'o', b'k'], SECRET);
    bytes.extend([0, 0, 0]);
    let reply = verify_reply(&bytes, &request, SECRET).unwrap();
    assert!(!reply.message_authenticator);
    assert_eq!(reply.first(18), Some(b"ok".as_slice()));
}

#[test]
fn each_kind_of_damage_is_named() {
    let request = request();
    let good = signed_reply(
        &request,
        code::ACCESS_ACCEPT,
        &[(attr::REPLY_MESSAGE, b"hi")],
    );

    let mut wrong_id = good.clone();
    wrong_id[1] = wrong_id[1].wrapping_add(1);

    let wrong_secret = server_reply::build(
        code::ACCESS_ACCEPT,
        RequestHeader {
            identifier: request.identifier(),
            request_authenticator: request.request_authenticator(),
        },
        &[],
        &[],
        b"not-the-secret",
    )
    .unwrap();

    // Message-Authenticator damaged, Response Authenticator recomputed over the damage: only
    // the HMAC can tell.
    let mut bad_ma = good.clone();
    bad_ma[22] ^= 0x01;
    bad_ma[4..20].copy_from_slice(request.request_authenticator());
    sign_response_authenticator(&mut bad_ma, SECRET);

    let mut altered = good.clone();
    *altered.last_mut().unwrap() ^= 0x20;

    let mut accounting = good.clone();
    accounting[0] = 5;

    let mut short_length = good.clone();
    short_length[2..4].copy_from_slice(&19u16.to_be_bytes());

    let mut long_length = good.clone();
    long_length[2..4].copy_from_slice(&((good.len() + 1) as u16).to_be_bytes());

    let past_end = bare_reply(&request, code::ACCESS_ACCEPT, &[18, 9, b'x'], SECRET);
    let zero_len = bare_reply(&request, code::ACCESS_ACCEPT, &[18, 0], SECRET);
    let short_ma = bare_reply(&request, code::ACCESS_ACCEPT, &[80, 4, 0, 0], SECRET);
    let two_ma = bare_reply(
        &request,
        code::ACCESS_ACCEPT,
        &[[80u8, 18].as_slice(), &[0; 16], &[80, 18], &[0; 16]].concat(),
        SECRET,
    );

    use MalformedReply as M;
    use ReplyCheckError as E;
    let cases: Vec<(&str, &[u8], ReplyCheckError)> = vec![
        ("19 octets", &good[..19], E::Malformed(M::TooShort(19))),
        (
            "wrong identifier",
            &wrong_id,
            E::WrongIdentifier {
                expected: request.identifier(),
                received: wrong_id[1],
            },
        ),
        ("wrong secret", &wrong_secret, E::BadResponseAuthenticator),
        ("altered attribute", &altered, E::BadResponseAuthenticator),
        (
            "bad Message-Authenticator",
            &bad_ma,
            E::BadMessageAuthenticator,
        ),
        (
            "accounting response",
            &accounting,
            E::Malformed(M::UnexpectedCode {
                request: code::ACCESS_REQUEST,
                reply: 5,
            }),
        ),
        (
            "Length 19",
            &short_length,
            E::Malformed(M::BadLengthField(19)),
        ),
        (
            "Length past datagram",
            &long_length,
            E::Malformed(M::Truncated {
                length: good.len() + 1,
                datagram: good.len(),
            }),
        ),
        (
            "attribute past end",
            &past_end,
            E::Malformed(M::AttributePastEnd(20)),
        ),
        (
            "attribute length 0",
            &zero_len,
            E::Malformed(M::AttributeTooShort(20)),
        ),
        (
            "MA of 4",
            &short_ma,
            E::Malformed(M::MessageAuthenticatorLength(4)),
        ),
        (
            "two MA",
            &two_ma,
            E::Malformed(M::DuplicateMessageAuthenticator),
        ),
    ];
    for (name, bytes, expected) in cases {
        assert_eq!(
            verify_reply(bytes, &request, SECRET),
            Err(expected),
            "{name}"
        );
    }
    assert!(verify_reply(&good, &request, SECRET).is_ok());
}

#[test]
fn awaiting_ignores_strangers_and_bad_replies_until_a_good_one() {
    let request = request();
    let server: SocketAddr = "127.0.0.1:1812".parse().unwrap();
    let stranger: SocketAddr = "127.0.0.2:1812".parse().unwrap();
    let good = signed_reply(&request, code::ACCESS_ACCEPT, &[]);
    let mut awaiting = Awaiting::new(&request, server);
    assert_eq!(awaiting.offer(stranger, &good, SECRET), None);
    assert_eq!(awaiting.offer(server, &good, b"wrong"), None);
    let reply = awaiting.offer(server, &good, SECRET).unwrap();
    assert_eq!(reply.code, code::ACCESS_ACCEPT);
    let kinds: Vec<&str> = awaiting.ignored().iter().map(|i| i.reason.kind()).collect();
    assert_eq!(kinds, ["wrong_source", "bad_response_authenticator"]);
}

/// The blocking exchange against a socket in this test: the first try goes unanswered, the
/// retransmission is byte-identical and its answer is taken.
#[test]
fn exchange_retransmits_the_same_datagram() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let server_addr = server.local_addr().unwrap();
    let request = request();
    let expected = request.clone();
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let (n1, _) = server.recv_from(&mut buf).unwrap();
        let first = buf[..n1].to_vec();
        let (n2, peer) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n2], first.as_slice(), "retransmission differs");
        let reply = signed_reply(&expected, code::ACCESS_REJECT, &[]);
        server.send_to(&reply, peer).unwrap();
        first
    });
    let socket = bind_for(server_addr).unwrap();
    let timing = Timing {
        timeout: Duration::from_millis(200),
        retries: 2,
    };
    let answer = exchange(&socket, server_addr, &request, SECRET, timing).unwrap();
    assert_eq!(responder.join().unwrap(), request.bytes());
    assert_eq!(answer.attempts, 2);
    assert_eq!(answer.reply.code, code::ACCESS_REJECT);
    assert!(answer.rtt < Duration::from_secs(1));
}

#[test]
fn exchange_times_out_after_every_try() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server_addr = silent.local_addr().unwrap();
    let socket = bind_for(server_addr).unwrap();
    let timing = Timing {
        timeout: Duration::from_millis(50),
        retries: 1,
    };
    let started = std::time::Instant::now();
    let err = exchange(&socket, server_addr, &request(), SECRET, timing).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(err.kind(), "timeout");
    assert!(err.to_string().contains("after 2 tries of 50 ms"), "{err}");
    let mut buf = [0u8; 4096];
    silent.set_nonblocking(true).unwrap();
    let mut received = 0;
    while silent.recv_from(&mut buf).is_ok() {
        received += 1;
    }
    assert_eq!(received, 2);
}

/// A port nobody listens on, over both families: the kernel's ICMP port unreachable ends the
/// exchange on the first try, long before the timeout.
#[test]
fn exchange_reports_a_closed_port_at_once() {
    for local in ["127.0.0.1:0", "[::1]:0"] {
        let Ok(closed) = UdpSocket::bind(local) else {
            continue; // no IPv6 on this machine
        };
        let server_addr = closed.local_addr().unwrap();
        drop(closed);
        let socket = bind_for(server_addr).unwrap();
        let timing = Timing {
            timeout: Duration::from_secs(5),
            retries: 2,
        };
        let started = std::time::Instant::now();
        let err = exchange(&socket, server_addr, &request(), SECRET, timing).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{local}");
        assert_eq!(err.kind(), "port_unreachable", "{err}");
        assert!(
            matches!(err, ExchangeError::PortUnreachable { attempts: 1, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&server_addr.to_string()), "{message}");
        assert!(message.contains("ICMP port unreachable"), "{message}");
    }
}

/// The exchange's socket is connected, so the kernel drops a stranger's datagram (the
/// `wrong_source` reason is [`Awaiting`]'s, tested above) and the server's answer is taken.
#[test]
fn exchange_never_sees_a_strangers_datagram() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let server_addr = server.local_addr().unwrap();
    let request = request();
    let expected = request.clone();
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let (_, peer) = server.recv_from(&mut buf).unwrap();
        let reply = signed_reply(&expected, code::ACCESS_ACCEPT, &[]);
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        stranger.send_to(&reply, peer).unwrap();
        server.send_to(&reply, peer).unwrap();
    });
    let socket = bind_for(server_addr).unwrap();
    let answer = exchange(&socket, server_addr, &request, SECRET, Timing::default()).unwrap();
    responder.join().unwrap();
    assert_eq!(answer.reply.code, code::ACCESS_ACCEPT);
    assert!(answer.ignored.is_empty(), "{:?}", answer.ignored);
}
