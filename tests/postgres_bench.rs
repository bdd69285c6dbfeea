//! `radotp bench` on PostgreSQL: every scenario, the bench users' setup and removal, their
//! record named after the database, and a generator that cannot read the database says so and
//! exits non-zero (it once panicked in every generator thread and reported `sent 0`, exit 0).
//!
//! Real binaries, a database of each test's own (see `postgres_support`).

mod common;
mod postgres_support;

use std::path::PathBuf;

use common::*;
use postgres_support::*;
use serde_json::Value;

/// `radotp bench ARGS… --json` against `server`'s own port, with its configuration.
fn bench(server: &Server, args: &[&str]) -> (Option<i32>, Value) {
    let addr = server.addr().to_string();
    let out = server.cli(
        &[
            &["bench", "--server", &addr, "--duration", "30s", "--json"],
            args,
        ]
        .concat(),
        "",
    );
    (out.status.code(), json_document(&out))
}

/// Where the bench users of `db` are recorded: beside the key file, named after the database.
fn record(db: &TestDatabase, key: &SharedKey) -> PathBuf {
    let (host, port) = db.server_address();
    let host: String = host
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    key.dir
        .path()
        .join(format!("postgres-{host}-{port}-{}.bench.json", db.name))
}

#[test]
fn every_scenario_runs_on_postgresql() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let server = Server::with(node_conf(Conf::default(), &db, &key));

    let out = server.cli(&["bench", "--setup-users", "80", "--json"], "");
    let created = json_document(&out);
    assert_eq!(out.status.code(), Some(0), "{created}");
    assert_eq!(created["created"], 80, "{created}");
    let file = record(&db, &key);
    assert_eq!(created["file"], file.display().to_string(), "{created}");
    assert!(file.is_file(), "{}", file.display());

    let (code, report) = bench(&server, &["--scenario", "accept", "--count", "40"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["sent"], 40, "{report}");
    assert_eq!(report["answers"]["accept"], 40, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");

    let (code, report) = bench(&server, &["--scenario", "reject", "--count", "20"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["answers"]["reject"], 20, "{report}");
    assert_eq!(report["answers"]["accept"], 0, "{report}");

    // Mixed: users no accept has used this step log in (80 bench users: enough for the
    // accept run and this one within one TOTP step, so it never waits for the next).
    let (code, report) = bench(&server, &["--scenario", "mixed", "--count", "30"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["sent"], 30, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");
    assert_eq!(report["bad"], 0, "{report}");

    let (code, report) = bench(&server, &["--scenario", "status", "--count", "50"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["answered"], 50, "{report}");

    let out = server.cli(&["bench", "--remove-users", "--json"], "");
    let removed = json_document(&out);
    assert_eq!(out.status.code(), Some(0), "{removed}");
    assert_eq!(removed["removed"], 80, "{removed}");
    assert!(!file.exists(), "the record goes with the users");
    let list = json_document(&server.cli(&["user", "list", "--json"], ""));
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

#[test]
fn a_generator_that_cannot_read_the_database_fails_and_says_why() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let server = Server::with(node_conf(Conf::default(), &db, &key));
    let out = server.cli(&["bench", "--setup-users", "10", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", json_document(&out));
    // The generator reads each user's state before its first login; now it cannot.
    db.execute("REVOKE SELECT ON users FROM CURRENT_USER;")
        .unwrap();
    let addr = server.addr().to_string();
    let out = server.cli(
        &[
            "bench",
            "--server",
            &addr,
            "--scenario",
            "accept",
            "--count",
            "10",
            "--duration",
            "30s",
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "no figures for a failed run");
}

/// Access-Accepts a node logged.
fn accepts_logged(server: &Server) -> usize {
    server
        .events()
        .iter()
        .filter(|v| v["message"] == "request" && v["outcome"] == "accept")
        .count()
}

#[test]
fn one_generator_spreads_its_load_over_two_nodes() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let (a, b) = two_nodes(Conf::default(), &db, &key);
    let out = a.cli(&["bench", "--setup-users", "40", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", json_document(&out));
    let (addr_a, addr_b) = (a.addr().to_string(), b.addr().to_string());
    let out = a.cli(
        &[
            "bench",
            "--server",
            &addr_a,
            "--server",
            &addr_b,
            "--scenario",
            "accept",
            "--count",
            "40",
            "--duration",
            "30s",
            "--json",
        ],
        "",
    );
    let report = json_document(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    // Each user once, each accepted once: the two nodes share one database.
    assert_eq!(report["answers"]["accept"], 40, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");
    assert_eq!(
        report["servers"],
        serde_json::json!([addr_a, addr_b]),
        "{report}"
    );
    let (on_a, on_b) = (accepts_logged(&a), accepts_logged(&b));
    assert_eq!(on_a + on_b, 40, "A {on_a}, B {on_b}");
    assert!(
        on_a >= 10 && on_b >= 10,
        "both nodes share the load: A {on_a}, B {on_b}"
    );

    let out = a.cli(&["bench", "--server", &addr_a, "--server", &addr_a], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("given twice"), "{stderr}");
}
