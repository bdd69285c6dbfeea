//! Reload on SIGHUP: a changed configuration is swapped into the running server — a client
//! added, a secret changed, a group's reply attributes — a broken file changes nothing and is
//! logged with its key, settings that need a restart are named; and under a steady load of
//! logins, twenty reloads lose no request and answer none wrongly.

mod common;

use std::thread::sleep;
use std::time::{Duration, Instant};

use common::client::{Client, Request};
use common::*;
use serde_json::Value;

const SECOND: &str = "second-nas-secret-1";
const SECOND_CHANGED: &str = "second-nas-secret-2";

fn count(server: &Server, message: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|e| e["message"] == message)
        .count()
}

/// Write `conf`, send SIGHUP, and wait for the reload's outcome line; returns it.
fn reload(server: &Server, conf: &Conf) -> Value {
    let done = |s: &Server| count(s, "configuration reloaded") + count_refused(s);
    let before = done(server);
    std::fs::write(server.config_path(), conf.to_toml()).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while done(server) == before {
        assert!(
            Instant::now() < deadline,
            "no reload outcome:\n{}",
            server.logs()
        );
        sleep(Duration::from_millis(20));
    }
    server
        .events()
        .into_iter()
        .rev()
        .find(|e| {
            e["message"] == "configuration reloaded"
                || e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("reload refused"))
        })
        .unwrap()
}

fn count_refused(server: &Server) -> usize {
    server
        .events()
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("reload refused"))
        })
        .count()
}

fn with_second(conf: &Conf, secret: &str) -> Conf {
    let mut conf = conf.clone();
    conf.clients
        .push(ClientConf::new("second", "127.0.0.2/32", secret));
    conf
}

fn status_from_second(server: &Server, secret: &str) -> Option<Vec<u8>> {
    let client = Client::bind("127.0.0.2:0", server.addr());
    client.send(&Request::status(secret).encode());
    client.recv(Duration::from_millis(600))
}

#[test]
fn clients_secrets_and_groups_change_without_a_restart_and_a_broken_file_changes_nothing() {
    let base = Conf {
        extra: "[[group]]\nname = \"staff\"\nreply = { \"Class\" = \"before\" }\n".into(),
        ..Conf::default()
    };
    let mut server = Server::with(base.clone());
    let secret = server.add_user("alice", "alice-pw");
    let set = server.cli(&["user", "set", "alice", "--group", "staff"], "");
    assert!(set.status.success());
    let login = |server: &Server| {
        Client::new(server.addr()).exchange(&Request::access(
            SECRET,
            "alice",
            format!("alice-pw{}", code_now(&secret)).as_bytes(),
        ))
    };
    assert_eq!(
        status_from_second(&server, SECOND),
        None,
        "127.0.0.2 is not a client yet"
    );

    // A client added.
    let added = with_second(&base, SECOND);
    let line = reload(&server, &added);
    assert!(
        line["changes"]
            .as_str()
            .unwrap()
            .contains("client second added"),
        "{line}"
    );
    assert_eq!(status_from_second(&server, SECOND).map(|r| r[0]), Some(2));

    // Its secret changed: the old one is refused, the new one works, neither is logged.
    let changed = with_second(&base, SECOND_CHANGED);
    let line = reload(&server, &changed);
    assert!(
        line["changes"]
            .as_str()
            .unwrap()
            .contains("secret of client second changed"),
        "{line}"
    );
    assert_eq!(status_from_second(&server, SECOND), None);
    assert_eq!(
        status_from_second(&server, SECOND_CHANGED).map(|r| r[0]),
        Some(2)
    );
    assert!(!server.logs().contains(SECOND) && !server.logs().contains(SECOND_CHANGED));

    // A group's reply attributes: the next Accept carries the new value.
    let mut regrouped = changed.clone();
    regrouped.extra = regrouped.extra.replace("\"before\"", "\"after\"");
    let line = reload(&server, &regrouped);
    assert!(
        line["changes"]
            .as_str()
            .unwrap()
            .contains("group staff changed"),
        "{line}"
    );
    let reply = login(&server);
    assert_eq!(reply.code, 2);
    assert_eq!(reply.values(25), vec![b"after".to_vec()]);

    // A broken file: refused with its key, and everything keeps working as before.
    let mut broken = regrouped.clone();
    broken.extra += "\n[lockout]\nmax_failures = 0\n";
    let line = reload(&server, &broken);
    let message = line["message"].as_str().unwrap();
    assert!(
        message.contains("reload refused") && message.contains("lockout.max_failures"),
        "{line}"
    );
    assert_eq!(
        status_from_second(&server, SECOND_CHANGED).map(|r| r[0]),
        Some(2)
    );
    std::fs::write(server.config_path(), "[server\nthis is not TOML").unwrap();
    server.signal("HUP");
    assert!(
        server.wait_for_log(|e| e["message"].as_str().is_some_and(|m| m
            .contains("reload refused")
            && m.contains("not a valid configuration file"))),
        "{}",
        server.logs()
    );

    // What needs a restart is named, and the old value stays.
    let mut moved = regrouped.clone();
    moved.listen = vec!["127.0.0.3:1812".into()];
    moved.workers = 3;
    let line = reload(&server, &moved);
    assert_eq!(line["message"], "configuration reloaded", "{line}");
    for setting in ["server.listen", "server.workers"] {
        assert!(
            server.wait_for_log(|e| e["setting"] == setting),
            "{setting}: {}",
            server.logs()
        );
    }
    assert_eq!(login(&server).code, 3, "the same code again is a replay");
    server.stop();
}

#[test]
fn twenty_reloads_under_a_steady_load_of_logins_lose_no_request() {
    let base = Conf::default();
    let server = Server::with(base.clone());
    let setup = server.cli(&["bench", "--setup-users", "600", "--json"], "");
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let addr = server.addr().to_string();
    let bench = {
        let args: Vec<String> = [
            "bench",
            "--server",
            &addr,
            "--scenario",
            "accept",
            "--rate",
            "50",
            "--duration",
            "8s",
            "--count",
            "600",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let config = server.config_path();
        let clock = clock_for(&config);
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new(BIN);
            cmd.env(CLOCK_VARIABLE, clock)
                .arg("--config")
                .arg(&config)
                .args(&args);
            run(cmd, "", Duration::from_secs(60))
        })
    };
    // Reload every 300 ms: add a client, change its secret, break the file, fix it.
    let mut broken = base.clone();
    broken.extra = "[lockout]\nmax_failures = 0\n".into();
    let steps = [
        with_second(&base, SECOND),
        with_second(&base, SECOND_CHANGED),
        broken,
        base.clone(),
    ];
    for i in 0..20 {
        sleep(Duration::from_millis(300));
        reload(&server, &steps[i % steps.len()]);
    }
    let out = bench.join().unwrap();
    let report = json_document(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report["sent"].as_u64().unwrap() >= 300, "{report}");
    assert_eq!(report["sent"], report["answered"], "{report}");
    assert_eq!(report["answers"]["accept"], report["sent"], "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["bad"], 0, "{report}");
    assert_eq!(report["unexpected"], 0, "{report}");
    assert_eq!(
        count(&server, "configuration reloaded"),
        15,
        "{}",
        server.logs()
    );
    assert_eq!(count_refused(&server), 5);
}
