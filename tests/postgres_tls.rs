//! TLS to PostgreSQL (`sslmode`, `sslrootcert` in `[database] url`) against a PostgreSQL server
//! of the test's own whose certificate the test made and which refuses every connection that is
//! not TLS: `verify-full` and `require` connect (and radotp serves logins on it), a wrong host
//! name or CA is refused with a clear error, `disable` is refused by the server.

mod common;
mod postgres_support;

use common::pki::{Ca, Leaf};
use common::*;
use postgres_support::tls_server::TlsPostgres;

fn check(url: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let conf = Conf {
        database_url: Some(url.to_owned()),
        ..Conf::default()
    };
    let path = dir.path().join("radotp.toml");
    std::fs::write(&path, conf.to_toml()).unwrap();
    let out = radotp(&path, &["check-config"], "");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn verify_full_and_require_connect_and_a_wrong_name_or_ca_is_refused() {
    let pki = tempfile::tempdir().unwrap();
    let ca = Ca::new(pki.path(), "ca", "radotp PostgreSQL test CA");
    let other = Ca::new(pki.path(), "other-ca", "someone else's CA");
    let cert = ca.issue(pki.path(), "db", &["localhost", "127.0.0.1"], Leaf::Server);
    let postgres = TlsPostgres::start(&cert);
    let root = |ca: &Ca| format!("sslrootcert={}", ca.cert.display());

    let ok = [
        postgres.url("127.0.0.1", &format!("sslmode=verify-full&{}", root(&ca))),
        postgres.url("localhost", &format!("sslmode=verify-full&{}", root(&ca))),
        // verify-ca checks the chain, not the name (127.0.0.2 is not in the certificate).
        postgres.url("127.0.0.2", &format!("sslmode=verify-ca&{}", root(&ca))),
        postgres.url("127.0.0.2", "sslmode=require"),
        // The default, prefer, uses TLS when the server offers it.
        postgres.url("127.0.0.1", ""),
    ];
    for url in &ok {
        let (code, text) = check(url);
        assert_eq!(code, Some(0), "{url}: {text}\n{}", postgres.log());
        assert!(text.contains("configuration OK"), "{url}: {text}");
    }
    let refused = [
        (
            postgres.url("127.0.0.2", &format!("sslmode=verify-full&{}", root(&ca))),
            "not valid for name",
        ),
        (
            postgres.url(
                "127.0.0.1",
                &format!("sslmode=verify-full&{}", root(&other)),
            ),
            "UnknownIssuer",
        ),
        (
            postgres.url("127.0.0.1", &format!("sslmode=require&{}", root(&other))),
            "UnknownIssuer",
        ),
        (
            postgres.url("127.0.0.1", "sslmode=disable"),
            "no encryption",
        ),
    ];
    for (url, words) in &refused {
        let (code, text) = check(url);
        assert_eq!(code, Some(2), "{url}: {text}");
        assert!(
            text.contains("database.url")
                && text.contains("cannot connect")
                && text.contains(words),
            "{url}: {text}"
        );
    }
    let (code, text) =
        check(&postgres.url("127.0.0.1", "sslmode=verify-full&sslrootcert=missing.pem"));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("database.url") && text.contains("missing.pem"),
        "{text}"
    );

    // The whole server on it: schema, a user, a login.
    let url = &ok[0];
    let server = Server::with(Conf {
        database_url: Some(url.clone()),
        ..Conf::default()
    });
    let secret = server.add_user("alice", "alice-pw");
    let reply = client::Client::new(server.addr()).exchange(&client::Request::access(
        SECRET,
        "alice",
        format!("alice-pw{}", code_now(&secret)).as_bytes(),
    ));
    assert_eq!(reply.code, 2, "{}", server.logs());
    assert!(
        server.logs().contains("sslmode=verify-full"),
        "{}",
        server.logs()
    );
}
