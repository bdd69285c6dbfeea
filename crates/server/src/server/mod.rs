//! The server: the pipeline every transport drives, its stages, and the UDP transport.
//!
//! - [`build`]: the composition root, `Config` → [`Server`].
//! - [`pipeline`]: the stages of one request, sans I/O: `receive` (steps 1–7), `decide`
//!   (8–9, on a worker), `answer` (10).
//! - `request`: step 7, the Access-Request's attributes; `dedup`: the RFC 5080 reply cache
//!   (step 5); `rate`: per-client rate limits; `health`: is the store answering.
//! - [`outcome`]: why a request was dropped; `events` and `log`: the one place each event is
//!   logged and counted, in one log shape.
//! - `settings`: `[server]` and its bounds ([`Settings`]); `reload`: a changed configuration
//!   swapped into the running server ([`Reloader`]).
//! - `udp` and `radsec`: the transports (UDP receive loops; RadSec connections, framed and
//!   bounded); `dispatch`: what both do with a step (send, hold a reply for the reject delay,
//!   decide on the worker pool); `pool`: the bounded password workers; `metrics_http`:
//!   `/metrics`.

mod build;
mod dedup;
mod dispatch;
pub mod eap;
pub mod events;
mod health;
mod log;
mod metrics_http;
pub mod outcome;
pub mod pipeline;
mod pool;
mod radsec;
mod rate;
mod reload;
mod request;
mod settings;
pub mod systemd;
mod udp;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};

pub use build::{
    BuildError, DRAIN_TIMEOUT, QUEUE_PER_WORKER, Server, build, build_with_store, check,
};
pub use pipeline::{Arrival, Pending, Pipeline, Reply, Snapshot, Step, Transport};
pub use reload::{Reloaded, Reloader};
pub use settings::Settings;

use crate::auth::password;
use outcome::DropKind;

/// Why the server could not start listening.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {source} (is another RADIUS server running? ports below 1024 need root)"
    )]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "cannot listen for RadSec on {addr}: {source} (is another RadSec server running? ports below 1024 need root)"
    )]
    RadsecListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "cannot listen for accounting on {addr}: {source} (is another RADIUS server running? ports below 1024 need root)"
    )]
    AccountingListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Web(#[from] crate::web::ServeError),
}

impl Server {
    /// What applies a changed configuration to this server once it runs (SIGHUP).
    pub fn reloader(&self) -> Reloader {
        Reloader::new(
            Arc::clone(&self.pipeline),
            self.radsec.clone(),
            Arc::clone(&self.web),
            self.config.clone(),
        )
    }

