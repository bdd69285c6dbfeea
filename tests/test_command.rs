//! `radotp test` as an administrator runs it: against a running radotp (accept, reject,
//! Status-Server, IPv6, round-trip time), a silent port, a closed port, a wrong secret, replies
//! forged by a fake server, and usage mistakes. Exit codes: 0 accept, 1 reject, 2 usage, 3 no
//! valid answer.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use radotp_server::protocol::reply::{self as signing, RequestHeader};

const PASSWORD: &str = "correct horse";

/// `radotp test ARGS…` with `stdin`, bounded to 30 s.
fn radotp_test(args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("test").args(args);
    run(cmd, stdin, Duration::from_secs(30))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A server with user alice; returns it and her TOTP secret.
fn server_with_alice(conf: Conf) -> (Server, String) {
    let server = Server::with(conf);
    let totp = server.add_user("alice", PASSWORD);
    (server, totp)
}

#[test]
fn accept_with_the_current_code_exits_0_and_prints_no_secret() {
    let (server, totp) = server_with_alice(Conf::default());
    let code = code_now(&totp);
    let addr = server.addr().to_string();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--user",
            "alice",
            "--password-stdin",
            "--code",
            &code,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Access-Request to {addr}")),
        "{text}"
    );
    assert!(text.contains("Access-Accept in "), "{text}");
    assert!(text.contains("Response Authenticator: valid"), "{text}");
    assert!(text.contains("Message-Authenticator: valid"), "{text}");
    assert!(text.contains("Message-Authenticator (80) = 0x"), "{text}");
    let everything = text + &stderr(&out);
    for secret in [PASSWORD, SECRET, code.as_str()] {
        assert!(
            !everything.contains(secret),
            "{secret:?} printed:\n{everything}"
        );
    }
}

#[test]
fn reject_exits_1_and_a_command_line_password_is_warned_about() {
    let (server, totp) = server_with_alice(Conf::default());
    let addr = server.addr().to_string();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--user",
            "alice",
            "--password",
            PASSWORD,
            "--code",
            &wrong_code(&totp),
        ],
        "",
    );
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("Access-Reject in "),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("answered Access-Reject"), "{err}");
    assert!(err.contains("warning: --password is visible"), "{err}");
    assert!(!stdout(&out).contains(PASSWORD));
}

#[test]
fn status_server_exits_0_over_ipv4_and_ipv6() {
    let conf = Conf::default()
        .listen(&["127.0.0.1:0", "[::1]:0"])
        .clients(vec![
            ClientConf::new("v4", "127.0.0.1/32", SECRET),
            ClientConf::new("v6", "::1/128", SECRET),
        ]);
    let server = Server::with(conf);
    for addr in &server.addrs {
        let out = radotp_test(
            &[
                "--server",
                &addr.to_string(),
                "--secret",
                SECRET,
                "--status",
            ],
            "",
        );
        assert_exit(&out, 0);
        let text = stdout(&out);
        assert!(text.starts_with("Status-Server to "), "{text}");
        assert!(text.contains("Access-Accept in "), "{text}");
    }
}

#[test]
fn json_is_one_document_with_every_attribute() {
    let (server, totp) = server_with_alice(Conf::default());
    let addr = server.addr().to_string();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--user",
            "alice",
            "--password-stdin",
            "--code",
            &code_now(&totp),
            "--json",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&out, 0);
    let doc = json_document(&out);
    assert_eq!(doc["server"], addr.as_str());
    assert_eq!(doc["request"], "Access-Request");
    assert_eq!(doc["code"], "Access-Accept");
    assert_eq!(doc["user"], "alice");
    assert_eq!(doc["attempts"], 1);
    assert_eq!(doc["message_authenticator"], "valid");
    assert!(doc["rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{doc}");
    let attributes = doc["attributes"].as_array().expect("attributes array");
    assert_eq!(attributes[0]["type"], 80);
    assert_eq!(attributes[0]["name"], "Message-Authenticator");
    assert!(doc.get("error").is_none());
}

#[test]
fn a_silent_port_exits_3_after_every_try_of_the_same_datagram() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--status",
            "--timeout",
            "300ms",
            "--retries",
            "1",
        ],
        "",
    );
    assert_exit(&out, 3);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let err = stderr(&out);
    assert!(err.contains("timeout: no answer from"), "{err}");
    assert!(err.contains("after 2 tries of 300 ms"), "{err}");

    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let mut datagrams = Vec::new();
    while let Ok((n, _)) = silent.recv_from(&mut buf) {
        datagrams.push(buf[..n].to_vec());
    }
    assert_eq!(datagrams.len(), 2, "one try and one retransmission");
    assert_eq!(
        datagrams[0], datagrams[1],
        "a retransmission is the same datagram"
    );
    assert_eq!(datagrams[0][0], 12, "Status-Server");
}

