//! Several radotp nodes on one PostgreSQL database behave as one server: a code used on one is
//! used on all, a race between two is won once, a lock placed by one holds on the other, a
//! challenge started on one is answered on the other; and `db copy` moves an SQLite
//! installation over with everything that guards its users.
//!
//! Real binaries, a database of each test's own (see `postgres_support`).

mod common;
mod postgres_support;

use std::time::{Duration, Instant};

use common::client::*;
use common::*;
use postgres_support::*;
use serde_json::Value;

const STATE: u8 = 24;
const ACCESS_CHALLENGE: u8 = 11;

fn login(server: &Server, user: &str, input: &str) -> u8 {
    Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_code_accepted_on_one_node_is_refused_on_the_other() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let (a, b) = two_nodes(Conf::default(), &db, &key);
    let secret = a.add_user("alice", "pw-alice");
    let code = code_now(&secret);
    assert_eq!(
        login(&a, "alice", &format!("pw-alice{code}")),
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&b, "alice", &format!("pw-alice{code}")),
        ACCESS_REJECT
    );
    b.assert_reason("already used");
    // The other way round with the next code; and B's CLI sees A's user.
    let next = code_at(&secret, now() + 30);
    assert_eq!(
        login(&b, "alice", &format!("pw-alice{next}")),
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&a, "alice", &format!("pw-alice{next}")),
        ACCESS_REJECT
    );
    let list = ok(&b.cli(&["user", "list"], ""));
    assert!(list.contains("alice"), "{list}");
}

#[test]
fn the_same_request_to_both_nodes_at_once_is_accepted_once() {
    const ROUNDS: usize = 100;
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let (a, b) = two_nodes(Conf::default(), &db, &key);
    // 100 users with one seed: each round uses a fresh user, so a fresh code.
    let seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let mut csv = String::from("name,password,password_hash,totp_secret\n");
    for i in 0..ROUNDS {
        csv += &format!("u{i},pw-u{i},,{seed}\n");
    }
    let file = a.dir.path().join("users.csv");
    std::fs::write(&file, csv).unwrap();
    ok(&a.cli(&["user", "import", file.to_str().unwrap()], ""));

    let (to_a, to_b) = (Client::new(a.addr()), Client::new(b.addr()));
    let started = Instant::now();
    for i in 0..ROUNDS {
        let password = format!("pw-u{i}{}", code_now(seed));
        let request = Request::access(SECRET, &format!("u{i}"), password.as_bytes()).encode();
        // The very same datagram, to both nodes, as a NAS failing over too early would send.
        to_a.send(&request);
        to_b.send(&request);
        let mut codes = Vec::new();
        for client in [&to_a, &to_b] {
            let raw = client
                .recv(Duration::from_secs(5))
                .unwrap_or_else(|| panic!("round {i}: no answer from {}", client.server));
            codes.push(check_reply(&raw, &request, SECRET.as_bytes()).unwrap().code);
        }
        codes.sort();
        assert_eq!(codes, [ACCESS_ACCEPT, ACCESS_REJECT], "round {i}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn failures_on_one_node_lock_and_throttle_the_user_on_the_other() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let conf = Conf {
        extra: "[lockout]\nmax_failures = 3\nbase_secs = 600\n".into(),
        ..Conf::default()
    };
    let (a, b) = two_nodes(conf, &db, &key);
    let secret = a.add_user("bob", "pw-bob");
    // Wrong passwords on both count at one gate: the third on either is the last judged.
    for i in 0..3 {
        let to = if i % 2 == 0 { &a } else { &b };
        assert_eq!(login(to, "bob", &format!("guess{i}")), ACCESS_REJECT);
    }
    assert_eq!(login(&b, "bob", "guess3"), ACCESS_REJECT);
    b.assert_reason("throttled (too many wrong passwords");
    ok(&a.cli(&["user", "unlock", "bob"], ""));
    // Replays after the right password, on both, lock the account everywhere.
    let good = format!("pw-bob{}", code_now(&secret));
    assert_eq!(login(&a, "bob", &good), ACCESS_ACCEPT);
    for i in 0..3 {
        let to = if i % 2 == 0 { &b } else { &a };
        assert_eq!(login(to, "bob", &good), ACCESS_REJECT);
    }
    let next = format!("pw-bob{}", code_at(&secret, now() + 30));
    assert_eq!(login(&b, "bob", &next), ACCESS_REJECT);
    b.assert_reason("locked (until ");
    assert_eq!(login(&a, "bob", &next), ACCESS_REJECT);
    // Unlocked on B, it works on A.
    ok(&b.cli(&["user", "unlock", "bob"], ""));
    assert_eq!(login(&a, "bob", &next), ACCESS_ACCEPT);
}

#[test]
fn a_challenge_started_on_one_node_is_answered_on_the_other() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let mut client = ClientConf::new("vpn", "127.0.0.1/32", SECRET);
    client.mode = Some("challenge".into());
    let (a, b) = two_nodes(Conf::default().clients(vec![client]), &db, &key);
    let secret = a.add_user("carol", "pw-carol");

    let challenge = Client::new(a.addr()).exchange(&Request::access(SECRET, "carol", b"pw-carol"));
    assert_eq!(challenge.code, ACCESS_CHALLENGE);
    let state = challenge.values(STATE).pop().expect("a State");
    let answer = |server: &Server, code: &str| {
        Client::new(server.addr())
            .exchange(&Request::access(SECRET, "carol", code.as_bytes()).attr(STATE, &state))
            .code
    };
    assert_eq!(answer(&b, &code_now(&secret)), ACCESS_ACCEPT);
    // Single use across nodes.
    assert_eq!(answer(&a, &code_at(&secret, now() + 30)), ACCESS_REJECT);
    a.assert_reason("unknown State (never issued, already used");
}

