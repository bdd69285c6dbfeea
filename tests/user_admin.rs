//! `radotp user …` as a subprocess against a running server: each change takes effect on the
//! next request, without a restart.

mod common;

use std::process::Output;

use common::client::*;
use common::*;
use radotp_server::auth::otp::{
    Algorithm, TotpParams, code_at as lib_code_at, parse_base32_secret,
};
use serde_json::Value;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

fn fails_with(out: &Output, code: i32, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
}

fn login(server: &Server, user: &str, input: &str) -> u8 {
    Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code
}

#[test]
fn add_with_own_parameters_and_a_png() {
    let server = Server::start();
    let png = server.config_path().with_file_name("alice.png");
    let out = server.cli(
        &[
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--json",
            "--digits",
            "8",
            "--period",
            "60",
            "--algorithm",
            "sha256",
            "--qr-png",
            png.to_str().unwrap(),
        ],
        "pw-alice\n",
    );
    let v = json(&out);
    let uri = v["otpauth_uri"].as_str().unwrap();
    for part in ["digits=8", "period=60", "algorithm=SHA256"] {
        assert!(uri.contains(part), "{uri}");
    }
    let image = std::fs::read(&png).unwrap();
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
    let secret = parse_base32_secret(v["secret"].as_str().unwrap()).unwrap();
    let params = TotpParams {
        algorithm: Algorithm::Sha256,
        digits: 8,
        period: 60,
    };
    let code = lib_code_at(&secret, params, now());
    assert_eq!(code.len(), 8);
    assert_eq!(
        login(&server, "alice", &format!("pw-alice{code}")),
        ACCESS_ACCEPT
    );
    let shown = json(&server.cli(&["user", "show", "alice", "--json"], ""));
    assert_eq!(shown["totp"]["digits"], 8);
    assert_eq!(shown["totp"]["period"], 60);
    assert_eq!(shown["totp"]["algorithm"], "SHA256");
}

#[test]
fn verify_marks_the_enrollment_code_used() {
    let server = Server::start();
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    // A wrong first code: nothing is saved.
    let out = server.cli(
        &[
            "user",
            "add",
            "bob",
            "--password-stdin",
            "--totp-secret",
            secret,
            "--verify",
        ],
        &format!("pw-bob\n{}\n", wrong_code(secret)),
    );
    fails_with(&out, 1, "did not match; nothing was saved");
    fails_with(
        &server.cli(&["user", "show", "bob"], ""),
        2,
        "does not exist",
    );
    // The right one: saved, and that code cannot be the first login.
    let code = code_now(secret);
    let out = server.cli(
        &[
            "user",
            "add",
            "bob",
            "--password-stdin",
            "--totp-secret",
            secret,
            "--verify",
        ],
        &format!("pw-bob\n{code}\n"),
    );
    ok(&out);
    assert_eq!(
        login(&server, "bob", &format!("pw-bob{code}")),
        ACCESS_REJECT
    );
    server.assert_reason("code already used");
    let next = code_at(secret, now() + 30);
    assert_eq!(
        login(&server, "bob", &format!("pw-bob{next}")),
        ACCESS_ACCEPT
    );
}

#[test]
fn list_and_show_never_print_secrets() {
    let server = Server::start();
    let secret = server.add_user("carol", "pw-carol");
    server.add_user("dave", "pw-dave");
    let codes = json(&server.cli(&["user", "recovery-codes", "carol", "--json"], ""));
    let list = server.cli(&["user", "list", "--json"], "");
    let users = json(&list);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["carol", "dave"]);
    assert_eq!(users[0]["enabled"], true);
    assert_eq!(users[0]["recovery_codes_left"], 10);
    let table = ok(&server.cli(&["user", "list"], ""));
    assert!(table.starts_with("NAME"), "{table}");
    let show = ok(&server.cli(&["user", "show", "carol"], ""));
    let show_json = ok(&server.cli(&["user", "show", "carol", "--json"], ""));
    for text in [ok(&list), table, show, show_json] {
        assert!(!text.contains(&secret), "seed printed: {text}");
        assert!(!text.contains("$argon2"), "hash printed: {text}");
        assert!(!text.contains("pw-carol"));
        for code in codes["codes"].as_array().unwrap() {
            assert!(!text.contains(code.as_str().unwrap()));
        }
    }
    fails_with(
        &server.cli(&["user", "show", "nobody"], ""),
        2,
        "user \"nobody\" does not exist (see: radotp user list)",
    );
}

