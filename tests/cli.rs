//! Command line: `check-config` verdicts and exit codes, `user add --json` output and errors.

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// A temporary folder holding `radotp.toml` with `text`.
fn config(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("radotp-cli")
        .tempdir()
        .unwrap();
    let path = dir.path().join("radotp.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run check-config on `text`; expect exit 2 and return stderr.
fn refused(text: &str) -> String {
    let (_dir, path) = config(text);
    let out = radotp(&path, &["check-config"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "check-config should exit 2; stdout: {} stderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !stdout(&out).contains("configuration OK"),
        "refused config printed OK"
    );
    stderr(&out)
}

#[test]
fn check_config_accepts_a_good_file() {
    let (_dir, path) = config(&Conf::default().to_toml());
    let out = radotp(&path, &["check-config"], "");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).contains("configuration OK"),
        "stdout: {}",
        stdout(&out)
    );
}

/// "configuration OK" means `serve` starts: what `serve` builds, `check-config` builds.
#[test]
fn check_config_builds_what_serve_builds() {
    // A webhook whose CA file does not exist: only building the webhook's client finds it.
    let conf = Conf {
        extra: "[delivery]\nwebhook = \"https://gw.example/send\"\nwebhook_ca_file = \"no-such-ca.pem\"\n"
            .into(),
        ..Conf::default()
    };
    let (dir, path) = config(&conf.to_toml());
    for command in ["check-config", "serve"] {
        let out = radotp(&path, &[command], "");
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        assert!(
            text.contains("delivery") && text.contains("no-such-ca.pem"),
            "{command}: {text}"
        );
    }
    // Neither created the database or the key file on the way.
    let made: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "radotp.toml")
        .collect();
    assert!(made.is_empty(), "created {made:?}");
    // A database folder that is a file: refused by both, before any key file is made.
    let conf = Conf::default().to_toml().replace(
        "path = \"radotp.db\"",
        "path = \"blocker/radotp.db\"\nkey_file = \"keys/radotp.key\"",
    );
    let (dir, path) = config(&conf);
    fs::write(dir.path().join("blocker"), "a file, not a folder").unwrap();
    for command in ["check-config", "serve"] {
        let out = radotp(&path, &[command], "");
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {text}");
        assert!(text.contains("database.path"), "{command}: {text}");
        assert!(
            !dir.path().join("keys").exists(),
            "{command} created the key file"
        );
    }
}

#[test]
fn check_config_refuses_an_unknown_key() {
    let text = Conf::default()
        .to_toml()
        .replace("[server]\n", "[server]\ncolour_of_bikeshed = \"blue\"\n");
    let err = refused(&text);
    assert!(
        err.contains("colour_of_bikeshed"),
        "the message must name the unknown key: {err}"
    );
}

#[test]
fn check_config_refuses_an_empty_secret() {
    let conf = Conf::default().clients(vec![ClientConf::new("nas", "127.0.0.1/32", "")]);
    let err = refused(&conf.to_toml());
    assert!(
        err.contains("secret"),
        "the message must name `secret`: {err}"
    );
}

#[test]
fn check_config_refuses_two_clients_with_the_same_prefix() {
    let conf = Conf::default().clients(vec![
        ClientConf::new("one", "127.0.0.1/32", SECRET),
        ClientConf::new("two", "127.0.0.1/32", "other-secret"),
    ]);
    let err = refused(&conf.to_toml());
    assert!(
        err.contains("client"),
        "the message must name the client: {err}"
    );
}

#[test]
fn check_config_refuses_a_bad_address() {
    let conf = Conf::default().clients(vec![ClientConf::new("nas", "127.0.0.300/32", SECRET)]);
    let err = refused(&conf.to_toml());
    assert!(
        err.contains("address"),
        "the message must name `address`: {err}"
    );
}

