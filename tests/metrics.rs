//! The Prometheus endpoint and overload control against the real binary: counters follow what
//! happened; requests that waited past max_queue_wait_ms are dropped before hashing, while
//! Status-Server keeps being answered.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::client::*;
use common::*;

fn metrics_addr(server: &Server) -> SocketAddr {
    for _ in 0..100 {
        // The newest generation's address, after a restart.
        if let Some(event) = server.events().into_iter().rfind(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("metrics at"))
        }) {
            return event["address"].as_str().unwrap().parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no metrics address in the log:\n{}", server.logs());
}

fn scrape(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
}

#[test]
fn metrics_count_requests_decisions_and_drops() {
    let server = Server::with(Conf {
        extra: "[metrics]\nlisten = \"127.0.0.1:0\"\n".into(),
        ..Conf::default()
    });
    let secret = server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    let accept = Request::access(
        SECRET,
        "alice",
        format!("pw-alice{}", code_now(&secret)).as_bytes(),
    )
    .encode();
    assert_eq!(client.exchange_raw(&accept, SECRET).code, ACCESS_ACCEPT);
    assert_eq!(client.exchange_raw(&accept, SECRET).code, ACCESS_ACCEPT); // resent from cache
    assert_eq!(
        client
            .exchange(&Request::access(SECRET, "nobody", b"x123456"))
            .code,
        ACCESS_REJECT
    );
    assert_eq!(
        client.exchange(&Request::status(SECRET)).code,
        ACCESS_ACCEPT
    );
    client.expect_no_reply(
        &Request::access(SECRET, "alice", b"x").without_ma().encode(),
        SECRET,
    );
    server.assert_dropped("missing Message-Authenticator", "required for this client");

    let addr = metrics_addr(&server);
    let page = scrape(addr, "/metrics");
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("content-type: application/openmetrics-text"));
    assert_eq!(
        value(&page, "radotp_requests_total{code=\"Access-Request\"}"),
        4.0
    );
    assert_eq!(
        value(&page, "radotp_requests_total{code=\"Status-Server\"}"),
        2.0
    );
    assert_eq!(
        value(
            &page,
            "radotp_decisions_total{outcome=\"accept\",reason=\"TOTP code\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &page,
            "radotp_decisions_total{outcome=\"reject\",reason=\"unknown user\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &page,
            "radotp_drops_total{reason=\"missing Message-Authenticator\"}"
        ),
        1.0
    );
    assert_eq!(value(&page, "radotp_duplicate_cache_hits_total"), 1.0);
    assert_eq!(value(&page, "radotp_argon2_verify_seconds_count"), 2.0);
    assert_eq!(value(&page, "radotp_users"), 1.0);
    assert!(page.trim_end().ends_with("# EOF"));
    assert!(scrape(addr, "/").starts_with("HTTP/1.1 404"));
}

#[test]
fn requests_that_waited_too_long_are_dropped_before_hashing() {
    let server = Server::with(Conf {
        memory_kib: 19456,
        iterations: 2,
        workers: 1,
        extra: "[metrics]\nlisten = \"127.0.0.1:0\"\n".into(),
        ..Conf::default()
    });
    let path = server.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("[server]\n", "[server]\nmax_queue_wait_ms = 100\n"),
    )
    .unwrap();
    let mut server = server;
    server.restart();
    let client = Client::new(server.addr());
    const SENT: usize = 40;
    for i in 0..SENT {
        client.send(&Request::access(SECRET, &format!("u{i}"), b"password123456").encode());
    }
    // Status-Server is answered even now.
    client.send(&Request::status(SECRET).encode());
    let mut answers = Vec::new();
    while let Some(reply) = client.recv(Duration::from_secs(3)) {
        answers.push(reply[0]);
    }
    assert!(
        answers.contains(&ACCESS_ACCEPT),
        "Status-Server answered under load"
    );
    let rejects = answers.iter().filter(|&&c| c == ACCESS_REJECT).count();
    assert!(
        rejects < SENT,
        "all {SENT} were hashed despite a 100 ms queue limit"
    );
    let page = scrape(metrics_addr(&server), "/metrics");
    let dropped = value(&page, "radotp_drops_total{reason=\"queue timeout\"}");
    assert_eq!(
        dropped as usize + rejects,
        SENT,
        "every request was answered or dropped"
    );
    assert_eq!(
        value(&page, "radotp_argon2_verify_seconds_count") as usize,
        rejects
    );
}
