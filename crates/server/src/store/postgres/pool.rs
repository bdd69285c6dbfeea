//! A small bounded pool of PostgreSQL connections: a timeout on everything (connecting, waiting
//! for a free connection, each statement, each whole operation), and reconnection with backoff:
//! during an outage one caller per backoff period tries to connect, the others fail at once.
//!
//! The store's API is blocking, so the pool owns a small tokio runtime ([`IoRuntime`]): each
//! connection's I/O task lives there, and each operation waits for it, with a deadline, on the
//! calling thread — any thread, also one inside another runtime.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PostgresUrl;
use super::error::{OpError, database_error, describe, is_broken};
use crate::io_runtime::IoRuntime;
use crate::store::StoreError;

/// Bounds of the pool. The defaults suit a RADIUS node: a login is a handful of statements.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at most.
    pub max_connections: usize,
    /// Longest wait to connect (TCP, then authentication).
    pub connect_timeout: Duration,
    /// Longest a statement may run or wait for a lock on the server; the client gives up on
    /// a whole login operation (several statements) after twice this.
    pub statement_timeout: Duration,
    /// Longest wait for a free connection when all are busy.
    pub checkout_timeout: Duration,
    /// Pause before the first reconnection attempt in an outage; doubles up to `max_backoff`.
    /// In between, operations fail at once instead of each waiting for a timeout.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            checkout_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// One connection and the statements prepared on it.
pub(super) struct Conn {
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    /// `sql`, prepared once per connection.
    pub(super) async fn statement(
        &mut self,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

struct State {
    idle: Vec<Conn>,
    /// Connections that exist: idle, lent out, or being opened.
    open: usize,
    /// Set while the database is unreachable.
    outage: Option<Outage>,
}

struct Outage {
    since: Instant,
    /// No new connection attempt before this; operations fail at once until then.
    retry_at: Instant,
    delay: Duration,
    error: String,
}

pub(super) struct Pool {
    url: PostgresUrl,
    config: tokio_postgres::Config,
    /// The TLS every connection is made with (`sslmode`; unused with `disable`).
    tls: MakeRustlsConnect,
    limits: Limits,
    state: Mutex<State>,
    returned: Condvar,
    /// Declared last: dropped after the connections it drives.
    io: IoRuntime,
}

/// A connection lent out; `fresh` if it was opened for this operation.
struct Lent {
    conn: Conn,
    fresh: bool,
}

impl Pool {
    pub(super) fn new(url: &PostgresUrl, limits: Limits) -> Result<Self, String> {
        let io = IoRuntime::new("radotp-postgres")
            .map_err(|e| format!("cannot start the database runtime: {e}"))?;
        let mut config = url.config().clone();
        config.connect_timeout(limits.connect_timeout);
        config.keepalives_idle(Duration::from_secs(30));
        if cfg!(target_os = "linux") {
            // Unacknowledged data for this long means the server or the network is gone.
            config.tcp_user_timeout(limits.statement_timeout * 2);
        }
        if config.get_application_name().is_none() {
            config.application_name("radotp");
        }
        let tls = MakeRustlsConnect::new(url.tls().client_config()?);
        Ok(Self {
            url: url.clone(),
            config,
            tls,
            limits,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                outage: None,
            }),
            returned: Condvar::new(),
            io,
        })
    }

