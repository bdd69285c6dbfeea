//! `radotp serve`: build the server from the configuration, run it until SIGINT/SIGTERM.

use std::path::Path;

use super::{Failure, build_failure, load_config};
use radotp_server::auth::password;
use radotp_server::server;
use tokio::signal::unix::{Signal, SignalKind, signal};

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
    let server = server::build(&config).map_err(|e| build_failure(path, e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        // Installed before any socket is bound, so that a signal sent as soon as the server
        // says it listens is never the default action (death) instead of a graceful stop.
        let signals = Signals::install()?;
        server
            .serve(signals.stop())
            .await
            .map_err(|e| Failure::Runtime(e.to_string()))
    })
}

/// SIGINT and SIGTERM stop the server gracefully; SIGHUP, which would kill it, is logged and
/// otherwise ignored (reload is not supported: a restart applies a changed configuration).
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> Result<Self, Failure> {
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Failure::Runtime(format!("cannot handle {name}: {e}")))
        };
        Ok(Self {
            interrupt: install(SignalKind::interrupt(), "SIGINT")?,
            terminate: install(SignalKind::terminate(), "SIGTERM")?,
            hangup: install(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// Completes at SIGINT or SIGTERM.
    async fn stop(mut self) {
        loop {
            tokio::select! {
                _ = self.interrupt.recv() => return,
                _ = self.terminate.recv() => return,
                _ = self.hangup.recv() => tracing::warn!(
                    "SIGHUP received and ignored: radotp does not reload its configuration; \
                     restart it (SIGTERM, then start again) to apply changes"
                ),
            }
        }
    }
}
