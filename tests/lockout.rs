//! The lockout against the real binary, as an attacker would probe it: a burst gets no more
//! judged guesses than the gate allows, however many workers; a stranger who knows only the
//! name cannot keep the user out of a station the user logs in from; and the events an
//! administrator must watch are logged at `warn`.

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::client::*;
use common::*;

/// Requests that carry a Calling-Station-Id, as Wi-Fi controllers and VPN gateways send.
fn from(station: &str, user: &str, input: &str) -> Request {
    Request::access(SECRET, user, input.as_bytes()).attr(31, station.as_bytes())
}

fn decisions(server: &Server, reason: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|e| e["message"] == "request" && e["reason"] == reason)
        .count()
}

#[test]
fn a_burst_gets_no_more_judged_guesses_than_max_failures() {
    // More workers than cores, so that many verifications run at once.
    let server = Server::with(Conf {
        workers: 16,
        ..Conf::default()
    });
    server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    const BURST: usize = 200;
    for i in 0..BURST {
        client.send(&from("02-00-00-00-66-66", "alice", &format!("guess-{i}")).encode());
    }
    let mut answered = 0;
    while answered < BURST && client.recv(Duration::from_secs(10)).is_some() {
        answered += 1;
    }
    assert_eq!(answered, BURST, "every guess answered (rejected)");
    let logged = |server: &Server| {
        let events = server.events();
        events.iter().filter(|e| e["message"] == "request").count()
    };
    assert!(server.wait_for_event(|_| logged(&server) == BURST));
    let judged = decisions(&server, "wrong password or code");
    let throttled = decisions(&server, "throttled");
    assert_eq!(
        judged, 5,
        "judged {judged} of {BURST}; {throttled} throttled"
    );
    assert_eq!(judged + throttled, BURST);
    // Never a lock: the password was never right.
    let shown = server.cli(&["user", "show", "alice", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["locked_until"], serde_json::Value::Null, "{shown}");
    assert_eq!(shown["failures"], 0);
}

#[test]
fn a_stranger_who_knows_only_the_name_cannot_keep_the_user_out() {
    let server = Server::start();
    let secret = server.add_user("alice", "pw-alice");
    let client = Client::new(server.addr());
    let laptop = "02-00-00-00-00-01";
    let login =
        |station: &str, input: String| client.exchange(&from(station, "alice", &input)).code;
    assert_eq!(
        login(laptop, format!("pw-alice{}", code_now(&secret))),
        ACCESS_ACCEPT
    );
    // Five packets an hour kept an account locked for good; here: thirty wrong passwords, from
    // a station of their own and from made-up ones.
    for i in 0..30 {
        let station = if i % 2 == 0 {
            "02-66-66-66-66-66".to_owned()
        } else {
            format!("02-66-00-00-00-{i:02}")
        };
        assert_eq!(login(&station, format!("guess{i}")), ACCESS_REJECT);
    }
    assert_eq!(decisions(&server, "wrong password or code"), 5);
    // The administrator sees the throttle, and no lock.
    let shown = server.cli(&["user", "show", "alice", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["wrong_passwords"], 5, "{shown}");
    assert!(shown["throttled_until"].is_string(), "{shown}");
    let text = server.cli(&["user", "show", "alice"], "");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("Wrong passwords")
            && l.contains("5 (from stations not trusted; the next one waits until ")),
        "{text}"
    );
    // Alice, from her laptop, with the next code: in at once.
    assert_eq!(
        login(laptop, format!("pw-alice{}", code_at(&secret, now() + 30))),
        ACCESS_ACCEPT
    );
    // From a station she never used, she waits as the stranger does (SECURITY.md says so);
    // when the wait is over, her password is judged and she is in.
    server.advance(60);
    let hotel = "02-00-00-00-00-02";
    let t = server.now();
    assert_eq!(
        login(hotel, format!("pw-alice{}", code_at(&secret, t + 30))),
        ACCESS_ACCEPT
    );
    let shown = server.cli(&["user", "show", "alice", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        shown["locked_until"],
        serde_json::Value::Null,
        "never locked: {shown}"
    );
    assert_eq!(shown["wrong_passwords"], 0, "her login cleared it: {shown}");
}

/// A server started by hand at `--log-level warn` (the harness waits for `info` lines).
struct Quiet {
    child: std::process::Child,
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
}

impl Quiet {
    fn start() -> Quiet {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = Conf::default().listen(&[&format!("127.0.0.1:{port}")]);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("radotp.toml");
        std::fs::write(&config, conf.to_toml()).unwrap();
        std::fs::write(dir.path().join("clock"), T0.to_string()).unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(BIN)
            .env(CLOCK_VARIABLE, clock_for(&config))
            .args(["--log-format", "json", "--log-level", "warn", "--config"])
            .arg(&config)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let quiet = Quiet { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = Client::new(addr);
        loop {
            client.send(&Request::status(SECRET).encode());
            if client.recv(Duration::from_millis(200)).is_some() {
                return quiet;
            }
            assert!(Instant::now() < deadline, "the server did not start");
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap()
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn what_an_administrator_must_watch_is_logged_at_warn() {
    let server = Quiet::start();
    let config = server.dir.path().join("radotp.toml");
    let out = radotp(
        &config,
        &["user", "add", "alice", "--password-stdin", "--json"],
        "pw-alice\n",
    );
    let secret: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let client = Client::new(server.addr);
    let good = Request::access(
        SECRET,
        "alice",
        format!("pw-alice{}", code_now(&secret)).as_bytes(),
    );
    assert_eq!(client.exchange(&good).code, ACCESS_ACCEPT);
    for _ in 0..5 {
        let replay = Request::access(
            SECRET,
            "alice",
            format!("pw-alice{}", code_now(&secret)).as_bytes(),
        );
        assert_eq!(client.exchange(&replay).code, ACCESS_REJECT);
    }
    let next = format!("pw-alice{}", code_at(&secret, now() + 30));
    assert_eq!(
        client
            .exchange(&Request::access(SECRET, "alice", next.as_bytes()))
            .code,
        ACCESS_REJECT
    );
    client.expect_no_reply(&Request::status("not-the-secret").encode(), SECRET);
    // From an address no [[client]] covers.
    let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
    stranger
        .send_to(&Request::status(SECRET).encode(), server.addr)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let seen = |text: &str| {
        let events = json_lines(text);
        ["bad Message-Authenticator", "unknown client"]
            .iter()
            .all(|reason| events.iter().any(|e| e["reason"] == *reason))
    };
    while !seen(&server.log()) {
        assert!(
            Instant::now() < deadline,
            "no bad Message-Authenticator or unknown client line:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = json_lines(&server.log());
    let with = |f: &dyn Fn(&serde_json::Value) -> bool| events.iter().any(f);
    assert!(
        with(&|e| e["level"] == "warn"
            && said(e).starts_with("code already used (the password was right")),
        "{}",
        server.log()
    );
    assert!(
        with(&|e| said(e).contains("; locked until ")),
        "{}",
        server.log()
    );
    assert!(with(&|e| e["reason"] == "locked"), "{}", server.log());
    assert!(with(
        &|e| e["level"] == "warn" && e["reason"] == "bad Message-Authenticator"
    ));
    assert!(with(
        &|e| e["level"] == "warn" && e["reason"] == "unknown client"
    ));
    assert!(!with(&|e| e["level"] == "info"), "nothing below warn");
}