    /// The bound on one ordinary operation (a few statements).
    pub(super) fn operation_timeout(&self) -> Duration {
        self.limits.statement_timeout * 2
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing leaves the state half-changed across a panic; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `op` on a pooled connection within `budget`.
    ///
    /// A pooled connection that turns out to be dead (the server restarted, or closed it) is
    /// replaced and `op` runs once more on a new one. That is safe for every operation of the
    /// store: each is a read, or a conditional statement whose repetition after an unseen
    /// commit is refused (a step already used, a challenge already taken, a code already
    /// used) or only counts a failure twice — never an accept that should not be.
    pub(super) fn run<T, F>(&self, budget: Duration, mut op: F) -> Result<T, StoreError>
    where
        F: AsyncFnMut(&mut Conn) -> Result<T, OpError>,
    {
        let mut lent = self.checkout()?;
        let mut retried = false;
        loop {
            let conn = &mut lent.conn;
            let outcome = self
                .io
                .wait(async { tokio::time::timeout(budget, op(conn)).await });
            match outcome {
                Ok(Ok(value)) => {
                    self.give_back(lent.conn);
                    self.mark_up();
                    return Ok(value);
                }
                Ok(Err(OpError::Store(e))) => {
                    self.give_back(lent.conn);
                    return Err(e);
                }
                Ok(Err(OpError::Pg(e))) if is_broken(&e, &lent.conn) => {
                    self.discard(lent.conn);
                    if lent.fresh || retried {
                        self.mark_down(&describe(&e));
                        return Err(database_error(&e));
                    }
                    // The others were opened in the same era; they are likely dead too.
                    self.discard_idle();
                    retried = true;
                    lent = self.checkout()?;
                }
                Ok(Err(OpError::Pg(e))) => {
                    self.give_back(lent.conn);
                    return Err(database_error(&e));
                }
                Err(_elapsed) => {
                    // Mid-statement, perhaps: the connection's state is unknown; close it.
                    self.discard(lent.conn);
                    let reason = format!("the database did not answer within {budget:?}");
                    self.mark_down(&reason);
                    return Err(StoreError::Database(reason));
                }
            }
        }
    }

    /// An idle connection, a new one, or a wait (bounded) for one to come back.
    fn checkout(&self) -> Result<Lent, StoreError> {
        let deadline = Instant::now() + self.limits.checkout_timeout;
        let mut state = self.state();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Lent { conn, fresh: false });
            }
            if state.open < self.limits.max_connections {
                let now = Instant::now();
                if let Some(outage) = &mut state.outage {
                    if now < outage.retry_at {
                        return Err(StoreError::Database(format!(
                            "the database is unreachable ({}); next attempt in {:?}",
                            outage.error,
                            outage.retry_at - now
                        )));
                    }
                    // This caller tries; the others fail at once until the next backoff.
                    outage.retry_at = now + outage.delay;
                }
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => {
                        self.mark_up();
                        Ok(Lent { conn, fresh: true })
                    }
                    Err(reason) => {
                        self.state().open -= 1;
                        self.returned.notify_one();
                        self.mark_down(&reason);
                        Err(StoreError::Database(format!(
                            "cannot connect to the database {}: {reason}",
                            self.url
                        )))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Database(format!(
                    "all {} database connections stayed busy for {:?}",
                    self.limits.max_connections, self.limits.checkout_timeout
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Open one connection with the session's timeouts set; bounded by `connect_timeout`.
    fn connect(&self) -> Result<Conn, String> {
        let limits = self.limits;
        self.io.wait(async {
            let connecting = tokio::time::timeout(
                limits.connect_timeout,
                self.config.connect(self.tls.clone()),
            );
            let (client, connection) = match connecting.await {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => return Err(describe(&e)),
                Err(_) => return Err(format!("no answer within {:?}", limits.connect_timeout)),
            };
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %describe(&e), "database connection closed");
                }
            });
            let ms = limits.statement_timeout.as_millis();
            let setup = format!(
                "SET statement_timeout = {ms}; SET lock_timeout = {ms};
                 SET idle_in_transaction_session_timeout = {}",
                ms * 2
            );
            match tokio::time::timeout(limits.connect_timeout, client.batch_execute(&setup)).await {
                Ok(Ok(())) => Ok(Conn {
                    client,
                    statements: HashMap::new(),
                }),
                Ok(Err(e)) => Err(describe(&e)),
                Err(_) => Err(format!("no answer within {:?}", limits.connect_timeout)),
            }
        })
    }

    fn give_back(&self, conn: Conn) {
        let mut state = self.state();
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.returned.notify_one();
    }

    fn discard(&self, conn: Conn) {
        drop(conn);
        self.state().open -= 1;
        self.returned.notify_one();
    }

    fn discard_idle(&self) {
        let mut state = self.state();
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        drop(state);
        drop(idle);
        self.returned.notify_all();
    }

    /// Start (or extend) an outage: back off further.
    fn mark_down(&self, reason: &str) {
        let mut state = self.state();
        let now = Instant::now();
        match &mut state.outage {
            Some(outage) => {
                outage.delay = (outage.delay * 2).min(self.limits.max_backoff);
                outage.retry_at = now + outage.delay;
                outage.error = reason.to_owned();
            }
            None => {
                state.outage = Some(Outage {
                    since: now,
                    retry_at: now + self.limits.min_backoff,
                    delay: self.limits.min_backoff,
                    error: reason.to_owned(),
                });
                drop(state);
                // The server's health state logs outages for operators; this is detail.
                tracing::debug!(database = %self.url, error = reason, "database unreachable");
            }
        }
    }

    /// End an outage, if there is one.
    fn mark_up(&self) {
        let mut state = self.state();
        if let Some(outage) = state.outage.take() {
            drop(state);
            tracing::debug!(
                database = %self.url,
                down_secs = outage.since.elapsed().as_secs_f64(),
                "database reachable again"
            );
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // The connections go first, while their runtime still runs; it stops without blocking.
        self.state().idle.clear();
    }
}