#[test]
fn passwd_and_temporary_passwords() {
    let server = Server::start();
    let secret = server.add_user("erin", "old-pw");
    ok(&server.cli(&["user", "passwd", "erin", "--password-stdin"], "new-pw\n"));
    assert_eq!(
        login(&server, "erin", &format!("old-pw{}", code_now(&secret))),
        ACCESS_REJECT
    );
    assert_eq!(
        login(&server, "erin", &format!("new-pw{}", code_now(&secret))),
        ACCESS_ACCEPT
    );

    let temp = json(&server.cli(
        &["user", "temp-password", "erin", "--ttl", "3s", "--json"],
        "",
    ));
    assert_eq!(temp["name"], "erin");
    assert!(temp["expires_at"].as_str().unwrap().ends_with('Z'));
    let temp_pw = temp["password"].as_str().unwrap().to_owned();
    assert!(temp_pw.len() >= 16);
    let next = code_at(&secret, now() + 30);
    assert_eq!(
        login(&server, "erin", &format!("{temp_pw}{next}")),
        ACCESS_ACCEPT
    );
    server.assert_reason(
        "TOTP code (token 1 (totp); clock drift +1 steps; temporary password, valid until",
    );
    server.advance(4);
    // Expiry is checked once the password itself is right, whatever the code.
    assert_eq!(
        login(&server, "erin", &format!("{temp_pw}{next}")),
        ACCESS_REJECT
    );
    server.assert_reason("password expired (the temporary password expired at");
    // passwd clears the expiry.
    ok(&server.cli(
        &["user", "passwd", "erin", "--password-stdin"],
        "fresh-pw\n",
    ));
    let shown = json(&server.cli(&["user", "show", "erin", "--json"], ""));
    assert_eq!(shown["password_expires_at"], Value::Null);
    // Without --password-stdin and no terminal: a hint, exit 2.
    fails_with(
        &server.cli(&["user", "passwd", "erin"], ""),
        2,
        "--password-stdin",
    );
    fails_with(
        &server.cli(&["user", "temp-password", "erin", "--ttl", "soon"], ""),
        2,
        "--ttl",
    );
}

#[test]
fn reset_otp_disable_enable_unlock_remove() {
    let server = Server::start();
    let old = server.add_user("frank", "pw-frank");
    let new = json(&server.cli(&["user", "reset-otp", "frank", "--json"], ""));
    let new = new["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        login(&server, "frank", &format!("pw-frank{}", code_now(&old))),
        ACCESS_REJECT
    );
    assert_eq!(
        login(&server, "frank", &format!("pw-frank{}", code_now(&new))),
        ACCESS_ACCEPT
    );

    ok(&server.cli(&["user", "disable", "frank"], ""));
    let next = code_at(&new, now() + 30);
    assert_eq!(
        login(&server, "frank", &format!("pw-frank{next}")),
        ACCESS_REJECT
    );
    server.assert_reason("disabled");
    ok(&server.cli(&["user", "enable", "frank"], ""));
    assert_eq!(
        login(&server, "frank", &format!("pw-frank{next}")),
        ACCESS_ACCEPT
    );

    ok(&server.cli(&["user", "unlock", "frank"], ""));
    let shown = json(&server.cli(&["user", "show", "frank", "--json"], ""));
    assert_eq!(
        (shown["failures"].as_u64(), &shown["locked_until"]),
        (Some(0), &Value::Null)
    );

    ok(&server.cli(&["user", "remove", "frank"], ""));
    let later = code_at(&new, now() + 60);
    assert_eq!(
        login(&server, "frank", &format!("pw-frank{later}")),
        ACCESS_REJECT
    );
    server.assert_reason("unknown user");
    for args in [["user", "disable", "frank"], ["user", "remove", "frank"]] {
        fails_with(&server.cli(&args, ""), 2, "does not exist");
    }
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let server = Server::start();
    let bash = ok(&server.cli(&["completions", "bash"], ""));
    assert!(bash.contains("temp-password") && bash.contains("recovery-codes"));
    let man = ok(&server.cli(&["man"], ""));
    assert!(man.contains(".TH") && man.contains("radotp"));
    let help = ok(&server.cli(&["user", "add", "--help"], ""));
    assert!(help.contains("Examples:"), "{help}");
}
