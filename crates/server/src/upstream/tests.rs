//! The client against a scripted server on loopback: what it sends, which replies it believes,
//! retransmission and failover. The integration tests (`tests/upstream.rs`) run it against
//! FreeRADIUS.

use std::net::UdpSocket;
use std::sync::mpsc;
use std::thread;

use super::*;
use crate::protocol::reply::{self, RequestHeader};

const SECRET: &[u8] = b"upstream-test-secret";

fn settings(servers: Vec<SocketAddr>) -> Settings {
    Settings {
        servers,
        secret: SecretBytes::new(SECRET.to_vec()),
        timeout: Duration::from_millis(300),
        retries: 1,
        require_message_authenticator: true,
    }
}

/// A server that answers each datagram with what `script` returns (`None`: silence), and hands
/// every datagram it got to the test.
fn scripted<F>(mut script: F) -> (SocketAddr, mpsc::Receiver<Vec<u8>>)
where
    F: FnMut(usize, &[u8]) -> Option<Vec<u8>> + Send + 'static,
{
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let address = socket.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        for n in 0.. {
            let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                return;
            };
            let request = buf[..len].to_vec();
            if let Some(reply) = script(n, &request) {
                socket.send_to(&reply, peer).unwrap();
            }
            if tx.send(request).is_err() {
                return;
            }
        }
    });
    (address, rx)
}

/// A signed reply to `request`, with Message-Authenticator.
fn answer(request: &[u8], code: u8, attributes: &[(u8, &[u8])], secret: &[u8]) -> Vec<u8> {
    let authenticator: [u8; 16] = request[4..20].try_into().unwrap();
    let header = RequestHeader {
        identifier: request[1],
        request_authenticator: &authenticator,
    };
    reply::build(code, header, &[], attributes, secret).unwrap()
}

/// A reply signed only by its Response Authenticator.
fn without_message_authenticator(request: &[u8], code: u8) -> Vec<u8> {
    let mut packet = vec![code, request[1], 0, 20];
    packet.extend_from_slice(&request[4..20]);
    reply::sign_response_authenticator(&mut packet, SECRET);
    packet
}

fn attribute(packet: &[u8], kind: u8) -> Option<Vec<u8>> {
    attributes(packet)?
        .into_iter()
        .find(|(_, k, _)| *k == kind)
        .map(|(_, _, v)| v.to_vec())
}

fn upstream(servers: Vec<SocketAddr>) -> Upstream {
    Upstream::new(settings(servers), Dictionary::builtin())
}

#[test]
fn a_request_carries_the_name_and_the_password_signed_with_message_authenticator_first() {
    let (address, got) = scripted(|_, request| {
        Some(answer(
            request,
            code::ACCESS_ACCEPT,
            &[(attr::REPLY_MESSAGE, b"welcome")],
            SECRET,
        ))
    });
    let reply = upstream(vec![address])
        .check("alice", b"hunter2", None)
        .unwrap();
    assert_eq!(
        reply,
        Reply::Accept {
            attributes: vec![
                Dictionary::builtin()
                    .relay(attr::REPLY_MESSAGE, b"welcome", SECRET, &[0; 16])
                    .unwrap()
            ]
        }
    );
    let request = got.recv().unwrap();
    assert_eq!(request[0], code::ACCESS_REQUEST);
    assert_eq!(request[20], attr::MESSAGE_AUTHENTICATOR, "first attribute");
    assert!(message_authenticator::verify(&request, 22, SECRET));
    assert_eq!(attribute(&request, attr::USER_NAME).unwrap(), b"alice");
    let authenticator: [u8; 16] = request[4..20].try_into().unwrap();
    let hidden = attribute(&request, attr::USER_PASSWORD).unwrap();
    let plain = password::decrypt(&hidden, &authenticator, SECRET).unwrap();
    assert_eq!(plain.expose(), b"hunter2");
    assert_eq!(attribute(&request, attr::STATE), None);
    assert!(got.try_recv().is_err(), "one request");
}

#[test]
fn a_reply_that_fails_verification_counts_as_none() {
    // Signed with another secret, or without Message-Authenticator: never believed.
    for forged in [
        |r: &[u8]| answer(r, code::ACCESS_ACCEPT, &[], b"another-secret"),
        |r: &[u8]| without_message_authenticator(r, code::ACCESS_ACCEPT),
    ] {
        let (address, got) = scripted(move |_, request| Some(forged(request)));
        let err = upstream(vec![address])
            .check("alice", b"hunter2", None)
            .unwrap_err();
        assert!(err.0.contains("fails verification"), "{err}");
        // The same packet twice (retries = 1), then nothing more.
        let (first, second) = (got.recv().unwrap(), got.recv().unwrap());
        assert_eq!(first, second, "a retransmission is the identical packet");
    }
}

#[test]
fn without_the_requirement_a_reply_without_message_authenticator_is_believed() {
    let (address, _got) =
        scripted(|_, request| Some(without_message_authenticator(request, code::ACCESS_REJECT)));
    let upstream = Upstream::new(
        Settings {
            require_message_authenticator: false,
            ..settings(vec![address])
        },
        Dictionary::builtin(),
    );
    assert_eq!(
        upstream.check("alice", b"x", None).unwrap(),
        Reply::Reject { message: None }
    );
}

