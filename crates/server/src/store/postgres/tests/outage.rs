//! Outages and slowness: errors come quickly, never a hang and never a guess, and the store
//! recovers by itself. (A whole outage and its end, behind a TCP proxy: tests/postgres_outage.rs.)

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::*;
use crate::auth::otp::{Algorithm, TotpParams};
use crate::store::{NewToken, TotpSeed};

fn user(store: &PostgresStore, name: &str) {
    let seed = TotpSeed {
        secret: SecretBytes::new(vec![9; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    };
    let new = NewUser {
        name,
        password_hash: "h",
        password_source: crate::store::PasswordSource::Local,
        token: Some(&NewToken::app(seed.clone())),
        now: 0,
    };
    store.add_users(&[new]).unwrap();
}

#[test]
fn an_unreachable_server_fails_fast() {
    let url = PostgresUrl::parse("postgres://radotp@127.0.0.1:1/radotp").unwrap();
    let started = Instant::now();
    let err = PostgresStore::open(&url, suite::keys())
        .err()
        .unwrap()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("cannot connect to the database postgres://radotp@127.0.0.1:1/radotp"),
        "{err}"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    // Accepts connections and says nothing: connect_timeout alone (TCP only) would hang here.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let url = PostgresUrl::parse(&format!("postgres://radotp:pw@127.0.0.1:{port}/radotp")).unwrap();
    let started = Instant::now();
    let err = PostgresStore::open_with(&url, suite::keys(), quick_limits())
        .err()
        .unwrap()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("no answer within 500ms"), "{err}");
    drop(holder.join());
}

#[test]
fn killed_connections_are_replaced_at_once() {
    let backend = PgBackend::new();
    let store = PostgresStore::open(backend.url(), suite::keys()).unwrap();
    user(&store, "quinn");
    for round in 1..=5 {
        let killed = query(
            backend.url(),
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{}' AND application_name = 'radotp'",
                backend.name
            ),
        )
        .unwrap();
        assert!(!killed.is_empty(), "round {round}: no connection to kill");
        assert!(
            store.consume_token("quinn", 1, round, 0, 1).unwrap(),
            "round {round}"
        );
    }
}

#[test]
fn a_statement_waiting_on_a_lock_times_out() {
    let backend = PgBackend::new();
    let store = PostgresStore::open_with(backend.url(), suite::keys(), quick_limits()).unwrap();
    user(&store, "rita");
    let url = backend.url().clone();
    // Another session holds rita's row for 2 s.
    let holder = std::thread::spawn(move || {
        execute(
            &url,
            "BEGIN; SELECT 1 FROM users WHERE name = 'rita' FOR UPDATE; SELECT pg_sleep(2); COMMIT;",
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let err = store
        .consume_token("rita", 1, 1, 0, 1)
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("canceling statement due to"), "{err}");
    holder.join().unwrap().unwrap();
    assert!(
        store.consume_token("rita", 1, 1, 0, 1).unwrap(),
        "usable again"
    );
}
