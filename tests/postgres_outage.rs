//! The database goes away and comes back. It goes away behind a TCP proxy of the test's own
//! (`postgres_support::proxy`), so the shared server keeps running for the tests beside these.
//!
//! A node never accepts on a guess: while it cannot reach the database it drops Access-Requests
//! and leaves Status-Server unanswered, so the NAS fails over; it logs the outage once and its
//! end once; and it serves again by itself, without a restart.

mod common;
mod postgres_support;

use std::time::{Duration, Instant};

use common::client::*;
use common::*;
use postgres_support::proxy::Proxy;
use postgres_support::*;
use radotp_server::auth::otp::{Algorithm, TotpParams};
use radotp_server::secret::SecretBytes;
use radotp_server::store::postgres::Limits;
use radotp_server::store::{Keys, NewToken, NewUser, PostgresStore, PostgresUrl, Store, TotpSeed};

#[test]
fn a_store_rides_out_an_outage() {
    let db = TestDatabase::new();
    let (host, port) = db.server_address();
    let mut proxy = Proxy::to(&host, port);
    let url = PostgresUrl::parse(&db.url_at(proxy.port())).unwrap();
    let limits = Limits {
        max_connections: 4,
        connect_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_millis(500),
        checkout_timeout: Duration::from_millis(500),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    let store = PostgresStore::open_with(&url, Keys::from_master(b"k"), limits).unwrap();
    let seed = TotpSeed {
        secret: SecretBytes::new(vec![9; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    };
    store
        .add_users(&[NewUser {
            name: "pat",
            password_hash: "h",
            password_source: radotp_server::store::PasswordSource::Local,
            token: Some(&NewToken::app(seed)),
            now: 0,
        }])
        .unwrap();
    assert!(store.consume_token("pat", 1, 1, 0, 1).unwrap());

    proxy.down();
    for attempt in 0..5 {
        let started = Instant::now();
        let result = store.consume_token("pat", 1, 2 + attempt, 0, 2);
        assert!(result.is_err(), "attempt {attempt}: {result:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
    }
    let err = store.find_user("pat").unwrap_err().to_string();
    assert!(err.contains("database"), "{err}");

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(5);
    let back = loop {
        match store.find_user("pat") {
            Ok(found) => break found.unwrap(),
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the store did not reconnect: {e}"),
        }
    };
    assert_eq!(
        back.tokens[0].last_used,
        Some(1),
        "nothing was accepted while down"
    );
    assert!(store.consume_token("pat", 1, 2, 0, 3).unwrap());
}

/// Send `request` to `server`; the reply's code, or `None` after `wait` of silence.
fn answer(server: &Server, request: &Request, wait: Duration) -> Option<u8> {
    let client = Client::new(server.addr());
    let bytes = request.encode();
    client.send(&bytes);
    let raw = client.recv(wait)?;
    Some(check_reply(&raw, &bytes, SECRET.as_bytes()).unwrap().code)
}

fn events_with(server: &Server, prefix: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|v| v["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .count()
}

#[test]
fn nodes_go_quiet_while_the_database_is_away_and_resume_without_a_restart() {
    let db = TestDatabase::new();
    let key = SharedKey::new();
    let (host, port) = db.server_address();
    let mut proxy = Proxy::to(&host, port);
    let conf = Conf {
        database_url: Some(db.url_at(proxy.port())),
        key_file: Some(key.path().display().to_string()),
        ..Conf::default()
    };
    let a = Server::with(conf.clone());
    let b = Server::with(conf);
    let secret = a.add_user("gus", "pw-gus");
    let login = |code: &str| Request::access(SECRET, "gus", format!("pw-gus{code}").as_bytes());
    assert_eq!(
        answer(&a, &login(&code_now(&secret)), REPLY_TIMEOUT),
        Some(ACCESS_ACCEPT)
    );

    proxy.down();
    let next = code_at(&secret, now() + 30);
    for node in [&a, &b] {
        assert_eq!(
            answer(node, &login(&next), Duration::from_secs(3)),
            None,
            "an Access-Request the node cannot check is dropped"
        );
        assert_eq!(
            answer(node, &Request::status(SECRET), Duration::from_secs(3)),
            None,
            "Status-Server goes unanswered, so the NAS sees the node as down"
        );
        node.assert_dropped("database unavailable", "");
    }

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The code the nodes could not check while the database was away: still unused.
        match answer(&a, &login(&next), Duration::from_secs(1)) {
            Some(ACCESS_ACCEPT) => break,
            other if Instant::now() < deadline => {
                eprintln!("not yet: {other:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
            other => panic!("node A did not resume: {other:?}"),
        }
    }
    for node in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while answer(node, &Request::status(SECRET), Duration::from_secs(1)).is_none() {
            assert!(Instant::now() < deadline, "Status-Server still unanswered");
        }
        assert_eq!(
            events_with(node, "database unavailable"),
            1,
            "{}",
            node.logs()
        );
        assert_eq!(
            events_with(node, "database available again"),
            1,
            "{}",
            node.logs()
        );
    }
    // Still one server: the code A just accepted is refused on B.
    assert_eq!(
        answer(&b, &login(&next), REPLY_TIMEOUT),
        Some(ACCESS_REJECT)
    );
}