#[test]
fn a_silent_server_is_retried_then_the_next_one_answers() {
    let (silent, silent_got) = scripted(|_, _| None);
    let (second, second_got) = scripted(|_, request| {
        Some(answer(
            request,
            code::ACCESS_REJECT,
            &[(attr::REPLY_MESSAGE, b"no")],
            SECRET,
        ))
    });
    let upstream = upstream(vec![silent, second]);
    assert_eq!(
        upstream.check("alice", b"x", None).unwrap(),
        Reply::Reject {
            message: Some("no".into())
        }
    );
    assert_eq!(silent_got.iter().take(2).count(), 2, "1 + retries sends");
    assert_eq!(second_got.recv().unwrap()[0], code::ACCESS_REQUEST);
    // The silent one is passed over for a while: the next login goes straight to the second.
    upstream.check("alice", b"x", None).unwrap();
    assert!(silent_got.try_recv().is_err());
    assert_eq!(upstream.health.order(), [1]);
}

#[test]
fn an_outage_drops_the_check_and_the_dummy() {
    let (silent, _got) = scripted(|_, _| None);
    let upstream = upstream(vec![silent]);
    assert!(upstream.dummy(b"x").is_ok(), "no outage yet");
    let err = upstream.check("alice", b"x", None).unwrap_err();
    assert!(err.0.contains("no upstream RADIUS server answers"), "{err}");
    assert!(upstream.dummy(b"x").is_err());
}

#[test]
fn a_challenge_is_relayed_and_its_answer_goes_back_with_the_state() {
    let (address, got) = scripted(|n, request| {
        Some(match n {
            0 => answer(
                request,
                code::ACCESS_CHALLENGE,
                &[(attr::REPLY_MESSAGE, b"PIN?"), (attr::STATE, b"st-1")],
                SECRET,
            ),
            _ => answer(request, code::ACCESS_ACCEPT, &[], SECRET),
        })
    });
    let upstream = upstream(vec![address]);
    let Reply::Challenge {
        server,
        state,
        prompt,
    } = upstream.check("alice", b"hunter2", None).unwrap()
    else {
        panic!("a challenge");
    };
    assert_eq!((server, state.as_slice()), (0, &b"st-1"[..]));
    assert_eq!(prompt.len(), 1);
    got.recv().unwrap();
    let reply = upstream
        .check("alice", b"1234", Some((server, &state)))
        .unwrap();
    assert_eq!(reply, Reply::Accept { attributes: vec![] });
    let answer = got.recv().unwrap();
    assert_eq!(attribute(&answer, attr::STATE).unwrap(), b"st-1");
}

#[test]
fn protocol_attributes_are_never_passed_on_and_hidden_ones_are_hidden_again() {
    let dictionary = Dictionary::builtin();
    let tunnel = dictionary
        .encode("Tunnel-Password:1", &AttributeValue::from("tunnel-secret"))
        .unwrap();
    let mppe = dictionary
        .encode("MS-MPPE-Send-Key", &AttributeValue::from("k".repeat(32)))
        .unwrap();
    let (address, _got) = scripted(move |_, request| {
        let authenticator: [u8; 16] = request[4..20].try_into().unwrap();
        let tunnel = tunnel.to_wire(SECRET, &authenticator);
        let mppe = mppe.to_wire(SECRET, &authenticator);
        Some(answer(
            request,
            code::ACCESS_ACCEPT,
            &[
                (attr::STATE, b"s"),
                (attr::USER_NAME, b"someone-else"),
                (25, b"class"),
                tunnel.as_pair(),
                mppe.as_pair(),
            ],
            SECRET,
        ))
    });
    let Reply::Accept { attributes } = upstream(vec![address]).check("alice", b"x", None).unwrap()
    else {
        panic!("an accept");
    };
    let names: Vec<&str> = attributes.iter().map(EncodedAttribute::name).collect();
    assert_eq!(names, ["Class", "Tunnel-Password"]);
    // Hidden again for the NAS: revealed with the NAS's secret and request, it is the value.
    let nas_authenticator = [7u8; 16];
    let wire = attributes[1].to_wire(b"nas-secret", &nas_authenticator);
    let described = dictionary.describe_with_secret(
        wire.attribute_type,
        &wire.value,
        b"nas-secret",
        &nas_authenticator,
    );
    assert_eq!(
        described[0].to_string(),
        "Tunnel-Password:1 = \"tunnel-secret\""
    );
}

use crate::dictionary::AttributeValue;

#[test]
fn a_port_nothing_listens_on_fails_over_at_once() {
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (second, _got) =
        scripted(|_, request| Some(answer(request, code::ACCESS_ACCEPT, &[], SECRET)));
    let started = Instant::now();
    let reply = upstream(vec![closed, second])
        .check("alice", b"x", None)
        .unwrap();
    assert_eq!(reply, Reply::Accept { attributes: vec![] });
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "waited {:?} on a refused port",
        started.elapsed()
    );
}

#[test]
fn a_dummy_check_waits_as_long_as_exchanges_take_without_sending() {
    let (address, got) = scripted(|_, request| {
        thread::sleep(Duration::from_millis(60));
        Some(answer(request, code::ACCESS_REJECT, &[], SECRET))
    });
    let upstream = upstream(vec![address]);
    upstream.check("alice", b"x", None).unwrap();
    got.recv().unwrap();
    let started = Instant::now();
    upstream.dummy(b"x").unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "the dummy took {:?}, an exchange 60 ms",
        started.elapsed()
    );
    assert!(got.try_recv().is_err(), "a dummy sends nothing upstream");
}