#[test]
fn a_timeout_in_json_names_the_error() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--status",
            "--timeout",
            "200ms",
            "--retries",
            "0",
            "--json",
        ],
        "",
    );
    assert_exit(&out, 3);
    let doc = json_document(&out);
    assert_eq!(doc["error"], "timeout");
    assert_eq!(doc["attempts"], 1);
    assert_eq!(doc["timeout_ms"], 200);
}

#[test]
fn a_wrong_secret_gets_silence_and_exits_3() {
    let server = Server::start();
    let out = radotp_test(
        &[
            "--server",
            &server.addr().to_string(),
            "--secret",
            "not-the-secret",
            "--user",
            "alice",
            "--password",
            PASSWORD,
            "--timeout",
            "300ms",
            "--retries",
            "0",
        ],
        "",
    );
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("timeout"), "{}", stderr(&out));
    server.assert_reason("bad Message-Authenticator");
}

#[test]
fn without_message_authenticator_only_a_lenient_server_answers() {
    let (strict, _) = server_with_alice(Conf::default());
    let (lenient, totp) = server_with_alice(Conf::default().require_ma(false));
    let args = |addr: &str, code: &str| -> Vec<String> {
        [
            "--server",
            addr,
            "--secret",
            SECRET,
            "--user",
            "alice",
            "--password-stdin",
            "--code",
            code,
            "--no-message-authenticator",
            "--timeout",
            "300ms",
            "--retries",
            "0",
        ]
        .map(String::from)
        .to_vec()
    };
    let run_with = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        radotp_test(&args, &format!("{PASSWORD}\n"))
    };
    let out = run_with(args(&strict.addr().to_string(), "000000"));
    assert_exit(&out, 3);
    strict.assert_reason("missing Message-Authenticator");

    let out = run_with(args(&lenient.addr().to_string(), &code_now(&totp)));
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("without Message-Authenticator"),
        "{}",
        stdout(&out)
    );
}

/// A fake server on 127.0.0.1: takes one request and sends back whatever `answer` makes of it.
fn fake_server(
    answer: impl FnOnce(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let (n, peer) = socket.recv_from(&mut buf).expect("a request");
        for reply in answer(&buf[..n]) {
            socket.send_to(&reply, peer).unwrap();
        }
    });
    (addr, handle)
}

/// An Access-Accept to `request`, signed as radotp's server signs, with `secret`.
fn accept(request: &[u8], secret: &[u8]) -> Vec<u8> {
    let authenticator: [u8; 16] = request[4..20].try_into().unwrap();
    let header = RequestHeader {
        identifier: request[1],
        request_authenticator: &authenticator,
    };
    signing::build(2, header, &[], &[(18, b"hello".as_slice())], secret).unwrap()
}

fn against_fake(answer: impl FnOnce(&[u8]) -> Vec<Vec<u8>> + Send + 'static) -> Output {
    let (addr, handle) = fake_server(answer);
    let out = radotp_test(
        &[
            "--server",
            &addr.to_string(),
            "--secret",
            SECRET,
            "--status",
            "--timeout",
            "500ms",
            "--retries",
            "0",
            "--json",
        ],
        "",
    );
    handle.join().unwrap();
    out
}

/// Makes a reply (good or bad) from the request's bytes.
type Forge = fn(&[u8]) -> Vec<u8>;

#[test]
fn forged_and_broken_replies_are_ignored_and_named() {
    let secret = SECRET.as_bytes();
    let cases: Vec<(&str, Forge)> = vec![
        ("bad_response_authenticator", |r| {
            accept(r, b"not-the-secret")
        }),
        ("bad_message_authenticator", |r| {
            let mut reply = accept(r, SECRET.as_bytes());
            reply[22] ^= 1; // inside the HMAC; then re-sign the Response Authenticator
            reply[4..20].copy_from_slice(&r[4..20]);
            signing::sign_response_authenticator(&mut reply, SECRET.as_bytes());
            reply
        }),
        ("malformed_reply", |r| {
            accept(r, SECRET.as_bytes())[..19].to_vec()
        }),
        ("wrong_identifier", |r| {
            let mut request = r.to_vec();
            request[1] = request[1].wrapping_add(1);
            accept(&request, SECRET.as_bytes())
        }),
    ];
    for (kind, forge) in cases {
        let out = against_fake(move |request| vec![forge(request)]);
        assert_exit(&out, 3);
        let doc = json_document(&out);
        assert_eq!(doc["error"], kind, "{doc}");
        assert_eq!(doc["ignored"][0]["reason"], kind, "{doc}");
        assert!(
            stderr(&out).contains("no valid answer"),
            "{kind}: {}",
            stderr(&out)
        );
    }
    // A real NAS keeps waiting past a bad reply, and takes the good one after it.
    let out = against_fake(move |request| {
        vec![accept(request, b"not-the-secret"), accept(request, secret)]
    });
    assert_exit(&out, 0);
    let doc = json_document(&out);
    assert_eq!(doc["code"], "Access-Accept");
    assert_eq!(doc["ignored"][0]["reason"], "bad_response_authenticator");
    let reply_message = &doc["attributes"][1];
    assert_eq!(reply_message["name"], "Reply-Message");
    assert_eq!(reply_message["value"], "hello");
}