    /// Bind every configured socket, then serve until `shutdown` completes and drain what is
    /// in flight.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let mut sockets = Vec::new();
        for &addr in &self.config.server.listen {
            let socket = UdpSocket::bind(addr)
                .await
                .map_err(|source| ServeError::Listen { addr, source })?;
            sockets.push((socket, udp::Role::Authentication));
        }
        for &addr in self.config.accounting.iter().flat_map(|a| &a.listen) {
            let socket = UdpSocket::bind(addr)
                .await
                .map_err(|source| ServeError::AccountingListen { addr, source })?;
            sockets.push((socket, udp::Role::Accounting));
        }
        let mut radsec = Vec::new();
        for &addr in self.config.radsec.iter().flat_map(|r| &r.listen) {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::RadsecListen { addr, source })?;
            radsec.push(listener);
        }
        let metrics = match self.config.server.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServeError::Metrics { addr, source })?,
            ),
            None => None,
        };
        let web = match &self.config.web {
            Some(settings) => Some(crate::web::bind(settings.listen).await?),
            None => None,
        };
        self.serve_on(sockets, radsec, metrics, web, shutdown).await;
        Ok(())
    }

    /// Serve on sockets bound by `serve`: UDP sockets (authentication and accounting), RadSec
    /// listeners (served only with `[radsec]`), the metrics listener.
    async fn serve_on(
        self,
        sockets: Vec<(UdpSocket, udp::Role)>,
        radsec: Vec<TcpListener>,
        metrics: Option<TcpListener>,
        web: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) {
        let pool = Arc::new(self.start_workers());
        let pipeline = Arc::clone(&self.pipeline);
        for (socket, role) in &sockets {
            if let Ok(local) = socket.local_addr() {
                match role {
                    udp::Role::Authentication => tracing::info!(address = %local, "listening"),
                    udp::Role::Accounting => {
                        tracing::info!(address = %local, "accounting listening")
                    }
                }
            }
        }
        for listener in &radsec {
            if let Ok(local) = listener.local_addr() {
                tracing::info!(address = %local, "radsec listening");
            }
        }
        let metrics_task = metrics.map(|listener| {
            if let Ok(local) = listener.local_addr() {
                tracing::info!(address = %local, "metrics at http://{local}/metrics");
            }
            tokio::spawn(metrics_http::serve(
                listener,
                Arc::clone(&pipeline),
                Arc::clone(&pool),
            ))
        });
        let web_task = match (web, &self.config.web) {
            (Some(listener), Some(settings)) => {
                if let Ok(local) = listener.local_addr() {
                    let scheme = if settings.tls.is_some() {
                        "https"
                    } else {
                        "http"
                    };
                    tracing::info!(
                        address = %local,
                        public_url = settings.public_url.as_str(),
                        "enrollment page and admin API at {scheme}://{local}/"
                    );
                }
                let app = crate::web::App::new(
                    Arc::clone(&pipeline),
                    Arc::clone(&self.web),
                    settings.clone(),
                );
                Some(tokio::spawn(crate::web::serve(listener, Arc::new(app))))
            }
            _ => None,
        };
        let users = crate::store::call(pipeline.authenticator().store(), |s| s.count_users())
            .await
            .ok();
        tracing::info!(
            users,
            clients = self.config.clients.len(),
            workers = self.workers,
            threads = self.threads(),
            argon2_mib_per_worker = password::reserved_bytes(self.config.password) >> 20,
            database = %self.config.database.location(),
            "radotp {} ready",
            env!("CARGO_PKG_VERSION")
        );
        // Every socket is bound and the store answers: systemd may call the service started.
        systemd::ready();
        let watchdog = systemd::watchdog();
        let probe = tokio::spawn(health::probe(
            Arc::clone(pipeline.authenticator().store()),
            Arc::clone(pipeline.health()),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (tracker, mut drained) = mpsc::channel::<()>(1);
        let loops: Vec<_> = sockets
            .into_iter()
            .map(|(socket, role)| {
                tokio::spawn(udp::receive_loop(
                    Arc::new(socket),
                    role,
                    Arc::clone(&pipeline),
                    Arc::clone(&pool),
                    stop_rx.clone(),
                    tracker.clone(),
                ))
            })
            .collect();
        let radsec_loops: Vec<_> = match &self.radsec {
            None => Vec::new(),
            Some(shared) => radsec
                .into_iter()
                .map(|listener| {
                    tokio::spawn(radsec::accept_loop(
                        listener,
                        radsec::Listener {
                            radsec: Arc::clone(shared),
                            pipeline: Arc::clone(&pipeline),
                            pool: Arc::clone(&pool),
                            stop: stop_rx.clone(),
                            tracker: tracker.clone(),
                        },
                    ))
                })
                .collect(),
        };
        shutdown.await;
        systemd::stopping();
        if let Some(task) = watchdog {
            task.abort();
        }
        tracing::info!("stopping: no new requests; finishing those in flight");
        for task in metrics_task.into_iter().chain(web_task) {
            task.abort();
        }
        probe.abort();
        let _ = stop_tx.send(true);
        for receive in loops.into_iter().chain(radsec_loops) {
            let _ = receive.await;
        }
        drop(tracker);
        // Every spawned reply task holds a tracker clone; recv() returns None once all are done.
        if tokio::time::timeout(DRAIN_TIMEOUT, drained.recv())
            .await
            .is_err()
        {
            tracing::warn!("gave up waiting for requests in flight after {DRAIN_TIMEOUT:?}");
        }
        let s = pipeline.events().summary();
        tracing::info!(
            received = s.received,
            accepted = s.accepted,
            rejected = s.rejected,
            challenged = s.challenged,
            status_server = s.status_server,
            resent = s.resent,
            accounting_records = s.accounted,
            dropped_unknown_client = s.dropped(DropKind::UnknownClient),
            dropped_malformed = s.dropped(DropKind::Malformed),
            dropped_message_authenticator = s.dropped(DropKind::MessageAuthenticator),
            dropped_duplicate = s.dropped(DropKind::Duplicate),
            dropped_overloaded = s.dropped(DropKind::Overloaded),
            dropped_internal = s.dropped(DropKind::Internal),
            dropped_not_served = s.dropped(DropKind::NotServed),
            argon2_verifications = pipeline.authenticator().checks(),
            "stopped"
        );
    }
}
