//! `[database] url`: path XOR url, problems named by key, an unreachable database reported by
//! check-config and refused by serve, quickly.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn config_with(database: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = Conf::default().to_toml().replace(
        "[database]\npath = \"radotp.db\"\n",
        &format!("[database]\n{database}\n"),
    );
    let path = dir.path().join("radotp.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn check(database: &str) -> (Option<i32>, String) {
    let (_dir, path) = config_with(database);
    let out = radotp(&path, &["check-config"], "");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn path_and_url_exclude_each_other_and_problems_name_the_key() {
    for (database, key, words) in [
        (
            "path = \"radotp.db\"\nurl = \"postgres://radotp@127.0.0.1/radotp\"",
            "database.url",
            "not both",
        ),
        ("key_file = \"radotp.key\"", "database.path", "instead url"),
        (
            "url = \"mysql://radotp:hunter2@h/db\"",
            "database.url",
            "postgres://",
        ),
        (
            "url = \"postgres://radotp:hunter2@h:port/db\"",
            "database.url",
            "not a valid",
        ),
        (
            "url = \"postgres:///radotp\"",
            "database.url",
            "names no host",
        ),
    ] {
        let (code, text) = check(database);
        assert_eq!(code, Some(2), "{database}: {text}");
        assert!(
            text.contains(key) && text.contains(words),
            "{database}: {text}"
        );
        assert!(
            !text.contains("hunter2"),
            "the password is never shown: {text}"
        );
    }
}

#[test]
fn an_unreachable_database_is_a_problem_reported_quickly() {
    let started = Instant::now();
    let (code, text) = check("url = \"postgres://radotp:hunter2@127.0.0.1:1/radotp\"");
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("database.url") && text.contains("cannot connect"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // serve refuses to start on it rather than waiting, as check-config does (exit 2), and
    // before it creates anything.
    let (dir, path) = config_with("url = \"postgres://radotp@127.0.0.1:1/radotp\"");
    let out = radotp(&path, &["serve"], "");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("database.url") && text.contains("cannot connect"),
        "{text}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| {
            let name = e.unwrap().file_name();
            !name.to_string_lossy().ends_with(".key")
        }),
        "serve created a key file before failing"
    );
}

#[cfg(unix)]
#[test]
fn a_password_in_a_readable_config_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = config_with("url = \"postgres://radotp:hunter2@127.0.0.1:1/radotp\"");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // serve logs the warnings first, then fails on the unreachable database.
    let out = radotp(&path, &["serve"], "");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("holds the database password"), "{text}");
}