#[test]
fn usage_mistakes_exit_2_with_what_to_type() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--server",
                "udp://127.0.0.1",
                "--secret",
                SECRET,
                "--status",
            ],
            "HOST or HOST:PORT",
        ),
        (
            vec![
                "--server",
                "127.0.0.1:99999",
                "--secret",
                SECRET,
                "--status",
            ],
            "1 to 65535",
        ),
        (
            vec!["--server", "[::1", "--secret", SECRET, "--status"],
            "[2001:db8::1]:1812",
        ),
        (vec!["--server", "127.0.0.1", "--status"], "--secret"),
        (vec!["--server", "127.0.0.1", "--secret", SECRET], "--user"),
        (
            vec![
                "--server",
                "127.0.0.1",
                "--secret",
                SECRET,
                "--status",
                "--user",
                "a",
            ],
            "--status",
        ),
        (
            vec![
                "--server",
                "127.0.0.1",
                "--secret",
                SECRET,
                "--status",
                "--timeout",
                "3x",
            ],
            "300ms",
        ),
        // stdin is not a terminal here, so there is nobody to prompt.
        (
            vec![
                "--server",
                "127.0.0.1",
                "--secret",
                SECRET,
                "--user",
                "alice",
            ],
            "--password-stdin",
        ),
        (
            vec![
                "--server",
                "127.0.0.1",
                "--secret-file",
                "/nonexistent/secret",
                "--status",
            ],
            "/nonexistent/secret",
        ),
    ];
    for (args, hint) in cases {
        let out = radotp_test(&args, "");
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(hint),
            "{args:?}: expected {hint:?} in:\n{}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed on stdout: {}",
            stdout(&out)
        );
    }
}

#[test]
fn the_secret_can_come_from_a_file() {
    let server = Server::start();
    let file = server.dir.path().join("nas.secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let out = radotp_test(
        &[
            "--server",
            &server.addr().to_string(),
            "--secret-file",
            file.to_str().unwrap(),
            "--status",
        ],
        "",
    );
    assert_exit(&out, 0);
}

/// A loopback port nobody listens on: bound, noted, closed. (Another process could take it in
/// between; on a test machine that is rare enough.)
fn closed_port() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

/// The kernel answers a closed port with ICMP port unreachable: the client ends at once with
/// that reason instead of waiting timeout × tries (9 s with the defaults).
#[test]
fn a_closed_port_exits_3_at_once_with_port_unreachable() {
    let addr = closed_port();
    let started = Instant::now();
    let out = radotp_test(&["--server", &addr, "--secret", SECRET, "--status"], "");
    let took = started.elapsed();
    assert_exit(&out, 3);
    // A bound well under the 3 s default timeout, not a speed goal.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let err = stderr(&out);
    assert!(err.contains("ICMP port unreachable from"), "{err}");
    assert!(err.contains(&addr), "{err}");

    let addr = closed_port();
    let started = Instant::now();
    let out = radotp_test(
        &[
            "--server",
            &addr,
            "--secret",
            SECRET,
            "--user",
            "alice",
            "--password-stdin",
            "--json",
        ],
        &format!("{PASSWORD}\n"),
    );
    let took = started.elapsed();
    assert_exit(&out, 3);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let doc = json_document(&out);
    assert_eq!(doc["error"], "port_unreachable", "{doc}");
    assert_eq!(doc["attempts"], 1, "{doc}");
    let message = doc["message"].as_str().unwrap_or_default();
    assert!(message.contains("port is closed"), "{doc}");
    assert!(!stdout(&out).contains(PASSWORD) && !stderr(&out).contains(PASSWORD));
}

/// Loopback answers take about 0.1 ms: the printed round trip must not round to `0.0 ms`.
#[test]
fn the_round_trip_time_is_printed_with_meaningful_precision() {
    let server = Server::start();
    let out = radotp_test(
        &[
            "--server",
            &server.addr().to_string(),
            "--secret",
            SECRET,
            "--status",
        ],
        "",
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    let rtt = text
        .lines()
        .find_map(|line| line.strip_prefix("Access-Accept in "))
        .and_then(|rest| rest.split_once(" ms"))
        .map(|(number, _)| number)
        .unwrap_or_else(|| panic!("no round-trip time in:\n{text}"));
    assert_ne!(rtt, "0.0", "{text}");
    let ms: f64 = rtt.parse().unwrap_or_else(|e| panic!("{rtt:?}: {e}"));
    assert!(ms > 0.0, "{text}");
    if ms < 10.0 {
        let decimals = rtt.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals >= 2, "{rtt} ms: too coarse below 10 ms");
    }
}
