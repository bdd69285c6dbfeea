//! The PostgreSQL store: the shared suite (`store::suite`) on a database of its own per test,
//! and what only a networked database has: outages, timeouts, reconnection, migration races.
//!
//! The server comes from `RADOTP_TEST_POSTGRES_URL` (a role that may CREATE DATABASE); each
//! test creates `radotp_test_<random>` and drops it afterwards. Without the variable these
//! tests fail, saying how to start one: a skipped test would pass without testing anything.

mod copy;
mod outage;

use std::time::Duration;

use super::*;
use crate::auth::otp::{Algorithm, TotpParams};
use crate::secret::random_bytes;
use crate::store::suite::{self, Backend};
use crate::store::{NewToken, TotpSeed};

const HOW_TO_START: &str = "RADOTP_TEST_POSTGRES_URL is not set, and the PostgreSQL store tests \
    need a server. Start one (installs Debian's postgresql if needed, starts the cluster, creates \
    the role radotp_test) and set the variable with:\n\n    eval \"$(scripts/postgres)\"\n\n\
    then run cargo test again; or run scripts/test, which does both.";

/// The server the tests create their databases on.
pub(crate) fn admin_url() -> PostgresUrl {
    let text =
        std::env::var("RADOTP_TEST_POSTGRES_URL").unwrap_or_else(|_| panic!("{HOW_TO_START}"));
    PostgresUrl::parse(&text).unwrap_or_else(|e| panic!("RADOTP_TEST_POSTGRES_URL {e}"))
}

/// Run `sql` (several statements allowed) on `url`, on a connection of its own.
pub(crate) fn execute(url: &PostgresUrl, sql: &str) -> Result<(), String> {
    query(url, sql).map(|_| ())
}

/// Rows of `sql` on `url`, on a connection of its own. On a thread of its own too, with a
/// runtime of its own: callable from tests that run inside a runtime.
pub(crate) fn query(url: &PostgresUrl, sql: &str) -> Result<Vec<Row>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| query_here(url, sql))
            .join()
            .expect("the query thread does not panic")
    })
}

fn query_here(url: &PostgresUrl, sql: &str) -> Result<Vec<Row>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = url
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect to {url}: {}", error::describe(&e)))?;
        tokio::spawn(connection);
        if sql.trim_end().contains(';') {
            client.batch_execute(sql).await.map(|_| Vec::new())
        } else {
            client.query(sql, &[]).await
        }
        .map_err(|e| format!("{sql}: {}", error::describe(&e)))
    })
}

/// A database of its own on the test server, dropped (with its connections) afterwards.
pub(crate) struct PgBackend {
    admin: PostgresUrl,
    name: String,
    url: PostgresUrl,
}

impl PgBackend {
    pub(crate) fn new() -> Self {
        let admin = admin_url();
        let name = format!(
            "radotp_test_{}",
            random_bytes::<6>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        execute(&admin, &format!("CREATE DATABASE {name}")).unwrap();
        Self {
            url: admin.with_database(&name),
            admin,
            name,
        }
    }

    pub(crate) fn url(&self) -> &PostgresUrl {
        &self.url
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = execute(&self.admin, &drop) {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

impl Backend for PgBackend {
    fn open(&self, keys: Keys) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PostgresStore::open(&self.url, keys)?))
    }

    fn count_rows(&self, table: &str) -> i64 {
        query(&self.url, &format!("SELECT COUNT(*) FROM {table}")).unwrap()[0].get(0)
    }

    fn raw_contents(&self) -> Vec<u8> {
        use tokio_postgres::types::Type;
        let mut bytes = Vec::new();
        for table in [
            "users",
            "tokens",
            "recovery_codes",
            "sent_codes",
            "challenges",
            "invitations",
            "api_tokens",
            "eap_ticket_keys",
            "eap_sessions",
            "eap_tls_sessions",
        ] {
            for row in query(&self.url, &format!("SELECT * FROM {table}")).unwrap() {
                for (i, column) in row.columns().iter().enumerate() {
                    match *column.type_() {
                        Type::BYTEA => {
                            bytes.extend(row.get::<_, Option<Vec<u8>>>(i).unwrap_or_default())
                        }
                        Type::TEXT => bytes.extend(
                            row.get::<_, Option<String>>(i)
                                .unwrap_or_default()
                                .into_bytes(),
                        ),
                        Type::INT8 => bytes.extend(
                            row.get::<_, Option<i64>>(i)
                                .unwrap_or_default()
                                .to_le_bytes(),
                        ),
                        Type::BOOL => bytes.push(u8::from(row.get::<_, bool>(i))),
                        ref other => panic!(
                            "{table}.{}: a column of type {other} is not dumped",
                            column.name()
                        ),
                    }
                }
            }
        }
        bytes
    }

    fn set_schema_version(&self, version: i64) {
        execute(
            &self.url,
            &format!("UPDATE schema_version SET version = {version};"),
        )
        .unwrap();
    }

    fn create_at_version(&self, version: usize) {
        let mut sql = format!(
            "CREATE TABLE schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version) VALUES ({version});"
        );
        for step in &schema::MIGRATIONS[..version] {
            sql.push_str(step);
            sql.push(';');
        }
        execute(&self.url, &sql).unwrap();
    }

    fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("'\\x{hex}'::bytea")
    }

