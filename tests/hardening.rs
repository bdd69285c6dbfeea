//! Hardening against the real binary: lockout (and retransmissions not counting), BlastRADIUS
//! Proxy-State limits, per-client rate limits, warnings about readable secrets, and no secret
//! in the logs of a full login scenario.

mod common;

use std::time::Duration;

use common::client::*;
use common::*;
use serde_json::Value;

fn show(server: &Server, name: &str) -> Value {
    let out = server.cli(&["user", "show", name, "--json"], "");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn wrong_codes_after_the_right_password_lock_the_user_and_unlock_clears_it() {
    let server = Server::start();
    let secret = server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    let good = Request::access(
        SECRET,
        "alice",
        format!("pw-alice{}", code_now(&secret)).as_bytes(),
    );
    assert_eq!(client.exchange(&good).code, ACCESS_ACCEPT);
    // The used code again: whoever sends it holds the password. A retransmission is answered
    // from the cache and does not count again.
    let replay = Request::access(
        SECRET,
        "alice",
        format!("pw-alice{}", code_now(&secret)).as_bytes(),
    )
    .encode();
    for _ in 0..3 {
        assert_eq!(client.exchange_raw(&replay, SECRET).code, ACCESS_REJECT);
    }
    assert_eq!(show(&server, "alice")["failures"], 1);
    for _ in 1..5 {
        let again = Request::access(
            SECRET,
            "alice",
            format!("pw-alice{}", code_now(&secret)).as_bytes(),
        );
        assert_eq!(client.exchange(&again).code, ACCESS_REJECT);
    }
    let shown = show(&server, "alice");
    assert!(shown["locked_until"].is_string());
    assert_eq!(
        shown["failures"], 5,
        "the failures the lock followed: {shown}"
    );
    let text = String::from_utf8(server.cli(&["user", "show", "alice"], "").stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("Wrong codes") && l.ends_with(" 5")),
        "{text}"
    );
    // Locked: even the right password and the next code are refused.
    let next = format!("pw-alice{}", code_at(&secret, now() + 30));
    assert_eq!(
        client
            .exchange(&Request::access(SECRET, "alice", next.as_bytes()))
            .code,
        ACCESS_REJECT
    );
    server.assert_reason("locked (until ");
    let out = server.cli(&["user", "unlock", "alice"], "");
    assert!(out.status.success());
    assert_eq!(
        client
            .exchange(&Request::access(SECRET, "alice", next.as_bytes()))
            .code,
        ACCESS_ACCEPT
    );
    assert_eq!(show(&server, "alice")["failures"], 0);
}

#[test]
fn proxy_state_without_message_authenticator_is_dropped_unless_allowed() {
    let strict = ClientConf::new("old-nas", "127.0.0.1/32", SECRET).require_ma(false);
    let server = Server::with(Conf::default().clients(vec![strict]));
    server.add_user("bob", "pw-bob");
    let client = Client::new(server.addr());
    let plain = Request::access(SECRET, "bob", b"pw-bob000000").without_ma();
    assert_eq!(
        client.exchange(&plain).code,
        ACCESS_REJECT,
        "answered without Proxy-State"
    );
    let proxied = plain.attr(PROXY_STATE, b"blast").encode();
    client.expect_no_reply(&proxied, SECRET);
    server.assert_dropped(
        "Proxy-State without Message-Authenticator",
        "limit_proxy_state",
    );

    // A client that explicitly allows it gets an answer.
    let mut server = server;
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("[[client]]\n", "[[client]]\nlimit_proxy_state = false\n"),
    )
    .unwrap();
    server.restart();
    let client = Client::new(server.addr());
    let proxied = Request::access(SECRET, "bob", b"pw-bob000000")
        .without_ma()
        .attr(PROXY_STATE, b"blast");
    let reply = client.exchange(&proxied);
    assert_eq!(reply.values(PROXY_STATE), vec![b"blast".to_vec()]);
}

#[test]
fn a_client_over_its_rate_limit_is_dropped_and_counted() {
    let mut server = Server::start();
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("[[client]]\n", "[[client]]\nrate_limit = 5\n"),
    )
    .unwrap();
    server.restart();
    let client = Client::new(server.addr());
    for _ in 0..20 {
        client.send(&Request::status(SECRET).encode());
    }
    let mut answered = 0;
    while client.recv(Duration::from_millis(300)).is_some() {
        answered += 1;
    }
    assert!(
        (5..=7).contains(&answered),
        "{answered} of 20 answered at 5/s"
    );
    server.stop();
    let stopped = server
        .events()
        .into_iter()
        .rfind(|e| e["message"] == "stopped")
        .unwrap();
    assert!(
        stopped["dropped_overloaded"].as_u64().unwrap() >= 13,
        "{stopped}"
    );
}

#[cfg(unix)]
#[test]
fn readable_shared_secrets_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let path = server.config_path();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = server.cli(&["check-config"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a warning, not an error: {stderr}");
    assert!(
        stderr.contains("holds shared secrets") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = server.cli(&["check-config"], "");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}
