//! A disk that fills up under a running server, a file size limit it runs into, or a disk that
//! cannot be written when it starts: nothing is answered that could not be recorded (whichever
//! factor was wrong), Status-Server goes quiet so NASes fail over, the outage is logged once
//! when it starts and once when it ends, and the server serves again by itself once writes
//! succeed. The disks are tmpfs mounts each test makes itself (root only).

mod common;

use std::time::{Duration, Instant};

use common::client::*;
use common::faults::Tmpfs;
use common::*;
use serde_json::Value;

fn on_tmpfs(fs: &Tmpfs) -> Server {
    let db = fs.path().join("radotp.db");
    Server::with(Conf {
        database_path: Some(db.display().to_string()),
        ..Conf::default()
    })
}

/// The answer to one request, or `None` if it was dropped (no answer within `wait`).
fn answer(server: &Server, request: &Request, wait: Duration) -> Option<u8> {
    let client = Client::new(server.addr());
    client.send(&request.encode());
    client.recv(wait).map(|reply| reply[0])
}

fn login(user: &str, input: &str) -> Request {
    Request::access(SECRET, user, input.as_bytes())
}

fn count(server: &Server, message: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
        })
        .count()
}

fn failures(server: &Server, user: &str) -> u64 {
    let out = server.cli(&["user", "show", user, "--json"], "");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["failures"].as_u64().unwrap()
}

/// Wait (bounded) until `request` gets `code`.
fn until_answered(server: &Server, request: &Request, code: u8) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while answer(server, request, Duration::from_millis(500)) != Some(code) {
        assert!(
            Instant::now() < deadline,
            "not answered {code} within 20 s; log:\n{}",
            server.logs()
        );
    }
}

#[test]
fn a_full_disk_answers_nothing_it_cannot_record() {
    let fs = Tmpfs::new(2048);
    let server = on_tmpfs(&fs);
    let secret = server.add_user("alice", "pw-alice");
    let good = login("alice", &format!("pw-alice{}", code_now(&secret)));
    fs.fill();
    // Wrong guesses and the right code alike: none is answered, so the answer cannot tell the
    // factors apart; and none slips past the lockout uncounted.
    let mut answered = Vec::new();
    for i in 0..10 {
        let guess = login("alice", &format!("pw-alice{}", wrong_code(&secret)));
        let wrong = login("alice", &format!("guess{i}{}", code_now(&secret)));
        for request in [guess, wrong] {
            answered.extend(answer(&server, &request, Duration::from_millis(300)));
        }
    }
    answered.extend(answer(&server, &good, Duration::from_millis(300)));
    assert!(
        answered.is_empty(),
        "answered {answered:?} while nothing could be recorded; log:\n{}",
        server.logs()
    );
    // Status-Server goes unanswered too, so the NAS fails over.
    let status = Request::status(SECRET);
    let deadline = Instant::now() + Duration::from_secs(10);
    while answer(&server, &status, Duration::from_millis(300)).is_some() {
        assert!(Instant::now() < deadline, "Status-Server still answered");
    }
    server.assert_dropped("database unavailable", "");
    fs.release();
    // Back by itself, without a restart: the code nobody could use is accepted now.
    until_answered(&server, &status, ACCESS_ACCEPT);
    until_answered(&server, &good, ACCESS_ACCEPT);
    assert_eq!(failures(&server, "alice"), 0, "a success resets the count");
    assert_eq!(
        count(&server, "database unavailable"),
        1,
        "{}",
        server.logs()
    );
    assert_eq!(
        count(&server, "database available again"),
        1,
        "{}",
        server.logs()
    );
}

#[test]
fn serve_refuses_to_start_on_a_database_it_cannot_write() {
    let fs = Tmpfs::new(4096);
    let mut server = on_tmpfs(&fs);
    server.add_user("carol", "pw-carol");
    server.stop();
    fs.read_only();
    for command in ["check-config", "serve"] {
        let out = server.cli(&[command], "");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        assert!(
            text.contains("database.path") && text.contains("cannot be written"),
            "{command}: {text}"
        );
        assert!(!text.contains(" ready"), "{command}: {text}");
    }
    // A full disk, too.
    fs.read_write();
    fs.fill();
    for command in ["check-config", "serve"] {
        let out = server.cli(&[command], "");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        assert!(
            text.contains("cannot be written") && text.contains("No space left"),
            "{command}: {text}"
        );
        assert!(!text.contains(" ready"), "{command}: {text}");
    }
}

/// `prlimit --fsize` on the running server: the soft limit on the size of files it writes.
fn file_size_limit(server: &Server, limit: &str) {
    let out = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &server.pid().to_string(),
            &format!("--fsize={limit}"),
        ])
        .output()
        .expect("run prlimit (util-linux)");
    assert!(
        out.status.success(),
        "prlimit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sigxfsz(event: &Value) -> bool {
    event["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("SIGXFSZ"))
}

#[test]
fn a_file_size_limit_is_logged_and_outlived() {
    // The log goes through a pipe, as to journald: the limit holds back the database only.
    let server = Server::piped(Conf::default());
    let secret = server.add_user("alice", "pw-alice");
    let good = login("alice", &format!("pw-alice{}", code_now(&secret)));
    // Every write past byte 0 of any file now raises SIGXFSZ, whose default action is death.
    file_size_limit(&server, "0:unlimited");
    assert_eq!(
        answer(&server, &good, Duration::from_secs(1)),
        None,
        "a login that cannot be recorded is answered; log:\n{}",
        server.logs()
    );
    assert!(
        server.wait_for_log(|e| e["level"] == "error" && sigxfsz(e)),
        "no SIGXFSZ line; log:\n{}",
        server.logs()
    );
    let status = Request::status(SECRET);
    let deadline = Instant::now() + Duration::from_secs(10);
    while answer(&server, &status, Duration::from_millis(300)).is_some() {
        assert!(Instant::now() < deadline, "Status-Server still answered");
    }
    // Alive, and back by itself once the limit is raised.
    file_size_limit(&server, "unlimited:unlimited");
    until_answered(&server, &status, ACCESS_ACCEPT);
    until_answered(&server, &good, ACCESS_ACCEPT);
    let lines = server.events().iter().filter(|e| sigxfsz(e)).count();
    assert_eq!(
        lines,
        1,
        "logged once a minute at most; log:\n{}",
        server.logs()
    );
}
