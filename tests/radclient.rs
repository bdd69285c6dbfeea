//! Interoperability with FreeRADIUS's `radclient` (Debian package freeradius-utils), an
//! independent RADIUS implementation. A missing radclient is a failure, never a skip.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

fn radclient_path() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("radclient"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/bin/radclient")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "radclient not found: these tests need FreeRADIUS's radclient. \
                 Install it with `apt-get install -y freeradius-utils` (Debian/Ubuntu)."
            )
        })
}

/// `radclient -x -r 1 -t 3 ADDR COMMAND SECRET` with `input` (attribute lines) on stdin.
fn radclient(server: &Server, command: &str, input: &str) -> Output {
    let mut cmd = Command::new(radclient_path());
    cmd.args(["-x", "-r", "1", "-t", "3"])
        .arg(server.addr().to_string())
        .arg(command)
        .arg(SECRET);
    let out = run(cmd, input, Duration::from_secs(20));
    eprintln!(
        "radclient {command} exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn received(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn login_input(user: &str, password: &str) -> String {
    format!(
        "User-Name = \"{user}\"\nUser-Password = \"{password}\"\nMessage-Authenticator = 0x00\n"
    )
}

#[test]
fn radclient_access_accept_for_password_and_code() {
    let server = Server::start();
    let secret = server.add_user("alice", "radclient-pw");
    let out = radclient(
        &server,
        "auth",
        &login_input("alice", &format!("radclient-pw{}", code_now(&secret))),
    );
    let text = received(&out);
    assert!(
        text.contains("Received Access-Accept"),
        "radclient did not receive an Access-Accept:\n{text}"
    );
    assert!(
        out.status.success(),
        "radclient exit status {:?}",
        out.status
    );
}

#[test]
fn radclient_access_reject_for_wrong_code() {
    let server = Server::start();
    let secret = server.add_user("bob", "radclient-pw");
    let out = radclient(
        &server,
        "auth",
        &login_input("bob", &format!("radclient-pw{}", wrong_code(&secret))),
    );
    let text = received(&out);
    assert!(
        text.contains("Received Access-Reject"),
        "radclient did not receive an Access-Reject:\n{text}"
    );
    assert!(!text.contains("Received Access-Accept"), "{text}");
}

#[test]
fn radclient_access_reject_for_wrong_password() {
    let server = Server::start();
    let secret = server.add_user("carol", "radclient-pw");
    let out = radclient(
        &server,
        "auth",
        &login_input("carol", &format!("other-pw{}", code_now(&secret))),
    );
    let text = received(&out);
    assert!(
        text.contains("Received Access-Reject"),
        "radclient did not receive an Access-Reject:\n{text}"
    );
}

#[test]
fn radclient_status_server_is_accepted() {
    let server = Server::start();
    let out = radclient(&server, "status", "Message-Authenticator = 0x00\n");
    let text = received(&out);
    assert!(
        text.contains("Received Access-Accept"),
        "radclient status did not receive an Access-Accept:\n{text}"
    );
    assert!(
        out.status.success(),
        "radclient exit status {:?}",
        out.status
    );
}

#[test]
fn radclient_wrong_secret_gets_no_reply() {
    let server = Server::start();
    let mut cmd = Command::new(radclient_path());
    cmd.args(["-x", "-r", "1", "-t", "1"])
        .arg(server.addr().to_string())
        .arg("status")
        .arg("wrong-secret");
    let out = run(
        cmd,
        "Message-Authenticator = 0x00\n",
        Duration::from_secs(20),
    );
    let text = received(&out);
    assert!(
        !text.contains("Received Access-"),
        "a wrong secret must get no reply:\n{text}"
    );
    assert!(
        !out.status.success(),
        "radclient should report the lost request"
    );
    server.assert_dropped("bad Message-Authenticator", "wrong shared secret?");
}

/// CHAP, MS-CHAP and MS-CHAPv2 cannot carry a password with a code appended: each is refused
/// and named, so the administrator knows to configure the NAS for PAP.
#[test]
fn radclient_chap_and_ms_chap_are_named() {
    let server = Server::start();
    server.add_user("alice", "pw-alice");
    let cases = [
        ("CHAP-Password = \"pw-alice123456\"\n", "CHAP not supported"),
        (
            "MS-CHAP-Challenge = 0x00112233445566778899aabbccddeeff\n\
             MS-CHAP-Response = 0x0001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n",
            "MS-CHAP not supported",
        ),
        (
            "MS-CHAP-Challenge = 0x00112233445566778899aabbccddeeff\n\
             MS-CHAP2-Response = 0x00000011223344556677889900112233445566770000000000000000000000000000000000000000000000000000000000\n",
            "MS-CHAPv2 not supported",
        ),
    ];
    for (attributes, reason) in cases {
        let input = format!("User-Name = \"alice\"\n{attributes}Message-Authenticator = 0x00\n");
        let out = radclient(&server, "auth", &input);
        assert!(
            received(&out).contains("Received Access-Reject"),
            "{reason}: {}",
            received(&out)
        );
        server.assert_reason(&format!("{reason} (only PAP carries the password"));
    }
}