#[test]
fn db_copy_moves_an_installation_with_its_used_steps_and_recovery_codes() {
    // An SQLite installation in use.
    let mut single = Server::start();
    let secret = single.add_user("dave", "pw-dave");
    single.add_user("erin", "pw-erin");
    let codes: Value = serde_json::from_str(&ok(
        &single.cli(&["user", "recovery-codes", "dave", "--json"], "")
    ))
    .unwrap();
    let recovery: Vec<String> = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let code = code_now(&secret);
    assert_eq!(
        login(&single, "dave", &format!("pw-dave{code}")),
        ACCESS_ACCEPT
    );
    assert_eq!(
        login(&single, "dave", &format!("pw-dave{}", recovery[0])),
        ACCESS_ACCEPT
    );
    let before = ok(&single.cli(&["user", "list", "--json"], ""));
    single.stop();

    // Copied into PostgreSQL, with the installation's own configuration (its key file).
    let db = TestDatabase::new();
    let sqlite = single.dir.path().join("radotp.db");
    let copied = ok(&single.cli(
        &[
            "db",
            "copy",
            "--from",
            sqlite.to_str().unwrap(),
            "--to",
            &db.url,
        ],
        "",
    ));
    assert!(
        copied.contains("copied 2 users, 10 recovery codes, 0 invitations and 0 API tokens"),
        "{copied}"
    );
    assert!(
        !copied.contains(":radotp_test@"),
        "no password printed: {copied}"
    );
    // A second copy into the same database is refused, and changes nothing.
    let again = single.cli(
        &[
            "db",
            "copy",
            "--from",
            sqlite.to_str().unwrap(),
            "--to",
            &db.url,
        ],
        "",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    // A node on PostgreSQL with the installation's key file.
    let node = Server::with(Conf {
        database_url: Some(db.url.clone()),
        key_file: Some(single.dir.path().join("radotp.key").display().to_string()),
        ..Conf::default()
    });
    let after = ok(&node.cli(&["user", "list", "--json"], ""));
    assert_eq!(before, after, "the same users, field for field");
    assert_eq!(
        login(&node, "dave", &format!("pw-dave{code}")),
        ACCESS_REJECT,
        "the used step stays used"
    );
    assert_eq!(
        login(&node, "dave", &format!("pw-dave{}", recovery[0])),
        ACCESS_REJECT,
        "the used recovery code stays used"
    );
    assert_eq!(
        login(&node, "dave", &format!("pw-dave{}", recovery[1])),
        ACCESS_ACCEPT,
        "an unused recovery code works"
    );
    let next = code_at(&secret, now() + 30);
    assert_eq!(
        login(&node, "dave", &format!("pw-dave{next}")),
        ACCESS_ACCEPT
    );
}

/// The schema version this radotp creates.
const SCHEMA: i64 = radotp_server::store::postgres::SCHEMA_VERSION;

#[test]
fn db_migrate_creates_the_schema_and_check_config_reaches_the_database() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("radotp.toml");
    let conf = node_conf(Conf::default(), &db, &key);
    std::fs::write(&config, conf.to_toml()).unwrap();

    let checked = radotp(&config, &["check-config"], "");
    assert!(ok(&checked).contains("configuration OK"));
    let migrated = ok(&radotp(&config, &["db", "migrate"], ""));
    assert!(
        migrated.contains(&format!("schema version {SCHEMA} (found 0)")),
        "{migrated}"
    );
    assert!(
        !migrated.contains("radotp_test:"),
        "no password printed: {migrated}"
    );
    let again = ok(&radotp(&config, &["db", "migrate"], ""));
    assert!(
        again.contains(&format!("schema version {SCHEMA} (found {SCHEMA})")),
        "{again}"
    );

    // A wrong key file for a database that holds users is named.
    ok(&radotp(
        &config,
        &["user", "add", "fay", "--password-stdin"],
        "pw-fay\n",
    ));
    let other = SharedKey::new();
    let wrong = node_conf(Conf::default(), &db, &other);
    std::fs::write(&config, wrong.to_toml()).unwrap();
    let out = radotp(&config, &["check-config"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database.key_file"), "{err}");
}

/// A Wi-Fi device logs in in full (password and code) on node A, then re-authenticates through
/// node B: B resumes the TLS session A made (a TLS 1.2 session kept by id, a TLS 1.3 ticket),
/// with the keys both share through the database, and lets it in without a new code.
#[test]
fn a_wifi_session_made_on_one_node_resumes_on_the_other() {
    use common::eapol::Eapol;
    use common::pki::{Ca, Leaf};
    use common::relay::{Hold, Relay};

    let db = TestDatabase::new();
    let key = SharedKey::new();
    let pki = tempfile::tempdir().unwrap();
    let ca = Ca::new(pki.path(), "ca", "radotp cluster CA");
    let issued = ca.issue(pki.path(), "radius", &["radius.example.org"], Leaf::Server);
    let quoted = |p: &std::path::Path| serde_json::to_string(&p.display().to_string()).unwrap();
    let mut conf = Conf::default();
    conf.extra += &format!(
        "\n[eap]\ncertificate = {}\nprivate_key = {}\n",
        quoted(&issued.cert),
        quoted(&issued.key)
    );
    let (a, b) = two_nodes(conf, &db, &key);
    let secret = a.add_user("alice", "pw-alice");
    for (round, tls13) in [false, true].into_iter().enumerate() {
        let code = code_at(&secret, now() + 30 * round as u64);
        let relay = Relay::start(a.addr(), Hold::MoveAfterAccepts(1, b.addr()));
        let mut eapol = Eapol::ttls(
            "alice",
            &format!("pw-alice{code}"),
            &ca.cert,
            relay.addr,
            SECRET,
        );
        eapol.tls13 = tls13;
        eapol.reauth = Some(1);
        let run = eapol.run(pki.path());
        assert!(run.success && run.mppe_ok, "tls13={tls13}:\n{}", run.output);
        assert_eq!(relay.accepts(), 2, "tls13={tls13}:\n{}", run.output);
        let decided = |node: &Server, reason: &str| {
            node.events()
                .iter()
                .filter(|e| e["message"] == "request" && e["reason"] == reason)
                .count()
        };
        assert_eq!(decided(&a, "TOTP code"), round + 1, "A: {}", a.logs());
        assert_eq!(decided(&b, "resumed session"), round + 1, "B: {}", b.logs());
    }
}