#[test]
fn user_add_json_prints_exactly_one_object() {
    let (dir, path) = config(&Conf::default().to_toml());
    let out = radotp(
        &path,
        &["user", "add", "alice", "--password-stdin", "--json"],
        "s3cret-pw\n",
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    // from_str refuses trailing non-whitespace: one JSON value and nothing else.
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {text:?}"));
    let obj = v.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["name", "otpauth_uri", "secret"]);
    assert_eq!(v["name"], "alice");
    let secret = v["secret"].as_str().unwrap();
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "not base32: {secret}"
    );
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .expect("secret decodes")
        .as_ref()
        .to_vec();
    assert!(
        bytes.len() >= 20,
        "TOTP secret of {} bytes; expected 160 bits",
        bytes.len()
    );
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(
        !text.contains("s3cret-pw") && !stderr(&out).contains("s3cret-pw"),
        "the password was echoed"
    );
    assert!(
        dir.path().join("radotp.db").exists(),
        "database path must resolve against the config folder"
    );
}

#[test]
fn user_add_twice_fails() {
    let (_dir, path) = config(&Conf::default().to_toml());
    let args = ["user", "add", "bob", "--password-stdin", "--json"];
    let first = radotp(&path, &args, "pw\n");
    assert_eq!(first.status.code(), Some(0), "stderr: {}", stderr(&first));
    let second = radotp(&path, &args, "pw2\n");
    assert_eq!(
        second.status.code(),
        Some(1),
        "adding an existing user: stdout {} stderr {}",
        stdout(&second),
        stderr(&second)
    );
    assert!(
        !stderr(&second).trim().is_empty(),
        "a failing user add must say why"
    );
    assert!(
        stdout(&second).trim().is_empty(),
        "nothing on stdout on failure: {}",
        stdout(&second)
    );
}

#[test]
fn user_add_normalises_an_imported_totp_secret() {
    // 21 bytes = 168 bits: 34 base32 characters, padded to 40 with '='.
    let raw: Vec<u8> = (1..=21).collect();
    let canonical = totp_rs::Secret::from(raw).to_base32();
    assert_eq!(canonical.len(), 34);
    let mut messy = canonical.to_lowercase();
    messy.push_str("======");
    let messy: String = messy
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            if i > 0 && i % 4 == 0 {
                vec![' ', c]
            } else {
                vec![c]
            }
        })
        .collect();
    let (_dir, path) = config(&Conf::default().to_toml());
    let out = radotp(
        &path,
        &[
            "user",
            "add",
            "carol",
            "--password-stdin",
            "--json",
            "--totp-secret",
            &messy,
        ],
        "pw\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "--totp-secret {messy:?}: stderr {}",
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(
        v["secret"],
        canonical.as_str(),
        "printed secret must be upper-case base32 without spaces or padding"
    );
    assert!(
        v["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={canonical}"))
    );
}

#[test]
fn user_add_refuses_a_bad_totp_secret() {
    let (_dir, path) = config(&Conf::default().to_toml());
    let out = radotp(
        &path,
        &[
            "user",
            "add",
            "dan",
            "--password-stdin",
            "--json",
            "--totp-secret",
            "not base32 !!!",
        ],
        "pw\n",
    );
    assert_ne!(
        out.status.code(),
        Some(0),
        "a bad --totp-secret was accepted: {}",
        stdout(&out)
    );
}

#[test]
fn log_level_refuses_a_word_that_is_not_a_level() {
    let (_dir, path) = config(&Conf::default().to_toml());
    for bad in ["loud", "inof", "radotp=debug"] {
        let out = radotp(&path, &["--log-level", bad, "check-config"], "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "--log-level {bad}: stdout {} stderr {}",
            stdout(&out),
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains("--log-level") && err.contains(bad),
            "the message must name the option and the value: {err}"
        );
        assert!(
            err.contains("error, warn, info, debug, trace"),
            "the message must say what to type: {err}"
        );
        assert!(
            !stdout(&out).contains("configuration OK"),
            "nothing may run after a bad --log-level"
        );
    }
}

#[test]
fn log_level_accepts_a_level_in_any_case() {
    let (_dir, path) = config(&Conf::default().to_toml());
    for good in ["warn", "DEBUG", "Trace"] {
        let out = radotp(&path, &["--log-level", good, "check-config"], "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "--log-level {good}: stderr {}",
            stderr(&out)
        );
        assert!(stdout(&out).contains("configuration OK"));
    }
}
