//! The UDP server: one receive loop per listening socket, the staged pipeline (`pipeline`),
//! the bounded argon2 pool (`pool`), and a graceful stop — receive no more, finish what is in
//! flight, exit.

mod health;
mod log;
mod metrics_http;
pub mod outcome;
mod pipeline;
pub mod pool;
mod rate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};

use crate::auth::Authenticator;
use crate::clients::ClientTable;
use crate::dedup::ResponseCache;
use crate::delivery::Dispatcher;
use crate::metrics::Metrics;
use crate::protocol::MAX_PACKET_LEN;
use outcome::{DropKind, Stats};
use pool::WorkerPool;

/// How long a stop waits for requests in flight (verification plus reject delay).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything the pipeline needs, shared by all receive loops and reply tasks.
pub struct ServerState {
    pub clients: ClientTable,
    pub cache: ResponseCache,
    pub pool: WorkerPool,
    pub authenticator: Arc<Authenticator>,
    pub reject_delay: Duration,
    pub stats: Stats,
    /// Sends codes out of band, when `[delivery]` is configured.
    pub delivery: Option<Dispatcher>,
    drop_log: log::DropLog,
    rate_limits: rate::RateLimits,
    pub metrics: Metrics,
    /// A request that waited longer than this for a worker is dropped before hashing.
    pub max_queue_wait: Duration,
    /// Whether the store answers; while it does not, nothing is answered.
    pub health: Arc<health::Health>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState").finish_non_exhaustive()
    }
}

impl ServerState {
    pub fn new(
        clients: ClientTable,
        pool: WorkerPool,
        authenticator: Arc<Authenticator>,
        reject_delay: Duration,
        max_queue_wait: Duration,
        delivery: Option<Dispatcher>,
    ) -> Self {
        Self {
            clients,
            cache: ResponseCache::new(
                crate::dedup::DEFAULT_LIFETIME,
                crate::dedup::DEFAULT_CAPACITY,
            ),
            pool,
            authenticator,
            reject_delay,
            stats: Stats::default(),
            delivery,
            drop_log: log::DropLog::default(),
            rate_limits: rate::RateLimits::default(),
            metrics: Metrics::new(),
            max_queue_wait,
            health: Arc::default(),
        }
    }
}

impl ServerState {
    /// Gauges that are read rather than counted: queue depth, users in the store.
    pub async fn refresh_gauges(&self) {
        self.metrics.queue_depth.set(self.pool.queued() as i64);
        let store = Arc::clone(self.authenticator.store());
        if let Ok(Ok(users)) = tokio::task::spawn_blocking(move || store.count_users()).await {
            self.metrics.users.set(users as i64);
        }
    }
}

/// Serve on `sockets` (and `/metrics` on `metrics`, if given) until `shutdown` completes, then
/// drain requests in flight.
pub async fn run(
    sockets: Vec<UdpSocket>,
    metrics: Option<TcpListener>,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    let metrics_task = metrics.map(|l| tokio::spawn(metrics_http::serve(l, Arc::clone(&state))));
    let probe = tokio::spawn(health::probe(
        Arc::clone(state.authenticator.store()),
        Arc::clone(&state.health),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (tracker, mut drained) = mpsc::channel::<()>(1);
    let loops: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            tokio::spawn(receive_loop(
                Arc::new(socket),
                Arc::clone(&state),
                stop_rx.clone(),
                tracker.clone(),
            ))
        })
        .collect();
    shutdown.await;
    tracing::info!("stopping: no new requests; finishing those in flight");
    if let Some(task) = metrics_task {
        task.abort();
    }
    probe.abort();
    let _ = stop_tx.send(true);
    for receive in loops {
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
    let s = &state.stats;
    tracing::info!(
        received = Stats::get(&s.received),
        accepted = Stats::get(&s.accepted),
        rejected = Stats::get(&s.rejected),
        challenged = Stats::get(&s.challenged),
        status_server = Stats::get(&s.status_server),
        resent = Stats::get(&s.resent),
        dropped_unknown_client = s.dropped(DropKind::UnknownClient),
        dropped_malformed = s.dropped(DropKind::Malformed),
        dropped_message_authenticator = s.dropped(DropKind::MessageAuthenticator),
        dropped_duplicate = s.dropped(DropKind::Duplicate),
        dropped_overloaded = s.dropped(DropKind::Overloaded),
        dropped_internal = s.dropped(DropKind::Internal),
        argon2_verifications = state.authenticator.verifications(),
        "stopped"
    );
}

async fn receive_loop(
    socket: Arc<UdpSocket>,
    state: Arc<ServerState>,
    mut stop: watch::Receiver<bool>,
    tracker: mpsc::Sender<()>,
) {
    // One octet more than the largest packet, so an oversized datagram is seen as such rather
    // than silently truncated to a valid-looking one.
    let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
    loop {
        let received = tokio::select! {
            _ = stop.changed() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        match received {
            Ok((len, peer)) => pipeline::handle(&state, &socket, &buf[..len], peer, &tracker),
            Err(e) => {
                tracing::warn!(error = %e, "receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
