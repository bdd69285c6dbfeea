//! The composition root: a validated `Config` → a `Server` ready to bind and run. `serve` and
//! the tests build it here; nothing else wires the parts together.

use std::sync::Arc;
use std::time::Duration;

use super::pipeline::{Parts, Pipeline};
use super::pool::WorkerPool;
use crate::auth::password::{self, DummyHash, HashError};
use crate::auth::{Authenticator, LocalHashes, Policy};
use crate::clients::ClientTable;
use crate::config::Config;
use crate::delivery::Dispatcher;
use crate::store::{self, Store, StoreError};

/// Jobs allowed to wait per worker: at ~25 ms a verification, 64 waiting means an answer
/// within ~1.6 s, inside common NAS timeouts.
pub const QUEUE_PER_WORKER: usize = 64;

/// Why the server could not be built; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot compute the dummy hash: {0}")]
    DummyHash(#[from] HashError),
    #[error("{0}")]
    Delivery(String),
}

/// A server, built and not yet listening.
#[derive(Debug)]
pub struct Server {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) config: Config,
    pub(super) workers: usize,
    pub(super) max_pending: usize,
}

impl Server {
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.pipeline.authenticator().store()
    }

    /// Threads that check passwords.
    pub fn workers(&self) -> usize {
        self.workers
    }
}

/// Open the store and put the server together: password source, decision policy,
/// authenticator, delivery, clients, pipeline and the password workers.
pub fn build(config: &Config) -> Result<Server, BuildError> {
    let store = store::open(&config.database)?;
    build_with_store(config, store)
}

/// `build`, on a store opened elsewhere (tests, fuzzing).
pub fn build_with_store(config: &Config, store: Arc<dyn Store>) -> Result<Server, BuildError> {
    let cost = config.password;
    let passwords = Arc::new(LocalHashes::new(DummyHash::new(cost)?));
    let policy = Policy {
        window: config.otp.window,
        send_limits: config.delivery.as_ref().map(|d| d.limits),
        lockout: config.lockout,
        authorization: Arc::clone(&config.authorization),
    };
    let delivery = config
        .delivery
        .as_ref()
        .map(Dispatcher::from_config)
        .transpose()
        .map_err(BuildError::Delivery)?;
    let pipeline = Pipeline::new(Parts {
        clients: ClientTable::new(&config.clients),
        authenticator: Authenticator::new(store, passwords, policy),
        delivery,
        reject_delay: config.server.reject_delay,
        max_queue_wait: config.server.max_queue_wait,
    });
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let max_pending = match config.server.max_pending {
        0 => workers * QUEUE_PER_WORKER,
        n => n,
    };
    Ok(Server {
        pipeline: Arc::new(pipeline),
        config: config.clone(),
        workers,
        max_pending,
    })
}

impl Server {
    /// The password workers. Each holds the argon2 memory of one verification from the start
    /// (one buffer, reused), so the server's footprint under load is known when it starts.
    pub(super) fn start_workers(&self) -> WorkerPool {
        let cost = self.config.password;
        WorkerPool::with_start(self.workers, self.max_pending, move || {
            password::reserve_memory(cost);
        })
    }
}

/// How long a stop waits for requests in flight (verification plus reject delay).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
