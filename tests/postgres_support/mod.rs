//! PostgreSQL for the integration tests: a database of each test's own on the server named by
//! `RADOTP_TEST_POSTGRES_URL`, dropped afterwards; and radotp nodes that share it.
#![allow(dead_code, unreachable_pub)]

pub mod proxy;
pub mod tls_server;

use std::path::PathBuf;

use tempfile::TempDir;

use crate::common::{Conf, Server};

const HOW_TO_START: &str = "RADOTP_TEST_POSTGRES_URL is not set, and the PostgreSQL tests need a \
    server. Start one (installs Debian's postgresql if needed, starts the cluster, creates the \
    role radotp_test) and set the variable with:\n\n    eval \"$(scripts/postgres)\"\n\n\
    then run cargo test again; or run scripts/test, which does both.";

fn admin_url() -> String {
    std::env::var("RADOTP_TEST_POSTGRES_URL").unwrap_or_else(|_| panic!("{HOW_TO_START}"))
}

/// `url` with its database replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").expect("a URL") + 3;
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let path_start = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// The `(host, port)` of a TCP URL, and the URL with another one.
fn split_address(url: &str) -> (String, u16, String, String) {
    let after_scheme = url.find("://").expect("a URL") + 3;
    let end = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i);
    let authority = &url[after_scheme..end];
    let (userinfo, address) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().expect("a port number")),
        None => (address.to_owned(), 5432),
    };
    let prefix = format!("{}{userinfo}", &url[..after_scheme]);
    (host, port, prefix, url[end..].to_owned())
}

fn execute(url: &str, sql: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .map_err(|e| format!("{sql}: {e:?}"))
    })
}

/// A database of its own, dropped (with its connections) afterwards.
pub struct TestDatabase {
    admin: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn new() -> Self {
        let admin = admin_url();
        let name = format!(
            "radotp_nodes_{}",
            crate::common::client::random16()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        execute(&admin, &format!("CREATE DATABASE {name}")).unwrap();
        Self {
            url: with_database(&admin, &name),
            admin,
            name,
        }
    }

    pub fn execute(&self, sql: &str) -> Result<(), String> {
        execute(&self.url, sql)
    }

    /// Where the server listens (a TCP URL is needed for the proxy).
    pub fn server_address(&self) -> (String, u16) {
        let (host, port, _, _) = split_address(&self.url);
        (host, port)
    }

    /// This database's URL, reached at `127.0.0.1:port` (through a proxy).
    pub fn url_at(&self, port: u16) -> String {
        let (_, _, prefix, rest) = split_address(&self.url);
        format!("{prefix}127.0.0.1:{port}{rest}")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = execute(&self.admin, &drop) {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

/// A key file (mode 0600) in a folder of its own, for nodes that must share it.
pub struct SharedKey {
    pub dir: TempDir,
}

impl SharedKey {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hex: String = (0..2)
            .flat_map(|_| crate::common::client::random16())
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = dir.path().join("radotp.key");
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Self { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("radotp.key")
    }
}

/// `conf` pointed at `db` with the shared key file.
pub fn node_conf(conf: Conf, db: &TestDatabase, key: &SharedKey) -> Conf {
    Conf {
        database_url: Some(db.url.clone()),
        key_file: Some(key.path().display().to_string()),
        ..conf
    }
}

/// Two nodes (A, B) on one database: `conf` for both, started one after the other.
pub fn two_nodes(conf: Conf, db: &TestDatabase, key: &SharedKey) -> (Server, Server) {
    let a = Server::with(node_conf(conf.clone(), db, key));
    let b = Server::with(node_conf(conf, db, key));
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_address_of_a_url_is_found() {
        let (host, port, prefix, rest) =
            super::split_address("postgres://u:p@127.0.0.2:5433/db?x=1");
        assert_eq!((host.as_str(), port), ("127.0.0.2", 5433));
        assert_eq!(
            (prefix.as_str(), rest.as_str()),
            ("postgres://u:p@", "/db?x=1")
        );
    }

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/postgres", "x"),
            "postgres://u:p@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
