//! The composition root: a validated `Config` → a `Server` ready to bind and run. `serve`
//! builds it here (`build`), and `check-config` builds the very same on the store as it finds
//! it, changing nothing (`check`): "configuration OK" means `serve` starts.

use std::sync::Arc;
use std::time::Duration;

use super::pipeline::{Parts, Pipeline, Snapshot};
use super::pool::WorkerPool;
use super::radsec::{Accepting, Radsec};
use crate::auth::password::{DummyHash, HashError, HashSlots};
use crate::auth::{Authenticator, LocalHashes, Policy, Sources};
use crate::clients::ClientTable;
use crate::config::{Config, Problem};
use crate::delivery::Dispatcher;
use crate::directory::Directory;
use crate::invalid::Invalid;
use crate::secret::random_bytes;
use crate::store::check::Found;
use crate::store::{self, Keys, SqliteStore, Store, StoreError};
use crate::upstream::Upstream;

/// Jobs allowed to wait per worker: at ~25 ms a verification, 64 waiting means an answer
/// within ~1.6 s, inside common NAS timeouts.
pub const QUEUE_PER_WORKER: usize = 64;

/// Why the server could not be built; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Something the configuration names cannot work (a database folder that is a file, an
    /// unreadable CA file): a mistake in the file, found before anything was created.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config(Vec<Problem>),
    /// The store failed while being opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BuildError {
    fn config(section: &str, found: Vec<Invalid>) -> Self {
        BuildError::Config(
            found
                .into_iter()
                .map(|invalid| Problem {
                    key: format!("{section}.{}", invalid.field),
                    message: invalid.message,
                })
                .collect(),
        )
    }

    fn problem(key: &str, message: impl ToString) -> Self {
        BuildError::Config(vec![Problem {
            key: key.to_owned(),
            message: message.to_string(),
        }])
    }
}

impl From<HashError> for BuildError {
    fn from(e: HashError) -> Self {
        BuildError::problem("password", format!("cannot compute the dummy hash: {e}"))
    }
}

/// A server, built and not yet listening.
#[derive(Debug)]
pub struct Server {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) config: Config,
    /// Password verifications at once (`[server] workers`; 0 = one per core).
    pub(super) workers: usize,
    /// Verifications' argon2 memory, one buffer per worker.
    pub(super) slots: Arc<HashSlots>,
    pub(super) max_pending: usize,
    /// The RadSec clients' TLS configurations and the connection bounds, with `[radsec]`.
    pub(super) radsec: Option<Arc<Radsec>>,
    /// The configuration the web page and the admin API work under (reload replaces it).
    pub(super) web: Arc<crate::web::WebConfig>,
}

/// Threads of the worker pool per verification at once: while some wait for the store, the
/// directory or the upstream server, the others hash.
pub(super) const THREADS_PER_WORKER: usize = 2;

impl Server {
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.pipeline.authenticator().store()
    }

    /// Password verifications at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Threads of the worker pool.
    pub fn threads(&self) -> usize {
        self.workers * THREADS_PER_WORKER
    }
}

/// Check the store, then open it (creating the key file, the database and its schema on
/// first use) and put the server together: password source, decision policy, authenticator,
/// delivery, clients and pipeline.
pub fn build(config: &Config) -> Result<Server, BuildError> {
    store::check::check(&config.database).map_err(|p| BuildError::config("database", p))?;
    let prepared = Prepared::new(config)?;
    let store = store::open(&config.database)?;
    // Healthy means able to record: a database that answers reads but cannot be written (a
    // full disk, a standby) would drop every login; refuse to start on it.
    store.probe(crate::clock::unix_now_signed()).map_err(|e| {
        BuildError::Store(StoreError::Database(format!(
            "the database {} cannot be written: {e}",
            config.database.location()
        )))
    })?;
    Ok(prepared.finish(store))
}

/// What `check-config` builds: everything `build` builds, on the store as it is — read-only —
/// or, for a store `serve` would create, on an empty one in memory. Nothing is created.
pub fn check(config: &Config) -> Result<Server, BuildError> {
    let found =
        store::check::check(&config.database).map_err(|p| BuildError::config("database", p))?;
    let prepared = Prepared::new(config)?;
    let store: Arc<dyn Store> = match found {
        Found::Existing(store) => store,
        Found::WillBeCreated => Arc::new(SqliteStore::open_in_memory(Keys::from_master(
            &random_bytes::<32>(),
        ))?),
    };
    Ok(prepared.finish(store))
}

