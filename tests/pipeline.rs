//! Pipeline behaviour against the real binary: Status-Server while every worker is hashing,
//! exactly one argon2 verification per Access-Request (counted by the server), the reject delay,
//! and a graceful stop that still answers what is in flight.

mod common;

use std::time::{Duration, Instant};

use common::client::*;
use common::*;

/// Real argon2 cost (OWASP defaults), one worker: every Access-Request takes ~20 ms of it.
fn busy_conf() -> Conf {
    Conf {
        memory_kib: 19456,
        iterations: 2,
        workers: 1,
        ..Conf::default()
    }
}

#[test]
fn status_server_is_answered_while_every_worker_is_hashing() {
    let server = Server::with(busy_conf());
    let client = Client::new(server.addr());
    const QUEUED: usize = 30;
    for i in 0..QUEUED {
        let req = Request::access(SECRET, &format!("nobody{i}"), b"password123456");
        client.send(&req.encode());
    }
    client.send(&Request::status(SECRET).encode());
    // Replies in arrival order: Access-Rejects (unknown users) and one Access-Accept.
    let mut rejects_before_status = None;
    let mut rejects = 0;
    for _ in 0..=QUEUED {
        let raw = client
            .recv(Duration::from_secs(10))
            .expect("every request is answered");
        match raw[0] {
            ACCESS_ACCEPT => rejects_before_status = Some(rejects),
            ACCESS_REJECT => rejects += 1,
            other => panic!("unexpected reply code {other}"),
        }
    }
    let before = rejects_before_status.expect("Status-Server answered");
    // 30 × ~20 ms of hashing was queued ahead of it; it must not have waited for that.
    assert!(
        before < QUEUED / 2,
        "Status-Server waited behind {before} of {QUEUED} verifications"
    );
    assert_eq!(rejects, QUEUED);
}

#[test]
fn each_access_request_costs_exactly_one_argon2_verification() {
    let mut server = Server::start();
    let secret = server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    let good = format!("pw-alice{}", code_now(&secret));
    let accepted = Request::access(SECRET, "alice", good.as_bytes()).encode();
    let attempts: Vec<(Vec<u8>, u8)> = vec![
        (accepted.clone(), ACCESS_ACCEPT),
        (
            Request::access(SECRET, "alice", good.as_bytes()).encode(),
            ACCESS_REJECT,
        ), // replay
        (
            Request::access(
                SECRET,
                "alice",
                format!("pw-alice{}", wrong_code(&secret)).as_bytes(),
            )
            .encode(),
            ACCESS_REJECT,
        ),
        (
            Request::access(SECRET, "alice", b"wrong-pw123456").encode(),
            ACCESS_REJECT,
        ),
        (
            Request::access(SECRET, "alice", b"pw-alice").encode(),
            ACCESS_REJECT,
        ),
        (
            Request::access(SECRET, "mallory", good.as_bytes()).encode(),
            ACCESS_REJECT,
        ),
    ];
    for (datagram, expected) in &attempts {
        assert_eq!(client.exchange_raw(datagram, SECRET).code, *expected);
    }
    // Neither a retransmission, a Status-Server nor a dropped datagram runs argon2.
    assert_eq!(client.exchange_raw(&accepted, SECRET).code, ACCESS_ACCEPT);
    assert_eq!(
        client.exchange(&Request::status(SECRET)).code,
        ACCESS_ACCEPT
    );
    client.expect_no_reply(&[1, 2, 0, 5, 0], SECRET);
    server.assert_dropped("malformed", "shorter than a RADIUS header");
    server.stop();
    let stopped = server
        .events()
        .into_iter()
        .find(|e| e["message"] == "stopped")
        .expect("a 'stopped' summary line");
    assert_eq!(
        stopped["argon2_verifications"].as_u64(),
        Some(attempts.len() as u64),
        "{stopped}"
    );
    assert_eq!(stopped["resent"].as_u64(), Some(1), "{stopped}");
}

#[test]
fn rejects_wait_for_the_reject_delay_and_accepts_do_not() {
    let server = Server::with(Conf {
        reject_delay_ms: 600,
        ..Conf::default()
    });
    let secret = server.add_user("bob", "pw-bob");
    let client = Client::new(server.addr());

    let started = Instant::now();
    let accept = Request::access(
        SECRET,
        "bob",
        format!("pw-bob{}", code_now(&secret)).as_bytes(),
    );
    assert_eq!(client.exchange(&accept).code, ACCESS_ACCEPT);
    let accept_time = started.elapsed();

    let reject = Request::access(SECRET, "bob", b"pw-bob000000").encode();
    let started = Instant::now();
    client.send(&reject);
    // A retransmission once the reject is decided but held back must not fetch it early.
    assert!(server.wait_for_reason("wrong password or code"));
    client.send(&reject);
    let first = client
        .recv(Duration::from_secs(5))
        .expect("the reject arrives");
    let reject_time = started.elapsed();
    assert_eq!(first[0], ACCESS_REJECT);
    assert!(
        reject_time >= Duration::from_millis(600),
        "reject after {reject_time:?}, before the 600 ms delay"
    );
    assert!(
        accept_time < Duration::from_millis(600),
        "the accept was held back ({accept_time:?})"
    );
    // After the delay the cached reject is resent at once, byte for byte.
    client.send(&reject);
    let again = client
        .recv(Duration::from_secs(5))
        .expect("cached reject resent");
    assert_eq!(again, first);
}

#[test]
fn stopping_still_answers_requests_in_flight() {
    let mut server = Server::with(Conf {
        reject_delay_ms: 800,
        ..Conf::default()
    });
    server.add_user("carol", "pw-carol");
    let client = Client::new(server.addr());
    client.send(&Request::access(SECRET, "carol", b"pw-carol123456").encode());
    // Decided (and logged), its reply waiting out the delay: now stop.
    assert!(server.wait_for_reason("wrong password or code"));
    server.stop(); // SIGTERM while the reject waits out its delay; asserts exit 0
    let reply = client
        .recv(Duration::from_secs(2))
        .expect("the request in flight was answered before exit");
    assert_eq!(reply[0], ACCESS_REJECT);
}
