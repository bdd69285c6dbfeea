//! `radotp serve`: open the store, bind the sockets, run until SIGINT/SIGTERM.

use std::path::Path;
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::{Failure, load_config, open_store};
use radotp_server::auth::password::{self, DummyHash};
use radotp_server::auth::{Authenticator, Policy};
use radotp_server::clients::ClientTable;
use radotp_server::config::{Config, DeliveryConfig, DeliveryMethod};
use radotp_server::delivery::webhook::{Webhook, WebhookConfig};
use radotp_server::delivery::{CommandSender, Dispatcher, Sender};
use radotp_server::server::{self, ServerState, pool::WorkerPool};

/// Jobs allowed to wait per worker: at ~25 ms a verification, 64 waiting means an answer
/// within ~1.6 s, inside common NAS timeouts.
const QUEUE_PER_WORKER: usize = 64;

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let store = open_store(&config)?;
    let users = store
        .count_users()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let dummy = DummyHash::new(config.password)
        .map_err(|e| Failure::Runtime(format!("cannot compute the dummy hash: {e}")))?;
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let max_pending = match config.server.max_pending {
        0 => workers * QUEUE_PER_WORKER,
        n => n,
    };
    let cost = config.password;
    if password::reserved_bytes(cost) == 0 {
        tracing::warn!(
            memory_kib = cost.memory_kib,
            "password.memory_kib is above the 64 MiB a worker keeps between verifications: \
             each verification allocates its memory afresh"
        );
    }
    let policy = Policy {
        window: config.otp.window,
        send_limits: config.delivery.as_ref().map(|d| d.limits),
        lockout: config.lockout,
    };
    let delivery = config.delivery.as_ref().map(dispatcher).transpose()?;
    let authenticator = Arc::new(Authenticator::new(
        store,
        policy,
        Arc::clone(&config.authorization),
        dummy,
    ));
    let state = Arc::new(ServerState::new(
        ClientTable::new(&config.clients),
        // Each worker holds the argon2 memory of one verification from the start (one buffer,
        // reused), so the server's footprint under load is known when it starts.
        WorkerPool::with_start(workers, max_pending, move || {
            password::reserve_memory(cost);
        }),
        authenticator,
        config.server.reject_delay,
        config.server.max_queue_wait,
        delivery,
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let sockets = bind(&config).await?;
        tracing::info!(
            users,
            clients = config.clients.len(),
            workers,
            argon2_mib_per_worker = password::reserved_bytes(config.password) >> 20,
            database = %config.database.location(),
            "radotp {} ready",
            env!("CARGO_PKG_VERSION")
        );
        let metrics = match config.server.metrics_listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    Failure::Runtime(format!("cannot serve metrics on {addr}: {e}"))
                })?;
                let local = listener
                    .local_addr()
                    .map_err(|e| Failure::Runtime(e.to_string()))?;
                tracing::info!(address = %local, "metrics at http://{local}/metrics");
                Some(listener)
            }
            None => None,
        };
        server::run(sockets, metrics, state, shutdown_signal()).await;
        Ok::<(), Failure>(())
    })?;
    Ok(())
}

async fn bind(config: &Config) -> Result<Vec<UdpSocket>, Failure> {
    let mut sockets = Vec::new();
    for addr in &config.server.listen {
        let socket = UdpSocket::bind(addr).await.map_err(|e| {
            Failure::Runtime(format!(
                "cannot listen on {addr}: {e} (is another RADIUS server running? ports below 1024 need root)"
            ))
        })?;
        let local = socket
            .local_addr()
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        tracing::info!(address = %local, "listening");
        sockets.push(socket);
    }
    Ok(sockets)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The configured way of sending codes.
fn dispatcher(config: &DeliveryConfig) -> Result<Dispatcher, Failure> {
    let sender = match &config.method {
        DeliveryMethod::Command { argv, dir, timeout } => Sender::Command(CommandSender {
            argv: argv.clone(),
            dir: dir.clone(),
            timeout: *timeout,
        }),
        DeliveryMethod::Webhook {
            url,
            ca_file,
            timeout,
            retries,
        } => {
            let webhook = WebhookConfig::new(url.clone(), ca_file.clone(), *timeout, *retries)
                .and_then(Webhook::new)
                .map_err(|e| Failure::Usage(format!("delivery.webhook: {e}")))?;
            Sender::Webhook(webhook)
        }
    };
    Ok(Dispatcher::new(sender))
}