/// `build`, on a store opened elsewhere (tests, fuzzing).
pub fn build_with_store(config: &Config, store: Arc<dyn Store>) -> Result<Server, BuildError> {
    Ok(Prepared::new(config)?.finish(store))
}

/// The decision's policy under `config`.
fn policy(config: &Config) -> Policy {
    Policy {
        window: config.otp.window,
        hotp_window: config.otp.hotp_window,
        send_limits: config.delivery.as_ref().map(|d| d.limits),
        lockout: config.lockout,
        authorization: Arc::clone(&config.authorization),
    }
}

fn delivery(config: &Config) -> Result<Option<Dispatcher>, BuildError> {
    config
        .delivery
        .as_ref()
        .map(Dispatcher::from_settings)
        .transpose()
        .map_err(|e| BuildError::problem("delivery", e))
}

/// What a reload swaps in: everything of `config` that a running server can change without a
/// restart (see `reload`).
pub(super) fn snapshot(config: &Config) -> Result<Snapshot, BuildError> {
    Ok(Snapshot {
        clients: ClientTable::new(&config.clients),
        max_sessions: config.accounting.as_ref().map(|a| a.max_sessions),
        policy: Arc::new(policy(config)),
        delivery: delivery(config)?,
        reject_delay: config.server.reject_delay,
        max_queue_wait: config.server.max_queue_wait,
        eap: config.eap.clone().map(|settings| {
            let clients = config.clients.iter().filter(|c| c.eap).count();
            Arc::new(super::eap::EapSnapshot::new(settings, clients))
        }),
    })
}

/// How RadSec connections are accepted under `config`, for a server listening for RadSec.
pub(super) fn accepting(
    config: &Config,
    clients: &ClientTable,
) -> Result<Option<Accepting>, BuildError> {
    config
        .radsec
        .as_ref()
        .map(|settings| Accepting::new(settings, clients))
        .transpose()
        .map_err(|e| BuildError::problem("radsec", e))
}

/// Everything but the store, built first, so that a mistake is found before the store (and
/// its key file) is created.
struct Prepared {
    config: Config,
    workers: usize,
    slots: Arc<HashSlots>,
    passwords: Arc<Sources>,
    /// What a reload may replace: built here as a reload builds it.
    snapshot: Snapshot,
    radsec: Option<Arc<Radsec>>,
}

impl Prepared {
    fn new(config: &Config) -> Result<Self, BuildError> {
        let directory = config
            .directory
            .clone()
            .map(Directory::new)
            .transpose()
            .map_err(|e| BuildError::problem("directory", e))?
            .map(Arc::new);
        let upstream = config.upstream.clone().map(|settings| {
            let dictionary = config.authorization.dictionary().clone();
            Arc::new(Upstream::new(settings, dictionary))
        });
        let workers = match config.server.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let slots = Arc::new(HashSlots::new(workers));
        let passwords = Arc::new(Sources {
            local: LocalHashes::new(DummyHash::new(config.password)?).in_slots(Arc::clone(&slots)),
            directory,
            upstream,
            default: config.password_source,
        });
        let snapshot = snapshot(config)?;
        let radsec = config
            .radsec
            .as_ref()
            .map(|settings| Radsec::new(settings, &ClientTable::new(&config.clients)))
            .transpose()
            .map_err(|e| BuildError::problem("radsec", e))?
            .map(Arc::new);
        Ok(Self {
            config: config.clone(),
            workers,
            slots,
            passwords,
            snapshot,
            radsec,
        })
    }

    fn finish(self, store: Arc<dyn Store>) -> Server {
        let config = self.config;
        let policy = Arc::clone(&self.snapshot.policy);
        let pipeline = Pipeline::new(Parts {
            authenticator: Authenticator::new(store, self.passwords, policy),
            snapshot: self.snapshot,
        });
        let workers = self.workers;
        let max_pending = match config.server.max_pending {
            0 => workers * QUEUE_PER_WORKER,
            n => n,
        };
        Server {
            pipeline: Arc::new(pipeline),
            web: Arc::new(crate::web::WebConfig::new(config.clone())),
            config,
            workers,
            slots: self.slots,
            max_pending,
            radsec: self.radsec,
        }
    }
}

impl Server {
    /// The password workers: `threads()` threads, `workers` of them hashing at once, each
    /// hash in one of `workers` argon2 buffers set aside now (reused), so the server's
    /// footprint under load is known when it starts.
    pub(super) fn start_workers(&self) -> WorkerPool {
        self.slots.reserve(self.config.password);
        WorkerPool::with_start(self.threads(), self.max_pending, || {})
    }
}

/// How long a stop waits for requests in flight (verification plus reject delay).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
