//! Passwords checked by an existing RADIUS server, codes by radotp: the real binary against a
//! real FreeRADIUS 3.2 upstream (Debian's `freeradius`, started by each test on loopback from a
//! private configuration, `common::freeradius`), whose log of received requests shows exactly
//! what radotp sent it. Accept, wrong password, wrong code, the code never sent upstream, the
//! upstream's reply attributes merged with radotp's, an upstream challenge relayed, outage and
//! recovery, failover, forged and unsigned replies ignored, NAS retransmissions, unknown users.

mod common;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use common::client::*;
use common::freeradius::{
    CAROL_PIN, CAROL_STATE, FreeRadius, Options, UPSTREAM_SECRET, password_of,
};
use common::*;

const CLASS: u8 = 25;
const FILTER_ID: u8 = 11;
const SESSION_TIMEOUT: u8 = 27;
const REPLY_MESSAGE: u8 = 18;
const STATE: u8 = 24;

const GROUPS: &str = r#"
[[group]]
name = "staff"
reply = { "Class" = "staff", "Session-Timeout" = 28800 }
"#;

/// The upstream secret, in a file beside the configuration.
fn secret_file(dir: &std::path::Path, secret: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("upstream.secret");
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A radotp server, and the folder of its upstream secret file (which `user add` and
/// `check-config` read too).
struct Radotp {
    server: Server,
    _secret: tempfile::TempDir,
}

impl std::ops::Deref for Radotp {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

/// A radotp whose upstream users are checked at `servers`, NAS "vpn" on 127.0.0.1 (`mode`).
fn radotp_with(servers: &[String], secret: &str, mode: Option<&str>, more: &str) -> Radotp {
    let dir = tempfile::Builder::new()
        .prefix("upstream-secret-")
        .tempdir()
        .unwrap();
    let file = secret_file(dir.path(), secret);
    let servers: Vec<String> = servers.iter().map(|s| format!("\"{s}\"")).collect();
    let mut vpn = ClientConf::new("vpn", "127.0.0.1/32", SECRET);
    vpn.mode = mode.map(str::to_owned);
    let conf = Conf {
        password_source: Some("upstream".into()),
        extra: format!(
            "{GROUPS}\n[upstream]\nservers = [{}]\nsecret_file = \"{}\"\ntimeout_ms = 300\nretries = 1\n{more}\n",
            servers.join(", "),
            file.display()
        ),
        ..Conf::default().clients(vec![vpn])
    };
    Radotp {
        server: Server::with(conf),
        _secret: dir,
    }
}

fn radotp(upstream: &FreeRadius) -> Radotp {
    radotp_with(&[upstream.addr().to_string()], UPSTREAM_SECRET, None, "")
}

/// `user add NAME --password-source upstream --group staff --json`: the TOTP secret.
fn enroll(server: &Server, name: &str) -> String {
    server.enroll_from(name, "upstream", &["--group", "staff"])
}

fn login(server: &Server, name: &str, input: &str) -> Reply {
    Client::new(server.addr()).exchange(&Request::access(SECRET, name, input.as_bytes()))
}

fn text(values: Vec<Vec<u8>>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| String::from_utf8(v).unwrap())
        .collect()
}

fn passwords(upstream: &FreeRadius) -> Vec<String> {
    upstream
        .received()
        .into_iter()
        .map(|r| r.password)
        .collect()
}

#[test]
fn the_upstream_checks_the_password_part_only_and_its_policy_reaches_the_nas() {
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let secret = enroll(&server, "alice");
    let shown = server.cli(&["user", "show", "alice", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["password_source"], "upstream");

    let code = code_at(&secret, server.now());
    let reply = login(&server, "alice", &format!("alice-up-pw{code}"));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    server.assert_reason("TOTP code");
    // One request upstream, the password alone: never the code.
    let received = upstream.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].user, "alice");
    assert_eq!(received[0].password, "alice-up-pw");
    assert_eq!(received[0].nas_identifier, "radotp");
    assert!(!received[0].password.contains(&code));
    // radotp's group wins where both set an attribute (Session-Timeout); the upstream's
    // Filter-Id passes; the upstream's Message-Authenticator is not copied.
    assert_eq!(text(reply.values(CLASS)), ["staff"]);
    assert_eq!(
        reply.values(SESSION_TIMEOUT),
        [28800u32.to_be_bytes().to_vec()]
    );
    assert_eq!(text(reply.values(FILTER_ID)), ["upstream-acl"]);
    assert_eq!(
        reply.values(80).len(),
        1,
        "radotp's own Message-Authenticator only"
    );

    // Wrong password with a live code: the upstream refuses, one request, logged as such.
    server.advance(30);
    let code = code_at(&secret, server.now());
    let reply = login(&server, "alice", &format!("not-her-pw{code}"));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password (upstream)");
    assert_eq!(passwords(&upstream)[1..], ["not-her-pw"]);

    // Right password, wrong code. radotp cannot tell a wrong code from a password that ends in
    // digits, so the upstream is asked once, with the whole input as the password; it refuses
    // (the password is not that), and so does radotp. The request is still refused when the
    // whole input happens to be wrong: no code, no Accept.
    let reply = login(&server, "alice", "alice-up-pw000000");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password or code");
    assert_eq!(passwords(&upstream)[2..], ["alice-up-pw000000"]);

    // The password alone (append mode): no Accept.
    let reply = login(&server, "alice", "alice-up-pw");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("password without code");
    assert_eq!(upstream.received().len(), 4);
    let logs = server.logs();
    assert!(!logs.contains("alice-up-pw"), "a password in the log");
    assert!(
        !logs.contains(UPSTREAM_SECRET),
        "the upstream secret in the log"
    );
}

#[test]
fn unknown_and_throttled_users_cost_no_upstream_request() {
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    enroll(&server, "bob");
    // Somebody radotp does not know, with a password the upstream would accept: radotp never
    // asks (an equal wait instead), so the upstream is no oracle and counts no failure.
    let reply = login(&server, "alice", "alice-up-pw123456");
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("unknown user");
    assert!(upstream.received().is_empty());
    // bob's wrong passwords reach the upstream until radotp's throttle holds them back.
    for _ in 0..8 {
        login(&server, "bob", "guess123456");
    }
    server.assert_reason("throttled");
    let asked = upstream.received().len();
    assert!(
        (1..8).contains(&asked),
        "{asked} of 8 guesses reached the upstream"
    );
}

#[test]
fn challenge_mode_asks_for_the_code_after_the_upstream_accepted_the_password() {
    let upstream = FreeRadius::start();
    let server = radotp_with(
        &[upstream.addr().to_string()],
        UPSTREAM_SECRET,
        Some("challenge"),
        "",
    );
    let secret = enroll(&server, "bob");
    let client = Client::new(server.addr());
    let reply = client.exchange(&Request::access(SECRET, "bob", b"bob-up-pw"));
    assert_eq!(reply.code, ACCESS_CHALLENGE);
    let state = reply.values(STATE).remove(0);
    let code = code_at(&secret, server.now());
    let reply =
        client.exchange(&Request::access(SECRET, "bob", code.as_bytes()).attr(STATE, &state));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    // The code answered radotp's own challenge: the upstream saw only the password.
    assert_eq!(passwords(&upstream), ["bob-up-pw"]);
}

#[test]
fn an_upstream_challenge_is_relayed_to_the_nas_and_its_answer_back() {
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let secret = enroll(&server, "carol");
    enroll(&server, "bob");
    let client = Client::new(server.addr());
    let code = code_at(&secret, server.now());
    let reply = client.exchange(&Request::access(
        SECRET,
        "carol",
        format!("{}{code}", password_of("carol")).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_CHALLENGE);
    server.assert_reason("upstream challenge");
    assert_eq!(text(reply.values(REPLY_MESSAGE)), ["Your upstream PIN?"]);
    let state = reply.values(STATE).remove(0);
    assert_ne!(state, CAROL_STATE, "radotp's own State, not the upstream's");

    // Bound to the user: bob cannot answer carol's question (and the upstream is not asked).
    let reply =
        client.exchange(&Request::access(SECRET, "bob", CAROL_PIN.as_bytes()).attr(STATE, &state));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("unknown State");
    assert_eq!(upstream.received().len(), 1);

    // The State was used by that attempt (single use): a fresh round for carol.
    server.advance(30);
    let code = code_at(&secret, server.now());
    let reply = client.exchange(&Request::access(
        SECRET,
        "carol",
        format!("{}{code}", password_of("carol")).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_CHALLENGE);
    let state = reply.values(STATE).remove(0);
    let reply = client
        .exchange(&Request::access(SECRET, "carol", CAROL_PIN.as_bytes()).attr(STATE, &state));
    assert_eq!(reply.code, ACCESS_ACCEPT, "{}", server.logs());
    assert_eq!(text(reply.values(FILTER_ID)), ["pin-ok"]);
    assert_eq!(text(reply.values(CLASS)), ["staff"]);
    // The answer went upstream with the upstream's State; the code never did.
    let received = upstream.received();
    let last = received.last().unwrap();
    assert_eq!(last.password, CAROL_PIN);
    let hex: String = CAROL_STATE.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(last.state, format!("0x{hex}"));
    assert!(received.iter().all(|r| !r.password.contains(&code)));

    // The code was used when the challenge was relayed: the same input again is a replay.
    let reply = client.exchange(&Request::access(
        SECRET,
        "carol",
        format!("{}{code}", password_of("carol")).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("code already used");

    // A wrong answer: the upstream refuses it.
    server.advance(30);
    let code = code_at(&secret, server.now());
    let reply = client.exchange(&Request::access(
        SECRET,
        "carol",
        format!("{}{code}", password_of("carol")).as_bytes(),
    ));
    let state = reply.values(STATE).remove(0);
    let reply = client.exchange(&Request::access(SECRET, "carol", b"0000").attr(STATE, &state));
    assert_eq!(reply.code, ACCESS_REJECT);
    server.assert_reason("wrong password (upstream)");
}

#[test]
fn an_upstream_outage_lets_no_one_in_and_service_resumes_when_it_is_back() {
    let mut upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let secret = enroll(&server, "alice");
    let client = Client::new(server.addr());
    let input = |at: u64| format!("alice-up-pw{}", code_at(&secret, at));

    upstream.stop();
    let request = Request::access(SECRET, "alice", input(server.now()).as_bytes());
    client.send(&request.encode());
    assert!(
        client.recv(Duration::from_secs(2)).is_none(),
        "answered while the upstream was down"
    );
    server.assert_dropped(
        "password source unavailable",
        "no upstream RADIUS server answers",
    );
    // Unknown users are dropped too while it is down: an outage looks the same for every name.
    let request = Request::access(SECRET, "nobody", b"whatever123456");
    client.send(&request.encode());
    assert!(client.recv(Duration::from_secs(2)).is_none());

    upstream.restart();
    server.advance(30);
    let reply = client.exchange(&Request::access(
        SECRET,
        "alice",
        input(server.now()).as_bytes(),
    ));
    assert_eq!(reply.code, ACCESS_ACCEPT);
    let logs = server.logs();
    assert_eq!(
        logs.matches("no upstream RADIUS server answers: logins")
            .count(),
        1,
        "the outage is logged once when it starts:\n{logs}"
    );
    assert_eq!(
        logs.matches("the upstream RADIUS answers again").count(),
        1,
        "and once when it ends:\n{logs}"
    );
}

#[test]
fn a_silent_first_server_fails_over_to_the_second() {
    let upstream = FreeRadius::start();
    // Nothing answers on the first address.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let servers = [
        silent.local_addr().unwrap().to_string(),
        upstream.addr().to_string(),
    ];
    let server = radotp_with(&servers, UPSTREAM_SECRET, None, "");
    let secret = enroll(&server, "alice");
    let started = Instant::now();
    let reply = login(
        &server,
        "alice",
        &format!("alice-up-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    // 1 + retries sends of 300 ms to the first, then the second.
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(upstream.received().len(), 1);
    assert!(
        server
            .logs()
            .contains("upstream RADIUS server cannot answer; trying the next")
    );
    // The silent one is passed over now: the next login is immediate.
    server.advance(30);
    let started = Instant::now();
    let reply = login(
        &server,
        "alice",
        &format!("alice-up-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
    assert!(started.elapsed() < Duration::from_millis(300));
}

/// Answers every datagram with an Access-Accept signed with `secret` (a forger who does not
/// know the real one), until the test ends.
fn forger(secret: &'static [u8]) -> std::net::SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((len, peer)) = socket.recv_from(&mut buf) {
            if len < 20 {
                continue;
            }
            let mut reply = vec![2, buf[1], 0, 38];
            reply.extend_from_slice(&buf[4..20]);
            reply.extend_from_slice(&[80, 18]);
            reply.extend_from_slice(&[0; 16]);
            let ma = hmac_md5(secret, &reply);
            reply[22..38].copy_from_slice(&ma);
            let auth = md5(&[&reply[..4], &buf[4..20], &reply[20..], secret]);
            reply[4..20].copy_from_slice(&auth);
            let _ = socket.send_to(&reply, peer);
        }
    });
    addr
}

#[test]
fn forged_and_unsigned_upstream_replies_are_ignored() {
    // A forger answering first with the wrong secret: ignored; the real server decides.
    let upstream = FreeRadius::start();
    let forged = forger(b"not-the-upstream-secret");
    let server = radotp_with(
        &[forged.to_string(), upstream.addr().to_string()],
        UPSTREAM_SECRET,
        None,
        "",
    );
    let secret = enroll(&server, "alice");
    let reply = login(
        &server,
        "alice",
        &format!("not-her-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_REJECT, "a forged Accept was believed");
    server.assert_reason("wrong password (upstream)");
    assert!(
        server
            .logs()
            .contains("upstream reply ignored: it fails verification")
    );
    drop(server);

    // An upstream that signs no Message-Authenticator (FreeRADIUS 3.2.1 as shipped): with
    // require_message_authenticator = true (the default) its replies count as none.
    let unsigned = FreeRadius::start_with(Options {
        reply_message_authenticator: false,
        ..Options::default()
    });
    let server = radotp_with(&[unsigned.addr().to_string()], UPSTREAM_SECRET, None, "");
    let secret = enroll(&server, "alice");
    let client = Client::new(server.addr());
    let input = format!("alice-up-pw{}", code_at(&secret, server.now()));
    let request = Request::access(SECRET, "alice", input.as_bytes());
    client.send(&request.encode());
    assert!(client.recv(Duration::from_secs(2)).is_none());
    server.assert_dropped("password source unavailable", "no Message-Authenticator");
    drop(server);

    // Told not to require it, the same upstream is believed.
    let server = radotp_with(
        &[unsigned.addr().to_string()],
        UPSTREAM_SECRET,
        None,
        "require_message_authenticator = false",
    );
    let secret = enroll(&server, "alice");
    let reply = login(
        &server,
        "alice",
        &format!("alice-up-pw{}", code_at(&secret, server.now())),
    );
    assert_eq!(reply.code, ACCESS_ACCEPT);
}

#[test]
fn nas_retransmissions_do_not_multiply_upstream_requests() {
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let secret = enroll(&server, "alice");
    let client = Client::new(server.addr());
    let input = format!("alice-up-pw{}", code_at(&secret, server.now()));
    let request = Request::access(SECRET, "alice", input.as_bytes()).encode();
    // The same datagram three times, as a NAS retransmits.
    for _ in 0..3 {
        client.send(&request);
    }
    let mut accepts = 0;
    while let Some(raw) = client.recv(Duration::from_millis(500)) {
        let reply = check_reply(&raw, &request, SECRET.as_bytes()).unwrap();
        assert_eq!(reply.code, ACCESS_ACCEPT);
        accepts += 1;
    }
    assert!(accepts >= 1);
    assert_eq!(upstream.received().len(), 1, "{:?}", upstream.received());
}

#[test]
fn check_config_reports_each_upstream_server() {
    let upstream = FreeRadius::start();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = radotp_with(
        &[
            upstream.addr().to_string(),
            silent.local_addr().unwrap().to_string(),
        ],
        UPSTREAM_SECRET,
        None,
        "",
    );
    let out = server.cli(&["check-config"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("upstream {}: OK", upstream.addr())),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: upstream {}: no valid answer to Status-Server",
            silent.local_addr().unwrap()
        )),
        "{stderr}"
    );
    assert!(stdout.contains("configuration OK"));
    assert!(!stdout.contains(UPSTREAM_SECRET) && !stderr.contains(UPSTREAM_SECRET));
}

#[test]
fn a_configuration_mistake_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = Conf::default().to_toml()
        + "\n[upstream]\nservers = [\"192.0.2.10\"]\ntimeout_ms = 5\nretries = 9\n";
    let path = dir.path().join("radotp.toml");
    std::fs::write(&path, text).unwrap();
    let out = common::radotp(&path, &["check-config"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for expected in [
        "upstream.servers[0]: \"192.0.2.10\" is not host:port",
        "upstream.secret_file: is required",
        "upstream.timeout_ms: must be between 100 and 30000",
        "upstream.retries: must be between 0 and 5",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
}

#[test]
fn radclient_as_the_nas_gets_the_accept_with_both_policies() {
    // Both ends independent: FreeRADIUS's radclient as the NAS, FreeRADIUS as the upstream.
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let secret = enroll(&server, "alice");
    let input = format!(
        "User-Name = \"alice\"\nUser-Password = \"alice-up-pw{}\"\nMessage-Authenticator = 0x00\n",
        code_at(&secret, server.now())
    );
    let mut cmd = std::process::Command::new("radclient");
    cmd.args(["-x", "-r", "1", "-t", "3"])
        .arg(server.addr().to_string())
        .arg("auth")
        .arg(SECRET);
    let out = run(cmd, &input, Duration::from_secs(20));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("Received Access-Accept"), "{said}");
    assert!(said.contains("Filter-Id = \"upstream-acl\""), "{said}");
    assert!(said.contains("Session-Timeout = 28800"), "{said}");
    assert!(said.contains("Class = 0x7374616666"), "{said}");
    assert_eq!(passwords(&upstream), ["alice-up-pw"]);
}

#[test]
fn import_takes_upstream_users_and_their_passwords_are_not_radotp_s_to_set() {
    let upstream = FreeRadius::start();
    let server = radotp(&upstream);
    let csv = server.dir.path().join("staff.csv");
    std::fs::write(&csv, "name,password,password_source\nbob,,upstream\n").unwrap();
    let out = server.cli(&["user", "import", csv.to_str().unwrap()], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = server.cli(&["user", "show", "bob", "--json"], "");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["password_source"], "upstream");

    std::fs::write(
        &csv,
        "name,password,password_source\ncarol,secret,upstream\n",
    )
    .unwrap();
    let out = server.cli(&["user", "import", csv.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("upstream server's"),
        "{err}"
    );

    let out = server.cli(&["user", "passwd", "bob", "--password-stdin"], "new-pw\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checked by the upstream RADIUS server"),
        "{err}"
    );
}
