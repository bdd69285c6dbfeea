//! `radotp serve`: build the server from the configuration, run it until SIGINT/SIGTERM.

use std::path::Path;

use super::{Failure, load_config};
use radotp_server::auth::password;
use radotp_server::server;

pub(super) fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let cost = config.password;
    if password::reserved_bytes(cost) == 0 {
        tracing::warn!(
            memory_kib = cost.memory_kib,
            "password.memory_kib is above the 64 MiB a worker keeps between verifications: \
             each verification allocates its memory afresh"
        );
    }
    let server = server::build(&config).map_err(|e| Failure::Runtime(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(server.serve(shutdown_signal()))
        .map_err(|e| Failure::Runtime(e.to_string()))
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
