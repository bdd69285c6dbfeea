//! RADIUS protocol rules on the wire: Message-Authenticator policy, shared secrets, unknown
//! sources, Status-Server, and Proxy-State echoing.

mod common;

use std::time::Duration;

use common::client::*;
use common::*;

/// A correct login for a fresh user, so a drop can only be due to what the test changes.
fn good_login(server: &Server, user: &str) -> Request {
    let secret = server.add_user(user, "pw");
    Request::access(SECRET, user, format!("pw{}", code_now(&secret)).as_bytes())
}

#[test]
fn access_request_without_message_authenticator_is_dropped() {
    let server = Server::start();
    let req = good_login(&server, "alice").without_ma();
    Client::new(server.addr()).expect_no_reply(&req.encode(), SECRET);
    server.assert_dropped(
        "missing Message-Authenticator",
        "require_message_authenticator = false",
    );
}

#[test]
fn access_request_without_message_authenticator_is_answered_when_not_required() {
    let server = Server::with(Conf::default().require_ma(false));
    let req = good_login(&server, "alice").without_ma();
    let reply = Client::new(server.addr()).exchange(&req);
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(
        reply.types(),
        vec![MESSAGE_AUTHENTICATOR],
        "reply still carries Message-Authenticator (first)"
    );
}

#[test]
fn not_required_still_verifies_a_present_message_authenticator() {
    let server = Server::with(Conf::default().require_ma(false));
    let mut bytes = good_login(&server, "alice").encode();
    bytes[25] ^= 0x01; // inside the Message-Authenticator value (first attribute)
    Client::new(server.addr()).expect_no_reply(&bytes, SECRET);
    server.assert_dropped("bad Message-Authenticator", "wrong shared secret?");
}

#[test]
fn bad_message_authenticator_is_dropped() {
    let server = Server::start();
    let req = good_login(&server, "alice");
    let mut bytes = req.encode();
    assert_eq!(bytes[20], MESSAGE_AUTHENTICATOR);
    bytes[37] ^= 0x80; // last byte of the Message-Authenticator value
    Client::new(server.addr()).expect_no_reply(&bytes, SECRET);
    server.assert_dropped("bad Message-Authenticator", "wrong shared secret?");
}

#[test]
fn wrong_shared_secret_is_dropped() {
    let server = Server::start();
    let user_secret = server.add_user("alice", "pw");
    let req = Request::access(
        "not-the-secret",
        "alice",
        format!("pw{}", code_now(&user_secret)).as_bytes(),
    );
    Client::new(server.addr()).expect_no_reply(&req.encode(), SECRET);
    server.assert_dropped("bad Message-Authenticator", "wrong shared secret?");
}

#[test]
fn unknown_source_address_is_dropped() {
    let server = Server::start();
    let req = good_login(&server, "alice");
    // 127.0.0.2 is loopback but not in the client table (127.0.0.1/32 only).
    let stranger = Client::bind("127.0.0.2:0", server.addr());
    stranger.send(&req.encode());
    stranger.send(&Request::status(SECRET).encode());
    stranger.expect_silence(Duration::from_secs(1));
    // The server is still alive for a known client.
    let reply = Client::new(server.addr()).exchange(&Request::status(SECRET));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    server.assert_dropped("unknown client", "add one for it");
}

#[test]
fn status_server_with_message_authenticator_is_accepted() {
    let server = Server::start();
    let reply = Client::new(server.addr()).exchange(&Request::status(SECRET));
    assert_eq!(
        reply.code, ACCESS_ACCEPT,
        "Status-Server must be answered with Access-Accept"
    );
    assert_eq!(reply.types(), vec![MESSAGE_AUTHENTICATOR]);
}

#[test]
fn status_server_without_message_authenticator_is_dropped() {
    let server = Server::start();
    let bytes = Request::new(STATUS_SERVER, SECRET).encode();
    Client::new(server.addr()).expect_no_reply(&bytes, SECRET);
    server.assert_dropped(
        "missing Message-Authenticator",
        "always required on Status-Server",
    );
}

#[test]
fn status_server_without_message_authenticator_is_dropped_even_when_not_required() {
    let server = Server::with(Conf::default().require_ma(false));
    let bytes = Request::new(STATUS_SERVER, SECRET).encode();
    Client::new(server.addr()).expect_no_reply(&bytes, SECRET);
    server.assert_dropped(
        "missing Message-Authenticator",
        "always required on Status-Server",
    );
}

#[test]
fn proxy_state_is_echoed_in_order_after_message_authenticator() {
    let server = Server::start();
    let client = Client::new(server.addr());
    let first = b"first-proxy".to_vec();
    let second = vec![0x00, 0xff, 0x10, 0x20, 0x30];
    // Accept.
    let req = good_login(&server, "alice")
        .attr(PROXY_STATE, &first)
        .attr(PROXY_STATE, &second);
    let reply = client.exchange(&req);
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(
        reply.types(),
        vec![MESSAGE_AUTHENTICATOR, PROXY_STATE, PROXY_STATE]
    );
    assert_eq!(
        reply.values(PROXY_STATE),
        vec![first.clone(), second.clone()]
    );
    // Reject.
    let req = Request::access(SECRET, "nobody", b"pw123456")
        .attr(PROXY_STATE, &second)
        .attr(PROXY_STATE, &first);
    let reply = client.exchange(&req);
    assert_eq!(reply.code, ACCESS_REJECT);
    assert_eq!(
        reply.types(),
        vec![MESSAGE_AUTHENTICATOR, PROXY_STATE, PROXY_STATE]
    );
    assert_eq!(
        reply.values(PROXY_STATE),
        vec![second.clone(), first.clone()]
    );
    // Status-Server.
    let reply = client.exchange(
        &Request::status(SECRET)
            .attr(PROXY_STATE, &first)
            .attr(PROXY_STATE, &second),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert_eq!(
        reply.types(),
        vec![MESSAGE_AUTHENTICATOR, PROXY_STATE, PROXY_STATE]
    );
    assert_eq!(reply.values(PROXY_STATE), vec![first, second]);
}

#[test]
fn most_specific_client_prefix_wins() {
    // 127.0.0.0/8 with one secret, 127.0.0.1/32 with another: 127.0.0.1 must use the /32 secret.
    let conf = Conf::default().clients(vec![
        ClientConf::new("wide", "127.0.0.0/8", "wide-secret"),
        ClientConf::new("narrow", "127.0.0.1/32", SECRET),
    ]);
    let server = Server::with(conf);
    let client = Client::new(server.addr());
    assert_eq!(
        client.exchange(&Request::status(SECRET)).code,
        ACCESS_ACCEPT
    );
    client.expect_no_reply(&Request::status("wide-secret").encode(), SECRET);
    server.assert_dropped("bad Message-Authenticator", "wrong shared secret?");
    let other = Client::bind("127.0.0.2:0", server.addr());
    assert_eq!(
        other.exchange(&Request::status("wide-secret")).code,
        ACCESS_ACCEPT
    );
}

#[test]
fn different_identifier_same_socket_is_a_new_request() {
    let server = Server::start();
    let client = Client::new(server.addr());
    let a = Request::status(SECRET).with_id(7);
    let b = Request::status(SECRET).with_id(7); // same id, new authenticator: a new request
    assert_eq!(client.exchange(&a).code, ACCESS_ACCEPT);
    assert_eq!(client.exchange(&b).code, ACCESS_ACCEPT);
}
