//! Login modes end to end: a password alone gets a code sent out of band (append mode) or an
//! Access-Challenge (challenge mode); recovery codes; 8-digit SHA256 tokens; resync of a token
//! whose clock is behind; webhook delivery.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::time::{Duration, Instant};

use common::client::*;
use common::*;
use serde_json::Value;

const STATE: u8 = 24;
const REPLY_MESSAGE: u8 = 18;
const ACCESS_CHALLENGE: u8 = 11;

fn command_delivery(cooldown: u32) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/send-code");
    format!(
        "[delivery]\ncommand = [\"{script}\"]\ncode_ttl_secs = 300\nresend_cooldown_secs = {cooldown}\nmax_per_hour = 5\n"
    )
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn delivered(server: &Server) -> Vec<Value> {
    let path = server.config_path().with_file_name("delivered.jsonl");
    json_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

/// Wait (bounded) until `n` codes have been delivered.
fn wait_for_delivery(server: &Server, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = delivered(server);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn login(server: &Server, user: &str, input: &str) -> Reply {
    Client::new(server.addr()).exchange(&Request::access(SECRET, user, input.as_bytes()))
}

#[test]
fn password_alone_sends_a_code_that_logs_in_once() {
    let server = Server::with(Conf {
        extra: command_delivery(60),
        ..Conf::default()
    });
    server.add_user("alice", "pw-alice");
    ok(&server.cli(&["user", "set", "alice", "--sms", "+41 79 123 45 67"], ""));

    assert_eq!(login(&server, "alice", "pw-alice").code, ACCESS_REJECT);
    let sent = wait_for_delivery(&server, 1);
    assert_eq!(sent.len(), 1, "one code delivered");
    assert_eq!(sent[0]["user"], "alice");
    assert_eq!(sent[0]["channel"], "sms");
    assert_eq!(sent[0]["destination"], "+41791234567");
    assert_eq!(sent[0]["expires_in"], 300);
    let code = sent[0]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    server.assert_reason("code sent by sms");

    // Within the cooldown a second password-only attempt sends nothing more.
    assert_eq!(login(&server, "alice", "pw-alice").code, ACCESS_REJECT);
    // The decision itself says no code was issued, so nothing was handed to delivery.
    server.assert_reason("one was sent moments ago");
    assert_eq!(delivered(&server).len(), 1);

    assert_eq!(
        login(&server, "alice", &format!("pw-alice{code}")).code,
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&server, "alice", &format!("pw-alice{code}")).code,
        ACCESS_REJECT
    );
    // The code never reached the log.
    assert!(
        no_event_field_contains(&server, &code),
        "the code reached the log"
    );
    // A wrong password alone sends nothing.
    assert_eq!(login(&server, "alice", "not-the-pw").code, ACCESS_REJECT);
    assert_eq!(delivered(&server).len(), 1);
}

/// No string field of any log event holds `code` (six digits may still occur by chance inside
/// a timestamp, which is not a string field of its own… so timestamps are skipped).
fn no_event_field_contains(server: &Server, code: &str) -> bool {
    server.events().iter().all(|e| {
        e.as_object()
            .unwrap()
            .iter()
            .all(|(key, v)| key == "timestamp" || v.as_str().is_none_or(|s| !s.contains(code)))
    })
}

#[test]
fn challenge_mode_asks_for_the_code_with_state() {
    let mut client_conf = ClientConf::new("vpn", "127.0.0.1/32", SECRET);
    client_conf.mode = Some("challenge".into());
    let server = Server::with(Conf::default().clients(vec![client_conf]));
    let secret = server.add_user("bob", "pw-bob");
    let client = Client::new(server.addr());

    let challenge =
        client.exchange(&Request::access(SECRET, "bob", b"pw-bob").attr(PROXY_STATE, b"ps"));
    assert_eq!(challenge.code, ACCESS_CHALLENGE);
    assert_eq!(
        challenge.types()[0],
        MESSAGE_AUTHENTICATOR,
        "Message-Authenticator first"
    );
    assert_eq!(
        challenge.values(REPLY_MESSAGE),
        vec![b"Enter your verification code".to_vec()]
    );
    assert_eq!(challenge.values(PROXY_STATE), vec![b"ps".to_vec()]);
    let state = challenge.values(STATE).pop().expect("a State");
    assert!(state.len() >= 16);

    let answer = |state: &[u8], code: &str| {
        client
            .exchange(&Request::access(SECRET, "bob", code.as_bytes()).attr(STATE, state))
            .code
    };
    // A State we never issued, then the real one with the code.
    assert_eq!(answer(&[7u8; 32], &code_now(&secret)), ACCESS_REJECT);
    assert_eq!(answer(&state, &code_now(&secret)), ACCESS_ACCEPT);
    // The State is single use.
    assert_eq!(answer(&state, &code_at(&secret, now() + 30)), ACCESS_REJECT);
    server.assert_reason("unknown State (never issued, already used");
    // A wrong password gets no challenge; password+code in one field still works.
    assert_eq!(login(&server, "bob", "wrong-pw").code, ACCESS_REJECT);
    let next = code_at(&secret, now() + 30);
    assert_eq!(
        login(&server, "bob", &format!("pw-bob{next}")).code,
        ACCESS_ACCEPT
    );
}

#[test]
fn recovery_codes_work_once_with_radclient() {
    let server = Server::start();
    server.add_user("carol", "pw-carol");
    let out = server.cli(&["user", "recovery-codes", "carol", "--json"], "");
    ok(&out);
    let codes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = codes["codes"][0].as_str().unwrap();
    let radclient = |password: &str| {
        let input = format!(
            "User-Name = carol, User-Password = \"{password}\", Message-Authenticator = 0x00\n"
        );
        let mut cmd = std::process::Command::new("radclient");
        cmd.args([
            "-r",
            "1",
            "-t",
            "3",
            &server.addr().to_string(),
            "auth",
            SECRET,
        ]);
        String::from_utf8_lossy(&run(cmd, &input, Duration::from_secs(15)).stdout).into_owned()
    };
    assert!(radclient(&format!("pw-carol{code}")).contains("Received Access-Accept"));
    server.assert_reason("recovery code (9 left)");
    assert!(radclient(&format!("pw-carol{code}")).contains("Received Access-Reject"));
    server.assert_reason("recovery code already used");
}

#[test]
fn a_token_three_steps_behind_is_accepted_after_resync() {
    let server = Server::start();
    let secret = server.add_user("dave", "pw-dave");
    let behind = |steps: i64| code_at(&secret, (now() as i64 + steps * 30) as u64);
    assert_eq!(
        login(&server, "dave", &format!("pw-dave{}", behind(-3))).code,
        ACCESS_REJECT
    );
    let out = server.cli(&["user", "resync", "dave", &behind(-4), &behind(-3)], "");
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("behind (drift -3 steps)"));
    // The resync codes are used; the token's next codes work, and keep working.
    assert_eq!(
        login(&server, "dave", &format!("pw-dave{}", behind(-3))).code,
        ACCESS_REJECT
    );
    assert_eq!(
        login(&server, "dave", &format!("pw-dave{}", behind(-2))).code,
        ACCESS_ACCEPT
    );
    let shown = server.cli(&["user", "show", "dave", "--json"], "");
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["drift_steps"], 1 - 3);
    assert_eq!(
        login(&server, "dave", &format!("pw-dave{}", behind(-1))).code,
        ACCESS_ACCEPT
    );
}

#[test]
fn codes_can_go_through_a_webhook() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let gateway = std::thread::spawn(move || -> String {
        listener.set_nonblocking(false).unwrap();
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    });
    let server = Server::with(Conf {
        extra: format!("[delivery]\nwebhook = \"http://127.0.0.1:{port}/send\"\n"),
        ..Conf::default()
    });
    server.add_user("erin", "pw-erin");
    ok(&server.cli(&["user", "set", "erin", "--email", "erin@example.org"], ""));
    assert_eq!(login(&server, "erin", "pw-erin").code, ACCESS_REJECT);
    let body: Value = serde_json::from_str(&gateway.join().unwrap()).unwrap();
    assert_eq!(body["channel"], "email");
    assert_eq!(body["destination"], "erin@example.org");
    let code = body["code"].as_str().unwrap();
    assert_eq!(
        login(&server, "erin", &format!("pw-erin{code}")).code,
        ACCESS_ACCEPT
    );
}