    fn execute(&self, sql: &str) {
        // A trailing `;` makes `tests::execute` run it as a batch, without parameters.
        execute(&self.url, &format!("{sql};")).unwrap();
    }
}

mod shared {
    crate::store::suite::store_suite!(super::PgBackend::new());
}

/// Limits small enough for tests to see timeouts and backoff quickly.
pub(crate) fn quick_limits() -> Limits {
    Limits {
        max_connections: 4,
        connect_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_millis(500),
        checkout_timeout: Duration::from_millis(500),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

#[test]
fn nodes_starting_together_migrate_once() {
    let backend = PgBackend::new();
    let stores: Vec<PostgresStore> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PostgresStore::open(backend.url(), suite::keys())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let version: i64 =
        query(backend.url(), "SELECT version FROM schema_version").unwrap()[0].get(0);
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(
        stores[0].migrate().unwrap(),
        SCHEMA_VERSION,
        "nothing left to do"
    );
}

#[test]
fn check_reads_without_changing() {
    let backend = PgBackend::new();
    let keys = suite::keys();
    PostgresStore::check(backend.url(), &keys).expect("an empty database is fine");
    assert!(
        query(backend.url(), "SELECT to_regclass('schema_version')::text").unwrap()[0]
            .get::<_, Option<String>>(0)
            .is_none(),
        "check created nothing"
    );
    let store = PostgresStore::open(backend.url(), keys.clone()).unwrap();
    let seed = TotpSeed {
        secret: SecretBytes::new(vec![3; 20]),
        params: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        },
    };
    store
        .add_users(&[NewUser {
            name: "olga",
            password_hash: "h",
            password_source: crate::store::PasswordSource::Local,
            token: Some(&NewToken::app(seed.clone())),
            now: 0,
        }])
        .unwrap();
    PostgresStore::check(backend.url(), &keys).unwrap();
    let wrong = PostgresStore::check(backend.url(), &Keys::from_master(b"other"));
    assert!(matches!(wrong, Err(StoreError::Key(_))), "{wrong:?}");
    backend.set_schema_version(2);
    let err = PostgresStore::check(backend.url(), &keys)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version 2, older") && err.contains("radotp db migrate"),
        "{err}"
    );
    backend.set_schema_version(99);
    let err = PostgresStore::check(backend.url(), &keys)
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 99, newer"), "{err}");
}

#[test]
fn usable_from_blocking_tasks_and_dropped_inside_a_runtime() {
    // The server calls the store from spawn_blocking (health probe, metrics) and drops it
    // wherever its last Arc goes: neither may panic for being inside another runtime.
    let backend = PgBackend::new();
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(PostgresStore::open(backend.url(), suite::keys()).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let probe = std::sync::Arc::clone(&store);
        let users = tokio::task::spawn_blocking(move || probe.count_users())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(users, 0);
        drop(store);
    });
}
